"""Text normalization with an exact map back to the original text.

Owns: turning a message into the canonical form rules are matched against (NFKC, half-width,
Simplified Chinese, case folded, fillers and inserted separators removed, common evasions
folded) while remembering, for every normalized character, which span of the original it came
from. Evidence is always quoted from the original through that map.

Deliberate respellings (homophones, look-alike symbols) are folded back to the words of the
rule set when a ``Lexicon`` is given (see ``respell``); masked links ("hxxp://", "x[.]com")
are unmasked always.

Imports nothing outside the standard library, OpenCC, pypinyin (through ``respell``) and this
package.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ahocorasick
import opencc

from bot.engine.respell import Lexicon

# Characters that carry no meaning and are used to break up keywords: zero-width marks,
# joiners, soft hyphen, variation selectors, BOM, Mongolian vowel separator, Hangul fillers.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x2060, 0x2070)]
    + [chr(c) for c in range(0xFE00, 0xFE10)]
    + ["\u00ad", "\u180e", "\ufeff", "\u034f", "\u115f", "\u1160", "\u3164", "\uffa0"]
)

# Characters scammers put between the characters of a keyword ("加 微 信", "加-V-信", "加❤微信").
# They are dropped only where they touch a CJK character, so URLs, numbers and English
# sentences keep their punctuation and spaces.
_SEPARATORS = frozenset(
    " \t\r\n\u3000-_.*·•|/\\~`'\"+=^,:;!?#&%$@()[]{}<>"
    "、，。：；！？＂＇｀（）【】《》〈〉「」『』〔〕…—–～·◆◇★☆♥♡❤♦●○■□▲△▼▽→←↑↓※“”‘’"
    # Vertical strokes that look like a bar between characters ("淘丨宝丨网").
    "丨｜│┃"
)
# Emoji and pictographs inserted between characters count as separators too.
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F900, 0x1F9FF))

# Evasion spellings folded to one canonical form. Keys are already NFKC, lower case and
# Simplified. ASCII keys only fold where they are not part of a longer Latin word.
EVASIONS: dict[str, str] = {
    # WeChat
    "v信": "微信",
    "薇信": "微信",
    "威信": "微信",
    "徽信": "微信",
    "危信": "微信",
    "胃信": "微信",
    "嶶信": "微信",
    "蔚信": "微信",
    "维信": "微信",
    "微x": "微信",
    "wei信": "微信",
    "weixin": "微信",
    "wechat": "微信",
    "vx": "微信",
    "wx": "微信",
    "v❤": "微信",
    "威❤": "微信",
    "微❤": "微信",
    # QQ
    "扣扣": "qq",
    "企鹅": "qq",
    "球球": "qq",
    "抠抠": "qq",
    "口口": "qq",
    # Telegram
    "纸飞机": "telegram",
    "小飞机": "telegram",
    "电报": "telegram",
    "飞机号": "telegram号",
    "tg号": "telegram号",
    "teiegram": "telegram",
    "telegarm": "telegram",
    # WhatsApp
    "whats app": "whatsapp",
    "watsapp": "whatsapp",
    "whatsap": "whatsapp",
    "瓦次普": "whatsapp",
    # brushing / tasks
    "刷dan": "刷单",
    "shua单": "刷单",
    "刷d": "刷单",
    # money
    "软妹币": "人民币",
    "rmb": "人民币",
    "u商": "u商",
}

_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")

_T2S = opencc.OpenCC("t2s")

# OpenCC leaves the Traditional 帳 as 帐; money contexts in Simplified use 账.
_EXTRA_FOLD = {"帐": "账"}
_EXTRA_FOLD_TABLE = str.maketrans(_EXTRA_FOLD)

# Cyrillic and Greek letters that look Latin ("pаypal" with a Cyrillic а). Messages we match
# are Chinese or English, so folding them costs nothing and defeats the trick.
_CONFUSABLES = str.maketrans(
    "аеорсухкмтвніѕјԁɡαονρτικευз",
    "aeopcyxkmtbhisjdgaovptikeu3",
)


def is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.match(ch))


def _is_separator(ch: str) -> bool:
    if ch in _SEPARATORS:
        return True
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized text plus, per normalized character, its [start, end) span in the original."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalized [start, end) span to the original text."""
        if not self.text or end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        end = min(end, len(self.text))
        return self.starts[start], self.ends[end - 1]

    def quote(self, start: int, end: int) -> str:
        a, b = self.span(start, end)
        return self.original[a:b]


