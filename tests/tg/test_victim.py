"""The person who already acted on a scam, and the one who asks what to do next: through the
emulator, as they meet the bot."""

from __future__ import annotations

from pathlib import Path

from tests.tg.conftest import render_png, running_bot
from tests.tg.test_e2e import FAKE_CS_ZH, run


def _first_block(text: str) -> str:
    return text.split("\n\n", 1)[0]


def test_a_victim_who_already_paid_gets_what_cannot_wait_first_in_their_language(
    tmp_path: Path,
) -> None:
    cases = [
        # (Telegram language, what they say, the urgent step expected, the hotline)
        ("zh-hans", "我已经按他说的转了5000块钱到安全账户，现在怎么办", "止付", "96110"),
        ("zh-hant", "驗證碼給了對方，還把錢轉過去了，怎麼辦", "止付", "165"),
        (
            "en-us",
            "I already paid the toll on that link and entered my card, what do I do now?",
            "stop the payment",
            "reportfraud.ftc.gov",
        ),
    ]

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            bodies = {}
            for code, text, step, number in cases:
                user = r.emu.make_user(language_code=code)
                chat = r.emu.private_chat(user)
                r.emu.send_text(chat, user, text)
                [answer] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
                body = answer["text"]
                first = _first_block(body)
                assert "🆘" in first and step in first, body  # before anything else
                assert number in first, body
                # Not "no known pattern": a victim is told what to send next instead.
                assert "未匹配" not in body and "沒有比對" not in body
                assert "No known scam pattern" not in body
                assert len(body) <= 900, len(body)  # readable on a phone
                bodies[code] = body
            # Traditional readers get Traditional advice (帳戶, not 账户).
            assert "帳戶" in bodies["zh-hant"] and "账户" not in bodies["zh-hant"]

    run(go())


def test_what_they_gave_decides_the_steps(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "我下载了他发的app，还开了屏幕共享")
            [app] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            urgent = _first_block(app["text"])
            assert "飞行模式" in urgent and "止付" not in urgent  # no money was mentioned
            r.emu.send_text(chat, user, "我没有转账，也没给验证码，只是想问问")
            _, calm = await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            assert "🆘" not in calm["text"]  # "did not" is no emergency

    run(go())


def test_a_forwarded_i_have_paid_is_the_scammer_talking_not_the_person(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="en")
            chat = r.emu.private_chat(user)
            r.emu.send_text(
                chat, user, "I have paid you $500, please check your account", forwarded=True
            )
            [answer] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "🆘" not in answer["text"]

    run(go())


def test_a_follow_up_question_continues_the_verdict_just_given(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            r.emu.send_text(chat, user, "那我该怎么办？")
            [lost] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "你问的是哪条消息" in lost["text"]  # nothing to continue yet
            r.emu.send_text(chat, user, FAKE_CS_ZH)
            await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            r.emu.send_text(chat, user, "那我该怎么办？")
            *_, follow = await r.emu.wait_for_messages(chat["id"], count=3, timeout=60)
            assert "接着你刚才发来的消息" in follow["text"], follow["text"]
            assert "快递" in follow["text"] and "风险" in follow["text"]
            r.emu.send_text(chat, user, "我已经把钱转过去了")
            *_, victim = await r.emu.wait_for_messages(chat["id"], count=4, timeout=60)
            assert _first_block(victim["text"]).startswith("🔁")
            assert "止付" in victim["text"] and "快递" in victim["text"]
            # /forget drops what was kept: the same question then has nothing to continue.
            r.emu.send_text(chat, user, "/forget")
            *_, ask = await r.emu.wait_for_messages(chat["id"], count=5, timeout=60)
            r.emu.press_button(chat, user, ask, "fg:yes")
            await r.emu.wait_for_messages(chat["id"], count=6, timeout=60)
            r.emu.send_text(chat, user, "那我该怎么办？")
            *_, after = await r.emu.wait_for_messages(chat["id"], count=7, timeout=60)
            assert "你问的是哪条消息" in after["text"], after["text"]

    run(go())


def test_a_second_screenshot_of_the_same_chat_continues_the_first_verdict(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user = r.emu.make_user(language_code="zh-hans")
            chat = r.emu.private_chat(user)
            first = render_png(
                ["您好，我是快递理赔专员，您的包裹丢失了，", "我们按三倍价格给您理赔。"]
            )
            r.emu.send_photo(chat, user, first)
            [one] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
            assert "快递" in one["text"]
            second = render_png(["请打开支付宝借呗查看额度，", "按提示转账验证流水后原路退回。"])
            r.emu.send_photo(chat, user, second)
            _, two = await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
            assert "接着你刚才发来的消息" in two["text"], two["text"]
            assert "快递" in two["text"]  # still the parcel-refund scam, now further along
            # A different story a minute later is checked on its own.
            r.emu.send_text(chat, user, "您的贷款已审批通过，请先缴纳保证金后放款")
            *_, three = await r.emu.wait_for_messages(chat["id"], count=3, timeout=60)
            assert "接着你刚才" not in three["text"] and "贷款" in three["text"]

    run(go())
