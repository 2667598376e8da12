"""The Bot API methods the bot calls, answered from the emulated world.

Owns each method's behaviour beyond the generic checks of api.json: Telegram's limits, its
HTML parse mode, inline keyboards, replies, edits, commands, members and files, with
Telegram's error descriptions. Transport (HTTP, getUpdates, webhooks, faults) is server.py's.
Imports nothing from `bot.*` outside the emulator, nor `telegram`.
"""

from __future__ import annotations

import copy
import mimetypes
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot.emulator.html import HtmlParseError, parse_html, utf16_len
from bot.emulator.spec import ApiError, UploadedFile, bad_request
from bot.emulator.world import JSON, World, file_suffix, now, without_reply

Handler = Callable[[JSON], Awaitable[Any]]

_CHAT_ACTIONS = frozenset(
    {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice"}
    | {"upload_document", "choose_sticker", "find_location", "record_video_note"}
    | {"upload_video_note"}
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


class BotApi(World):
    """Handlers of the implemented Bot API methods, keyed by lower-case method name."""

    def method_handlers(self) -> dict[str, Handler]:
        return {
            "getme": self._get_me,
            "getbusinessconnection": self._get_business_connection,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": self._set_my_description,
            "getmydescription": self._get_my_description,
            "setmyshortdescription": self._set_my_short_description,
            "getmyshortdescription": self._get_my_short_description,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "getfile": self._get_file,
            "sendchataction": self._send_chat_action,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "leavechat": self._leave_chat,
            "close": self._close,
            "logout": self._close,
        }

    # -- text, keyboards, replies ------------------------------------------------------------------

    def _format(
        self,
        text: str,
        parse_mode: str | None,
        entities: list[JSON] | None,
        *,
        limit: int,
        what: str,
    ) -> tuple[str, list[JSON]]:
        """Text and entities after parsing and trimming, within Telegram's limits."""
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, found = parse_html(text)
            except HtmlParseError as e:
                raise bad_request(f"can't parse entities: {e}") from e
        elif mode in ("", "markdown", "markdownv2"):
            # The bot uses HTML only; Markdown text is kept as sent.
            plain, found = text, list(entities or [])
        else:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        plain, found = _trim(plain, found)
        if utf16_len(plain) > limit:
            raise bad_request(
                "message is too long" if what == "text" else f"message {what} is too long"
            )
        if what == "text" and not plain:
            raise bad_request("message text is empty")
        return plain, found

    def _check_markup(self, markup: JSON | None) -> None:
        if not markup or "inline_keyboard" not in markup:
            return
        for row in markup["inline_keyboard"]:
            for button in row:
                if not set(button) - {"text", "icon_custom_emoji_id", "style"}:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                if (
                    "callback_data" in button
                    and not 1 <= len(button["callback_data"].encode()) <= 64
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
                if "url" in button and not re.match(r"(https?|tg)://", button["url"]):
                    raise bad_request("BUTTON_URL_INVALID")

    def _reply_target(self, chat: JSON, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        if "chat_id" in reply and self._chat(reply["chat_id"])["id"] != chat["id"]:
            raise bad_request("replies to other chats are not implemented by the emulator")
        target = self._message(chat["id"], int(reply["message_id"]))
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return without_reply(target)

    def _thread(self, chat: JSON, params: JSON) -> int | None:
        """The forum topic ``message_thread_id`` names, checked as Telegram does."""
        thread = params.get("message_thread_id")
        if thread is None:
            return None
        topics = self._topics.get(chat["id"])
        if topics is None or thread not in topics:
            raise bad_request("message thread not found")
        if topics[thread] and self._bot_status(chat) not in ("administrator", "creator"):
            raise bad_request("TOPIC_CLOSED")
        return int(thread)

    def _send_common(self, params: JSON, chat: JSON, content: JSON, extra: JSON) -> JSON:
        markup = params.get("reply_markup")
        self._check_markup(markup)
        thread = self._thread(chat, params)
        reply = self._reply_target(chat, params)
        if reply is not None:
            content["reply_to_message"] = reply
            replied_thread = (
                reply.get("message_thread_id") if reply.get("is_topic_message") else None
            )
            if thread is not None and replied_thread != thread:
                raise bad_request("replies to another topic are not implemented by the emulator")
            # A reply goes to the topic of the message it answers.
            thread = replied_thread
        if thread is not None:
            content["message_thread_id"] = thread
            content["is_topic_message"] = True
        if markup and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        elif markup:
            extra["keyboard"] = markup
        return self._store_bot_message(chat, content, extra)

    # -- methods -----------------------------------------------------------------------------------

    async def _get_me(self, params: JSON) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": self.inline_mode,
        }

    async def _get_business_connection(self, params: JSON) -> JSON:
        found = self.business_connection_of(str(params["business_connection_id"]))
        if found is None:
            raise bad_request("business connection not found")
        return found

    async def _close(self, params: JSON) -> bool:
        return True

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._chat_for_send(params["chat_id"])
        text, entities = self._format(
            params["text"],
            params.get("parse_mode"),
            params.get("entities"),
            limit=4096,
            what="text",
        )
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        if "link_preview_options" in params:
            content["link_preview_options"] = params["link_preview_options"]
        extra = {"parse_mode": params.get("parse_mode"), "raw_text": params["text"]}
        return self._send_common(params, chat, content, extra)

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._chat_for_send(params["chat_id"])
        photo = params["photo"]
        if isinstance(photo, UploadedFile):
            sizes = self._photo_sizes(photo.data, "photos", ".jpg")
        elif photo in self._files:
            sizes = self._photo_sizes(self._files[photo].data, "photos", ".jpg")
        elif re.match(r"https?://", photo):
            sizes = self._photo_sizes(None, "photos", ".jpg")  # Telegram would fetch it
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return self._send_media(params, chat, {"photo": sizes})

    async def _send_document(self, params: JSON) -> JSON:
        chat = self._chat_for_send(params["chat_id"])
        doc = params["document"]
        if isinstance(doc, UploadedFile):
            name = doc.filename or "file"
            stored = self._store_file(doc.data, "documents", file_suffix(name))
            document: JSON = {"file_name": name, "file_size": len(doc.data)}
            mime = mimetypes.guess_type(name)[0] or doc.content_type
        elif doc in self._files:
            stored = self._files[doc]
            document, mime = {}, None
        elif re.match(r"https?://", doc):
            stored = self._store_file(None, "documents", "")
            document, mime = {}, None
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id} | document
        if mime:
            document["mime_type"] = mime
        return self._send_media(params, chat, {"document": document})

    def _send_media(self, params: JSON, chat: JSON, content: JSON) -> JSON:
        extra: JSON = {"parse_mode": params.get("parse_mode"), "raw_text": params.get("caption")}
        if params.get("caption"):
            caption, entities = self._format(
                params["caption"],
                params.get("parse_mode"),
                params.get("caption_entities"),
                limit=1024,
                what="caption",
            )
            if caption:
                content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return self._send_common(params, chat, content, extra)

    def _editable(self, params: JSON) -> tuple[JSON, JSON]:
        if "inline_message_id" in params:
            raise bad_request("method not implemented by the emulator (inline messages)")
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self._chat(params["chat_id"])
        message = self._message(chat["id"], params["message_id"])
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat, message

    def _apply_edit(self, chat: JSON, message: JSON, params: JSON, changes: JSON) -> JSON:
        """Apply `changes` (None values remove a field); refuse an edit that changes nothing."""
        markup = params.get("reply_markup")
        self._check_markup(markup)
        # As on Telegram, an edit without reply_markup removes the inline keyboard.
        changes["reply_markup"] = markup if markup and "inline_keyboard" in markup else None
        if all(message.get(k) == v for k, v in changes.items()):
            raise bad_request(_NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = now()
        self._check_out("Message", message)
        return copy.deepcopy(message)

    async def _edit_message_text(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._format(
            params["text"],
            params.get("parse_mode"),
            params.get("entities"),
            limit=4096,
            what="text",
        )
        edited = self._apply_edit(
            chat, message, params, {"text": text, "entities": entities or None}
        )
        key = (chat["id"], message["message_id"])
        self._sent_extra[key] |= {
            "parse_mode": params.get("parse_mode"),
            "raw_text": params["text"],
        }
        return edited

    async def _edit_message_caption(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        if not {"photo", "document"} & message.keys():
            raise bad_request("there is no caption in the message to edit")
        caption, entities = "", list[JSON]()
        if params.get("caption"):
            caption, entities = self._format(
                params["caption"],
                params.get("parse_mode"),
                params.get("caption_entities"),
                limit=1024,
                what="caption",
            )
        edited = self._apply_edit(
            chat,
            message,
            params,
            {"caption": caption or None, "caption_entities": entities or None},
        )
        key = (chat["id"], message["message_id"])
        self._sent_extra[key] |= {"parse_mode": params.get("parse_mode"), "raw_text": caption}
        return edited

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        return self._apply_edit(chat, message, params, {})

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._chat(params["chat_id"])
        message = self._message(chat["id"], params["message_id"])
        if message is None:
            raise bad_request("message to delete not found")
        own = message["from"]["id"] == self.bot_user["id"]
        if not (own or chat["type"] == "private" or self._bot_may_delete(chat)):
            raise bad_request("message can't be deleted")
        self._deleted.add((chat["id"], message["message_id"]))
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._open_queries:
            raise bad_request(_QUERY_INVALID)
        if utf16_len(params.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.callback_answers.append(dict(params))
        return True

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(params.get("scope"), _language(params))
        self._commands[key] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = self._scope_key(params.get("scope"), _language(params))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._scope_key(params.get("scope"), _language(params)), None)
        return True

    def _set_text(self, kind: str, params: JSON, limit: int) -> bool:
        value = params.get(kind, "")
        if len(value) > limit:
            raise bad_request(f"{kind.replace('_', ' ')} is too long")
        key = (kind, _language(params))
        if value:
            self.descriptions[key] = value
        else:
            self.descriptions.pop(key, None)
        return True

    async def _set_my_description(self, params: JSON) -> bool:
        return self._set_text("description", params, 512)

    async def _get_my_description(self, params: JSON) -> JSON:
        return {"description": self.descriptions.get(("description", _language(params)), "")}

    async def _set_my_short_description(self, params: JSON) -> bool:
        return self._set_text("short_description", params, 120)

    async def _get_my_short_description(self, params: JSON) -> JSON:
        key = ("short_description", _language(params))
        return {"short_description": self.descriptions.get(key, "")}

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = self._chat(params["chat_id"])["id"] if "chat_id" in params else None
        self.menu_buttons[chat_id] = params.get("menu_button", {"type": "default"})
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        chat_id = self._chat(params["chat_id"])["id"] if "chat_id" in params else None
        return copy.deepcopy(self.menu_buttons.get(chat_id, {"type": "default"}))

    async def _get_file(self, params: JSON) -> JSON:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        result: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.data is not None:
            result |= {"file_size": len(stored.data), "file_path": stored.file_path}
        return result

    async def _send_chat_action(self, params: JSON) -> bool:
        chat = self._chat_for_send(params["chat_id"])
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._thread(chat, params)
        self.chat_actions.append((chat["id"], params["action"]))
        return True

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(params["chat_id"])
        gifts = self._spec.types["AcceptedGiftTypes"].fields
        return copy.deepcopy(chat) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {f.name: False for f in gifts if f.required},
        }

    async def _get_chat_member(self, params: JSON) -> JSON:
        chat = self._chat(params["chat_id"])
        user_id = params["user_id"]
        if user_id == self.bot_user["id"]:
            return self._bot_member(chat)
        user = self._users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if chat["type"] == "private":
            status = "member" if user_id == chat["id"] else "left"
        else:
            status = self._members[chat["id"]].get(user_id, "left")
        return self._member(status, user)

    async def _get_chat_administrators(self, params: JSON) -> list[JSON]:
        chat = self._chat(params["chat_id"])
        if chat["type"] == "private":
            raise bad_request("there are no administrators in the private chat")
        admins = []
        for user_id, status in self._members[chat["id"]].items():
            if status in ("creator", "administrator"):
                if user_id == self.bot_user["id"]:
                    admins.append(self._bot_member(chat))
                else:
                    admins.append(self._member(status, self._users[user_id]))
        admins.sort(key=lambda m: m["status"] != "creator")
        return admins

    async def _leave_chat(self, params: JSON) -> bool:
        chat = self._chat(params["chat_id"])
        if chat["type"] == "private":
            raise bad_request("chat member status can't be changed in private chats")
        if self._bot_status(chat) in ("left", "kicked"):
            raise ApiError("Forbidden: bot is not a member of the supergroup chat", 403)
        self._set_bot_status(chat, self.bot_user, "left")
        return True


def _language(params: JSON) -> str:
    return str(params.get("language_code", ""))


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading and trailing whitespace as Telegram does, keeping entities in place."""
    stripped = text.lstrip()
    lead = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip()
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append(entity | {"offset": start, "length": end - start})
    return stripped, kept
