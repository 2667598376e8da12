"""Moving live rules between the database and a directory, for review in git.

Owns: ``export_rules`` (write the live files: unchanged rules byte for byte as bundled, revised
ones exactly as their revision was stored, so comments and layout survive) and ``import_rules``
(the reverse, through the same checks as a moderator's upload, all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.moderation.live import LiveRules
from bot.moderation.validate import Checked, check_change
from bot.storage.moderation import Conflict, Sessions, commit_revision

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
    for checked in result.changed:
        try:
            version = await commit_revision(
                sessions,
                rule_id=checked.rule_id,
                base_version=checked.base_version,
                yaml_text=checked.text,
                diff=checked.diff,
                reason=reason,
                author=CLI_AUTHOR,
                action="import",
            )
        except Conflict as exc:
            result.problems.append(f"{checked.rule_id}: changed meanwhile (now version {exc.live})")
            break
        result.committed.append((checked.rule_id, version))
    await live.refresh(sessions)
    return result
