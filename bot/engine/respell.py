"""Undo deliberate respellings: Chinese homophones and look-alike characters, English words
written with look-alike symbols or split by a hyphen.

Owns: the ``Lexicon`` a rule set builds from its own words, and the folding it drives. Scammers
write 沋蕙 for 优惠, 琉氺 for 流水, 佰芬 for 百分, 眞朲 for 真人, 餸 for 送, "p@ckage", "I0cked",
"deliv-ered", "AM/AZON". Two general mechanisms undo this without a list of evasions:

- **Chinese, by sound.** A character outside everyday use (not in GB2312 after conversion to
  Simplified) or a formal numeral (壹贰叁…佰仟) is a sign of a deliberate respelling. Around such a
  character, a window of 2–4 characters whose pronunciation (pypinyin, tones ignored) equals a
  word of the rule set is replaced by that word; a rare character left over is replaced by the
  most common everyday character with the same pronunciation. Characters that the rules
  themselves use are never touched, so every pattern still meets its own text.
- **English, by shape.** A token that mixes letters with digits or symbols (0→o, 1→l, 3→e, @→a, a
  capital I inside a lower-case word → l), or that a hyphen or slash splits, is replaced by a word
  of the rule set that it spells, if there is exactly one way to read it as such a word.

Only whole words of the rule set are produced, so folding can make a rule match the text it was
written for, never invent an unrelated word. Replacements keep Chinese text the same length
(offsets hold) and go through the normalizer's edit map for English.

Imports only the standard library, pypinyin and this package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import product

# Formal (anti-fraud-cheque) numerals that have no other everyday use: 佰 in a lure is 百.
FORMAL_NUMERALS = {
    "壹": "一",
    "贰": "二",
    "叁": "三",
    "肆": "四",
    "柒": "七",
    "捌": "八",
    "玖": "九",
    "佰": "百",
    "仟": "千",
}

# Cantonese characters are everyday words in Hong Kong messages, not evasions.
_CANTONESE = frozenset("嘅咗冇啲嚟喺哋佢嘢睇咁乜唔嗰噉冚攞揾搵咩嘥啱嚿瞓掟")

_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
_ESCAPES = re.compile(r"\\p\{[^}]*\}|\\P\{[^}]*\}|\\[a-zA-Z]")
_LATIN_WORD = re.compile(r"[a-z]{4,}")

MAX_WINDOW = 4


def _is_cjk(ch: str) -> bool:
    return bool(_CJK_RUN.fullmatch(ch))


@cache
def _pinyin_table() -> dict[int, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


def _toneless(reading: str) -> str:
    """'yōu' -> 'you', 'lǚ' -> 'lv' (ü kept apart from u)."""
    reading = reading.replace("ü", "v")
    return "".join(c for c in unicodedata.normalize("NFD", reading) if c.isascii())


@cache
def readings(ch: str) -> tuple[str, ...]:
    """The toneless pronunciations of one character, most usual first; () if unknown."""
    raw = _pinyin_table().get(ord(ch))
    if not raw:
        return ()
    seen: list[str] = []
    for r in raw.split(","):
        t = _toneless(r.strip())
        if t and t not in seen:
            seen.append(t)
    return tuple(seen)


def _toned_first(ch: str) -> str | None:
    raw = _pinyin_table().get(ord(ch))
    return raw.split(",")[0].strip() if raw else None


def is_everyday(ch: str) -> bool:
    """In GB2312 (the 6,763 characters of everyday Simplified Chinese)."""
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _level1(ch: str) -> bool:
    """GB2312 level 1: the 3,755 most common characters."""
    try:
        b = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(b) == 2 and b < b"\xd8\xa0"


@cache
def _common_by_sound() -> tuple[dict[str, str], dict[str, str]]:
    """The most common level-1 character for each toned and each toneless reading. "Most
    common" is measured by how many words of pypinyin's phrase dictionary use the character."""
    from pypinyin.phrases_dict import phrases_dict

    uses: dict[str, int] = {}
    for phrase in phrases_dict:
        for ch in phrase:
            uses[ch] = uses.get(ch, 0) + 1
    toned: dict[str, tuple[int, str]] = {}
    toneless: dict[str, tuple[int, str]] = {}
    for cp, raw in _pinyin_table().items():
        ch = chr(cp)
        if not _level1(ch):
            continue
        n = uses.get(ch, 0)
        for i, r in enumerate(raw.split(",")):
            r = r.strip()
            # A character's first reading is its usual one; others count for less.
            score = n if i == 0 else n // 4
            for table, key in ((toned, r), (toneless, _toneless(r))):
                best = table.get(key)
                if best is None or score > best[0]:
                    table[key] = (score, ch)
    return {k: v[1] for k, v in toned.items()}, {k: v[1] for k, v in toneless.items()}


