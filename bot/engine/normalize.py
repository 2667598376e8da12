"""Text normalization with an exact map back to the original text.

Owns: turning a message into the canonical form rules are matched against (NFKC, half-width,
Simplified Chinese, case folded, fillers and inserted separators removed, common evasions
folded) while remembering, for every normalized character, which span of the original it came
from. Evidence is always quoted from the original through that map.

Imports nothing outside the standard library, OpenCC and this package.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

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
    "、，。：；！？＂＇｀（）【】《》〈〉「」『』〔〕…—–～·◆◇★☆♥♡❤♦●○■□▲△▼▽→←↑↓※"
)
# Emoji and pictographs inserted between characters count as separators too.
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F900, 0x1F9FF))

# Evasion spellings folded to one canonical form. Keys are already NFKC, lower case and
# Simplified. ASCII keys only fold where they are not part of a longer Latin word.
EVASIONS: dict[str, str] = {
    # WeChat
    "v信": "微信", "薇信": "微信", "威信": "微信", "徽信": "微信", "危信": "微信",
    "胃信": "微信", "嶶信": "微信", "蔚信": "微信", "维信": "微信", "微x": "微信",
    "wei信": "微信", "weixin": "微信", "wechat": "微信", "vx": "微信", "wx": "微信",
    "v❤": "微信", "威❤": "微信", "微❤": "微信",
    # QQ
    "扣扣": "qq", "企鹅": "qq", "球球": "qq", "抠抠": "qq", "口口": "qq",
    # Telegram
    "纸飞机": "telegram", "小飞机": "telegram", "电报": "telegram", "飞机号": "telegram号",
    "tg号": "telegram号", "teiegram": "telegram", "telegarm": "telegram",
    # WhatsApp
    "whats app": "whatsapp", "watsapp": "whatsapp", "whatsap": "whatsapp", "瓦次普": "whatsapp",
    # brushing / tasks
    "刷dan": "刷单", "shua单": "刷单", "刷d": "刷单",
    # money
    "软妹币": "人民币", "rmb": "人民币", "u商": "u商",
}

_CJK_RE = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]"
)

_T2S = opencc.OpenCC("t2s")

# OpenCC leaves the Traditional 帳 as 帐; money contexts in Simplified use 账.
_EXTRA_FOLD = {"帐": "账"}


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


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    """NFKC + case fold + Simplified for one character (cached: messages reuse characters)."""
    out = unicodedata.normalize("NFKC", ch).casefold()
    if out and any(is_cjk(c) for c in out):
        out = _T2S.convert(out)
    return "".join(_EXTRA_FOLD.get(c, c) for c in out)


def _phrase_fold(text: str) -> str:
    """OpenCC's phrase-level conversion, used only when it keeps the length (so offsets hold)."""
    return _T2S.convert(text)


def _build_evasion_re() -> re.Pattern[str]:
    keys = sorted(EVASIONS, key=len, reverse=True)
    parts = []
    for k in keys:
        esc = re.escape(k)
        # An ASCII-initial key must not continue a Latin word, and an ASCII-final key
        # must not run into one: "wx" folds, "wxyz" and "twx" do not.
        if k[0].isascii() and k[0].isalnum():
            esc = r"(?<![a-z0-9])" + esc
        if k[-1].isascii() and k[-1].isalnum():
            esc = esc + r"(?![a-z0-9])"
        parts.append(esc)
    return re.compile("|".join(parts))


_EVASION_RE = _build_evasion_re()

# Runs of single letters split by single spaces ("c a l l  n o w", "W h a t s A p p").
_SPACED_LETTERS_RE = re.compile(r"(?<![a-z0-9])(?:[a-z0-9] ){3,}[a-z0-9](?![a-z0-9])")


def normalize(original: str) -> Normalized:
    """Normalize ``original`` for matching, keeping an exact offset map back to it."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    # Pass 1: per-character NFKC, case fold, T2S, invisible removal.
    for i, ch in enumerate(original):
        if ch in _INVISIBLE or unicodedata.category(ch) in ("Cf", "Mn") and not is_cjk(ch):
            continue
        folded = _fold_char(ch)
        for c in folded:
            if c in _INVISIBLE:
                continue
            chars.append(c)
            starts.append(i)
            ends.append(i + 1)

    # Phrase-level Traditional->Simplified where OpenCC keeps the length, so word-level
    # conversions (e.g. 乾燥 vs 乾隆) are right and offsets still line up one to one.
    joined = "".join(chars)
    if any(is_cjk(c) for c in joined):
        phrased = _phrase_fold(joined)
        if len(phrased) == len(joined):
            chars = [_EXTRA_FOLD.get(c, c) for c in phrased]

    # Pass 2: drop separators that touch a CJK character, and whitespace runs collapse to one.
    n = len(chars)
    keep = [True] * n
    i = 0
    while i < n:
        if _is_separator(chars[i]):
            j = i
            while j < n and _is_separator(chars[j]):
                j += 1
            left = chars[i - 1] if i > 0 else ""
            right = chars[j] if j < n else ""
            if (left and is_cjk(left)) or (right and is_cjk(right)):
                for k in range(i, j):
                    keep[k] = False
            else:
                # Collapse any run of whitespace into one space; keep other punctuation.
                seen_space = False
                for k in range(i, j):
                    if chars[k].isspace():
                        if seen_space:
                            keep[k] = False
                        else:
                            chars[k] = " "
                            seen_space = True
            i = j
        else:
            i += 1
    chars2 = [c for c, k in zip(chars, keep, strict=True) if k]
    starts2 = [s for s, k in zip(starts, keep, strict=True) if k]
    ends2 = [e for e, k in zip(ends, keep, strict=True) if k]

    text = "".join(chars2)
    text, starts2, ends2 = _rewrite(text, starts2, ends2, _SPACED_LETTERS_RE, _join_spaced)
    text, starts2, ends2 = _rewrite(text, starts2, ends2, _EVASION_RE, _fold_evasion)
    return Normalized(original, text, tuple(starts2), tuple(ends2))


def _join_spaced(m: re.Match[str]) -> str:
    return m.group(0).replace(" ", "")


def _fold_evasion(m: re.Match[str]) -> str:
    return EVASIONS[m.group(0)]


def _rewrite(
    text: str,
    starts: list[int],
    ends: list[int],
    pattern: re.Pattern[str],
    repl: object,
) -> tuple[str, list[int], list[int]]:
    """Apply a substitution while keeping the offset map: each replacement char maps to the
    whole original span of the text it replaced."""
    assert callable(repl)
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        a, b = m.span()
        out.append(text[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        replacement: str = repl(m)
        if a == b:
            continue
        s, e = starts[a], ends[b - 1]
        out.append(replacement)
        new_starts.extend([s] * len(replacement))
        new_ends.extend([e] * len(replacement))
        pos = b
    if pos == 0:
        return text, starts, ends
    out.append(text[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    return "".join(out), new_starts, new_ends


def normalize_phrase(phrase: str) -> str:
    """Normalize a rule's phrase exactly as messages are normalized, so they meet."""
    return normalize(phrase).text.strip()
