"""Every rule change goes through here before a moderator may confirm it.

Owns: the checks a change must pass, the same as ``python -m bot rules lint`` and ``rules
test`` (size, YAML without aliases, schema, RE2, duplicate ids, the rule's own examples, every
other rule's benign examples) plus the benign baseline shipped in ``rules/baseline/``; the
version check that turns a stale edit into a conflict; the diff; and the effect shown before
Confirm ("3 of 3 scam examples hit, 0 of 300 baseline messages hit").
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine import Engine
from bot.engine.compiler import build_ruleset_files
from bot.engine.loader import RuleSetError, read_rule_files_partial
from bot.engine.ruletest import run_all
from bot.moderation.live import LiveRules, rule_id_of, version_of, with_version

MAX_RULE_BYTES = 64 * 1024
BASELINE = Path(__file__).resolve().parent.parent.parent / "rules" / "baseline" / "benign.jsonl"


def load_baseline(path: Path = BASELINE) -> list[str]:
    """The benign baseline: ordinary messages no rule may warn about."""
    if not path.is_file():
        return []
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines() if line]


@dataclass
class Checked:
    """The outcome of checking one changed rule file."""

    file_name: str
    rule_id: str = ""
    base_version: int = 0  # the live version the change was made against (0: a new rule)
    edited_version: int = 0  # the version written in the file (what the moderator edited)
    new_version: int = 0
    text: str = ""  # the YAML that would go live (its version set to new_version)
    problems: list[str] = field(default_factory=list)
    conflict: int | None = None  # the live version, when the edit was made against another
    diff: str = ""
    scam_hit: int = 0
    scam_total: int = 0
    benign_clean: int = 0
    benign_total: int = 0
    baseline_hits: list[str] = field(default_factory=list)
    baseline_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.conflict is None

    def effect(self) -> dict[str, int]:
        return {
            "scam_hit": self.scam_hit,
            "scam_total": self.scam_total,
            "benign_clean": self.benign_clean,
            "benign_total": self.benign_total,
            "baseline_hits": len(self.baseline_hits),
            "baseline_total": self.baseline_total,
        }


def check_change(
    live: LiveRules,
    file_name: str,
    data: bytes | str,
    baseline: list[str],
    *,
    keep_version: bool = False,
) -> Checked:
    """Check ``data`` as the new content of ``file_name`` on top of the live rules. Nothing is
    changed here. Unless ``keep_version``, the file's ``version:`` must be the live version
    (the one the moderator edited) and the result carries the next one."""
    out = Checked(file_name)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_RULE_BYTES:
        out.problems.append(
            f"{file_name}: too large ({len(raw) // 1024} KB); a rule file may have at most "
            f"{MAX_RULE_BYTES // 1024} KB"
        )
        return out
    if not file_name.endswith((".yaml", ".yml")) or file_name.startswith("_") or "/" in file_name:
        out.problems.append(
            f"{file_name}: send a rule file named after its id, such as fake-courier-cs.yaml "
            "(shared files starting with _ are changed in the repository, not here)"
        )
        return out
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        out.problems.append(f"{file_name}: not UTF-8 text")
        return out

    # 1. Parse and validate this file within the live set (schema, ids, shared signals).
    files = dict(live.files)
    files[file_name] = text
    where = f"upload/{file_name}"
    source, problems = read_rule_files_partial(files, "upload")
    mine = [p for p in problems if p.path == where]
    others = [p for p in problems if p.path != where]
    if mine or others:
        out.problems.extend(str(p) for p in mine + others)
        return out

    # The id as the loader read it (``id : x`` is ``x``), never a guess from the text.
    parsed = [rid for rid, path in (source.paths if source else {}).items() if path == where]
    rule_id = parsed[0] if parsed else ""
    out.rule_id = rule_id
    if not rule_id or rule_id_of(text) != rule_id:
        out.problems.append(f"{where}: the rule's id could not be read; write it as id: NAME")
        return out
    if live.file_name_for(rule_id) != file_name:
        out.problems.append(
            f"{where}: rule {rule_id!r} lives in {live.file_name_for(rule_id)}; send it under "
            "that name"
        )
        return out
    current = live.get(rule_id)
    if current is not None and current.name != file_name:
        out.problems.append(f"{where}: duplicate rule id {rule_id!r} (also in {current.name})")
        return out
    out.base_version = current.version if current else 0
    edited = out.edited_version = version_of(text)
    if keep_version:
        out.new_version = edited
    else:
        if current is not None and edited != current.version:
            out.conflict = current.version
            return out
        out.new_version = out.base_version + 1 if current else max(edited, 1)
        text = with_version(text, out.new_version)
        if version_of(text) != out.new_version or rule_id_of(text) != rule_id:
            out.problems.append(f"{where}: the version could not be set; write it as version: N")
            return out
        files[file_name] = text
    out.text = text

    # 2. Compile everything (RE2 limits, pattern problems), then every example of every rule.
    try:
        engine = Engine(build_ruleset_files(files, "upload"))
    except RuleSetError as exc:
        out.problems.extend(str(p) for p in exc.problems)
        return out
    for result in run_all(engine):
        if result.rule_id == rule_id:
            if result.kind == "scam":
                out.scam_total += 1
                out.scam_hit += result.ok
            elif result.kind == "benign":
                out.benign_total += 1
                out.benign_clean += result.ok
        if not result.ok and result.kind != "known_miss":
            out.problems.append(f"{result.name}: {result.detail}: {result.text[:80]!r}")

    # 3. The benign baseline: this rule must not warn about ordinary messages (shadow too).
    out.baseline_total = len(baseline)
    for message in baseline:
        score = engine.score_rule(message, rule_id)
        if score is not None and score.risk != "none":
            out.baseline_hits.append(message)
    if out.baseline_hits:
        out.problems.append(
            f"{rule_id} would warn about {len(out.baseline_hits)} ordinary message(s) of the "
            f"benign baseline, e.g. {out.baseline_hits[0][:80]!r}"
        )

    old = current.text if current else ""
    out.diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            text.splitlines(keepends=True),
            f"{rule_id} v{out.base_version}",
            f"{rule_id} v{out.new_version}",
            n=1,
        )
    )
    return out
