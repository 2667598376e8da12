"""Properties over any input: the engine always answers, and evidence always points into it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Engine

# Scam-flavoured pieces mixed into random text make hits (and so evidence) likely.
PIECES = st.sampled_from(
    [
        "包裹丢失",
        "三倍理赔",
        "加 V 信",
        "屏幕共享",
        "安全账户",
        "验证码",
        "刷单",
        "佣金",
        "轉帳",
        "客服",
        "your parcel is held",
        "pay the fee at",
        "royalmail-redeliver-uk.com",
        "http://jd-lipei.cn",
        "17012345678",
        "6222021234567894",
        "\u200b",
        "❤",
        " ",
        "，",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=20), PIECES), max_size=30).map("".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TEXT)
def test_any_text_gets_a_verdict_with_exact_evidence(engine: Engine, text: str) -> None:
    v = engine.check(text)
    assert v.risk in ("high", "medium", "low", "none")
    for e in v.evidence:
        assert 0 <= e.start <= e.end <= len(text)
        assert text[e.start : e.end] == e.text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_conversations_quote_the_right_message(engine: Engine, texts: list[str]) -> None:
    v = engine.check(texts)
    for e in v.evidence:
        assert texts[e.message][e.start : e.end] == e.text


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(min_size=1, max_size=50), st.sampled_from(["包裹丢失三倍理赔加微信", "a b ", "\u200b"])
)
def test_a_hundred_thousand_characters(engine: Engine, seed: str, piece: str) -> None:
    text = ((seed + piece) * (100_000 // (len(seed) + len(piece)) + 1))[:100_000]
    v = engine.check(text)
    assert v.risk in ("high", "medium", "low", "none")
    for e in v.evidence:
        assert text[e.start : e.end] == e.text
