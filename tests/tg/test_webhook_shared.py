"""Two webhook workers sharing one database behave as one bot: a forwarded conversation is
followed across them, flood limits count presses sent to either, and a group message is warned
about once whichever worker sees its edits (Telegram hands each update to any worker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from tests.tg.conftest import TOKEN
from tests.tg.test_e2e import FAKE_CS_ZH, details_of, run
from tests.tg.test_webhook import worker

# A slow database under a busy machine must not turn shared state into per-worker state here.
SLOW_OK = {"SENTINEL_TELEGRAM__SHARED_STATE_TIMEOUT_SECONDS": "10"}


@asynccontextmanager
async def two_workers(tmp_path: Path, **env: str) -> AsyncIterator[BotApiEmulator]:
    """The emulator delivering updates to two workers in turn, both on one database."""
    emu = BotApiEmulator(token=TOKEN)
    await emu.start()
    try:
        async with worker(tmp_path, emu, **env) as (a, _), worker(tmp_path, emu, **env) as (b, _):
            emu.webhook_targets = [f"{a}/telegram", f"{b}/telegram"]
            yield emu
        assert emu.invalid_requests == []
    finally:
        await emu.stop()


async def settled(emu: BotApiEmulator, updates: int) -> None:
    """Wait until ``updates`` updates were acknowledged (answered or refused)."""
    for _ in range(1200):
        if sum(d.ok for d in emu.webhook_deliveries) >= updates:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{sum(d.ok for d in emu.webhook_deliveries)} of {updates} acknowledged")


def test_a_forwarded_conversation_is_followed_across_workers(tmp_path: Path) -> None:
    """One message at a time (Telegram waits for each answer), alternating between workers:
    the first is answered at once, a message that changes nothing gets no second answer, and
    the one that reaches a further stage gets the answer while the earlier one points to it."""

    async def go() -> None:
        async with two_workers(tmp_path, **SLOW_OK) as emu:
            user = emu.make_user(language_code="zh-hans")
            chat = emu.private_chat(user)
            for text in (
                "您好，我是京东客服，您买的商品检测出质量问题，需要给您办理退款。",
                "好的",
                "请下载会议软件并开启屏幕共享，我一步步教您操作激活退款通道。",
            ):
                emu.send_text(chat, user, text, forwarded=True)
            await settled(emu, 3)
            targets = {d.url for d in emu.webhook_deliveries if d.ok}
            assert len(targets) == 2  # both workers answered part of it
            first, latest = emu.sent_messages(chat["id"])
            assert "高风险" in latest["text"]
            # Its details come from the state shared by the workers, whichever one is pressed.
            details = await details_of(emu, chat, user, latest)
            assert "第 4 步" in details["text"], details["text"]
            assert "下方最新的回复" in first["text"]  # edited: no two answers disagree
            assert "reply_markup" not in first or not first["reply_markup"]

    run(go())


def test_a_follow_up_question_continues_the_verdict_whichever_worker_answers(
    tmp_path: Path,
) -> None:
    """The check goes to one worker, "what do I do now?" to the other: the second continues
    the first's verdict from the shared state (rule id and clue names only)."""

    async def go() -> None:
        async with two_workers(tmp_path, **SLOW_OK) as emu:
            user = emu.make_user(language_code="zh-hans")
            chat = emu.private_chat(user)
            emu.send_text(chat, user, FAKE_CS_ZH)
            await settled(emu, 1)
            emu.send_text(chat, user, "那我该怎么办？")
            await settled(emu, 2)
            assert len({d.url for d in emu.webhook_deliveries if d.ok}) == 2
            first, follow = emu.sent_messages(chat["id"])
            assert "快递" in first["text"]
            assert "接着你刚才发来的消息" in follow["text"] and "快递" in follow["text"]

    run(go())


def test_button_floods_are_limited_across_workers(tmp_path: Path) -> None:
    """60 presses of a language button, spread over two workers: the limit holds for the
    person, not per worker (6 presses: 2x the burst of 3), and the rest get no message."""
    env = SLOW_OK | {
        "SENTINEL_TELEGRAM__FLOOD_BURST": "3",
        "SENTINEL_TELEGRAM__FLOOD_EVERY_SECONDS": "60",
    }

    async def go() -> None:
        async with two_workers(tmp_path, **env) as emu:
            user = emu.make_user(language_code="en")
            chat = emu.private_chat(user)
            emu.send_text(chat, user, "/lang")
            [prompt] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
            for _ in range(60):
                emu.press_button(chat, user, prompt, "lang:en")
            await settled(emu, 61)
            sent = emu.sent_messages(chat["id"])
            assert len(sent) == 1 + 6, len(sent)
            answers = [
                q.params.get("text")
                for q in emu.requests
                if q.method.lower() == "answercallbackquery"
            ]
            assert sum("quickly" in (text or "") for text in answers) == 1  # told once

    run(go())


