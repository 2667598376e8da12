"""The emulated world and the test API that plays the users' side of it.

Owns the state Telegram would hold for one bot (users, chats, memberships, messages, files,
the queue of updates) and the synchronous test API: simulating people (`make_user`,
`send_text`, `press_button`, ...) and observing what the bot did (`sent_messages`, ...).
Every object it builds is checked against api.json, so the bot only ever sees valid ones.
Imports nothing from `bot.*` outside the emulator, nor `telegram`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import mimetypes
import time
from dataclasses import dataclass
from typing import Any

from bot.emulator import objects
from bot.emulator.spec import ApiError, ApiSpec, bad_request, load_spec

JSON = dict[str, Any]

DEFAULT_UPDATES = frozenset(
    {"message", "edited_message", "channel_post", "edited_channel_post", "callback_query"}
    | {"inline_query", "chosen_inline_result", "shipping_query", "pre_checkout_query"}
    | {"poll", "poll_answer", "my_chat_member", "chat_join_request", "chat_boost"}
    | {"removed_chat_boost", "business_connection", "business_message"}
    | {"edited_business_message", "deleted_business_messages", "purchased_paid_media"}
)
# Left out of the default above: chat_member, message_reaction, message_reaction_count, which
# Telegram sends only to bots that ask for them in allowed_updates.

# The users Telegram puts in ``from`` of a post signed by a chat (ids as Telegram uses them).
GROUP_ANONYMOUS_BOT: JSON = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
CHANNEL_BOT: JSON = {
    "id": 136817688,
    "is_bot": True,
    "first_name": "Channel",
    "username": "Channel_Bot",
}


# The colours Telegram lets a new forum topic have (createForumTopic's icon_color).
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None


def now() -> int:
    return int(time.time())


def legacy_forward_fields(origin: JSON) -> JSON:
    """The older forward fields Telegram still sends beside ``forward_origin``."""
    out: JSON = {"forward_date": origin["date"]}
    kind = origin["type"]
    if kind == "user":
        out["forward_from"] = origin["sender_user"]
    elif kind == "hidden_user":
        out["forward_sender_name"] = origin["sender_user_name"]
    elif kind in ("chat", "channel"):
        out["forward_from_chat"] = origin["sender_chat" if kind == "chat" else "chat"]
        if kind == "channel":
            out["forward_from_message_id"] = origin["message_id"]
        signature = origin.get("author_signature")
        if signature:
            out["forward_signature"] = signature
    return out


def chat_id_of(chat: JSON | int) -> int:
    return chat if isinstance(chat, int) else int(chat["id"])


class World:
    """Users, chats and messages as Telegram would keep them, and the users' side of them."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "sentinel_demo_bot",
        *,
        bot_first_name: str = "Sentinel",
        privacy_mode: bool = False,
    ) -> None:
        # Check every update and message the emulator builds against api.json (its own bugs).
        # Load tests turn this off: it costs more than the bot's side of a message.
        self.self_check = True
        self.token = token
        # Privacy mode on: in groups where it is not an admin, the bot sees only commands,
        # replies to its messages and mentions of it (BotFather's default for new bots).
        self.privacy_mode = privacy_mode
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.callback_answers: list[JSON] = []
        self._business: dict[str, JSON] = {}  # business connection id -> BusinessConnection
        self._business_ids = itertools.count(1)
        self.chat_actions: list[tuple[int, str]] = []
        # Updates Telegram would not have created because allowed_updates excluded them.
        self.dropped_updates: list[JSON] = []
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}

        self._spec: ApiSpec = load_spec()
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._members: dict[int, dict[int, str]] = {}  # chat id -> user id -> status
        # The bot's administrator rights where they differ from ADMIN_RIGHTS (chat id -> rights).
        self._bot_rights: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._messages: dict[int, dict[int, JSON]] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_sent: list[tuple[int, int]] = []
        self._sent_extra: dict[tuple[int, int], JSON] = {}
        self._deleted: set[tuple[int, int]] = set()
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._open_queries: set[str] = set()
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        # Forum topics: chat id -> thread id -> whether the topic is closed.
        self._topics: dict[int, dict[int, bool]] = {}
        # Inline mode (BotFather /setinline): only then does Telegram send inline queries.
        self.inline_mode = False

        self._pending: list[JSON] = []
        self._last_update_id = 100_000
        self.unchecked_update_ids: set[int] = set()  # see enqueue_unchecked
        self._allowed: frozenset[str] = DEFAULT_UPDATES
        self._wakeup = asyncio.Event()

        self._user_ids = itertools.count(1_000_001)
        self._group_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(4_000_000_000_001)
        self._poll_ids = itertools.count(5_000_000_000_001)
        self._story_ids = itertools.count(1)

    # -- simulating people and chats ---------------------------------------------------------------

    def make_user(
        self,
        first_name: str = "User",
        language_code: str | None = None,
        user_id: int | None = None,
        *,
        username: str | None = None,
        last_name: str | None = None,
    ) -> JSON:
        """A person (User object) with a fresh id unless `user_id` is given."""
        user: JSON = {
            "id": user_id if user_id is not None else next(self._user_ids),
            "is_bot": False,
            "first_name": first_name,
        }
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._check_out("User", user)
        self._users[user["id"]] = user
        return copy.deepcopy(user)

    def private_chat(self, user: JSON) -> JSON:
        """The private chat between `user` and the bot (as if the user pressed Start)."""
        self._known_user(user)
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        self._chats[chat["id"]] = chat
        self._members.setdefault(chat["id"], {})[user["id"]] = "member"
        return copy.deepcopy(chat)

    def group_chat(
        self, title: str = "Group", *, username: str | None = None, forum: bool = False
    ) -> JSON:
        """A supergroup the bot is not yet a member of (see add_bot_to_group); with topics
        (``is_forum``) when ``forum`` (see create_topic)."""
        chat: JSON = {"id": -1_001_000_000_000 - next(self._group_ids), "type": "supergroup"}
        chat["title"] = title
        if username:
            chat["username"] = username
        if forum:
            chat["is_forum"] = True
            self._topics[chat["id"]] = {}
        self._chats[chat["id"]] = chat
        self._members[chat["id"]] = {}
        return copy.deepcopy(chat)

    def set_admins(self, group: JSON, admins: list[JSON], *, owner: JSON | None = None) -> None:
        """Make `admins` the group's administrators (and `owner` its creator), others members.

        `admins` may include `bot_user`; a change of the bot's own status enqueues the
        my_chat_member update Telegram sends for it.
        """
        chat = self._known_chat(group)
        members = self._members[chat["id"]]
        bot_id = self.bot_user["id"]
        bot_before = self._bot_status(chat)
        humans = [u for u in [*admins, *([owner] if owner else [])] if u["id"] != bot_id]
        for user in humans:
            self._known_user(user)
        for uid, status in list(members.items()):
            if status in ("administrator", "creator") and uid != bot_id:
                members[uid] = "member"
        for user in admins:
            if user["id"] != bot_id:
                members[user["id"]] = "administrator"
        if owner is not None:
            members[owner["id"]] = "creator"
        bot_after = "administrator" if any(u["id"] == bot_id for u in admins) else "member"
        if bot_before in ("member", "administrator") and bot_after != bot_before:
            promoter = self._users[humans[0]["id"]] if humans else self.bot_user
            self._set_bot_status(chat, promoter, bot_after)

    def set_bot_rights(self, group: JSON, by: JSON, **rights: bool) -> JSON:
        """`by` changes the administrator rights of the bot (already an administrator of
        `group`), e.g. ``can_delete_messages=False``; enqueues the my_chat_member update
        Telegram sends for it and returns it."""
        chat = self._known_chat(group)
        if self._bot_status(chat) != "administrator":
            raise ValueError("set_bot_rights: make the bot an administrator first (set_admins)")
        unknown = set(rights) - {
            f.name
            for f in self._spec.types["ChatMemberAdministrator"].fields
            if f.name.startswith("can_")
        }
        if unknown:
            raise ValueError(f"set_bot_rights: no such rights {sorted(unknown)}")
        self._known_user(by)
        old = self._bot_member(chat)
        self._bot_rights[chat["id"]] = self._bot_rights.get(chat["id"], {}) | rights
        return self._enqueue(
            "my_chat_member",
            {
                "chat": chat,
                "from": self._users[by["id"]],
                "date": now(),
                "old_chat_member": old,
                "new_chat_member": self._bot_member(chat),
            },
        )

    def add_bot_to_group(self, group: JSON, by: JSON) -> JSON:
        """`by` adds the bot to `group`; enqueues the my_chat_member update and returns it."""
        chat = self._known_chat(group)
        self._known_user(by)
        return self._set_bot_status(chat, by, "member")

    def block_bot(self, user: JSON) -> JSON:
        """`user` blocks the bot: sending to them now fails with 403, as on Telegram."""
        chat = self._known_chat(self._known_user(user)["id"])
        update = self._set_bot_status(chat, user, "kicked")
        self._blocked.add(user["id"])
        return update

    def send_text(
        self,
        chat: JSON,
        user: JSON,
        text: str,
        entities: list[JSON] | None = None,
        forwarded: bool | JSON = False,
        *,
        reply_to: JSON | None = None,
        quote: str | None = None,
        topic: JSON | int | None = None,
        external: JSON | None = None,
    ) -> JSON:
        """`user` writes `text` in `chat`, in reply to `reply_to` (quoting the part `quote` of
        it), in the forum topic `topic` (its thread id, or the message that created it; a
        reply to a message in a topic is in that topic). Commands, links and mentions get their
        entities unless `entities` is given. `external`: a message of another chat (a channel
        post, a group message) replied to across chats, as Telegram's "reply in another chat"
        sends it: an ``external_reply`` naming where it came from, its words only in `quote`."""
        content: JSON = {"text": text}
        found = detect_entities_or(entities, text)
        if found:
            content["entities"] = found
        if external is not None:
            if reply_to is not None:
                raise ValueError("send_text: reply_to or external, not both")
            source = self._known_chat(external["chat"])
            if source["id"] == self._known_chat(chat)["id"]:
                raise ValueError("external: a message of another chat")
            origin: JSON
            if source["type"] == "channel":
                origin = {
                    "type": "channel",
                    "chat": copy.deepcopy(source),
                    "message_id": external["message_id"],
                    "date": external["date"],
                }
            elif "sender_chat" in external:
                origin = {
                    "type": "chat",
                    "sender_chat": copy.deepcopy(external["sender_chat"]),
                    "date": external["date"],
                }
            else:
                origin = {
                    "type": "user",
                    "sender_user": copy.deepcopy(external["from"]),
                    "date": external["date"],
                }
            content["external_reply"] = {"origin": origin}
            if source["type"] in ("channel", "supergroup"):
                content["external_reply"]["chat"] = copy.deepcopy(source)
                content["external_reply"]["message_id"] = external["message_id"]
            reply_to_text = external.get("text") or external.get("caption") or ""
            if quote is None or not quote or quote not in reply_to_text:
                raise ValueError("external: give the quoted part (quote) of its text")
            before = reply_to_text[: reply_to_text.index(quote)]
            content["quote"] = {"text": quote, "position": len(before.encode("utf-16-le")) // 2}
            return self._user_message(chat, user, content, forwarded, None, topic=topic)
        if quote is not None:
            replied = reply_to.get("text") or reply_to.get("caption") or "" if reply_to else ""
            if not quote or quote not in replied:
                raise ValueError("quote: must be part of the message replied to")
            # Telegram counts the position in UTF-16 code units.
            before = replied[: replied.index(quote)]
            content["quote"] = {"text": quote, "position": len(before.encode("utf-16-le")) // 2}
        return self._user_message(chat, user, content, forwarded, reply_to, topic=topic)

    def post_as_chat(self, group: JSON, text: str, as_chat: JSON | None = None) -> JSON:
        """A post in ``group`` signed by a chat, not a person, as Telegram sends it: by an
        anonymous administrator (``as_chat`` None: ``sender_chat`` is the group itself, ``from``
        is @GroupAnonymousBot) or by a channel (``from`` is @Channel_Bot)."""
        chat = self._known_chat(group)
        if chat["type"] == "private":
            raise ValueError("post_as_chat: only in groups")
        signer = self._known_chat(as_chat) if as_chat is not None else chat
        bot = GROUP_ANONYMOUS_BOT if as_chat is None else CHANNEL_BOT
        content: JSON = {"text": text, "sender_chat": copy.deepcopy(signer)}
        found = detect_entities_or(None, text)
        if found:
            content["entities"] = found
        message = self._store_message(chat, copy.deepcopy(bot), content)
        if self._delivered_to_bot(chat, message):
            self._enqueue("message", message)
        return copy.deepcopy(message)

    def channel_chat(self, title: str = "Channel") -> JSON:
        """A channel with the bot among its administrators (so it receives channel posts)."""
        chat: JSON = {"id": -1_002_000_000_000 - next(self._group_ids), "type": "channel"}
        chat["title"] = title
        self._chats[chat["id"]] = chat
        self._members[chat["id"]] = {self.bot_user["id"]: "administrator"}
        return copy.deepcopy(chat)

    def channel_post(self, channel: JSON, text: str) -> JSON:
        """A post in ``channel`` (a ``channel_post`` update: no ``from``, only ``sender_chat``)."""
        chat = self._known_chat(channel)
        if chat["type"] != "channel":
            raise ValueError("channel_post: not a channel")
        chat_id = chat["id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message: JSON = {
            "message_id": message_id,
            "sender_chat": copy.deepcopy(chat),
            "chat": copy.deepcopy(chat),
            "date": now(),
            "text": text,
        }
        self._check_out("Message", message)
        self._messages.setdefault(chat_id, {})[message_id] = message
        self._enqueue("channel_post", message)
        return copy.deepcopy(message)

    def connect_business(self, owner: JSON, *, connection_id: str | None = None) -> JSON:
        """``owner`` connects the bot to their Telegram Business account (a
        ``business_connection`` update); returns the BusinessConnection."""
        user = self._known_user(owner)
        connection: JSON = {
            "id": connection_id or f"biz-{next(self._business_ids)}",
            "user": copy.deepcopy(user),
            "user_chat_id": user["id"],
            "date": now(),
            "is_enabled": True,
        }
        self._check_out("BusinessConnection", connection)
        self._business[connection["id"]] = connection
        self._enqueue("business_connection", connection)
        return copy.deepcopy(connection)

    def send_business_message(
        self, connection: JSON, sender: JSON, text: str, *, customer: JSON | None = None
    ) -> JSON:
        """``sender`` writes ``text`` in the private chat between a customer and the business
        owner (the chat with ``customer``, by default the sender): a ``business_message``
        update for the bot."""
        conn = self._business[connection["id"]]
        who = self._known_user(sender)
        peer = self._known_user(customer) if customer is not None else who
        chat: JSON = {"id": peer["id"], "type": "private", "first_name": peer["first_name"]}
        message: JSON = {
            "message_id": next(self._business_ids) + 1000,
            "from": copy.deepcopy(who),
            "chat": chat,
            "date": now(),
            "business_connection_id": conn["id"],
            "text": text,
        }
        found = detect_entities_or(None, text)
        if found:
            message["entities"] = found
        self._check_out("Message", message)
        self._enqueue("business_message", message)
        return copy.deepcopy(message)

    def edit_business_message(self, message: JSON, text: str) -> JSON:
        """The sender of a business message (as returned by ``send_business_message``) edits
        it: an ``edited_business_message`` update."""
        if message.get("business_connection_id") not in self._business:
            raise ValueError("edit_business_message: not a business message")
        edited = copy.deepcopy(message) | {"text": text, "edit_date": now()}
        found = detect_entities_or(None, text)
        if found:
            edited["entities"] = found
        else:
            edited.pop("entities", None)
        self._check_out("Message", edited)
        self._enqueue("edited_business_message", edited)
        return copy.deepcopy(edited)

    def business_connection_of(self, connection_id: str) -> JSON | None:
        found = self._business.get(connection_id)
        return copy.deepcopy(found) if found is not None else None

    def create_topic(
        self, group: JSON, user: JSON, name: str = "Topic", *, icon_color: int = 7322096
    ) -> JSON:
        """`user` opens a topic in a forum supergroup: the ``forum_topic_created`` service
        message, whose id is the topic's ``message_thread_id`` (returned)."""
        chat = self._known_chat(group)
        if chat["id"] not in self._topics:
            raise ValueError("create_topic: not a forum (group_chat(forum=True))")
        if icon_color not in TOPIC_COLORS:
            raise ValueError(f"create_topic: icon_color must be one of {TOPIC_COLORS}")
        thread = self._next_message_id.get(chat["id"], 1)
        content: JSON = {
            "message_thread_id": thread,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": icon_color},
        }
        self._topics[chat["id"]][thread] = False
        return self._service_message(chat, user, content)

    def close_topic(self, group: JSON, user: JSON, topic: JSON | int) -> JSON:
        """`user` closes a forum topic (a ``forum_topic_closed`` service message in it): from
        now on only administrators write there."""
        chat = self._known_chat(group)
        thread = self._topic_of(chat, topic)
        self._topics[chat["id"]][thread] = True
        content: JSON = {"message_thread_id": thread, "is_topic_message": True}
        content["forum_topic_closed"] = {}
        content["reply_to_message"] = self._topic_root(chat, thread)
        return self._service_message(chat, user, content)

    def join_group(self, group: JSON, user: JSON, *, by: JSON | None = None) -> JSON:
        """`user` joins `group` (added by `by`, else by themselves through a link): the
        ``new_chat_members`` service message, with the legacy ``new_chat_participant`` Telegram
        still sends, and a ``chat_member`` update for a bot that administers the group."""
        chat = self._known_chat(group)
        joined = self._known_user(user)
        adder = self._known_user(by) if by is not None else joined
        old = self._members[chat["id"]].get(joined["id"], "left")
        self._members[chat["id"]][joined["id"]] = "member"
        content: JSON = {"new_chat_members": [copy.deepcopy(joined)]}
        content["new_chat_participant"] = copy.deepcopy(joined)
        message = self._service_message(chat, adder, content)
        self._chat_member_update(chat, adder, joined, old, "member")
        return message

    def leave_group(self, group: JSON, user: JSON) -> JSON:
        """`user` leaves `group`: the ``left_chat_member`` service message and a
        ``chat_member`` update for a bot that administers the group."""
        chat = self._known_chat(group)
        left = self._known_user(user)
        old = self._members[chat["id"]].get(left["id"], "left")
        if old == "left":
            raise ValueError("leave_group: not a member")
        message = self._service_message(chat, left, {"left_chat_member": copy.deepcopy(left)})
        self._members[chat["id"]][left["id"]] = "left"
        self._chat_member_update(chat, left, left, old, "left")
        return message

    def pin_message(self, chat: JSON, user: JSON, message: JSON) -> JSON:
        """`user` pins `message`: the ``pinned_message`` service message (holding the pinned
        message one level deep, as Telegram nests it)."""
        found = self._known_chat(chat)
        target = self._message(found["id"], int(message["message_id"]))
        if target is None:
            raise ValueError("pin_message: no such message in this chat")
        content: JSON = {"pinned_message": without_reply(target)}
        if target.get("is_topic_message"):
            content["message_thread_id"] = target["message_thread_id"]
            content["is_topic_message"] = True
        return self._service_message(found, user, content)

    def send_poll(
        self,
        chat: JSON,
        user: JSON,
        question: str,
        options: list[str],
        *,
        anonymous: bool = True,
        quiz: bool = False,
    ) -> JSON:
        """`user` sends a poll (2 to 12 options). Telegram tells a bot about votes only in
        polls the bot sent itself, so no vote is built here; see ``stop_poll``."""
        if not 2 <= len(options) <= 12:
            raise ValueError("send_poll: 2 to 12 options")
        poll: JSON = {
            "id": str(next(self._poll_ids)),
            "question": question,
            "options": [
                {"persistent_id": str(i), "text": text, "voter_count": 0}
                for i, text in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": anonymous,
            "type": "quiz" if quiz else "regular",
            "allows_multiple_answers": False,
            "allows_revoting": not quiz,
            "members_only": False,
        }
        if quiz:
            poll["correct_option_ids"] = [0]
        return self._user_message(chat, user, {"poll": poll}, False, None)

    def stop_poll(self, chat: JSON, user: JSON, message: JSON) -> JSON:
        """`user` stops the poll they sent: the ``poll`` update with its final state (Telegram
        sends bots the state of manually stopped polls)."""
        found = self._known_chat(chat)
        stored = self._message(found["id"], int(message["message_id"]))
        if stored is None or "poll" not in stored or stored["from"]["id"] != user["id"]:
            raise ValueError("stop_poll: only the poll's sender stops it")
        stored["poll"]["is_closed"] = True
        return self._enqueue("poll", stored["poll"])

    def send_story(self, chat: JSON, user: JSON, *, of: JSON | None = None) -> JSON:
        """`user` shares a story in `chat` (of the chat `of`, by default their own): a message
        holding only the story's chat and id, as Telegram sends it."""
        owner = self._known_chat(of) if of is not None else None
        if owner is None:
            sender = self._known_user(user)
            owner = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
        story = {"chat": copy.deepcopy(owner), "id": next(self._story_ids)}
        return self._user_message(chat, user, {"story": story}, False, None)

    def inline_query(self, user: JSON, query: str, *, chat_type: str | None = None) -> JSON:
        """`user` types ``@bot query`` in some chat (of type `chat_type`: sender, private,
        group, supergroup or channel): an ``inline_query`` update, sent only to a bot with
        inline mode on (``inline_mode``). Returns the InlineQuery."""
        if not self.inline_mode:
            raise ValueError("inline_query: the bot has no inline mode (set inline_mode)")
        if chat_type not in (None, "sender", "private", "group", "supergroup", "channel"):
            raise ValueError(f"inline_query: no chat type {chat_type!r}")
        query_obj: JSON = {
            "id": str(next(self._query_ids)),
            "from": copy.deepcopy(self._known_user(user)),
            "query": query[:256],
            "offset": "",
        }
        if chat_type is not None:
            query_obj["chat_type"] = chat_type
        self._enqueue("inline_query", query_obj)
        return copy.deepcopy(query_obj)

    def edit_text(self, chat: JSON, user: JSON, message: JSON, text: str) -> JSON:
        """`user` edits a text message they sent earlier (an ``edited_message`` update)."""
        chat = self._known_chat(chat)
        sender = self._known_user(user)
        stored = self._message(chat["id"], int(message["message_id"]))
        if stored is None or stored.get("from", {}).get("id") != sender["id"]:
            raise ValueError("edit_text: the user can only edit their own messages")
        stored["text"] = text
        stored["edit_date"] = now()
        found = detect_entities_or(None, text)
        if found:
            stored["entities"] = found
        else:
            stored.pop("entities", None)
        if self._delivered_to_bot(chat, stored):
            self._enqueue("edited_message", stored)
        return copy.deepcopy(stored)

    def send_photo(
        self,
        chat: JSON,
        user: JSON,
        data: bytes,
        caption: str | None = None,
        caption_entities: list[JSON] | None = None,
        forwarded: bool | JSON = False,
        *,
        media_group_id: str | None = None,
    ) -> JSON:
        """`user` sends a photo (one of an album when `media_group_id` is given: Telegram
        sends each as its own message); its bytes are downloadable through getFile."""
        content: JSON = {"photo": self._photo_sizes(data, "photos", ".jpg")}
        self._add_caption(content, caption, caption_entities)
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._user_message(chat, user, content, forwarded, None)

    def send_document(
        self,
        chat: JSON,
        user: JSON,
        data: bytes,
        file_name: str = "file.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        forwarded: bool | JSON = False,
        *,
        media_group_id: str | None = None,
    ) -> JSON:
        """`user` sends a file as a document (one of an album with `media_group_id`)."""
        stored = self._store_file(data, "documents", file_suffix(file_name))
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type or mimetypes.guess_type(file_name)[0] or "",
            "file_size": len(data),
        }
        if not document["mime_type"]:
            del document["mime_type"]
        content: JSON = {"document": document}
        self._add_caption(content, caption, None)
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._user_message(chat, user, content, forwarded, None)

    def send_sticker(self, chat: JSON, user: JSON, emoji: str = "🙂") -> JSON:
        """`user` sends a (static) sticker."""
        stored = self._store_file(b"RIFF\0\0\0\0WEBP", "stickers", ".webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 12,
        }
        return self._user_message(chat, user, {"sticker": sticker}, False, None)

    def send_voice(self, chat: JSON, user: JSON, duration: int = 3) -> JSON:
        """`user` sends a voice message of `duration` seconds."""
        data = b"OggS" + bytes(60)
        stored = self._store_file(data, "voice", ".oga")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._user_message(chat, user, {"voice": voice}, False, None)

    def send_video(
        self,
        chat: JSON,
        user: JSON,
        duration: int = 5,
        *,
        note: bool = False,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSON:
        """`user` sends a video (a round video note when `note`: no caption, never in an
        album), `duration` seconds long."""
        data = b"\0\0\0\x18ftypmp42" + bytes(40)
        stored = self._store_file(data, "videos", ".mp4")
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if note:
            if caption is not None or media_group_id is not None:
                raise ValueError("send_video: a video note has no caption and no album")
            note_obj = ids | {"length": 240, "duration": duration, "file_size": len(data)}
            return self._user_message(chat, user, {"video_note": note_obj}, False, None)
        video = ids | {"width": 640, "height": 360, "duration": duration, "mime_type": "video/mp4"}
        content: JSON = {"video": video | {"file_size": len(data)}}
        self._add_caption(content, caption, None)
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._user_message(chat, user, content, False, None)

    def send_contact(self, chat: JSON, user: JSON, phone_number: str, first_name: str) -> JSON:
        """`user` shares a contact card (not a Telegram user's: no user_id)."""
        contact = {"phone_number": phone_number, "first_name": first_name}
        return self._user_message(chat, user, {"contact": contact}, False, None)

    def send_location(self, chat: JSON, user: JSON, latitude: float, longitude: float) -> JSON:
        """`user` shares a location."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("send_location: no such place")
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(chat, user, {"location": location}, False, None)

    def send_dice(self, chat: JSON, user: JSON, emoji: str = "🎲", value: int = 1) -> JSON:
        """`user` throws a dice (or darts, ball, slot machine: ``emoji``) showing ``value``."""
        top = {"🎲": 6, "🎯": 6, "🎳": 6, "🏀": 5, "⚽": 5, "🎰": 64}.get(emoji)
        if top is None or not 1 <= value <= top:
            raise ValueError(f"send_dice: {emoji!r} shows 1 to {top}")
        return self._user_message(
            chat, user, {"dice": {"emoji": emoji, "value": value}}, False, None
        )

    def press_button(self, chat: JSON, user: JSON, bot_message: JSON, callback_data: str) -> str:
        """`user` presses the inline button with `callback_data` under a message the bot sent;
        enqueues the callback_query update and returns the query id."""
        chat_id = self._known_chat(chat)["id"]
        self._known_user(user)
        current = self._messages.get(chat_id, {}).get(int(bot_message["message_id"]))
        if current is None or (chat_id, current["message_id"]) in self._deleted:
            raise ValueError("press_button: the bot has no such message in this chat")
        rows = current.get("reply_markup", {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == callback_data for row in rows for b in row):
            raise ValueError(f"press_button: no button with callback_data {callback_data!r}")
        return self._callback_query(
            user,
            callback_data,
            message=copy.deepcopy(current),
            chat_instance=str(abs(chat_id) * 7 + 11),
        )

    def press_old_button(
        self, chat: JSON, user: JSON, bot_message: JSON, callback_data: str
    ) -> str:
        """`user` presses a button under a bot message Telegram no longer gives bots (older
        than 48 hours, or deleted): the query carries an InaccessibleMessage (date 0)."""
        chat_id = self._known_chat(chat)["id"]
        self._known_user(user)
        inaccessible = {
            "chat": copy.deepcopy(self._chats[chat_id]),
            "message_id": int(bot_message["message_id"]),
            "date": 0,
        }
        return self._callback_query(
            user, callback_data, message=inaccessible, chat_instance=str(abs(chat_id) * 7 + 11)
        )

    def press_inline_button(self, user: JSON, inline_message_id: str, callback_data: str) -> str:
        """`user` presses a button under a message sent in inline mode (no message, only its
        inline_message_id), as a bot that once had inline mode still receives."""
        self._known_user(user)
        return self._callback_query(
            user,
            callback_data,
            inline_message_id=inline_message_id,
            chat_instance="-" + str(user["id"] * 13 + 5),
        )

    def _callback_query(self, user: JSON, callback_data: str, **where: Any) -> str:
        """Enqueue a callback_query from ``user`` (the bot may answer it); ``where``: the
        message or inline_message_id it came from, and its chat_instance. Its query id."""
        query_id = str(next(self._query_ids))
        self._open_queries.add(query_id)
        payload = {"id": query_id, "from": self._users[user["id"]], **where}
        self._enqueue("callback_query", {**payload, "data": callback_data})
        return query_id

    # -- observing the bot -------------------------------------------------------------------------

    def sent_messages(self, chat_id: int | JSON | None = None) -> list[JSON]:
        """The bot's messages (not deleted) in the order sent, as they are now (edits applied).

        Besides the Message fields: `parse_mode` and `raw_text` as the bot sent them, and
        `keyboard` when it attached a reply keyboard (Telegram does not echo those back).
        """
        wanted = None if chat_id is None else chat_id_of(chat_id)
        out = []
        for key in self._bot_sent:
            if key in self._deleted or (wanted is not None and key[0] != wanted):
                continue
            out.append(copy.deepcopy(self._messages[key[0]][key[1]] | self._sent_extra[key]))
        return out

    def deleted_messages(self, chat_id: int | JSON | None = None) -> list[JSON]:
        """Messages (the bot's or users') the bot deleted, as they were."""
        wanted = None if chat_id is None else chat_id_of(chat_id)
        return [
            copy.deepcopy(self._messages[c][m])
            for c, m in sorted(self._deleted)
            if wanted is None or c == wanted
        ]

    async def wait_for_messages(
        self, chat_id: int | JSON, count: int = 1, timeout: float = 60.0
    ) -> list[JSON]:
        """The chat's bot messages once there are at least `count`; TimeoutError otherwise."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            messages = self.sent_messages(chat_id)
            if len(messages) >= count:
                return messages
            if asyncio.get_running_loop().time() >= deadline:
                raise TimeoutError(
                    f"{len(messages)} bot message(s) in chat {chat_id_of(chat_id)} "
                    f"after {timeout} s, expected {count}"
                )
            await asyncio.sleep(0.01)

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands the bot set for `scope` (default scope when None) and language."""
        return copy.deepcopy(self._commands.get(self._scope_key(scope, language_code), []))

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates created and not yet confirmed (getUpdates) or delivered (webhook)."""
        return copy.deepcopy(self._pending)

    # -- updates -----------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def store_file(self, data: bytes, suffix: str = ".bin") -> str:
        """Hold ``data`` as a file the bot can download (getFile); returns its file_id. For
        updates built outside the emulator (see ``enqueue_unchecked``)."""
        return self._store_file(data, "files", suffix).file_id

    def expect_callback(self, query_id: str) -> None:
        """Let the bot answer a callback query built outside the emulator."""
        self._open_queries.add(query_id)

    def enqueue_unchecked(self, update: JSON) -> JSON:
        """Queue an update exactly as given, without checking it against api.json: for shapes
        a bot library may fail to read (a self-hosted server's quirks, fields newer than the
        library). Its ``update_id`` is the next one."""
        self._last_update_id += 1
        raw = copy.deepcopy(update) | {"update_id": self._last_update_id}
        self.unchecked_update_ids.add(self._last_update_id)
        self._pending.append(raw)
        self._notify()
        return copy.deepcopy(raw)

    def _enqueue(self, kind: str, payload: JSON) -> JSON:
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, kind: copy.deepcopy(payload)}
        self._check_out("Update", update)
        if kind not in self._allowed:
            self.dropped_updates.append(update)
            return copy.deepcopy(update)
        self._pending.append(update)
        self._notify()
        return copy.deepcopy(update)

    # -- lookups -----------------------------------------------------------------------------------

    def _known_user(self, user: JSON) -> JSON:
        if user.get("id") not in self._users:
            raise ValueError("unknown user: create it with make_user()")
        return self._users[user["id"]]

    def _known_chat(self, chat: JSON | int) -> JSON:
        chat_id = chat_id_of(chat)
        if chat_id not in self._chats:
            raise ValueError("unknown chat: create it with private_chat() or group_chat()")
        return self._chats[chat_id]

    def _chat(self, chat_id: int | str) -> JSON:
        if isinstance(chat_id, str):
            for chat in self._chats.values():
                if chat_id.startswith("@") and chat.get("username") == chat_id[1:]:
                    return chat
            raise bad_request("chat not found")
        if chat_id not in self._chats:
            raise bad_request("chat not found")
        return self._chats[chat_id]

    def _bot_status(self, chat: JSON) -> str:
        if chat["type"] == "private":
            return "kicked" if chat["id"] in self._blocked else "member"
        return self._members[chat["id"]].get(self.bot_user["id"], "left")

    def _chat_for_send(self, chat_id: int | str) -> JSON:
        chat = self._chat(chat_id)
        status = self._bot_status(chat)
        if chat["type"] == "private" and status == "kicked":
            raise ApiError("Forbidden: bot was blocked by the user", 403)
        if status in ("left", "kicked"):
            kind = "group" if chat["type"] == "group" else chat["type"]
            raise ApiError(f"Forbidden: bot is not a member of the {kind} chat", 403)
        return chat

    def _message(self, chat_id: int, message_id: int) -> JSON | None:
        if (chat_id, message_id) in self._deleted:
            return None
        return self._messages.get(chat_id, {}).get(message_id)

    def _scope_key(self, scope: JSON | None, language_code: str) -> tuple[str, str]:
        key: JSON = dict(scope or {"type": "default"})
        if "chat_id" in key:
            key["chat_id"] = self._chat(key["chat_id"])["id"]
        return json.dumps(key, sort_keys=True), language_code

    # -- users' side -------------------------------------------------------------------------------

    def _user_message(
        self,
        chat: JSON,
        user: JSON,
        content: JSON,
        forwarded: bool | JSON,
        reply_to: JSON | None,
        *,
        topic: JSON | int | None = None,
        service: bool = False,
    ) -> JSON:
        chat = self._known_chat(chat)
        sender = self._known_user(user)
        if chat["type"] != "private":
            if self._bot_status(chat) in ("left", "kicked"):
                raise ValueError("the bot is not in this group: call add_bot_to_group() first")
            self._members[chat["id"]].setdefault(sender["id"], "member")
        elif chat["id"] != sender["id"]:
            raise ValueError("only the chat's own user writes in a private chat")
        if forwarded:
            origin = (
                forwarded
                if isinstance(forwarded, dict)
                else {"type": "hidden_user", "sender_user_name": "Someone", "date": now() - 3600}
            )
            content["forward_origin"] = origin
            content |= legacy_forward_fields(origin)
        target = None
        if reply_to is not None:
            target = self._message(chat["id"], int(reply_to["message_id"]))
            if target is None:
                raise ValueError("reply_to: no such message in this chat")
            content["reply_to_message"] = without_reply(target)
        thread = self._topic_of(chat, topic) if topic is not None else None
        if target is not None and target.get("is_topic_message"):
            if thread is not None and thread != target["message_thread_id"]:
                raise ValueError("reply_to: a message of another topic")
            thread = target["message_thread_id"]
        if thread is not None:
            if self._topics[chat["id"]][thread] and self._members[chat["id"]].get(
                sender["id"]
            ) not in ("administrator", "creator"):
                raise ValueError("topic closed: only administrators write there")
            content["message_thread_id"] = thread
            content["is_topic_message"] = True
            # Telegram presents a topic's message as a reply to the topic's first message.
            content.setdefault("reply_to_message", self._topic_root(chat, thread))
        message = self._store_message(chat, sender, content)
        if service or self._delivered_to_bot(chat, message):
            self._enqueue("message", message)
        return copy.deepcopy(message)

    def _service_message(self, chat: JSON, user: JSON, content: JSON) -> JSON:
        """A service message in a group (members, pins, topics): bots get those in privacy
        mode too."""
        if chat["type"] == "private":
            raise ValueError("service messages of this kind are only in groups")
        if self._bot_status(chat) in ("left", "kicked"):
            raise ValueError("the bot is not in this group: call add_bot_to_group() first")
        message = self._store_message(chat, self._known_user(user), content)
        self._enqueue("message", message)
        return copy.deepcopy(message)

    def _topic_of(self, chat: JSON, topic: JSON | int) -> int:
        thread = topic if isinstance(topic, int) else int(topic["message_thread_id"])
        if thread not in self._topics.get(chat["id"], {}):
            raise ValueError("no such topic in this chat: create it with create_topic()")
        return thread

    def _topic_root(self, chat: JSON, thread: int) -> JSON:
        return without_reply(self._messages[chat["id"]][thread])

    def _chat_member_update(
        self, chat: JSON, by: JSON, user: JSON, old: str, new: str
    ) -> JSON | None:
        """The ``chat_member`` update: Telegram sends it only to a bot that administers the
        chat (and asked for it in allowed_updates)."""
        if self._bot_status(chat) not in ("administrator", "creator"):
            return None
        return self._enqueue(
            "chat_member",
            {
                "chat": chat,
                "from": by,
                "date": now(),
                "old_chat_member": self._member(old, user),
                "new_chat_member": self._member(new, user),
            },
        )

    def _delivered_to_bot(self, chat: JSON, message: JSON) -> bool:
        """Privacy mode: in groups the bot sees only commands, replies to it and mentions."""
        if not self.privacy_mode or chat["type"] == "private":
            return True
        if self._bot_status(chat) in ("administrator", "creator"):
            return True
        text = message.get("text") or message.get("caption") or ""
        reply = message.get("reply_to_message", {})
        return (
            text.startswith("/")
            or f"@{self.bot_user['username']}" in text
            or reply.get("from", {}).get("id") == self.bot_user["id"]
        )

    def _set_bot_status(self, chat: JSON, by: JSON, status: str) -> JSON:
        old = self._bot_member(chat)
        if chat["type"] != "private":
            self._members[chat["id"]][self.bot_user["id"]] = status
            if status != "administrator":
                self._bot_rights.pop(chat["id"], None)  # promoted again: the default rights
        new = self._bot_member(chat) if chat["type"] != "private" else None
        return self._enqueue(
            "my_chat_member",
            {
                "chat": chat,
                "from": by,
                "date": now(),
                "old_chat_member": old,
                "new_chat_member": new or self._member(status, self.bot_user),
            },
        )

    def _bot_may_delete(self, chat: JSON) -> bool:
        """Whether the bot may delete others' messages in ``chat``: in a basic group any
        administrator may; in a supergroup only one with the can_delete_messages right."""
        if self._bot_status(chat) not in ("administrator", "creator"):
            return False
        if chat["type"] == "group" or self._bot_status(chat) == "creator":
            return True
        return bool(self._bot_member(chat)["can_delete_messages"])

    def _bot_member(self, chat: JSON) -> JSON:
        """The bot's ChatMember in ``chat``, with the rights it was given there."""
        status = self._bot_status(chat)
        member = self._member(status, self.bot_user)
        if status == "administrator":
            member |= self._bot_rights.get(chat["id"], {})
        return member

    def _member(self, status: str, user: JSON) -> JSON:
        subtype = {
            "creator": "ChatMemberOwner",
            "administrator": "ChatMemberAdministrator",
            "member": "ChatMemberMember",
            "left": "ChatMemberLeft",
            "kicked": "ChatMemberBanned",
        }[status]
        spec = self._spec.types[subtype]
        return objects.member(status, user, {f.name for f in spec.fields if f.required})

    def _add_caption(self, content: JSON, caption: str | None, entities: list[JSON] | None) -> None:
        if caption:
            content["caption"] = caption
            found = detect_entities_or(entities, caption)
            if found:
                content["caption_entities"] = found

    # -- messages and files ------------------------------------------------------------------------

    def _store_message(self, chat: JSON, sender: JSON, content: JSON) -> JSON:
        chat_id = chat["id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message = {"message_id": message_id, "from": sender, "chat": chat, "date": now()}
        message |= content
        message = copy.deepcopy(message)
        self._check_out("Message", message)
        self._messages.setdefault(chat_id, {})[message_id] = message
        return message

    def _store_bot_message(self, chat: JSON, content: JSON, extra: JSON) -> JSON:
        message = self._store_message(chat, self.bot_user, content)
        key = (chat["id"], message["message_id"])
        self._bot_sent.append(key)
        self._sent_extra[key] = extra
        return copy.deepcopy(message)

    def _store_file(self, data: bytes | None, folder: str, suffix: str) -> StoredFile:
        n = next(self._file_ids)
        stored = StoredFile(
            file_id=f"BQACAgIAAx{n:08d}emu",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{folder}/file_{n}{suffix}",
            data=data,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, data: bytes | None, folder: str, suffix: str) -> list[JSON]:
        dims = objects.photo_dimensions(data) if data is not None else [(512, 512)]
        sizes = []
        for width, height in dims:
            # Each size is its own file; the emulator does not resize, so all hold the original.
            stored = self._store_file(data, folder, suffix)
            size: JSON = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
            }
            if data is not None:
                size["file_size"] = len(data)
            sizes.append(size)
        return sizes

    def _check_out(self, type_name: str, value: Any) -> None:
        """The emulator's own objects must be valid Bot API objects; a failure is its bug."""
        if not self.self_check:
            return
        try:
            self._spec.check((type_name,), value, type_name)
        except ApiError as e:
            raise AssertionError(f"emulator built an invalid {type_name}: {e.description}") from e


def detect_entities_or(given: list[JSON] | None, text: str) -> list[JSON]:
    return copy.deepcopy(given) if given is not None else objects.detect_entities(text)


def without_reply(message: JSON) -> JSON:
    # Telegram nests one level: a replied-to message carries no reply_to_message of its own.
    return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}


def file_suffix(file_name: str) -> str:
    dot = file_name.rfind(".")
    return file_name[dot:] if dot > 0 else ""
