"""No pattern that reads user text costs more than linear time, whatever the text.

Every compiled pattern in the modules that see a user's text (redaction, extraction,
normalization, respelling, the engine's language count, rendering) is fed 4,096-character
adversarial strings: runs of digits, separators, repeats such as "1-1-1-" or "a.a.a.", and
repeats of the pattern's own words. The cost of 4,096 characters is compared with the cost of
1,024 measured in the same run: linear work grows about 4 times, quadratic 16 times, cubic 64
times. No wall-clock threshold is asserted, only the growth.

A regular-expression engine may switch strategy between sizes (RE2 does, around a few thousand
bytes), which makes one step look steeper than the work really grows; when the first step is
steep but not hopeless, the next one (4,096 to 16,384) decides.
"""

from __future__ import annotations

import gc
import importlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import re2

from bot.engine.extract import BrandIndex, extract
from bot.engine.normalize import normalize
from bot.engine.victim import read_self_report
from bot.privacy import redact
from tests.conftest import bundled_engine

MODULES = (
    "bot.privacy",
    "bot.engine.extract",
    "bot.engine.normalize",
    "bot.engine.respell",
    "bot.engine.engine",
    "bot.engine.victim",
    "bot.tg.render",
)
# Patterns the code only ever applies with ``fullmatch`` (to a token, a run or a character).
FULLMATCH_ONLY = {
    ("bot.engine.normalize", "_MASK_RUN_RE"),
    ("bot.engine.respell", "_CONTRACTION"),
    ("bot.engine.respell", "_CJK_RUN"),
    ("bot.privacy", "_CN_ID_SHAPE"),
}
SMALL, LARGE, LARGER = 1024, 4096, 16384
LINEAR = 8.0  # growth allowed for 4x the text: linear is 4, quadratic 16
HOPELESS = 40.0  # a first step this steep is no change of strategy

BASE_UNITS = (
    "1",
    "1-",
    "1 ",
    "1,",
    "1.",
    "+1",
    "1a",
    "a1",
    "a",
    "A",
    "Aa ",
    "a.",
    "a-",
    "a_",
    "a'",
    "a/",
    "a@",
    "@",
    "@a",
    " ",
    "*",
    "**.",
    "中",
    "中1",
    "中1-",
    "，",
    "é",
    "http://a",
    "x.com/",
)
_WORD = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]{1,4}")


def _compiled(module: Any) -> Iterator[tuple[str, Any]]:
    re2_type = type(re2.compile("a"))
    for name, value in vars(module).items():
        if isinstance(value, re.Pattern | re2_type):
            yield name, value
        elif isinstance(value, dict):  # a table of patterns (victim.py: one per act)
            for key, item in value.items():
                if isinstance(item, re.Pattern | re2_type):
                    yield f"{name}[{key}]", item


def _pattern_cases() -> list[tuple[str, str]]:
    return [(mod, name) for mod in MODULES for name, _ in _compiled(importlib.import_module(mod))]


def _units(pattern: str) -> list[str]:
    """Adversarial repeating units: the base ones, the pattern's own words, and each word
    glued to a digit, a space or a dot (what a pattern is most likely to loop over)."""
    words = {w for w in _WORD.findall(pattern) if w not in ("u4e00", "u9fff")}
    words |= {ch for ch in pattern if not ch.isalnum() and not ch.isspace() and ch.isprintable()}
    out = set(BASE_UNITS) | words
    for w in words:
        out |= {w + "1", w + " ", w + ".", "1" + w, w + "a"}
    return sorted(out)