def _sound_alike(ch: str) -> str | None:
    """The everyday character that sounds like the rare ``ch``, if any."""
    toned, toneless = _common_by_sound()
    first = _toned_first(ch)
    if first is None:
        return None
    return toned.get(first) or toneless.get(_toneless(first))


# Each toneless syllable gets one private-use character, so a message "read aloud" is a string
# of the same length as the message (str.translate at C speed; offsets need no map).
_SYLLABLE_CODES: dict[str, str] = {}
_SPOKEN: dict[int, str] = {}
_SPOKEN_LIMIT = 200_000


def _code(syllable: str) -> str:
    code = _SYLLABLE_CODES.get(syllable)
    if code is None:
        code = _SYLLABLE_CODES[syllable] = chr(0xF0000 + len(_SYLLABLE_CODES))
    return code


def sound_key(word: str) -> str | None:
    """A Chinese word as the codes of its usual toneless readings (None if one is unknown)."""
    parts = []
    for ch in word:
        r = readings(ch)
        if not r:
            return None
        parts.append(_code(r[0]))
    return "".join(parts)


def transcribe(text: str) -> str:
    """``text`` read aloud: each Chinese character replaced by the code of its usual toneless
    syllable, everything else kept (so no sound spans a break). Same length as ``text``."""
    missing = [ch for ch in set(text) if ch > "\u33ff" and ord(ch) not in _SPOKEN]
    if missing:
        if len(_SPOKEN) > _SPOKEN_LIMIT:
            _SPOKEN.clear()
            missing = [ch for ch in set(text) if ch > "\u33ff"]
        for ch in missing:
            r = readings(ch)
            _SPOKEN[ord(ch)] = _code(r[0]) if r else ch
    return text.translate(_SPOKEN)


@cache
def _common_words_by_sound() -> dict[str, set[str]]:
    """Dictionary words (pypinyin's phrase list) by their toneless usual reading, to tell a
    rule author that a word sounds like another common word."""
    from pypinyin.phrases_dict import phrases_dict

    out: dict[str, set[str]] = {}
    for word in phrases_dict:
        key = sound_key(word)
        if key is not None:
            out.setdefault(key, set()).add(word)
    return out


def sound_twins(word: str) -> set[str]:
    """Common words that are pronounced exactly like ``word`` (食品 for 视频)."""
    key = sound_key(word)
    return (_common_words_by_sound().get(key, set()) - {word}) if key else set()


# English look-alikes: each symbol with the letters it may stand for ("" = drop it).
_LOOKALIKE_LETTERS: dict[str, tuple[str, ...]] = {
    "0": ("o",),
    "1": ("l", "i"),
    "3": ("e",),
    "4": ("a",),
    "5": ("s",),
    "7": ("t",),
    "@": ("a", ""),
    "$": ("s",),
    "!": ("i", "l"),
    "|": ("l", "i"),
    "-": ("",),
    "/": ("",),
    "_": ("",),
    "*": ("",),
    "'": ("",),
}
# A token, or a word split by a hyphen at a line end ("in- formation").
_TOKEN = re.compile(r"[a-z0-9@$!|*'_/-]*[a-z0-9@$!|*'_/]- [a-z]+|[a-z0-9@$!|*'_/-]+")
MAX_AMBIGUOUS = 5
_DISGUISE_HINT_RE = re.compile(r"[a-z][0-9@$!|*'_/-]|[0-9@$!|*'_/-][a-z]")
_CONTRACTION = re.compile(r"[a-z]+'(?:t|s|d|m|re|ll|ve)")
# "invo.ice", "w.e.l.l.s": letters with dots inside (never followed by a path, as links are).
_DOTTED = re.compile(r"(?<![a-z0-9./@])[a-z]+(?:\.[a-z]+){1,8}(?![a-z0-9@])")
# "renew_your_bill", "your'subscription", "renew-your-bill": words glued by _ ' or hyphens.
_GLUED = re.compile(r"(?<![a-z0-9./@_'-])[a-z]{2,}(?:[_'-]+[a-z]{3,}){1,8}(?![a-z0-9/@])")


