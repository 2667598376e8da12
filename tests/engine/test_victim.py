"""What a person says about themselves (victim.py), and a check that continues the previous
one (Engine.check_follow_on)."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.engine.victim import read_self_report

COURIER = "您好，我是快递理赔专员，您的包裹在运输途中丢失了，我们按三倍价格给您理赔，请加一下客服微信办理。"


@pytest.mark.parametrize(
    ("text", "acts"),
    [
        ("我被骗了", ("scammed",)),
        ("我已经按他说的转了5000块钱到安全账户，现在怎么办", ("paid",)),
        ("驗證碼給了對方怎麼辦", ("code",)),  # Traditional, folded
        ("我刚刚把验证码告诉客服了", ("code",)),
        ("我下载了他发的app，还开了屏幕共享", ("app",)),
        ("I already paid the toll on that link and entered my card", ("paid", "card")),
        ("I think I've been scammed", ("scammed",)),
        ("I gave them the code they texted me", ("code",)),
        ("I entered my PIN on their site", ("code",)),
        # Not done, or not done yet: no emergency.
        ("我没有转账，只是问问", ()),
        ("差点被骗", ()),
        ("如果转了钱怎么办", ()),
        ("怎样才能不被骗", ()),
        ("您的验证码是123456，请勿告诉他人", ()),
        ("I didn't pay anything, is this a scam?", ()),
        ("Should I pay the fee?", ()),
        # Ordinary messages.
        ("明天几点见？", ()),
        ("Your parcel is held, pay the fee at http://x.co", ()),
    ],
)
def test_acts_already_done_are_read_from_the_persons_words(
    text: str, acts: tuple[str, ...]
) -> None:
    assert read_self_report(text).acts == acts


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [
        ("那我该怎么办？", True),
        ("這是詐騙嗎？", True),
        ("what should I do now?", True),
        ("is this a scam?", True),
        ("明天一起吃饭吧", False),
        ("请问" + "这是一个很长的故事，" * 12 + "怎么办", False),  # a story, not a question
    ],
)
def test_short_questions_about_the_last_check_are_follow_ups(text: str, follow_up: bool) -> None:
    assert read_self_report(text).follow_up is follow_up


def test_a_follow_up_continues_the_previous_verdict(engine: Engine) -> None:
    first, carried = engine.check_continuing(COURIER)
    assert first.rule is not None and first.risk == "high"
    rule = first.rule.id

    verdict, _, continued = engine.check_follow_on("那我该怎么办？", (), carried, rule, asks=True)
    assert continued and verdict.rule is not None and verdict.rule.id == rule
    assert verdict.risk == first.risk

    # The same words not asked as a question: nothing of their own, nothing continued.
    verdict, _, continued = engine.check_follow_on("好的", (), carried, rule)
    assert not continued and verdict.risk == "none"

    # The next screenshot of the same chat: another rule alone, the first rule with it.
    nxt = "请打开支付宝借呗查看额度，按提示转账验证流水"
    verdict, _, continued = engine.check_follow_on(nxt, (), carried, rule)
    assert continued and verdict.rule is not None and verdict.rule.id == rule
    assert verdict.furthest_stage != first.furthest_stage  # further along the same flow

    # A different story that the first rule does not recognise on its own: checked alone.
    loan = "您的贷款已审批通过，请缴纳保证金后放款"
    verdict, _, continued = engine.check_follow_on(loan, (), carried, rule)
    assert not continued and verdict.rule is not None and verdict.rule.id != rule
    assert verdict == engine.check(loan)


def test_without_an_earlier_check_follow_on_is_a_plain_check(engine: Engine) -> None:
    verdict, _, continued = engine.check_follow_on(COURIER, (), None, None, asks=True)
    assert not continued and verdict == engine.check(COURIER)
