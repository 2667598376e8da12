"""Action first, details on demand: the first screen a person reads on a phone, the
"Details" view and back (edited in place), the card to forward to family, and a button on a
reply whose state is gone: through the emulator, as people meet the bot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.tg.conftest import Running, joined_group, running_bot
from tests.tg.test_e2e import FAKE_CS_EN, FAKE_CS_ZH, run

HI_MUM = "Hi Mum, I dropped my phone in the toilet, this is my new number. Can you save it? x"

# What a person notices on a phone: a first screen that fits without scrolling.
MAX_LINES = 10
MAX_CHARS = 450


def data_of(message: dict[str, Any]) -> dict[str, str]:
    """Callback data by its prefix (``dt:d``, ``dt:s``, ``fm``, ``fb:h``, ``rp:ask``...)."""
    out = {}
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for b in row:
            data = b["callback_data"]
            out[data.rsplit(":", 1)[0]] = data
    return out


async def until(what: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Wait for a condition, not for a time: a busy machine only makes it slower."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (found := what()):
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)
    return found


def current(r: Running, chat: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    return next(
        m for m in r.emu.sent_messages(chat["id"]) if m["message_id"] == message["message_id"]
    )


async def edited(
    r: Running, chat: dict[str, Any], message: dict[str, Any], was: str
) -> dict[str, Any]:
    """``message`` once its text is no longer ``was``."""
    found: dict[str, Any] = await until(
        lambda: (m := current(r, chat, message))["text"] != was and m
    )
    return found


async def answer_after(r: Running, seen: int) -> dict[str, Any]:
    """The callback answer after the first ``seen``."""
    await until(lambda: len(r.emu.callback_answers) > seen)
    answer: dict[str, Any] = r.emu.callback_answers[seen]
    return answer


async def first_reply(r: Running, code: str, text: str) -> tuple[Any, Any, dict[str, Any]]:
    user = r.emu.make_user(language_code=code)
    chat = r.emu.private_chat(user)
    r.emu.send_text(chat, user, text)
    [answer] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=60)
    return user, chat, answer


def test_the_first_screen_is_the_risk_the_type_the_urgent_action_and_the_hotline(
    tmp_path: Path,
) -> None:
    cases = [
        # (language, message, the type, the most urgent action, the hotline, words of it)
        ("zh-hans", FAKE_CS_ZH, "冒充快递或电商客服", "挂断电话", "96110", "三倍价格"),
        ("zh-hant", FAKE_CS_ZH, "冒充快遞或電商客服", "不要加對方微信", "165", "三倍價格"),
        ("en", FAKE_CS_EN, "Fake courier or online-shop", "", "Action Fraud", "twice the"),
        ("en", HI_MUM, "Hi Mum, new number", "call their old number", "Action Fraud", "toilet"),
    ]

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            for code, text, title, action, number, words in cases:
                _, _, answer = await first_reply(r, code, text)
                body = answer["text"]
                lines = body.splitlines()
                assert len(lines) <= MAX_LINES and len(body) <= MAX_CHARS, (len(lines), body)
                assert "risk" in lines[0] or "风险" in lines[0] or "風險" in lines[0], body
                assert title in lines[1], body
                assert "现在该做" in body or "現在該做" in body or "What to do now" in body, body
                assert action in body and number in body, body
                # Stages, quotes and what comes next wait behind "Details".
                for later in (words, "接下来", "接下來", "ask next", "step", "第 "):
                    assert later not in body, (later, body)
                data = data_of(answer)
                assert {"dt:d", "fm", "fb:h", "fb:w", "rp:ask"} <= set(data), data
                assert all(len(d.encode()) <= 64 for d in data.values())
            # "Hi mum, new number" gets no advice about grandchildren in jail or couriers.
            assert "jail" not in body and "courier" not in body

    run(go())


def test_details_edit_the_reply_in_place_and_back(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            for code, text, expect in (
                (
                    "zh-hans",
                    FAKE_CS_ZH,
                    ["你已到第 3 步", "接下来对方可能会", "“三倍价格给您理赔”"],
                ),
                ("en", HI_MUM, ["You are at step 1 of 4", "What they will ask next", "“Hi Mum”"]),
            ):
                user, chat, short = await first_reply(r, code, text)
                r.emu.press_button(chat, user, short, data_of(short)["dt:d"])
                details = await edited(r, chat, short, short["text"])
                for piece in expect:
                    assert piece in details["text"], (piece, details["text"])
                assert len(r.emu.sent_messages(chat["id"])) == 1  # edited, not sent anew
                assert "dt:s" in data_of(details) and "fm" in data_of(details)
                assert len(details["raw_text"]) <= 4096 and details["parse_mode"] == "HTML"
                r.emu.press_button(chat, user, details, data_of(details)["dt:s"])
                back = await edited(r, chat, short, details["text"])
                assert back["text"] == short["text"] and data_of(back) == data_of(short)
                assert len(r.emu.sent_messages(chat["id"])) == 1

    run(go())


def test_the_family_card_is_short_forwardable_and_holds_nothing_of_the_message(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            for code, text, title, number, absent in (
                ("en", HI_MUM, "Hi Mum, new number", "Action Fraud", ["toilet", "Can you save"]),
                (
                    "zh-hans",
                    FAKE_CS_ZH + "联系电话13812345678",
                    "冒充快递或电商客服",
                    "96110",
                    ["三倍价格", "13812345678", "理赔专员"],
                ),
            ):
                user, chat, short = await first_reply(r, code, text)
                r.emu.press_button(chat, user, short, data_of(short)["fm"])
                _, card = await r.emu.wait_for_messages(chat["id"], count=2, timeout=60)
                body = card["text"]
                assert title in body and number in body, body
                assert "👉" in body  # the one thing to do
                for word in absent:
                    assert word not in body, (word, body)
                assert user["first_name"] not in body
                assert "reply_to_message" not in card and not card.get("reply_markup")
                assert len(body.splitlines()) <= 8 and card["parse_mode"] == "HTML"
                await until(
                    lambda: any(
                        "forward" in (a.get("text") or "") or "转发" in (a.get("text") or "")
                        for a in r.emu.callback_answers
                    )
                )

    run(go())


def test_a_button_on_a_reply_whose_state_expired_is_answered_politely(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user, chat, short = await first_reply(r, "en", FAKE_CS_EN)
            ref = data_of(short)["fm"].split(":", 1)[1]
            r.deps.pacing.conversations.drop(("view", ref))  # as if its time ran out
            for data in (data_of(short)["dt:d"], data_of(short)["fm"]):
                before = len(r.emu.callback_answers)
                r.emu.press_button(chat, user, short, data)
                answer = await answer_after(r, before)
                assert "too old" in answer.get("text", ""), answer
            assert r.emu.sent_messages(chat["id"]) == [current(r, chat, short)]
            assert current(r, chat, short)["text"] == short["text"]

    run(go())


def test_a_victim_still_reads_what_cannot_wait_first_in_both_views(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            user, chat, short = await first_reply(
                r, "zh-hans", "我被骗了，" + FAKE_CS_ZH + "我已经按他说的转了5000块钱"
            )
            first = short["text"].split("\n\n", 1)[0]
            assert "🆘" in first and "止付" in first and "96110" in first, short["text"]
            assert "类型" in short["text"] and len(short["text"]) <= 900
            assert "dt:d" in data_of(short)
            r.emu.press_button(chat, user, short, data_of(short)["dt:d"])
            details = await edited(r, chat, short, short["text"])
            assert details["text"].split("\n\n", 1)[0] == first  # urgent first here too
            assert "接下来对方可能会" in details["text"] or "已出现的步骤" in details["text"]

    run(go())


def test_anyone_in_a_group_may_open_the_details_of_a_check(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            _, group, _ = await joined_group(r)
            poster, asker = r.emu.make_user(), r.emu.make_user(language_code="zh-hans")
            other = r.emu.make_user(language_code="en")
            post = r.emu.send_text(group, poster, FAKE_CS_ZH)
            r.emu.send_text(group, asker, "/check", reply_to=post)
            answer = await until(
                lambda: next(
                    (m for m in r.emu.sent_messages(group["id"]) if "检查的是" in m["text"]), None
                )
            )
            # Only the view toggle: feedback, report and the family card are one person's own.
            assert set(data_of(answer)) == {"dt:d"}
            r.emu.press_button(group, other, answer, data_of(answer)["dt:d"])
            details = await edited(r, group, answer, answer["text"])
            # The group's answer stays in the language it was given in.
            assert "已出现的步骤" in details["text"] and set(data_of(details)) == {"dt:s"}

    run(go())
