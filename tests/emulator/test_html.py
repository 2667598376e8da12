"""Telegram's HTML parse mode as the emulator reads it: plain text, entities, and refusals."""

from __future__ import annotations

import pytest

from bot.emulator.html import HtmlParseError, parse_html, utf16_len


def test_tags_become_entities_on_plain_text() -> None:
    text, entities = parse_html(
        "<b>bold <i>both</i></b>, <u>u</u> <s>s</s> <tg-spoiler>x</tg-spoiler>"
    )
    assert text == "bold both, u s x"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        {"type": "underline", "offset": 11, "length": 1},
        {"type": "strikethrough", "offset": 13, "length": 1},
        {"type": "spoiler", "offset": 15, "length": 1},
    ]


def test_synonyms_and_case_insensitive_tags() -> None:
    text, entities = parse_html(
        '<STRONG>a</STRONG><em>b</em><ins>c</ins><del>d</del><span class="tg-spoiler">e</span>'
    )
    assert text == "abcde"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
    ]


def test_entities_are_decoded() -> None:
    text, entities = parse_html("a &lt;b&gt; &amp; &quot;c&quot; &#20320;&#x597D; &amp")
    assert text == 'a <b> & "c" 你好 &'
    assert entities == []


def test_offsets_count_utf16_units() -> None:
    text, entities = parse_html("😀 <b>你好</b>")
    assert text == "😀 你好"
    assert entities == [{"type": "bold", "offset": 3, "length": 2}]
    assert utf16_len("😀") == 2


def test_links_code_pre_blockquote_and_custom_emoji() -> None:
    text, entities = parse_html(
        '<a href="https://e.com/?a=1&amp;b=2">link</a> <code>c</code> '
        '<pre><code class="language-python">x = 1</code></pre> '
        "<blockquote>q</blockquote><blockquote expandable>long</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert text == "link c x = 1 qlong👍"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://e.com/?a=1&b=2"},
        {"type": "code", "offset": 5, "length": 1},
        {"type": "pre", "offset": 7, "length": 5, "language": "python"},
        {"type": "blockquote", "offset": 13, "length": 1},
        {"type": "expandable_blockquote", "offset": 14, "length": 4},
        {
            "type": "custom_emoji",
            "offset": 18,
            "length": 2,
            "custom_emoji_id": "5368324170671202286",
        },
    ]


def test_empty_tags_leave_no_entity() -> None:
    assert parse_html("a<b></b>c") == ("ac", [])


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("你好<script>", 'Unsupported start tag "script" at byte offset 6'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("Tom & Jerry", 'Character "&" must be escaped as "&amp;" at byte offset 4'),
        ("&nbsp;", 'Character "&" must be escaped as "&amp;" at byte offset 0'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="x">🙂</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
def test_malformed_markup_is_refused_with_telegrams_reason(source: str, reason: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(source)
    assert str(caught.value) == reason