def _fold_char(ch: str) -> str:
    """NFKC + case fold + Simplified for one character (the translate table caches it)."""
    out = unicodedata.normalize("NFKC", ch).casefold().translate(_CONFUSABLES)
    if out and any(is_cjk(c) for c in out):
        out = _T2S.convert(out)
    elif out and not out.isascii():
        # Accents and marks stacked on letters ("ṵ", "é") are decoration: the bare letter.
        out = "".join(
            c for c in unicodedata.normalize("NFKD", out) if unicodedata.category(c) != "Mn"
        )
    return "".join(_EXTRA_FOLD.get(c, c) for c in out)


def _phrase_fold(text: str) -> str:
    """OpenCC's phrase-level conversion, used only when it keeps the length (so offsets hold)."""
    return str(_T2S.convert(text))


def _build_evasion_automaton() -> ahocorasick.Automaton:
    auto = ahocorasick.Automaton()
    for key, value in EVASIONS.items():
        auto.add_word(key, (len(key), value))
    auto.make_automaton()
    return auto


_EVASION_AC = _build_evasion_automaton()


def _evasion_edits(text: str) -> list[tuple[int, int, str]]:
    """Longest non-overlapping evasion spellings. An ASCII key must stand on its own:
    "wx" folds, "wxyz" and "twx" do not."""
    edits: list[tuple[int, int, str]] = []
    n = len(text)
    for end, (length, value) in _EVASION_AC.iter_long(text):
        start = end - length + 1
        if text[start].isascii() and text[start].isalnum() and start > 0:
            prev = text[start - 1]
            if prev.isascii() and prev.isalnum():
                continue
        if text[end].isascii() and text[end].isalnum() and end + 1 < n:
            nxt = text[end + 1]
            if nxt.isascii() and nxt.isalnum():
                continue
        edits.append((start, end + 1, value))
    return edits


# Runs of single letters split by single spaces ("c a l l  n o w", "W h a t s A p p").
_SPACED_LETTERS_RE = re.compile(r"(?<![a-z0-9])(?:[a-z0-9] ){3,}[a-z0-9](?![a-z0-9])")


def _spaced_edits(text: str) -> list[tuple[int, int, str]]:
    return [
        (m.start(), m.end(), m.group(0).replace(" ", "")) for m in _SPACED_LETTERS_RE.finditer(text)
    ]


# Per-character folding table for str.translate, filled lazily: each character is folded once
# per process, then whole messages are translated at C speed.
_TABLE: dict[int, str] = {}
_IRREGULAR: set[str] = set()  # characters that fold to zero or several characters
_TABLE_LIMIT = 300_000


# By Unicode category, not by a list: controls, format characters, surrogates, private-use and
# unassigned code points and combining marks carry nothing a reader sees between letters.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"})
_KEPT_CONTROLS = frozenset("\t\n\r")
# Symbols that print as nothing: the blank Braille pattern (and the rest of the Braille block,
# never part of a Chinese or English message), the object replacement character.
_BLANK_SYMBOLS = frozenset([chr(c) for c in range(0x2800, 0x2900)] + ["\ufffc"])


def _fold_for_table(ch: str) -> str:
    cat = unicodedata.category(ch)
    if ch in _INVISIBLE or ch in _BLANK_SYMBOLS:
        return ""
    if cat in _DROPPED_CATEGORIES and ch not in _KEPT_CONTROLS and not is_cjk(ch):
        return ""
    if cat in ("Zl", "Zp"):
        return "\n"  # line and paragraph separators end a line like a newline
    if cat == "Zs":
        return " "  # every kind of space (U+1680 ogham, U+3000 ideographic) is a space
    return "".join(c for c in _fold_char(ch) if c not in _INVISIBLE)


def _pass1(original: str) -> tuple[str, list[int] | None]:
    """Fold every character. Returns the text and, unless every character folded to exactly
    one, the original index of each output character (None means identity)."""
    global _TABLE, _IRREGULAR
    # Checks may run in several threads (the bot's checker, a moderator's preview): each call
    # works on the tables it started with, and a full table is replaced, never cleared.
    table, irregular = _TABLE, _IRREGULAR
    present = set(original)
    missing = [ch for ch in present if ord(ch) not in table]
    if missing:
        if len(table) > _TABLE_LIMIT:
            table, irregular = {}, set()
            _TABLE, _IRREGULAR = table, irregular
            missing = list(present)
        for ch in missing:
            folded = _fold_for_table(ch)
            table[ord(ch)] = folded
            if len(folded) != 1:
                irregular.add(ch)
    if present.isdisjoint(irregular):
        return original.translate(table), None
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(original):
        folded = table[ord(ch)]
        out.append(folded)
        idx.extend([i] * len(folded))
    return "".join(out), idx


def _sep_class() -> str:
    chars = "".join(sorted(_SEPARATORS))
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in chars)
    ranges = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _EMOJI_RANGES)
    return f"[{escaped}{ranges}]+"


