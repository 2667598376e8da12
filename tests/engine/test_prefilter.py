"""The regex prefilter (literal atoms found by the automaton, windows around them) is only a
speed-up: it never changes a verdict. Checked against running every regex on the whole text.
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
    return Engine(rules)


def test_atom_groups_are_necessary_conditions() -> None:
    assert required_groups("(快递|包裹).{0,10}(丢失|破损)") == (
        frozenset({"快递", "包裹"}),
        frozenset({"丢失", "破损"}),
    )
    assert required_groups(r"\p{Han}+x") is None  # RE2-only syntax: always runs
    assert required_groups("[a-z]+") is None


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
