"""Required literal atoms of a regex, for prefiltering.

Owns: deriving, from a rule's regex, a small set of literal strings of which every match must
contain at least one. The engine finds all atoms in the same Aho-Corasick pass as the phrases
and runs a regex (with RE2) only when one of its atoms is present, so thousands of regexes cost
one automaton pass plus a few RE2 searches.

The regex is only *read* with Python's parser to find literals; matching is always RE2. A pattern
Python's parser cannot read (RE2-only syntax) simply gets no atoms and always runs: safe, slower.
"""

from __future__ import annotations

import functools
import re._constants as c  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from itertools import product
from typing import Any

MAX_SET = 64  # more alternatives than this and the atoms stop being selective

# The readers below are pure functions of the pattern and return immutable values; each rule set
# build (live rules, every moderator upload, `rules test`) asks them about the same patterns
# again, so their answers are cached per process (the parse is most of a build's time).


@functools.lru_cache(maxsize=16384)
def _parse(pattern: str) -> Any:
    """Python's parse tree of ``pattern``, shared by the readers below (only read, never
    changed); raises what the parser raises."""
    return sre_parse.parse(pattern)


def _exact(items: Any, limit: int = MAX_SET) -> set[str] | None:
    """The finite set of strings this sequence matches exactly, if at most ``limit``."""
    result = {""}
    for op, av in items:
        part = _exact_item(op, av, limit)
        if part is None:
            return None
        result = {a + b for a, b in product(result, part)}
        if len(result) > limit:
            return None
    return result


def _exact_item(op: Any, av: Any, limit: int = MAX_SET) -> set[str] | None:
    if op is c.LITERAL:
        return {chr(av)}
    if op is c.AT:
        return {""}  # \b, ^, $: zero-width, they add no characters
    if op is c.SUBPATTERN:
        return _exact(av[3], limit)
    if op is c.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            e = _exact(branch, limit)
            if e is None:
                return None
            out |= e
        return out if len(out) <= limit else None
    if op is c.IN:
        chars = set()
        for iop, iav in av:
            if iop is not c.LITERAL:
                return None
            chars.add(chr(iav))
        return chars if len(chars) <= limit else None
    return None