_SEP_RUN_RE = re.compile(_sep_class())
_MASK_RUN_RE = re.compile(r"\s*\*{2,}\.")


# Sentence punctuation between Chinese characters becomes one canonical boundary, "，", so a
# rule can tell clauses apart (``[^，]{0,8}``) while "加.微.信" still reads "加微信".
BOUNDARY = "，"
_BOUNDARY_CHARS = frozenset(",。!?;、\n")


def _drop_separators(text: str) -> tuple[list[int], dict[int, str]] | None:
    """Positions to keep, and replacements by output position: separator runs touching a CJK
    character go (or become one boundary if they held sentence punctuation); whitespace runs
    elsewhere become one space. None when nothing changes (the common case)."""
    keep: list[int] = []
    subst: dict[int, str] = {}
    pos = 0
    n = len(text)
    changed = False
    runs = list(_SEP_RUN_RE.finditer(text))
    # A boundary between runs that hold a single character each ("快\n递\n理\n赔") spaces a
    # word out rather than ending sentences: such runs are plain separators.
    spaced: set[int] = set()
    for i in range(1, len(runs)):
        if runs[i].start() - runs[i - 1].end() == 1 and is_cjk(text[runs[i].start() - 1]):
            spaced.update((i - 1, i))
    for i, m in enumerate(runs):
        a, b = m.span()
        run = m.group(0)
        left = text[a - 1] if a > 0 else ""
        right = text[b] if b < n else ""
        if _MASK_RUN_RE.fullmatch(run) and right.isascii() and right.isalpha():
            continue  # a starred-out link name ("登录***.cc") is kept for the link finder
        if (left and is_cjk(left)) or (right and is_cjk(right)):
            keep.extend(range(pos, a))
            if i not in spaced and not _BOUNDARY_CHARS.isdisjoint(run):
                subst[len(keep)] = BOUNDARY
                keep.append(a)
            # "+855…", "@handle" and "$500" keep the sign that belongs to what follows.
            if run[-1] in "+@$" and right.isascii() and right.isalnum():
                keep.append(b - 1)
            pos = b
            changed = True
            continue
        if run == " " or (not any(c.isspace() and c != " " for c in run) and "  " not in run):
            continue
        keep.extend(range(pos, a))
        prev_space = False
        for k in range(a, b):
            if text[k].isspace():
                if not prev_space:
                    subst[len(keep)] = " "
                    keep.append(k)
                prev_space = True
            else:
                keep.append(k)
                prev_space = False
        pos = b
        changed = True
    if not changed:
        return None
    keep.extend(range(pos, n))
    return keep, subst


# Links written so they do not turn into links: "hxxp://", "x[.]com", "x(.)com", "x[dot]com".
_MASKED_DOT_RE = re.compile(r"(?<=[a-z0-9])(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))(?=[a-z0-9])")
_MASKED_SCHEME_RE = re.compile(r"\bhxxp(s?)(?:\[:\]|:)|\bhttp(s?)\[:\]")


def _unmask_edits(text: str) -> list[tuple[int, int, str]]:
    if "[" not in text and "(" not in text and "{" not in text and "hxxp" not in text:
        return []
    edits = [(m.start(), m.end(), ".") for m in _MASKED_DOT_RE.finditer(text)]
    for m in _MASKED_SCHEME_RE.finditer(text):
        edits.append((m.start(), m.end(), "http" + (m.group(1) or m.group(2) or "") + ":"))
    return sorted(edits)


# "一" put between every character of a phrase ("奔一跑一兄一弟") is a filler, not the word one.
_FILLER_ONE_RE = re.compile("(?:[\u4e00-\u9fff]一){3,}[\u4e00-\u9fff]")


# Chinese numerals mixed into a number to hide it from filters ("5四2 8〇9 1七3"): where a
# run of digits and numerals holds at least two Arabic digits, the numerals are digits too.
_NUMERALS = "〇零一二三四五六七八九"
_MIXED_NUMBER_RE = re.compile(f"[0-9{_NUMERALS}][0-9{_NUMERALS} -]{{3,40}}[0-9{_NUMERALS}]")
_NUMERAL_DIGITS = str.maketrans({c: str(i) for i, c in enumerate(_NUMERALS[1:])} | {"〇": "0"})


def _numeral_edits(text: str) -> list[tuple[int, int, str]]:
    edits = []
    for m in _MIXED_NUMBER_RE.finditer(text):
        run = m.group(0)
        digits = sum(c.isdigit() and c.isascii() for c in run)
        numerals = sum(c in _NUMERALS for c in run)
        if digits >= 2 and numerals and digits + numerals >= 5:
            for k, c in enumerate(run):
                if c in _NUMERALS:
                    edits.append((m.start() + k, m.start() + k + 1, c.translate(_NUMERAL_DIGITS)))
    return edits


