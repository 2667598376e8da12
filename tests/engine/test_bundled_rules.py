"""Conventions of the bundled rule sets, enforced."""

from __future__ import annotations

import datetime as dt

from bot.engine import Engine, read_rule_dir
from bot.engine.lint import lint_dir
from tests.conftest import RULES

REQUIRED_FAMILIES = {
    "fake_customer_service",
    "order_brushing",
    "investment",
    "shopping",
    "traffic_diversion",
    "impersonate_officials",
    "loan_credit",
    "impersonate_acquaintance",
    "romance",
    "game_trading",
    "account_prize_lures",
    "black_market",
}


def test_bundled_rules_lint_clean() -> None:
    problems, _ = lint_dir(RULES, today=dt.date(2000, 1, 1))
    assert [str(p) for p in problems if p.severity == "error"] == []


def test_ids_match_file_names_and_every_rule_is_complete() -> None:
    source = read_rule_dir(RULES)
    for rule in source.rules:
        assert source.paths[rule.id].endswith(f"/{rule.id}.yaml")
        assert len(rule.stages) >= 2, f"{rule.id}: a flow has at least two stages"
        assert rule.advice.zh and rule.advice.en
        assert len(rule.examples.scam) >= 2 and len(rule.examples.benign) >= 2


def test_the_known_families_are_covered() -> None:
    families = {r.family for r in read_rule_dir(RULES).rules if r.status == "active"}
    assert families >= REQUIRED_FAMILIES, sorted(REQUIRED_FAMILIES - families)


def test_english_flows_are_covered(engine: Engine) -> None:
    # One written-for-the-test message per English family the bot promises to know.
    cases = {
        "parcel": "Royal Mail: your parcel is on hold due to an unpaid shipping fee of £1.99. "
        "Pay now at royalmail-redeliver-uk.com or it will be returned.",
        "hi mum": "Hi mum, I dropped my phone and this is my new number. Can you help me pay a bill "
        "today? I'll pay you back tomorrow, don't tell dad.",
        "prize": "CONGRATULATIONS! You have been selected to receive a £1000 cash prize. "
        "To claim call 09061234567 now.",
    }
    for name, text in cases.items():
        assert engine.check(text).risk != "none", name