def _better(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if a is None:
        return b
    if b is None:
        return a

    def key(s: set[str]) -> tuple[int, int]:
        return (min(len(x) for x in s), -len(s))

    return a if key(a) >= key(b) else b


def _required(items: Any) -> set[str] | None:
    """Strings of which any match of this sequence contains at least one, or None."""
    best: set[str] | None = None
    run: list[tuple[Any, Any]] = []

    def flush() -> None:
        nonlocal best, run
        if run:
            e = _exact(run)
            if e is not None and "" not in e:
                best = _better(best, e)
            run = []

    for op, av in items:
        if _exact_item(op, av) is not None:
            run.append((op, av))
            continue
        flush()
        best = _better(best, _required_item(op, av))
    flush()
    return best


def _required_item(op: Any, av: Any) -> set[str] | None:
    if op is c.SUBPATTERN:
        return _required(av[3])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        lo, _hi, sub = av
        return _required(sub) if lo >= 1 else None
    if op is c.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            r = _required(branch)
            if r is None:
                return None
            out |= r
        return out if len(out) <= MAX_SET else None
    return None


def _useful(atoms: set[str] | None) -> bool:
    # A single Latin letter, digit or space filters nothing; "@" or one Chinese character does.
    if not atoms or any(not a for a in atoms):
        return False
    return not any(len(a) < 2 and (a.isalnum() or a.isspace()) and a.isascii() for a in atoms)


@functools.lru_cache(maxsize=16384)
def required_groups(pattern: str) -> tuple[frozenset[str], ...] | None:
    """Groups of atoms for ``pattern``: every match contains at least one atom of *each* group.
    None when the regex must always run. ``(快递|包裹).{0,8}(丢失|破损)`` gives two groups, so it
    runs only when both a parcel word and a loss word are present."""
    # Flags change what matches; "[:" starts an RE2 POSIX class that Python reads differently.
    if "(?i" in pattern or "(?s" in pattern or "(?m" in pattern or "[:" in pattern:
        return None
    try:
        parsed = list(_parse(pattern))
    except Exception:  # noqa: BLE001 - RE2-only syntax: no prefilter, always run
        return None
    groups: list[frozenset[str]] = []
    run: list[tuple[Any, Any]] = []

    def flush() -> None:
        if run:
            e = _exact(run)
            if e is not None and "" not in e and _useful(e):
                groups.append(frozenset(e))
            elif e is None:
                # Too many combinations to list: each element is still necessary on its own.
                for op, av in run:
                    part = _exact_item(op, av)
                    if part is not None and "" not in part and _useful(part):
                        groups.append(frozenset(part))
            run.clear()

    for op, av in parsed:
        if _exact_item(op, av) is not None:
            run.append((op, av))
            continue
        flush()
        item = _required_item(op, av)
        if _useful(item):
            assert item is not None
            groups.append(frozenset(item))
    flush()
    return tuple(groups) if groups else None


def required_atoms(pattern: str) -> frozenset[str] | None:
    """The single most selective group of atoms for ``pattern`` (see ``required_groups``)."""
    groups = required_groups(pattern)
    if not groups:
        return None
    return max(groups, key=lambda g: (min(len(a) for a in g), -len(g)))


MAX_WINDOW_WIDTH = 300


def _has_assertion(items: Any) -> bool:
    for op, av in items:
        if op is c.AT:
            return True
        if op is c.SUBPATTERN and _has_assertion(av[3]):
            return True
        if op is c.BRANCH and any(_has_assertion(b) for b in av[1]):
            return True
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and _has_assertion(av[2]):
            return True
    return False


def _edge_strings(run: list[tuple[Any, Any]], outer: int) -> frozenset[str] | None:
    found = _exact(run)
    if found is None:  # too many combinations: the outermost element alone
        found = _exact_item(*run[outer])
    return frozenset(found) if found and "" not in found and _useful(found) else None


@functools.lru_cache(maxsize=16384)
def edge_atoms(pattern: str) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The atoms every match of ``pattern`` begins with, and those every match ends with
    (each None when its edge is not a set of literals). ``(信用卡|卡片)[^，]{0,6}额度`` begins
    with 信用卡 or 卡片 and ends with 额度, so a match starts at one of the first and ends at
    one of the last: the engine searches a window half as wide as one around them."""
    if "(?" in pattern.replace("(?:", "") or "[:" in pattern:
        return None, None
    try:
        # Assertions (\b, ^, $) match no characters: they do not move an edge.
        items = [item for item in _parse(pattern) if item[0] is not c.AT]
    except Exception:  # noqa: BLE001 - RE2-only syntax: no edges
        return None, None
    head: list[tuple[Any, Any]] = []
    for op, av in items:
        if _exact_item(op, av) is None:
            break
        head.append((op, av))
    tail: list[tuple[Any, Any]] = []
    for op, av in reversed(items):
        if _exact_item(op, av) is None:
            break
        tail.insert(0, (op, av))
    first = _edge_strings(head, 0) if head else None
    last = _edge_strings(tail, -1) if tail else None
    return first, last


@functools.lru_cache(maxsize=16384)
def max_match_width(pattern: str) -> int | None:
    """The longest text (in characters) a match can span, if bounded: then every match lies
    within that distance of its atoms, and the regex can be searched in a window around them
    with exactly the same results. Assertions (``^ $ \\b``) are fine: the engine gives RE2 the
    window as start and end positions in the whole message, so they still see its context."""
    if "[:" in pattern:
        return None
    try:
        parsed = _parse(pattern)
    except Exception:  # noqa: BLE001 - RE2-only syntax: search the whole text
        return None
    width = int(parsed.getwidth()[1])
    return width if width <= MAX_WINDOW_WIDTH else None


@functools.lru_cache(maxsize=16384)
def literal_strings(pattern: str, limit: int = 500) -> frozenset[str] | None:
    """The strings a regex matches, if it is only a set of literals (``(转账|汇款|打款)``).
    Such a regex is matched in the phrase automaton instead of by RE2."""
    if "(?" in pattern.replace("(?:", ""):
        return None
    try:
        parsed = list(_parse(pattern))
    except Exception:  # noqa: BLE001 - RE2-only syntax: not a literal set
        return None
    if _has_assertion(parsed) or "[:" in pattern:
        return None  # \b, ^, $ anywhere change what matches; POSIX classes are RE2's own
    found = _exact(parsed, limit)
    if not found or "" in found:
        return None
    return frozenset(found)