@dataclass(frozen=True)
class Lexicon:
    """The words a rule set is written in, indexed for folding respellings back to them."""

    by_sound: dict[tuple[str, ...], str]  # toneless readings -> word (2..4 characters)
    keep: frozenset[str]  # characters the rules use: never folded
    words: frozenset[str]  # English words of at least four letters
    # character -> whether it is a sign of respelling; filled as characters are met
    _memo: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, patterns: Iterable[str]) -> Lexicon:
        """From every phrase and regex of a rule set (regex syntax is skipped, not parsed:
        runs of Chinese characters and of Latin letters are what the patterns spell)."""
        whole: list[str] = []
        parts: list[str] = []
        keep: set[str] = set()
        words: set[str] = set()
        for p in patterns:
            plain = _ESCAPES.sub(" ", p)
            for run in _CJK_RUN.findall(plain):
                keep.update(run)
                if 2 <= len(run) <= MAX_WINDOW:
                    whole.append(run)
                for n in range(2, min(MAX_WINDOW, len(run)) + 1):
                    parts.extend(run[i : i + n] for i in range(len(run) - n + 1))
            words.update(_LATIN_WORD.findall(plain.lower()))
        by_sound: dict[tuple[str, ...], str] = {}
        # Whole runs first: on a tie of sound, the word a rule wrote out wins over a fragment.
        for word in [*whole, *parts]:
            # A rule word by its usual reading only: 派 read "bai" would turn 佰送 into 派送.
            key = tuple(r[0] if (r := readings(ch)) else "" for ch in word)
            if all(key):
                by_sound.setdefault(key, word)
        return cls(by_sound, frozenset(keep), frozenset(words))

    # -- Chinese ----------------------------------------------------------------------------

    def _odd(self, ch: str) -> bool:
        if ch in self.keep or ch in _CANTONESE or not _is_cjk(ch):
            return False
        return ch in FORMAL_NUMERALS or not is_everyday(ch)

    def odd_chars(self, text: str) -> set[str]:
        """The characters of ``text`` that are signs of a respelling (usually none)."""
        memo = self._memo
        out = set()
        for ch in set(text):
            if ch > "\u33ff":
                odd = memo.get(ch)
                if odd is None:
                    if len(memo) > 100_000:
                        memo.clear()
                    odd = memo[ch] = self._odd(ch)
                if odd:
                    out.add(ch)
        return out

    def respell_cjk(self, text: str, sources: Sequence[str] | None = None) -> str:
        """Fold homophone and look-alike respellings in ``text`` (same length out).
        ``sources[i]`` is the original character behind ``text[i]``: a character that the
        conversion to Simplified turned into something obscure is read by its original."""
        signs = self.odd_chars(text)
        if not signs:
            return text
        odd = [i for i, ch in enumerate(text) if ch in signs]
        # A formal numeral means one thing (佰 is 百): folded first, it then anchors the words
        # around it (佰芬 -> 百分, never 佰送 -> 白送).
        fixed = {i for i in odd if text[i] in FORMAL_NUMERALS}
        chars = [FORMAL_NUMERALS.get(ch, ch) if i in fixed else ch for i, ch in enumerate(text)]
        base = "".join(chars)
        odd_set = set(odd)
        done: set[int] = set()

        def sounds(i: int) -> tuple[str, ...]:
            r = readings(base[i])
            if not r and sources is not None and i < len(sources):
                r = readings(sources[i])
            return r

        for i in odd:
            if i in done:
                continue
            best = self._word_at(base, i, sounds, odd_set, fixed, done)
            if best is not None:
                start, word = best
                for k, ch in enumerate(word):
                    chars[start + k] = ch
                    done.add(start + k)
        for i in odd:
            if i in done or i in fixed:
                continue
            alike = _sound_alike(text[i])
            if alike is None and sources is not None and i < len(sources):
                alike = _sound_alike(sources[i])
            if alike is not None:
                chars[i] = alike
        return "".join(chars)

    def _word_at(
        self,
        text: str,
        i: int,
        sounds: Callable[[int], tuple[str, ...]],
        odd: set[int],
        fixed: set[int],
        done: set[int],
    ) -> tuple[int, str] | None:
        """The longest rule word that a window around position ``i`` sounds like."""
        n = len(text)
        for size in range(MAX_WINDOW, 1, -1):
            for start in range(max(0, i - size + 1), min(i, n - size) + 1):
                span = range(start, start + size)
                window = text[start : start + size]
                if any(not _is_cjk(c) for c in window) or any(k in done for k in span):
                    continue
                options = [sounds(k) for k in span]
                if not all(options):
                    continue
                for key in product(*options):
                    word = self.by_sound.get(key)
                    if word is None:
                        continue
                    if word == window:
                        # Already a rule word here (佰家乐 once 佰 is 百): keep it whole, so a
                        # shorter window cannot rewrite part of it (百佳乐).
                        return start, word
                    if any(k in fixed and text[k] != word[k - start] for k in span):
                        continue
                    # Everyday characters may change only where few do: at most half of
                    # the window, so a real word beside one odd character stays itself.
                    changed = sum(1 for k in span if text[k] != word[k - start] and k not in odd)
                    if changed <= size // 2:
                        return start, word
        return None

    # -- English ----------------------------------------------------------------------------

    def split_latin(self, text: str) -> list[tuple[int, int, str]]:
        """Edits that undo words glued or broken to dodge filters: "renew_your_bill" and
        "your'subscription'" become words again, "invo.ice" and "w.e.l.l.s" become "invoice"
        and "wells" when that is a rule word."""
        if not self.words:
            return []
        edits: list[tuple[int, int, str]] = []
        if "." in text:
            for m in _DOTTED.finditer(text):
                a, b = m.span()
                joined = m.group(0).replace(".", "")
                if joined in self.words and text[b : b + 1] != "/":
                    edits.append((a, b, joined))
        if "_" in text or "'" in text or "-" in text:
            for m in _GLUED.finditer(text):
                a, b = m.span()
                parts = [p for p in re.split(r"[_'-]", m.group(0)) if p]
                if m.group(0).count("-") == 1 and "_" not in m.group(0) and "'" not in m.group(0):
                    continue  # one hyphen joins a compound ("follow-up", "t-mobile")
                glued = len(parts) >= 2 and any(p in self.words for p in parts)
                if glued and not any(a < e and s < b for s, e, _ in edits):
                    edits.append((a, b, " ".join(parts)))
        return sorted(edits)

    def respell_latin(
        self, text: str, alternates: dict[int, tuple[str, ...]] | None = None
    ) -> list[tuple[int, int, str]]:
        """Edits (start, end, word) for English tokens that spell a rule word with look-alike
        symbols, a split or a letter written in the wrong case for another (a capital I in a
        lower-case word standing for l, a small l in a capital word standing for I):
        ``alternates`` maps such positions to the letters they may be."""
        if not self.words:
            return []
        caps = alternates or {}
        edits: list[tuple[int, int, str]] = []
        # A token of plain letters cannot be a disguise unless a letter of it has an alternate.
        if not caps and not _DISGUISE_HINT_RE.search(text):
            return edits
        for m in _TOKEN.finditer(text):
            a, b = m.span()
            tok = m.group(0)
            if (a > 0 and text[a - 1].isalnum()) or (b < len(text) and text[b].isalnum()):
                continue
            if len(tok) < 4 or tok in self.words or not any(c.isalpha() for c in tok):
                continue
            if (text[b : b + 1] in (".", "@") and text[b + 1 : b + 2].isalnum()) or (
                text[a - 1 : a] in (".", "@") and text[a - 2 : a - 1].isalnum()
            ):
                continue  # part of a domain or an address
            if _CONTRACTION.fullmatch(tok):
                continue  # "don't", "it's": the apostrophe is English, not a disguise
            word = self._spelled(tok, a, caps)
            if word is not None:
                edits.append((a, b, word))
        return edits

    def _spelled(self, tok: str, offset: int, caps: dict[int, tuple[str, ...]]) -> str | None:
        options: list[tuple[str, ...]] = []
        ambiguous = 0
        letters = 0
        for k, ch in enumerate(tok):
            if ch == " ":
                options.append(("",))
            elif ch.isalpha() and ch.isascii():
                letters += 1
                if offset + k in caps:
                    options.append(caps[offset + k])
                    ambiguous += 1
                else:
                    options.append((ch,))
            elif ch in _LOOKALIKE_LETTERS:
                options.append(_LOOKALIKE_LETTERS[ch])
                ambiguous += 1
            else:
                return None
        if ambiguous == 0 or ambiguous > MAX_AMBIGUOUS or letters < 2:
            return None
        # A plain number with a letter or two ("3pm", "10k") is not a disguised word.
        if sum(ch.isdigit() for ch in tok) > letters:
            return None
        found = {"".join(p) for p in product(*options)} & self.words
        return found.pop() if len(found) == 1 else None
