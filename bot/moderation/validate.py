"""Every rule change goes through here before a moderator may confirm it.

Owns: the checks a change must pass, the same as ``python -m bot rules lint`` and ``rules
test`` (size, YAML without aliases, schema, RE2, duplicate ids, the rule's own examples, every
other rule's benign examples) plus the benign baseline shipped in ``rules/baseline/`` (its long
messages also repeated to Telegram's limit); a cost budget (RE2 program size per pattern and per
rule, check time on the baseline against the live rules, measured in the same run); the
version check that turns a stale edit into a conflict; the diff; and the effect shown before
Confirm ("3 of 3 scam examples hit, 0 of 300 baseline messages hit").
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import re2

from bot.engine import Engine
from bot.engine.compiler import build_ruleset_files, re2_options
from bot.engine.loader import RuleSetError, RuleSource, read_rule_files_partial
from bot.engine.model import Rule
from bot.engine.ruletest import run_all
from bot.moderation.live import LiveRules, rule_id_of, version_of, with_version

MAX_RULE_BYTES = 64 * 1024
# The cost budget of one upload. RE2 program size of one pattern (the bundled rules' largest
# is about 3,900; ``[\p{L}\p{N}]{1000}x`` is 1.3 million), and of all the patterns of one rule
# (the bundled largest is about 30,000).
MAX_PATTERN_PROGRAM = 20_000
MAX_RULE_PROGRAM = 120_000
# Check time on the baseline with the change / with the live rules, measured in the same run
# (CPU time of this thread, so other processes on the machine do not count). A rule among ~50
# adds a few percent.
MAX_SLOWDOWN = 1.5
TIMING_MESSAGES = 120  # baseline messages timed (every k-th, the longest ones always)
TIMING_ROUNDS = 5
CLEARLY_FINE = 1.15  # a ratio this far below MAX_SLOWDOWN after two rounds ends the timing
MIN_TIMING_BASELINE = 50  # fewer baseline messages than this: no timing (not representative)
MIN_TIMED_SECONDS = 0.05  # one timing of the baseline sample lasts at least this long
# Long ordinary messages are also checked repeated up to this length (Telegram's limit for a
# message): a rule that fires on any long enough text must not pass because the baseline's
# longest message is a little shorter than its trigger.
LONG_MESSAGE = 500
REPEATED_TO = 4096
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
    slowdown: float = 0.0  # check time on the baseline with the change / with the live rules

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
    assert source is not None
    rule = next(r for r in source.rules if r.id == rule_id)
    costly = pattern_cost_problems(rule, where, source)
    if costly:
        out.problems.extend(costly)
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

    # 2. Compile everything (RE2 limits, pattern problems); after the cost, every example of
    # every rule.
    try:
        engine = Engine(build_ruleset_files(files, "upload"))
    except RuleSetError as exc:
        out.problems.extend(str(p) for p in exc.problems)
        return out
    # 3. Cost, before anything runs the new rules on many messages: the checks must not get
    # slower for everyone.
    slower = slowdown(live.engine(), engine, baseline)
    out.slowdown = round(slower, 2)
    if slower > MAX_SLOWDOWN:
        out.problems.append(
            f"{rule_id} would make every check {slower:.1f}× slower on the benign baseline "
            f"(the limit is {MAX_SLOWDOWN}×): use fewer or smaller patterns, bounded "
            "repeats such as {0,30} rather than {1000}, and literal words the check can "
            "find first"
        )
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

    # 4. The benign baseline: this rule must not warn about ordinary messages (shadow too),
    # long ones also repeated up to Telegram's limit.
    messages = with_long_repeats(baseline)
    out.baseline_total = len(messages)
    for message in messages:
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


def _own_regexes(rule: Rule) -> Iterable[tuple[tuple[object, ...], str]]:
    for si, stage in enumerate(rule.stages):
        for gi, sig in enumerate(stage.signals):
            for i, p in enumerate(sig.regex):
                yield ("stages", si, "signals", gi, "regex", i), p
    for ni, sig in enumerate(rule.negatives):
        for i, p in enumerate(sig.regex):
            yield ("negatives", ni, "regex", i), p


def pattern_cost_problems(rule: Rule, where: str, source: RuleSource) -> list[str]:
    """The rule's own patterns whose RE2 program is too large, and the rule's total."""
    lines = source.lines.get(rule.id, {})
    problems: list[str] = []
    total = 0
    for loc, pattern in _own_regexes(rule):
        if len(problems) >= 3:  # enough to say what is wrong (each costly compile takes time)
            problems.append(f"{where}: … and maybe more regexes like these")
            break
        try:
            size = int(re2.compile(pattern.encode("utf-8"), re2_options()).programsize)
        except re2.error:
            continue  # the compiler names it with its RE2 message
        total += size
        if size > MAX_PATTERN_PROGRAM:
            line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
            at = f"{where}:{line}" if line else where
            problems.append(
                f"{at}: regex {pattern[:60]!r} is too costly to run on every message (RE2 "
                f"program size {size:,}, the limit is {MAX_PATTERN_PROGRAM:,}): a repeat such "
                "as {1000} of a character class multiplies it; use {0,30}"
            )
    if total > MAX_RULE_PROGRAM and not problems:
        problems.append(
            f"{where}: the rule's regexes together are too costly (RE2 program size "
            f"{total:,}, the limit is {MAX_RULE_PROGRAM:,}): use fewer or smaller regexes, or "
            "phrases"
        )
    return problems


def with_long_repeats(baseline: Sequence[str]) -> list[str]:
    """The baseline, plus each long message repeated up to Telegram's length limit."""
    out = list(baseline)
    for message in baseline:
        if len(message) >= LONG_MESSAGE:
            times = max(2, REPEATED_TO // (len(message) + 1))
            out.append("\n".join([message] * times)[:REPEATED_TO])
    return out


def _timing_sample(baseline: Sequence[str]) -> list[str]:
    """Every k-th baseline message, the longest ones, and those with their spaces and
    punctuation taken out: long runs of letters are where a costly pattern shows."""
    longest = sorted(baseline, key=len, reverse=True)[: TIMING_MESSAGES // 6]
    runs = ["".join(ch for ch in m if ch.isalnum())[:REPEATED_TO] for m in longest]
    rest = TIMING_MESSAGES - len(longest)
    step = max(1.0, len(baseline) / rest)
    spaced = [baseline[int(i * step)] for i in range(min(rest, len(baseline)))]
    return longest + [r for r in runs if r] + spaced


def _seconds(engine: Engine, messages: Sequence[str], give_up: float = float("inf")) -> float:
    """CPU seconds to check ``messages``; past ``give_up`` seconds, the estimate for all."""
    started = time.thread_time()
    for done, message in enumerate(messages, 1):
        engine.check(message)
        spent = time.thread_time() - started
        if spent > give_up:
            return spent * len(messages) / done
    return time.thread_time() - started


def slowdown(live: Engine, new: Engine, baseline: Sequence[str]) -> float:
    """Check time on (a sample of) the baseline, new rules / live rules, interleaved in one
    run: the best of a few rounds each, so a busy moment does not count against the change.
    A change far past the limit is stopped early (a slow rule must not hold the check up)."""
    if len(baseline) < MIN_TIMING_BASELINE:
        # A handful of messages says nothing about every check: on one message the edited
        # rule now fires on, firing itself costs 1.5x. The bundled baseline has ~700.
        return 1.0
    sample = _timing_sample(baseline)
    # Warm both: RE2 builds its automata lazily, so a first pass costs more than the rest,
    # and only the new engine would pay it. Stopped early if the new rules are far too slow.
    once = _seconds(live, sample)
    far = max(once, 1e-3) * MAX_SLOWDOWN * 10
    first = _seconds(new, sample, give_up=far)
    if first > far:
        return first / max(once, 1e-6)
    # Each timing long enough that the clock's and the scheduler's noise do not matter (a
    # small baseline is checked several times over).
    repeat = 1
    while once * repeat < MIN_TIMED_SECONDS and repeat < 64:
        repeat *= 2
    timed = list(sample) * repeat
    old_best = new_best = float("inf")
    for done in range(1, TIMING_ROUNDS + 1):
        old_best = min(old_best, _seconds(live, timed))
        limit = max(old_best, 1e-3) * MAX_SLOWDOWN * 3
        new_best = min(new_best, _seconds(new, timed, give_up=limit))
        if new_best > limit:
            break
        # Two rounds already far below the limit: more rounds would not change the answer,
        # and the moderator waits for them.
        if done >= 2 and new_best < old_best * CLEARLY_FINE:
            break
    return new_best / max(old_best, 1e-6)