def _filler_edits(text: str) -> list[tuple[int, int, str]]:
    if "一" not in text:
        return []
    edits = []
    for m in _FILLER_ONE_RE.finditer(text):
        chars = m.group(0)[0::2]
        if "一" not in chars:
            edits.append((m.start(), m.end(), chars))
    return edits


# A capital I beside a small letter or digit, or a small l among capitals: worth a closer look.
_CASE_HINT_RE = re.compile(r"[a-z0-9]I|I[a-z0-9]|[A-Z]{2}l|[A-Z]l[A-Z]|l[A-Z]{2}")


def _case_alternates(original: str, text: str, starts: list[int]) -> dict[int, tuple[str, ...]]:
    """Letters written in the wrong case for another letter: a capital I in a word otherwise in
    lower case ("biIls", "I0cked") may be an l; a small l in a word otherwise in capitals
    ("BANKOFAMERlCA", "BENEFlTS") may be an I."""
    if not _CASE_HINT_RE.search(original):
        return {}
    out: dict[int, tuple[str, ...]] = {}
    for i, ch in enumerate(text):
        if ch not in "il":
            continue
        o = starts[i]
        if original[o] not in "Il" or original[o].lower() != ch:
            continue
        a = o
        while a > 0 and not original[a - 1].isspace():
            a -= 1
        b = o + 1
        while b < len(original) and not original[b].isspace():
            b += 1
        word = original[a:b]
        if len(word) < 2:
            continue
        if original[o] == "I" and any(c.islower() for c in word):
            out[i] = ("i", "l")
        elif (
            original[o] == "l"
            and sum(c.isupper() for c in word) >= 3
            and not any(c.islower() for c in word if c != "l")
        ):
            out[i] = ("l", "i")
    return out


def normalize(original: str, lexicon: Lexicon | None = None) -> Normalized:
    """Normalize ``original`` for matching, keeping an exact offset map back to it. With a
    ``lexicon``, respellings of its words are folded back to them."""
    text, idx = _pass1(original)

    # Phrase-level Traditional->Simplified where OpenCC keeps the length, so word-level
    # conversions are right and offsets still line up one to one.
    if _CJK_RE.search(text):
        phrased = _phrase_fold(text)
        if len(phrased) == len(text) and phrased != text:
            text = phrased.translate(_EXTRA_FOLD_TABLE)

    dropped = _drop_separators(text)
    if dropped is not None:
        keep, subst = dropped
        chars = [text[k] for k in keep]
        for i, ch in subst.items():
            chars[i] = ch
        text = "".join(chars)
        idx = keep if idx is None else [idx[k] for k in keep]
    if idx is None:
        starts = list(range(len(text)))
        ends = list(range(1, len(text) + 1))
    else:
        starts = idx
        ends = [i + 1 for i in idx]

    text, starts, ends = _apply(text, starts, ends, _spaced_edits(text))
    text, starts, ends = _apply(text, starts, ends, _unmask_edits(text))
    text, starts, ends = _apply(text, starts, ends, _filler_edits(text))
    text, starts, ends = _apply(text, starts, ends, _numeral_edits(text))
    if lexicon is not None:
        text, starts, ends = _apply(text, starts, ends, lexicon.split_latin(text))
        caps = _case_alternates(original, text, starts)
        text, starts, ends = _apply(text, starts, ends, lexicon.respell_latin(text, caps))
        if lexicon.odd_chars(text):
            text = lexicon.respell_cjk(text, [original[a] for a in starts])
    text, starts, ends = _apply(text, starts, ends, _evasion_edits(text))
    return Normalized(original, text, tuple(starts), tuple(ends))


def _apply(
    text: str, starts: list[int], ends: list[int], edits: list[tuple[int, int, str]]
) -> tuple[str, list[int], list[int]]:
    """Replace [a, b) spans, keeping the offset map: each replacement character maps to the
    whole original span of the text it replaced. Edits are sorted and do not overlap."""
    if not edits:
        return text, starts, ends
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for a, b, replacement in edits:
        out.append(text[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        s, e = starts[a], ends[b - 1]
        out.append(replacement)
        new_starts.extend([s] * len(replacement))
        new_ends.extend([e] * len(replacement))
        pos = b
    out.append(text[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    return "".join(out), new_starts, new_ends


def normalize_phrase(phrase: str) -> str:
    """Normalize a rule's phrase exactly as messages are normalized, so they meet."""
    return normalize(phrase).text.strip()