def _text(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def _cost(fn: Callable[[str], object], text: str, loops: int) -> float:
    """CPU time of ``loops`` calls: what this process spent, not the time other processes
    on a busy machine took from it."""
    gc.disable()
    try:
        t = time.thread_time()
        for _ in range(loops):
            fn(text)
        return time.thread_time() - t
    finally:
        gc.enable()


def _step(fn: Callable[[str], object], unit: str, n: int, repeats: int) -> float:
    """How many times the cost per call grows from ``n`` to ``4 n`` characters. Both sizes are
    timed for about the same while (four times as many calls of the smaller), alternately,
    and the cheapest of ``repeats`` timings of each counts."""
    small, large = _text(unit, n), _text(unit, 4 * n)
    once = max(_cost(fn, large, 1), 1e-6)
    loops = max(1, min(100, int(0.004 / once)))
    best_small = best_large = float("inf")
    for _ in range(repeats):
        best_small = min(best_small, _cost(fn, small, 4 * loops) / 4)
        best_large = min(best_large, _cost(fn, large, loops))
    return best_large / max(best_small, 1e-9)


def growth(fn: Callable[[str], object], unit: str) -> float:
    """How many times the cost grows from SMALL to LARGE characters (or, when that first
    step looks steep but not hopeless, from LARGE to LARGER)."""
    # A first look from SMALL/4 to SMALL, so a cubic pattern is caught before it is run on
    # LARGE characters (4,096 digits once took minutes).
    early = _step(fn, unit, SMALL // 4, 2)
    if early >= HOPELESS:
        return early
    ratio = _step(fn, unit, SMALL, 5)
    if ratio <= LINEAR or ratio >= HOPELESS:
        return ratio
    return _step(fn, unit, LARGE, 3)


def _worst_units(fn: Callable[[str], object], units: list[str], keep: int = 4) -> list[str]:
    """The units that cost most at SMALL characters, and those whose cost grows most from
    SMALL/4 to SMALL: a first screen, so the full measurement runs on a few."""
    by_cost = []
    for u in units:
        quarter = _cost(fn, _text(u, SMALL // 4), 4)
        full = _cost(fn, _text(u, SMALL), 1)
        by_cost.append((full, full / max(quarter, 1e-7), u))
    slow = [u for _, _, u in sorted(by_cost, reverse=True)[:keep]]
    steep = [u for _, _, u in sorted(by_cost, key=lambda c: c[1], reverse=True)[:keep]]
    return list(dict.fromkeys(slow + steep))


@pytest.mark.parametrize(("module", "name"), _pattern_cases())
def test_each_pattern_costs_linear_time(module: str, name: str) -> None:
    pattern = dict(_compiled(importlib.import_module(module)))[name]
    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode()
    if (module, name) in FULLMATCH_ONLY:
        fn: Callable[[str], object] = pattern.fullmatch
    else:

        def fn(s: str) -> object:
            return sum(1 for _ in pattern.finditer(s))

    worst = {u: growth(fn, u) for u in _worst_units(fn, _units(source))}
    steepest = max(worst, key=lambda u: worst[u])
    assert worst[steepest] <= LINEAR, (
        f"{module}.{name}: 4x the text of {steepest!r} costs "
        f"{worst[steepest]:.1f}x as much (linear is 4x)"
    )


_ENGINE = bundled_engine()
ENTRY_POINTS: dict[str, Callable[[str], object]] = {
    "redact": redact,
    "extract": lambda s: extract(normalize(s).text, BrandIndex()),
    "normalize+respell": lambda s: normalize(s, _ENGINE.rules.lexicon),
    "self_report": read_self_report,
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(
    "unit",
    [
        "1",
        "1-",
        "1 ",
        "+1",
        "a.",
        "1.",
        "@",
        "a",
        "Aa ",
        "中1",
        "路1",
        "1号",
        "密码",
        "王先生",
        "Hi Jo ",
    ],
)
def test_whole_functions_cost_linear_time(entry: str, unit: str) -> None:
    ratio = growth(ENTRY_POINTS[entry], unit)
    assert ratio <= LINEAR, f"{entry}: 4x the text of {unit!r} costs {ratio:.1f}x as much"


def test_a_message_of_digits_does_not_freeze_redaction() -> None:
    """The report that froze a worker: Telegram's longest message, all digits."""
    assert growth(redact, "1") <= LINEAR
    assert redact("1" * LARGE).count("1") == LARGE  # a run of digits is no phone number
