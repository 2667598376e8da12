"""Telegram's HTML parse mode: marked-up text to plain text plus MessageEntity dicts.

Follows the rules of Telegram's own parser (tdlib `parse_html`): the supported tags and
attributes, the four named entities plus numeric ones, and its error messages with UTF-8 byte
offsets. One deliberate difference: Telegram keeps a bare `&` that starts no entity as text,
while its documentation says it must be escaped; the emulator refuses it, so a bot that forgets
to escape quoted user text fails in tests on any `&`, not only on a `<` (on Telegram, a user's
literal "&lt;" would silently become "<"). Entity offsets and lengths are in UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_SUPPORTED = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji"}
    | {"span", "pre", "code", "blockquote"}
)
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# tdlib's is_space: the characters that end a tag name or separate attributes.
_SPACE = frozenset(" \t\r\n\v\f\0")


class HtmlParseError(Exception):
    """Why the text cannot be parsed; `str()` is the reason Telegram would give."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass
class _Open:
    tag: str
    argument: str
    expandable: bool
    start: int  # UTF-16 offset in the output


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _decode_entity(src: str, i: int) -> tuple[str, int] | None:
    """The character an `&...` reference at `i` stands for and the index after it."""
    n = len(src)
    j = i + 1
    if j < n and src[j] == "#":
        j += 1
        hexadecimal = j < n and src[j] in "xX"
        if hexadecimal:
            j += 1
        start = j
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while j < n and src[j] in digits:
            j += 1
        if j == start or j - i >= 10:
            return None
        code = int(src[start:j], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while j < n and src[j].isascii() and src[j].isalpha():
            j += 1
        named = _NAMED.get(src[i + 1 : j])
        if named is None:
            return None
        char = named
    if j < n and src[j] == ";":
        j += 1
    return char, j


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of `src`, or HtmlParseError."""
    out: list[str] = []
    pos = 0  # UTF-16 length of the output so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)

    def fail(reason: str, index: int) -> HtmlParseError:
        return HtmlParseError(f"{reason} at byte offset {_byte_offset(src, index)}")

    while i < n:
        ch = src[i]
        if ch == "&":
            decoded = _decode_entity(src, i)
            if decoded is None:
                raise fail('Character "&" must be escaped as "&amp;"', i)
            char, i = decoded
            out.append(char)
            pos += utf16_len(char)
            continue
        if ch != "<":
            out.append(ch)
            pos += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        if i + 1 < n and src[i + 1] == "/":
            # Closing tag.
            if not stack:
                raise fail("Unexpected end tag", begin)
            j = i + 2
            while j < n and src[j] not in _SPACE and src[j] != ">":
                j += 1
            end_name = src[i + 2 : j]
            while j < n and src[j] in _SPACE:
                j += 1
            if j >= n or src[j] != ">":
                raise fail("Unclosed end tag", begin)
            top = stack.pop()
            if end_name and end_name.lower() != top.tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                    f'expected "</{top.tag}>", found "</{end_name}>"'
                )
            i = j + 1
            _close(top, pos, "".join(out), entities)
            continue
        # Opening tag.
        j = i + 1
        while j < n and src[j] not in _SPACE and src[j] != ">":
            j += 1
        tag = src[i + 1 : j].lower()
        if tag not in _SUPPORTED:
            raise fail(f'Unsupported start tag "{tag}"', begin)
        i = j
        argument = ""
        expandable = False
        while True:
            while i < n and src[i] in _SPACE:
                i += 1
            if i >= n:
                raise fail("Unclosed start tag", begin)
            if src[i] == ">":
                i += 1
                break
            name_start = i
            while i < n and src[i] not in _SPACE and src[i] not in "=>":
                i += 1
            attribute = src[name_start:i].lower()
            if not attribute:
                raise fail(f'Empty attribute name in the tag "{tag}"', begin)
            while i < n and src[i] in _SPACE:
                i += 1
            if i >= n or src[i] != "=":
                if tag == "blockquote" and attribute == "expandable":
                    expandable = True
                continue
            i += 1
            while i < n and src[i] in _SPACE:
                i += 1
            if i >= n:
                raise fail("Unclosed start tag", begin)
            if src[i] in "'\"":
                quote = src[i]
                i += 1
                chars: list[str] = []
                while i < n and src[i] != quote:
                    if src[i] == "&" and (decoded := _decode_entity(src, i)) is not None:
                        chars.append(decoded[0])
                        i = decoded[1]
                    else:
                        chars.append(src[i])
                        i += 1
                if i >= n:
                    raise fail("Unclosed start tag", begin)
                i += 1
                value = "".join(chars)
            else:
                token_start = i
                while i < n and ((src[i].isascii() and src[i].isalnum()) or src[i] in ".-"):
                    i += 1
                value = src[token_start:i].lower()
                if i >= n or (src[i] not in _SPACE and src[i] != ">"):
                    raise fail("Unexpected end of name token", token_start)
            if tag == "a" and attribute == "href":
                argument = value
            elif tag == "code" and attribute == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attribute == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"', begin)
        stack.append(_Open(tag, argument, expandable, pos))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    # Outer entities first, as Telegram orders them.
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _utf16_slice(text: str, start: int, end: int) -> str:
    units = text.encode("utf-16-le")
    return units[start * 2 : end * 2].decode("utf-16-le", errors="replace")


def _close(top: _Open, pos: int, text: str, entities: list[dict[str, Any]]) -> None:
    length = pos - top.start
    if length <= 0:
        return
    entity: dict[str, Any] = {"offset": top.start, "length": length}
    if top.tag in _SIMPLE:
        entity["type"] = _SIMPLE[top.tag]
    elif top.tag == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=top.argument)
    elif top.tag == "a":
        url = top.argument or _utf16_slice(text, top.start, pos)
        if "://" not in url and not url.startswith("tg:"):
            if "." not in url:
                return  # Telegram drops a link whose address is not a URL.
            url = "http://" + url
        entity.update(type="text_link", url=url)
    elif top.tag == "code":
        entity["type"] = "code"
        if top.argument:
            entity["language"] = top.argument
    elif top.tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and (last["offset"], last["length"]) == (top.start, length)
        ):
            # <pre><code class="language-x">…</code></pre> is one pre entity with a language.
            entities.pop()
            if "language" in last:
                entity["language"] = last["language"]
        entity["type"] = "pre"
    else:  # blockquote
        entity["type"] = "expandable_blockquote" if top.expandable else "blockquote"
    entities.append(
        {"type": entity.pop("type"), "offset": entity.pop("offset"), "length": entity.pop("length")}
        | entity
    )
