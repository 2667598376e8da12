"""Moving live rules between the database and a directory, for review in git.

Owns: ``export_rules`` (write the live files: unchanged rules byte for byte as bundled, revised
ones exactly as their revision was stored, so comments and layout survive) and ``import_rules``
(the reverse, through the same checks as a moderator's upload, all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.engine import Engine
from bot.engine.loader import RuleSetError
from bot.engine.ruletest import run_all
from bot.moderation.live import LiveRules
from bot.moderation.validate import Checked, check_change
from bot.storage.moderation import Conflict, NewRevision, Sessions, commit_revisions

CLI_AUTHOR = "operator:cli"


async def export_rules(sessions: Sessions, live: LiveRules, out_dir: Path) -> list[str]:
    """Write every live file into ``out_dir``; returns the names of revised rule files."""
    await live.refresh(sessions)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(live.files.items()):
        (out_dir / name).write_text(text, encoding="utf-8")
    return sorted(live.revised)


@dataclass
class ImportResult:
    changed: list[Checked] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    committed: list[tuple[str, int]] = field(default_factory=list)


async def import_rules(
    sessions: Sessions, live: LiveRules, in_dir: Path, reason: str, baseline: list[str]
) -> ImportResult:
    """Check every changed rule file in ``in_dir``; commit them only if all pass."""
    await live.refresh(sessions)
    result = ImportResult()
    for path in sorted(in_dir.glob("*.y*ml")):
        raw = path.read_bytes()
        current = live.files.get(path.name)
        if current is not None and raw == current.encode("utf-8"):
            continue
        if path.name.startswith("_"):
            result.problems.append(
                f"{path}: shared files (_signals.yaml, _brands.yaml) change through the "
                "repository and a release, not by import"
            )
            continue
        checked = check_change(live, path.name, raw, baseline)
        if checked.conflict is not None:
            result.problems.append(
                f"{path}: edited from another version than the live {checked.conflict}; "
                "export again and redo the change"
            )
        result.problems.extend(checked.problems)
        result.changed.append(checked)
    if result.problems or not result.changed:
        return result
    # Each file was checked on top of the live rules; now all of them together.
    together = dict(live.files) | {c.file_name: c.text for c in result.changed}
    try:
        run = [r for r in run_all(Engine.from_files(together, str(in_dir))) if not r.ok]
    except RuleSetError as exc:
        result.problems.extend(str(problem) for problem in exc.problems)
        return result
    result.problems.extend(f"{r.name}: {r.detail}" for r in run if r.kind != "known_miss")
    if result.problems:
        return result
    changes = [
        NewRevision(c.rule_id, c.base_version, c.new_version, c.text, c.diff)
        for c in result.changed
    ]
    try:
        await commit_revisions(sessions, changes, reason=reason, author=CLI_AUTHOR, action="import")
    except Conflict as exc:
        result.problems.append(f"{exc.rule_id}: changed meanwhile (now version {exc.live})")
        return result
    result.committed = [(c.rule_id, c.version) for c in changes]
    await live.refresh(sessions)
    return result
