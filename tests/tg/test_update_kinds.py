"""Every kind of update the emulator builds, through the real bot: forum topics, service
messages, chat_member, polls, stories, inline queries. For each, the right answer (in the
right forum topic) or the right silence, no request the emulator refuses, no error logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import BotApiEmulator
from tests.tg.conftest import TOKEN, running_bot
from tests.tg.test_e2e import FAKE_CS_ZH, run
from tests.tg.test_webhook import worker

JSON = dict[str, Any]


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@asynccontextmanager
async def bot_in(mode: str, tmp_path: Path) -> AsyncIterator[BotApiEmulator]:
    """The bot polling the emulator, or one webhook worker it delivers to; at the end no
    refused request and no error logged."""
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        if mode == "polling":
            async with running_bot(tmp_path) as r:
                yield r.emu
        else:
            emu = BotApiEmulator(token=TOKEN, bot_username="sentinel_test_bot")
            await emu.start()
            try:
                async with worker(tmp_path, emu):
                    yield emu
                assert [(q.method, q.description) for q in emu.invalid_requests] == []
            finally:
                await emu.stop()
    finally:
        logging.getLogger().removeHandler(errors)
    assert errors.lines == []


async def answer_to(emu: BotApiEmulator, chat: JSON, message: JSON) -> JSON:
    """The bot's reply to ``message``, waited for."""
    for _ in range(6000):
        for sent in emu.sent_messages(chat["id"]):
            if sent.get("reply_to_message", {}).get("message_id") == message["message_id"]:
                return sent
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no reply to message {message['message_id']}")


async def silent_on(emu: BotApiEmulator, chat: JSON, user: JSON, act: Callable[[], Any]) -> None:
    """``act`` gets no message from the bot in ``chat``: /help sent after it is answered
    (so the update was handled), and nothing else is sent there."""
    before = len(emu.sent_messages(chat["id"]))
    act()
    await asyncio.sleep(0.3)
    help_ = emu.send_text(chat, user, "/help")
    await answer_to(emu, chat, help_)
    await asyncio.sleep(0.5)
    others = [
        m["text"]
        for m in emu.sent_messages(chat["id"])[before:]
        if m.get("reply_to_message", {}).get("message_id") != help_["message_id"]
    ]
    assert others == []


async def forum_group(emu: BotApiEmulator) -> tuple[JSON, JSON]:
    admin = emu.make_user(language_code="zh-hans")
    group = emu.group_chat("论坛", forum=True)
    emu.add_bot_to_group(group, by=admin)
    await emu.wait_for_messages(group["id"], count=1, timeout=60)  # the hello, in General
    return admin, group


