"""A moderator's upload has a cost budget: RE2 program size per pattern and per rule, and check
time on the benign baseline against the live rules in the same run. YAML nesting is limited,
and the baseline holds long ordinary messages, also checked repeated to Telegram's limit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.engine.lint import lint_dir
from bot.engine.loader import MAX_DEPTH, load_rule_text
from bot.moderation import validate
from bot.moderation.live import LiveRules
from bot.moderation.validate import check_change, load_baseline, with_long_repeats
from tests.conftest import RULES, RuleDir, mini_rule

SLOW = r"[\p{L}\p{N}]{1000}x"


def _with_regexes(rule_id: str, patterns: list[str]) -> str:
    """A small rule whose first stage also has ``patterns``."""
    text = mini_rule(rule_id)
    listed = ", ".join(f"'{p}'" for p in patterns)
    return text.replace(
        "        regex: ['(包裹|快递).{0,6}丢失']",
        f"        regex: ['(包裹|快递).{{0,6}}丢失', {listed}]",
        1,
    )


def test_a_rule_of_costly_patterns_is_refused_before_it_is_built(engine: Engine) -> None:
    """Before: 40 patterns like [\\p{L}\\p{N}]{1000}x (1.9 KB) were accepted and every check
    took 1,084 ms instead of 1.5. Now refused at once, naming the line and the limit."""
    live = LiveRules(RULES, engine)
    text = _with_regexes(
        "costly-rule", [SLOW.replace("x", chr(ord("a") + i % 26)) for i in range(40)]
    )
    started = time.perf_counter()
    checked = check_change(live, "costly-rule.yaml", text, load_baseline())
    assert time.perf_counter() - started < 60
    assert not checked.ok
    assert any("too costly" in p and "1,342,005" in p for p in checked.problems), checked.problems
    assert any("upload/costly-rule.yaml:" in p for p in checked.problems)


class _Spinning:
    """An engine whose check burns ``cost`` seconds of CPU (the measure is CPU time)."""

    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.checks = 0

    def check(self, text: str) -> None:
        self.checks += 1
        started = time.thread_time()
        while time.thread_time() - started < self.cost:
            pass


def test_check_time_is_compared_with_the_live_rules_in_the_same_run() -> None:
    baseline = [f"message {i}" for i in range(200)]
    live, same, slow = _Spinning(0.0005), _Spinning(0.0005), _Spinning(0.02)
    assert validate.slowdown(live, same, baseline) < validate.MAX_SLOWDOWN  # type: ignore[arg-type]
    started = time.perf_counter()
    ratio = validate.slowdown(live, slow, baseline)  # type: ignore[arg-type]
    assert ratio > 10
    # A rule far past the limit is stopped early, not timed on every message three times.
    assert slow.checks < len(baseline) and time.perf_counter() - started < 10


def test_a_rule_that_slows_every_check_is_refused_with_its_measured_cost(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate, "slowdown", lambda live, new, baseline: 7.0)
    live = LiveRules(RULES, engine)
    checked = check_change(live, "new-rule.yaml", mini_rule("new-rule"), load_baseline())
    assert not checked.ok and checked.slowdown == 7.0
    assert any("7.0× slower on the benign baseline" in p for p in checked.problems)
    assert checked.scam_total == 0  # refused before its examples ran


def test_an_ordinary_edit_costs_about_nothing(engine: Engine) -> None:
    live = LiveRules(RULES, engine)
    checked = check_change(live, "new-rule.yaml", mini_rule("new-rule"), load_baseline())
    assert checked.ok, checked.problems
    assert 0 < checked.slowdown < validate.MAX_SLOWDOWN


def test_a_rule_that_fires_on_any_long_message_is_refused(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the longest baseline message had 177 characters, so a rule firing on every
    message of 1,000 characters or more passed the baseline check."""
    # Its thousand-character window is also slow for RE2, and whether the cost check stops it
    # first depends on the machine's moment: here only the baseline check is under test.
    monkeypatch.setattr(validate, "slowdown", lambda live, new, baseline: 1.0)
    live = LiveRules(RULES, engine)
    text = (
        mini_rule("long-rule")
        .replace(
            "        phrases: [三倍理赔, 双倍赔偿]",
            "        phrases: [三倍理赔, 双倍赔偿]\n        regex: ['(?s)\\S.{1000}\\S']",
            1,
        )
        .replace(
            "        regex: ['(包裹|快递).{0,6}丢失']",
            "        regex: ['(包裹|快递).{0,6}丢失', '(?s)\\S.{999}\\S']",
            1,
        )
    )
    checked = check_change(live, "long-rule.yaml", text, load_baseline())
    assert not checked.ok
    assert any("ordinary message" in p for p in checked.problems), checked.problems


def test_the_baseline_has_long_ordinary_messages_in_both_languages() -> None:
    baseline = load_baseline()
    long_ones = [m for m in baseline if len(m) >= 800]
    assert any(len(m) >= 3000 for m in long_ones)
    assert any(ch >= "\u4e00" for m in long_ones for ch in m[:50])  # Chinese
    assert any(m[:50].isascii() for m in long_ones)  # English
    repeated = with_long_repeats(baseline)[len(baseline) :]
    assert repeated and all(3000 < len(m) <= validate.REPEATED_TO for m in repeated)


def test_the_benign_baseline_repeated_to_the_longest_message_never_warns(engine: Engine) -> None:
    baseline = load_baseline()
    hits = [
        m[:60]
        for m in with_long_repeats(baseline)[len(baseline) :]
        if engine.check(m).risk != "none"
    ]
    assert hits == []


def _nested(depth: int) -> str:
    return "id: x\nstages: " + "[" * depth + "]" * depth + "\n"


def test_deeply_nested_yaml_is_a_clear_error_with_file_and_line(rule_dir: RuleDir) -> None:
    """Before: 800 bytes of nested brackets raised RecursionError (a traceback in rules lint,
    "something went wrong" for the moderator)."""
    text = "id: deep-rule\nversion: 1\nstages:\n  - " + "[" * 400 + "]" * 400 + "\n"
    rule, _, problems = load_rule_text(text, "upload/deep-rule.yaml")
    assert rule is None
    assert [str(p) for p in problems] == [
        f"upload/deep-rule.yaml:4: YAML: nested more than {MAX_DEPTH} levels deep"
    ]
    for block in ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 500)),):
        _, _, problems = load_rule_text(block, "f.yaml")
        assert problems and "nested more than" in str(problems[0])
    # The same through rules lint: a listed error, no traceback.
    problems, summary = lint_dir(rule_dir(**{"deep-rule": text}))
    assert any("nested more than" in p.message and ":4" in p.where for p in problems)
    assert "cannot be loaded" in summary


LONG_FALSE_ALARMS = Path(__file__).with_name("long_false_alarms.jsonl")


@pytest.mark.parametrize(
    "text",
    [json.loads(line)["text"] for line in LONG_FALSE_ALARMS.read_text("utf-8").splitlines()],
    ids=["zh-meeting-email", "en-council-news", "zh-handover-email"],
)
@pytest.mark.xfail(
    strict=True,
    reason="genuine long messages (written for the baseline) that bundled rules warn about, "
    "from clues hundreds of characters apart: fake-cs-cancel-service, impersonate-acquaintance, "
    "impersonate-officials, loan-credit (medium), en-account-alert (low). When a rule is fixed "
    "this passes: move its line into rules/baseline/benign.jsonl",
)
def test_long_ordinary_messages_the_rules_still_warn_about(engine: Engine, text: str) -> None:
    assert engine.check(text).risk == "none"
