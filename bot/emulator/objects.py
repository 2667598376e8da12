"""Builders of Bot API objects the emulator hands out: members, photo sizes, detected entities.

Owns the shapes only (plain dicts exactly as Telegram sends them); no state lives here.
Imports nothing from `bot.*` outside the emulator, nor `telegram`.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from bot.emulator.html import utf16_len

# Entities Telegram finds by itself in a user's text. The bot relies on bot_command (PTB's
# CommandHandler needs it at offset 0); url and mention are there because link-based checks
# may read them. Telegram also checks top-level domains against a list; a few common ones do.
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_URL = re.compile(
    r"(?<![\w@.])(?:https?://[^\s<>\"]+|www\.[^\s<>\"]+"
    r"|(?:[a-z0-9-]+\.)+(?:com|net|org|info|io|me|ly|cn|cc|co|top|xyz|vip|shop|site|app|link|ru|hk|tw)"
    r"(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")
_TRAILING = ".,;:!?)]}'\"。，！？"

ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
}


def _span(text: str, start: int, end: int) -> tuple[int, int]:
    offset = utf16_len(text[:start])
    return offset, utf16_len(text[start:end])


def detect_entities(text: str) -> list[dict[str, Any]]:
    """bot_command, url and mention entities as Telegram would add them to a user's text."""
    found: list[dict[str, Any]] = []
    for m in _COMMAND.finditer(text):
        offset, length = _span(text, m.start(), m.end())
        found.append({"type": "bot_command", "offset": offset, "length": length})
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _TRAILING:
            end -= 1
        offset, length = _span(text, m.start(), end)
        found.append({"type": "url", "offset": offset, "length": length})
    for m in _MENTION.finditer(text):
        offset, length = _span(text, m.start(), m.end())
        found.append({"type": "mention", "offset": offset, "length": length})
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return found


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, read from its header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + int(length)
    return None


def photo_dimensions(data: bytes) -> list[tuple[int, int]]:
    """The sizes Telegram would make of a photo: a 90-pixel thumbnail, then the original."""
    width, height = image_size(data) or (512, 512)
    sizes: list[tuple[int, int]] = []
    if max(width, height) > 90:
        scale = 90 / max(width, height)
        sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
    sizes.append((width, height))
    return sizes


def member(status: str, user: dict[str, Any], required: set[str]) -> dict[str, Any]:
    """A ChatMember of the given status; `required` names the fields the spec demands."""
    result: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        result["is_anonymous"] = False
    elif status == "administrator":
        result |= ADMIN_RIGHTS
    elif status == "kicked":
        result["until_date"] = 0
    # Newer API versions add required rights; a right nobody asked for is not granted.
    for name in required - result.keys():
        result[name] = False
    return result