def sends_in(emu: BotApiEmulator, chat: JSON) -> list[JSON]:
    return [
        q.params
        for q in emu.requests
        if q.method == "sendMessage" and q.ok and str(q.params.get("chat_id")) == str(chat["id"])
    ]


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_the_bot_answers_in_the_forum_topic_it_was_asked_in(mode: str, tmp_path: Path) -> None:
    async def go() -> None:
        async with bot_in(mode, tmp_path) as emu:
            admin, group = await forum_group(emu)
            member = emu.make_user(language_code="zh-hans")
            topic = {}

            def open_topic() -> None:
                topic.update(emu.create_topic(group, admin, "闲聊"))

            await silent_on(emu, group, admin, open_topic)  # forum_topic_created: silence
            thread = topic["message_thread_id"]
            scam = emu.send_text(group, member, FAKE_CS_ZH, topic=thread)
            warning = await answer_to(emu, group, scam)
            assert "提醒" in warning["text"]
            assert warning["message_thread_id"] == thread and warning["is_topic_message"]
            asked = emu.send_text(group, admin, "/help", topic=thread)
            answer = await answer_to(emu, group, asked)
            assert answer["message_thread_id"] == thread
            # The topic is named in the request itself: were the message gone by then, the
            # answer would still land in its topic, not in General.
            replies = {
                p["reply_parameters"]["message_id"]: p.get("message_thread_id")
                for p in sends_in(emu, group)
                if "reply_parameters" in p
            }
            assert replies[scam["message_id"]] == thread
            assert replies[asked["message_id"]] == thread
            # In General, no topic is named.
            general = emu.send_text(group, member, FAKE_CS_ZH + " ")
            assert "message_thread_id" not in await answer_to(emu, group, general)
            await silent_on(emu, group, admin, lambda: emu.close_topic(group, admin, thread))

    run(go())


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_service_messages_and_chat_member_updates_get_silence(mode: str, tmp_path: Path) -> None:
    async def go() -> None:
        async with bot_in(mode, tmp_path) as emu:
            admin, group = await forum_group(emu)
            newcomer = emu.make_user(language_code="en")
            await silent_on(emu, group, admin, lambda: emu.join_group(group, newcomer))
            post = emu.send_text(group, admin, "群规：不要发广告")
            await silent_on(emu, group, admin, lambda: emu.pin_message(group, admin, post))
            await silent_on(emu, group, admin, lambda: emu.leave_group(group, newcomer))
            # As an administrator the bot is sent chat_member updates too (it asks for them).
            emu.set_admins(group, [admin, emu.bot_user])
            await silent_on(emu, group, admin, lambda: emu.join_group(group, newcomer, by=admin))
            await silent_on(emu, group, admin, lambda: emu.leave_group(group, newcomer))
            assert not [u for u in emu.dropped_updates if "chat_member" in u]
            assert all(d.ok for d in emu.webhook_deliveries)  # webhook: each acknowledged

    run(go())


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_polls_stories_media_and_inline_queries(mode: str, tmp_path: Path) -> None:
    async def go() -> None:
        async with bot_in(mode, tmp_path) as emu:
            user = emu.make_user(language_code="en")
            chat = emu.private_chat(user)
            # In a private chat: told what the bot can check (a poll or a story holds no text
            # the bot is given).
            poll = emu.send_poll(chat, user, "Is this a scam?", ["yes", "no"])
            assert "text" in (await answer_to(emu, chat, poll))
            story = emu.send_story(chat, user)
            assert "text" in (await answer_to(emu, chat, story))
            # Videos get the refusal for sound and video; a contact, a place, a dice what the
            # bot can check. (Another person: one person's burst of messages is flood-limited.)
            viewer = emu.make_user(language_code="zh-hans")
            own = emu.private_chat(viewer)
            for sent in (
                emu.send_video(own, viewer, caption="看看这个"),
                emu.send_video(own, viewer, note=True),
                emu.send_contact(own, viewer, "+15550100000", "Gil"),
                emu.send_location(own, viewer, 22.3, 114.2),
                emu.send_dice(own, viewer),
            ):
                assert "text" in (await answer_to(emu, own, sent))
            await silent_on(emu, chat, user, lambda: emu.stop_poll(chat, user, poll))
            # In a group: silence.
            admin, group = await forum_group(emu)
            await silent_on(emu, group, admin, lambda: emu.send_poll(group, admin, "?", ["a", "b"]))
            await silent_on(emu, group, admin, lambda: emu.send_story(group, admin))
            for act in (
                lambda: emu.send_video(group, admin),
                lambda: emu.send_contact(group, admin, "+15550100000", "Gil"),
                lambda: emu.send_location(group, admin, 22.3, 114.2),
                lambda: emu.send_dice(group, admin, "🎯", 6),
            ):
                await silent_on(emu, group, admin, act)
            # The bot has no inline mode: an inline query (had it one) gets no answer.
            emu.inline_mode = True
            await silent_on(emu, chat, user, lambda: emu.inline_query(user, FAKE_CS_ZH))
            await silent_on(
                emu, chat, user, lambda: emu.inline_query(user, "scam?", chat_type="supergroup")
            )
            assert not [q for q in emu.requests if q.method == "answerInlineQuery"]

    run(go())


