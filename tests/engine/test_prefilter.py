"""The regex prefilter (literal atoms found by the automaton, windows around them, one RE2 Set
for the regexes searched in the whole text) is only a speed-up: it never changes a verdict.
Checked against running every regex alone on the whole text.
(Literal-only regexes are matched by the automaton in both, so quotes may list overlapping
occurrences differently; the verdict itself must be identical.)"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Engine
from bot.engine.atoms import required_groups
from bot.engine.ruletest import iter_examples

PIECES = st.sampled_from(
    [
        "包裹",
        "丢失",
        "理赔",
        "加",
        "微信",
        "添加",
        "屏幕共享",
        "验证码",
        "转账",
        "安全账户",
        "刷单",
        "佣金",
        "parcel",
        " lost",
        "refund",
        "call 09061234567",
        "txt win to 80086",
        "，",
        " ",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=25).map("".join)


def verdict(engine: Engine, text: str) -> tuple[object, ...]:
    v = engine.check(text)
    return (
        v.risk,
        v.rule,
        v.score,
        [(s.id, sorted(h.signal for h in s.signals)) for s in v.stages],
        v.furthest_stage,
        sorted(h.signal for h in v.negatives),
        v.others,
    )


def unfiltered(engine: Engine) -> Engine:
    rules = copy.copy(engine.rules)
    rules.always_run = tuple(range(len(rules.regexes)))
    rules.windows = (None,) * len(rules.regexes)
    rules.whole_set = None  # no RE2 Set either: every regex searched alone
    return Engine(rules)


def test_atom_groups_are_necessary_conditions() -> None:
    assert required_groups("(快递|包裹).{0,10}(丢失|破损)") == (
        frozenset({"快递", "包裹"}),
        frozenset({"丢失", "破损"}),
    )
    assert required_groups(r"\p{Han}+x") is None  # RE2-only syntax: always runs
    assert required_groups("[a-z]+") is None


def test_edge_atoms_are_where_every_match_begins_and_ends() -> None:
    from bot.engine.atoms import edge_atoms

    assert edge_atoms("(信用卡|卡片)[^，]{0,6}额度") == (
        frozenset({"信用卡", "卡片"}),
        frozenset({"额度"}),
    )
    # Assertions match no characters: the words beside them are still the edges.
    assert edge_atoms(r"\b(if|when) you\b.{0,9}(now|today)\b") == (
        frozenset({"if you", "when you"}),
        frozenset({"now", "today"}),
    )
    assert edge_atoms(r"\d+元") == (None, frozenset({"元"}))
    assert edge_atoms("(a|b)+c") == (None, None)  # a repeated group is no fixed edge


def test_a_match_near_the_message_edges_is_found_in_its_window(engine: Engine) -> None:
    """Windows after a leading atom and before a trailing one must not lose a match that
    touches the start or the end of the message, nor one whose atom occurs twice."""
    plain = unfiltered(engine)
    for text in (
        "您的信用卡已提升额度至5万",
        "信用卡额度，信用卡已提升额度",
        "if you do not pay now",
        "x if you do not reply today if you",
    ):
        assert verdict(engine, text) == verdict(plain, text), text


def test_examples_give_the_same_verdicts_either_way(engine: Engine) -> None:
    plain = unfiltered(engine)
    for _, _, _, text in iter_examples(engine):
        assert verdict(engine, text) == verdict(plain, text), text


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TEXT)
def test_random_text_gives_the_same_verdicts_either_way(engine: Engine, text: str) -> None:
    assert verdict(engine, text) == verdict(unfiltered(engine), text)


def test_literal_only_regexes_match_exactly_where_re2_does() -> None:
    """Regexes that are only sets of strings are matched by the automaton; around each of
    their strings, with letters on either side, RE2 and the automaton must agree."""
    import re2

    from bot.engine.atoms import literal_strings
    from bot.engine.loader import read_rule_dir
    from tests.conftest import RULES

    source = read_rule_dir(RULES)
    patterns = [
        p
        for rule in source.rules
        for sig in [s for st in rule.stages for s in st.signals] + list(rule.negatives)
        for p in sig.regex
    ] + [p for sig in source.signals.signals.values() for p in sig.regex]
    checked = 0
    for pattern in patterns:
        literals = literal_strings(pattern)
        if literals is None:
            continue
        rx = re2.compile(pattern)
        for lit in sorted(literals)[:20]:
            for text in (lit, f"x{lit}", f"{lit}x", f"a {lit} b", f"中{lit}文"):
                in_automaton = any(lit2 in text for lit2 in literals)
                assert in_automaton == bool(rx.search(text)), (pattern, text)
                checked += 1
    assert checked > 100


def test_word_boundaries_inside_groups_are_respected(engine: Engine) -> None:
    assert required_groups(r"(私聊|\btg\b)") is not None
    from bot.engine.atoms import literal_strings

    assert literal_strings(r"(私聊|\btg\b)") is None
    assert literal_strings("[[:digit:]]{6}") is None
    assert required_groups("[[:digit:]]{6}验证码") is None