def test_a_group_post_is_warned_about_once_whichever_worker_sees_its_edits(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with two_workers(tmp_path, **SLOW_OK) as emu:
            admin = emu.make_user(language_code="zh-hans")
            group = emu.group_chat(title="g")
            emu.add_bot_to_group(group, by=admin)
            await emu.wait_for_messages(group["id"], count=1, timeout=60)
            poster = emu.make_user(language_code="zh-hans")
            post = emu.send_text(group, poster, "大家好，新人报到")
            for n in range(4):  # the scam edited in, then touched up, on either worker
                emu.edit_text(group, poster, post, FAKE_CS_ZH + "。" * n)
            await settled(emu, 6)
            warnings = emu.sent_messages(group["id"])[1:]
            assert len(warnings) == 1
            assert warnings[0]["reply_to_message"]["message_id"] == post["message_id"]

    run(go())


@pytest.mark.parametrize("forwarded", [False, True], ids=["sent", "forwarded"])
def test_an_album_gets_one_check_and_one_reply_across_workers(
    forwarded: bool, tmp_path: Path
) -> None:
    """An album's pictures (sent, or forwarded together) come one update each, to either
    worker: the worker that got the first collects the album, the other adds what its pictures
    showed (clue names, no text), and the album gets one reply holding the verdict of all of
    it, as in polling mode."""
    from tests.tg.conftest import render_png

    async def go() -> None:
        async with two_workers(tmp_path, **SLOW_OK) as emu:
            user = emu.make_user(language_code="zh-hans")
            chat = emu.private_chat(user)
            shots = [
                ["您好，我是快递理赔专员"],
                ["您的包裹在运输途中丢失了"],
                ["我们三倍理赔，请加客服微信办理"],
                ["请下载会议软件并开启屏幕共享"],
            ]
            for lines in shots:
                emu.send_photo(
                    chat, user, render_png(lines), forwarded=forwarded, media_group_id="album-1"
                )
            await settled(emu, 4)
            urls = {d.url for d in emu.webhook_deliveries if d.ok}
            assert len(urls) == 2, "the album's items went to both workers"
            [answer] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
            await asyncio.sleep(3)  # nothing more comes: no second reply, no edit
            assert [m["text"] for m in emu.sent_messages(chat["id"])] == [answer["text"]]
            # High risk only with every picture counted: the first and third alone are medium,
            # the fourth (screen sharing) is the furthest stage, whichever worker read it.
            assert "快递" in answer["text"] and "高风险" in answer["text"], answer["text"]
            assert not [q for q in emu.requests if q.method == "editMessageText"]

    run(go())


def test_an_album_being_collected_is_dropped_by_forget(tmp_path: Path) -> None:
    """/forget while an album is being collected: the album gets no answer (its text is
    dropped from the collector's memory)."""
    from tests.tg.conftest import render_png

    async def go() -> None:
        # A long window, so /forget certainly comes before the album would be answered.
        env = {**SLOW_OK, "SENTINEL_TELEGRAM__CONVERSATION_WINDOW_SECONDS": "10"}
        async with two_workers(tmp_path, **env) as emu:
            user = emu.make_user(language_code="zh-hans")
            chat = emu.private_chat(user)
            for lines in (["您好，我是快递理赔专员"], ["我们三倍理赔，请加客服微信办理"]):
                emu.send_photo(chat, user, render_png(lines), media_group_id="album-1")
            await settled(emu, 2)
            emu.send_text(chat, user, "/forget")
            [confirm] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
            emu.press_button(chat, user, confirm, "fg:yes")
            await settled(emu, 4)
            await asyncio.sleep(25)  # past the time the album would have been answered
            texts = [m["text"] for m in emu.sent_messages(chat["id"])]
            assert not [t for t in texts if "风险" in t or "未匹配" in t], texts

    run(go())