def test_in_delete_mode_the_notice_and_the_restored_post_stay_in_the_posts_topic(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with bot_in("polling", tmp_path) as emu:
            admin, group = await forum_group(emu)
            emu.set_admins(group, [admin, emu.bot_user])
            thread = emu.create_topic(group, admin, "闲聊")["message_thread_id"]
            asked = emu.send_text(group, admin, "/sentinel delete", topic=thread)
            assert (await answer_to(emu, group, asked))["message_thread_id"] == thread
            member = emu.make_user(language_code="zh-hans")
            scam = emu.send_text(group, member, FAKE_CS_ZH, topic=thread)
            for _ in range(6000):
                if emu.deleted_messages(group):
                    break
                await asyncio.sleep(0.01)
            assert [m["message_id"] for m in emu.deleted_messages(group)] == [scam["message_id"]]
            notice = (await emu.wait_for_messages(group["id"], count=3, timeout=60))[-1]
            assert notice["message_thread_id"] == thread, notice
            [[button]] = notice["reply_markup"]["inline_keyboard"]
            emu.press_button(group, admin, notice, button["callback_data"])
            sent = await emu.wait_for_messages(group["id"], count=4, timeout=60)
            assert FAKE_CS_ZH in sent[3]["text"] and sent[3]["message_thread_id"] == thread

    run(go())


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_buttons_on_old_and_inline_messages_are_answered_without_a_message(
    mode: str, tmp_path: Path
) -> None:
    """A button pressed under a warning Telegram no longer shows the bot (older than 48 hours)
    or under an inline-mode message: the press is answered (no endless spinner), nothing is
    edited or sent, no error."""

    async def go() -> None:
        async with bot_in(mode, tmp_path) as emu:
            user = emu.make_user(language_code="zh-hans")
            chat = emu.private_chat(user)
            scam = emu.send_text(chat, user, FAKE_CS_ZH)
            warning = await answer_to(emu, chat, scam)
            buttons = [
                b["callback_data"]
                for row in warning.get("reply_markup", {}).get("inline_keyboard", [])
                for b in row
                if "callback_data" in b
            ]
            assert buttons
            before = len(emu.sent_messages(chat["id"]))
            queries = [emu.press_old_button(chat, user, warning, data) for data in buttons]
            queries.append(emu.press_inline_button(user, "AAEAAQ-inline-1", buttons[0]))
            for _ in range(3000):
                answered = {a["callback_query_id"] for a in emu.callback_answers}
                if set(queries) <= answered:
                    break
                await asyncio.sleep(0.01)
            assert set(queries) <= {a["callback_query_id"] for a in emu.callback_answers}
            await asyncio.sleep(0.3)
            assert len(emu.sent_messages(chat["id"])) == before
            assert not [q for q in emu.requests if q.method.startswith("edit") and q.ok]

    run(go())


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_a_reply_from_another_chat_checks_the_quoted_words(mode: str, tmp_path: Path) -> None:
    """A channel's scam post, replied to from a private chat ("reply in another chat", quoting
    it) with "这是诈骗吗？": the quoted words are checked and the answer says so; nothing is
    written in the channel."""

    async def go() -> None:
        async with bot_in(mode, tmp_path) as emu:
            channel = emu.channel_chat("优惠频道")
            post = emu.channel_post(channel, "通知：" + FAKE_CS_ZH)
            user = emu.make_user(language_code="zh-hans")
            chat = emu.private_chat(user)
            ask = emu.send_text(chat, user, "这是诈骗吗？", external=post, quote=FAKE_CS_ZH)
            assert ask["external_reply"]["origin"]["type"] == "channel"
            answer = await answer_to(emu, chat, ask)
            assert "检查的是你回复" in answer["text"] and "风险" in answer["text"]
            assert emu.sent_messages(channel["id"]) == []
            with pytest.raises(ValueError):
                emu.send_text(chat, user, "?", external=post, quote="not in the post")

    run(go())
