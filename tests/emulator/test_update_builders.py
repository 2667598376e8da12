"""The emulator builds every kind of update the bot may meet (forum topics, service messages,
chat_member, polls, stories, inline queries) in the shape Telegram sends, each checked against
api.json as it is built, and refuses the bot's requests about them the way Telegram does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.emulator import BotApiEmulator

from .conftest import Runner, call

JSON = dict[str, Any]


def kinds(emu: BotApiEmulator) -> list[str]:
    return [next(k for k in u if k != "update_id") for u in emu.pending_updates]


def forum(emu: BotApiEmulator) -> tuple[JSON, JSON]:
    admin = emu.make_user("Ann")
    group = emu.group_chat("Forum", forum=True)
    emu.add_bot_to_group(group, by=admin)
    return admin, group


def test_forum_topics_carry_their_thread_and_answer_the_topics_first_message() -> None:
    emu = BotApiEmulator()
    admin, group = forum(emu)
    assert group["is_forum"] is True
    created = emu.create_topic(group, admin, "Help")
    thread = created["message_thread_id"]
    assert created["message_id"] == thread and created["is_topic_message"] is True
    assert created["forum_topic_created"] == {"name": "Help", "icon_color": 7322096}
    said = emu.send_text(group, admin, "hello", topic=thread)
    assert said["message_thread_id"] == thread and said["is_topic_message"] is True
    assert said["reply_to_message"]["message_id"] == thread  # as Telegram presents it
    answer = emu.send_text(group, emu.make_user("Bo"), "hi", reply_to=said)
    assert answer["message_thread_id"] == thread  # a reply is in the topic of its message
    general = emu.send_text(group, admin, "in General")
    assert "message_thread_id" not in general and "is_topic_message" not in general
    closed = emu.close_topic(group, admin, created)
    assert closed["forum_topic_closed"] == {} and closed["message_thread_id"] == thread
    with pytest.raises(ValueError, match="topic closed"):
        emu.send_text(group, emu.make_user("Cy"), "late", topic=thread)
    with pytest.raises(ValueError, match="no such topic"):
        emu.send_text(group, admin, "x", topic=999)
    with pytest.raises(ValueError, match="not a forum"):
        emu.create_topic(emu.group_chat("plain"), admin)
    assert kinds(emu) == ["my_chat_member", *["message"] * 5]


def test_service_messages_and_chat_member_updates() -> None:
    emu = BotApiEmulator(privacy_mode=True)  # service messages reach a bot in privacy mode
    admin, group = forum(emu)
    newcomer = emu.make_user("Di")
    joined = emu.join_group(group, newcomer)
    assert joined["new_chat_members"] == [newcomer]
    assert joined["new_chat_participant"] == newcomer  # the legacy field Telegram still sends
    post = emu.send_text(group, admin, "/rules")
    pinned = emu.pin_message(group, admin, post)
    assert pinned["pinned_message"]["message_id"] == post["message_id"]
    left = emu.leave_group(group, newcomer)
    assert left["left_chat_member"] == newcomer
    # Telegram sends chat_member only to a bot that administers the chat.
    assert kinds(emu) == ["my_chat_member", *["message"] * 4]
    emu.set_admins(group, [admin, emu.bot_user])
    emu.join_group(group, newcomer, by=admin)
    # ... and asked for it in allowed_updates (not by default).
    update = emu.dropped_updates[-1]["chat_member"]
    assert update["old_chat_member"]["status"] == "left"
    assert update["new_chat_member"] == {"status": "member", "user": newcomer}
    assert update["from"]["id"] == admin["id"]


def test_polls_stories_and_inline_queries() -> None:
    emu = BotApiEmulator()
    user = emu.make_user("Ed")
    chat = emu.private_chat(user)
    sent = emu.send_poll(chat, user, "Lunch?", ["yes", "no"])
    poll = sent["poll"]
    assert [o["text"] for o in poll["options"]] == ["yes", "no"] and not poll["is_closed"]
    stopped = emu.stop_poll(chat, user, sent)
    assert stopped["poll"]["is_closed"] is True and stopped["poll"]["id"] == poll["id"]
    story = emu.send_story(chat, user)
    assert story["story"]["chat"]["id"] == user["id"]
    channel = emu.channel_chat("News")
    assert emu.send_story(chat, user, of=channel)["story"]["chat"]["type"] == "channel"
    with pytest.raises(ValueError, match="inline mode"):
        emu.inline_query(user, "scam?")
    emu.inline_mode = True
    query = emu.inline_query(user, "is this a scam", chat_type="sender")
    assert query["offset"] == "" and query["from"]["id"] == user["id"]
    assert kinds(emu)[-1] == "inline_query"
    with pytest.raises(ValueError, match="2 to 12"):
        emu.send_poll(chat, user, "?", ["only one"])


def test_requests_naming_a_topic_are_refused_as_telegram_refuses_them(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        admin, group = forum(emu)
        thread = emu.create_topic(group, admin, "Help")["message_thread_id"]
        other = emu.create_topic(group, admin, "Other")["message_thread_id"]
        said = emu.send_text(group, admin, "hello", topic=thread)
        plain = emu.group_chat("plain")
        emu.add_bot_to_group(plain, by=admin)
        ok = await call(
            client, "sendMessage", chat_id=group["id"], text="x", message_thread_id=thread
        )
        assert ok.json()["result"]["message_thread_id"] == thread
        # A reply goes to its message's topic, with or without message_thread_id.
        replied = await call(
            client,
            "sendMessage",
            chat_id=group["id"],
            text="y",
            reply_parameters={"message_id": said["message_id"]},
        )
        assert replied.json()["result"]["message_thread_id"] == thread
        # A reply whose message is gone goes to General unless the topic is named.
        gone = {"message_id": 9999, "allow_sending_without_reply": True}
        lost = await call(
            client, "sendMessage", chat_id=group["id"], text="z", reply_parameters=gone
        )
        assert "message_thread_id" not in lost.json()["result"]
        for params in (
            {"chat_id": group["id"], "message_thread_id": 999},
            {"chat_id": plain["id"], "message_thread_id": thread},
            {"chat_id": admin["id"], "message_thread_id": thread},
        ):
            refused = await call(client, "sendMessage", text="no", **params)
            assert refused.status_code in (400, 403), refused.json()
        wrong_topic = await call(
            client,
            "sendMessage",
            chat_id=group["id"],
            text="w",
            message_thread_id=other,
            reply_parameters={"message_id": said["message_id"]},
        )
        assert wrong_topic.status_code == 400
        emu.close_topic(group, admin, thread)
        closed = await call(
            client, "sendMessage", chat_id=group["id"], text="c", message_thread_id=thread
        )
        assert closed.json()["description"] == "Bad Request: TOPIC_CLOSED"
        action = await call(
            client, "sendChatAction", chat_id=group["id"], action="typing", message_thread_id=999
        )
        assert action.status_code == 400
        me = await call(client, "getMe")
        assert me.json()["result"]["supports_inline_queries"] is False

    emulated(scenario)


def test_videos_contacts_locations_and_dice() -> None:
    emu = BotApiEmulator()
    user = emu.make_user("Flo")
    chat = emu.private_chat(user)
    video = emu.send_video(chat, user, caption="look", media_group_id="a1")
    assert video["video"]["duration"] == 5 and video["media_group_id"] == "a1"
    assert emu.send_video(chat, user, note=True)["video_note"]["length"] == 240
    with pytest.raises(ValueError, match="video note"):
        emu.send_video(chat, user, note=True, caption="x")
    contact = emu.send_contact(chat, user, "+15550100000", "Gil")["contact"]
    assert contact == {"phone_number": "+15550100000", "first_name": "Gil"}
    assert emu.send_location(chat, user, 22.3, 114.2)["location"]["latitude"] == 22.3
    assert emu.send_dice(chat, user, "🎰", 64)["dice"] == {"emoji": "🎰", "value": 64}
    with pytest.raises(ValueError, match="1 to 5"):
        emu.send_dice(chat, user, "⚽", 6)
    assert kinds(emu) == ["message"] * 5
