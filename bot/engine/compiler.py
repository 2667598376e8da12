"""Compile validated rules into matchers: one Aho-Corasick automaton for every literal phrase
and regex atom, one RE2 regex per pattern (run only where its atoms occur), an anchor automaton
that picks fuzzy-phrase candidates cheaply.

Owns: the frozen, compiled rule set and the pattern-level validation that needs the compilers
(RE2 refusal, phrases that normalize to nothing, regexes written in a form messages never take).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import re2

from bot.engine.atoms import edge_atoms, literal_strings, max_match_width, required_groups
from bot.engine.extract import Brand, BrandIndex
from bot.engine.loader import (
    RuleProblem,
    RuleSetError,
    RuleSource,
    read_rule_dir_partial,
    read_rule_files_partial,
)
from bot.engine.model import Rule, Signal, SignalLibrary, Text
from bot.engine.normalize import _T2S, is_cjk, normalize_phrase
from bot.engine.respell import Lexicon, sound_key, sound_twins

# Thousands of patterns need more than RE2's default 8 MiB budget.
RE2_MAX_MEM = 256 << 20
MAX_PATTERNS_PER_SIGNAL = 2000
MAX_PHRASE_LEN = 200


def re2_options() -> Any:
    opts = re2.Options()
    opts.max_mem = RE2_MAX_MEM
    opts.log_errors = False
    return opts


# A compiled RE2 pattern is immutable and safe to share, and a moderator's upload, `rules test`
# and the live rules recompile the same few thousand patterns: each is compiled once per process.
@functools.lru_cache(maxsize=16384)
def _re2(pattern: str | bytes) -> Any:
    return re2.compile(pattern, re2_options())


@dataclass(frozen=True, slots=True)
class Matcher:
    """A group of patterns that together count as one clue."""

    id: int
    entity_kinds: frozenset[str]
    fuzzy_score: float


@dataclass(frozen=True, slots=True)
class SignalUse:
    """A rule's use of a matcher: in which stage (-1 = negative), with what weight and why."""

    matcher: int
    name: str
    stage: int
    weight: float
    why_zh: str
    why_en: str
    entity_only: bool


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    index: int
    uses: tuple[SignalUse, ...]


@dataclass(frozen=True)
class FuzzyPattern:
    matcher: int
    phrase: str
    anchors: frozenset[str]
    need: int


@dataclass
class CompiledRuleSet:
    """Everything the engine needs at match time; built once, then only read."""

    rules: tuple[CompiledRule, ...]
    matchers: tuple[Matcher, ...]
    # ahocorasick.Automaton: key -> (((matcher, length, left_b, right_b)...),
    #                                 (atom group numbers...), len(key))
    automaton: Any
    # regex atoms looked up outside the automaton (same values): one character; two ASCII
    probe_chars: dict[str, tuple[Any, ...]]
    probe_pairs: tuple[tuple[str, tuple[Any, ...]], ...]
    regexes: tuple[tuple[int, Any], ...]  # regex index -> (matcher, compiled RE2 regex)
    always_run: tuple[int, ...]  # regexes without literal atoms: tried on every message
    group_counts: tuple[int, ...]  # per regex: how many atom groups must all be present
    regex_of_group: tuple[int, ...]  # atom group number -> its regex
    # per regex: (max match width, ids of the atom values to search near, side) or None;
    # side 1: every match begins at one of those atoms, -1: ends at one, 0: contains one
    windows: tuple[tuple[int, tuple[int, ...], int] | None, ...]
    _automaton_values: dict[str, tuple[Any, ...]]  # keeps the values (and their ids) alive
    fuzzy: tuple[FuzzyPattern, ...]
    anchor_automaton: Any | None
    entity_matchers: dict[str, tuple[int, ...]]
    rules_by_matcher: dict[int, tuple[int, ...]]
    brands: BrandIndex
    source: RuleSource
    pattern_count: int = 0
    lexicon: Lexicon | None = None
    compound_automaton: Any | None = None  # ahocorasick.Automaton: compound word -> length
    # ahocorasick.Automaton over messages read aloud: sound key -> (length, matcher ids)
    sound_automaton: Any | None = None
    warnings: list[RuleProblem] = field(default_factory=list)
    # One RE2 Set over the regexes searched in the whole text (no atoms, or no bounded width):
    # a single pass says which of them match anywhere, so the others are not run one by one.
    whole_set: Any | None = None  # re2.Set
    whole_set_regexes: tuple[int, ...] = ()  # Set index -> regex index

    def whole_text_misses(self, data: bytes) -> set[int]:
        """The regexes of ``whole_set`` that match nowhere in ``data`` (UTF-8): searching them
        would find nothing."""
        if self.whole_set is None:
            return set()
        members = self.whole_set_regexes
        misses = set(members)
        misses.difference_update([members[i] for i in self.whole_set.Match(data) or ()])
        return misses

    def rule(self, rule_id: str) -> Rule | None:
        for cr in self.rules:
            if cr.rule.id == rule_id:
                return cr.rule
        return None


def _needs_boundary(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _anchors(phrase: str) -> frozenset[str]:
    if any(is_cjk(c) for c in phrase):
        compact = "".join(c for c in phrase if not c.isspace())
        return frozenset(compact[i : i + 2] for i in range(len(compact) - 1))
    return frozenset(w for w in phrase.split() if len(w) >= 4 or (len(w) >= 3 and w.isalpha()))


class _Builder:
    def __init__(self, source: RuleSource) -> None:
        self.source = source
        self.problems: list[RuleProblem] = []
        self.matchers: list[Matcher] = []
        self.phrases: dict[str, list[tuple[int, int, bool, bool]]] = defaultdict(list)
        self.regex_list: list[tuple[int, Any, str]] = []
        self.fuzzy: list[FuzzyPattern] = []
        self.entity: dict[str, list[int]] = defaultdict(list)
        self.pattern_count = 0
        self.shared: dict[str, int] = {}
        # Every pattern as written (phrases normalized): the words the lexicon is built from.
        self.vocabulary: list[str] = []
        self.sounds: dict[str, list[int]] = defaultdict(list)

    def where(self, rule: Rule | None, loc: tuple[Any, ...]) -> tuple[str, int | None]:
        if rule is None:
            return "rules/_signals.yaml", None
        path = self.source.paths.get(rule.id, rule.id)
        lines = self.source.lines.get(rule.id, {})
        for n in range(len(loc), -1, -1):
            if loc[:n] in lines:
                return path, lines[loc[:n]]
        return path, None

    def add_matcher(
        self,
        phrases: list[str],
        fuzzy: list[str],
        regex: list[str],
        entity: list[str],
        fuzzy_score: float,
        rule: Rule | None,
        loc: tuple[Any, ...],
        sounds_like: list[str] | None = None,
    ) -> int:
        mid = len(self.matchers)
        self.matchers.append(Matcher(mid, frozenset(entity), fuzzy_score))
        total = len(phrases) + len(fuzzy) + len(regex)
        if total > MAX_PATTERNS_PER_SIGNAL:
            path, line = self.where(rule, loc)
            self.problems.append(
                RuleProblem(
                    path, line, f"more than {MAX_PATTERNS_PER_SIGNAL} patterns in one signal"
                )
            )
        for i, p in enumerate(phrases):
            norm = normalize_phrase(p)
            if not norm or len(norm) > MAX_PHRASE_LEN:
                path, line = self.where(rule, (*loc, "phrases", i))
                why = "is empty after normalization" if not norm else "is too long"
                self.problems.append(RuleProblem(path, line, f"phrase {p!r} {why}"))
                continue
            if len(norm) == 1 and not is_cjk(norm):
                path, line = self.where(rule, (*loc, "phrases", i))
                self.problems.append(RuleProblem(path, line, f"phrase {p!r} is a single letter"))
                continue
            self.phrases[norm].append(
                (mid, len(norm), _needs_boundary(norm[0]), _needs_boundary(norm[-1]))
            )
            self.vocabulary.append(norm)
            self.pattern_count += 1
        for i, p in enumerate(fuzzy):
            norm = normalize_phrase(p)
            anchors = _anchors(norm)
            if len(norm) < 4 or len(anchors) < 2:
                path, line = self.where(rule, (*loc, "fuzzy", i))
                self.problems.append(
                    RuleProblem(path, line, f"fuzzy phrase {p!r} is too short to match fuzzily")
                )
                continue
            need = max(2, math.ceil(len(anchors) * 0.5))
            self.fuzzy.append(FuzzyPattern(mid, norm, anchors, need))
            self.vocabulary.append(norm)
            self.pattern_count += 1
        for i, p in enumerate(regex):
            path, line = self.where(rule, (*loc, "regex", i))
            problem = regex_problem(p)
            if problem:
                self.problems.append(RuleProblem(path, line, f"regex {p!r}: {problem}"))
                continue
            try:
                compiled = _re2(p)
            except re2.error as exc:
                msg = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
                self.problems.append(RuleProblem(path, line, f"regex {p!r} refused by RE2: {msg}"))
                continue
            if compiled.search("") is not None:
                self.problems.append(
                    RuleProblem(path, line, f"regex {p!r} matches the empty string")
                )
                continue
            self.vocabulary.append(p)
            literals = literal_strings(p)
            if literals is not None:
                # A set of plain strings: the automaton finds them in its single pass.
                for lit in literals:
                    self.phrases[lit].append((mid, len(lit), False, False))
                self.pattern_count += 1
                continue
            # Matching runs on the UTF-8 bytes of the message (encoded once per message), so the
            # compiled form is the bytes pattern; offsets are mapped back to characters.
            self.regex_list.append((mid, _re2(p.encode("utf-8")), p))
            self.pattern_count += 1
        for i, p in enumerate(sounds_like or ()):
            path, line = self.where(rule, (*loc, "sounds_like", i))
            norm = normalize_phrase(p)
            key = sound_key(norm) if all(is_cjk(c) for c in norm) else None
            if key is None or not 2 <= len(norm) <= 8:
                self.problems.append(
                    RuleProblem(path, line, f"sounds_like {p!r}: write 2 to 8 Chinese characters")
                )
                continue
            twins = sorted(sound_twins(norm))
            if twins:
                self.problems.append(
                    RuleProblem(
                        path,
                        line,
                        f"sounds_like {p!r} is pronounced like the common word(s) "
                        f"{'、'.join(twins[:5])}: it would fire on them; use a phrase or a "
                        "longer word",
                    )
                )
                continue
            self.sounds[key].append(mid)
            self.vocabulary.append(norm)
            self.pattern_count += 1
        for kind in entity:
            self.entity[kind].append(mid)
        return mid

    def shared_matcher(self, name: str, lib: SignalLibrary) -> int:
        if name not in self.shared:
            s = lib.signals[name]
            self.shared[name] = self.add_matcher(
                s.phrases,
                s.fuzzy,
                s.regex,
                s.entity,
                s.fuzzy_score,
                None,
                ("signals", name),
                s.sounds_like,
            )
        return self.shared[name]

    def use_of(
        self, rule: Rule, sig: Signal, stage: int, name: str, loc: tuple[Any, ...], fallback: Text
    ) -> SignalUse:
        lib = self.source.signals
        if sig.use:
            shared = lib.signals[sig.use]
            mid = self.shared_matcher(sig.use, lib)
            weight = sig.weight if sig.weight is not None else shared.weight
            why = sig.why or shared.why
            entity_only = _entity_only(
                shared.phrases, shared.fuzzy, shared.regex, shared.entity, shared.sounds_like
            )
            return SignalUse(mid, sig.use, stage, weight, why.zh, why.en, entity_only)
        mid = self.add_matcher(
            sig.phrases,
            sig.fuzzy,
            sig.regex,
            sig.entity,
            sig.fuzzy_score,
            rule,
            loc,
            sig.sounds_like,
        )
        weight = sig.weight if sig.weight is not None else (1.0 if stage >= 0 else -3.0)
        if (stage >= 0 and weight <= 0) or (stage < 0 and weight >= 0):
            path, line = self.where(rule, (*loc, "weight"))
            side = "positive in a stage" if stage >= 0 else "negative under negatives"
            self.problems.append(RuleProblem(path, line, f"weight must be {side}"))
        why = sig.why or fallback
        entity_only = _entity_only(sig.phrases, sig.fuzzy, sig.regex, sig.entity, sig.sounds_like)
        return SignalUse(mid, sig.id or name, stage, weight, why.zh, why.en, entity_only)


# Between Chinese characters, brackets, quotes and the like are removed before matching and
# sentence punctuation becomes "，" (see normalize), so a regex expecting these never fires.
_GONE_PUNCTUATION = frozenset("：（）【】《》〈〉「」『』〔〕…—～·＂＇")


# A look-alike domain is a false claim of identity written into the address, not a bare link:
# it counts like words. A plain link, number or amount never does.
WORDLIKE_ENTITIES = frozenset({"lookalike"})


def _entity_only(
    phrases: list[str],
    fuzzy: list[str],
    regex: list[str],
    entity: list[str],
    sounds_like: Sequence[str] = (),
) -> bool:
    if phrases or fuzzy or regex or sounds_like:
        return False
    return not (entity and set(entity) <= WORDLIKE_ENTITIES)


def regex_problem(pattern: str) -> str | None:
    """Messages are matched in normalized form; a regex that expects another form never fires."""
    if _T2S.convert(pattern) != pattern:
        return "contains Traditional characters; write Simplified (messages are converted)"
    gone = sorted(_GONE_PUNCTUATION.intersection(pattern))
    if gone:
        return (
            f"contains {''.join(gone)}: brackets, quotes and colons are removed from messages "
            'before matching (sentence punctuation becomes "，"); leave them out'
        )
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            # Skip the escape, and the whole name of a class such as \p{Han}.
            if pattern[i + 1 : i + 3] in ("p{", "P{"):
                close = pattern.find("}", i)
                i = close + 1 if close > 0 else len(pattern)
            else:
                i += 2
            continue
        if "A" <= ch <= "Z":
            return "contains upper-case letters; write lower case (messages are case-folded)"
        i += 1
    return None


_NEGATIVE_FALLBACK = Text(zh="合法通知或提醒的特征", en="looks like a genuine notice or warning")


def build_ruleset(
    directory: Path, include: Iterable[str] = ("active", "testing")
) -> CompiledRuleSet:
    """Load and compile ``directory``, reporting every problem of every stage at once."""
    return _build(*read_rule_dir_partial(directory), include)


def build_ruleset_files(
    files: Mapping[str, str | bytes], origin: str, include: Iterable[str] = ("active", "testing")
) -> CompiledRuleSet:
    """Load and compile a rule set held in memory (file name -> content)."""
    return _build(*read_rule_files_partial(files, origin), include)


def _build(
    source: RuleSource | None, problems: list[RuleProblem], include: Iterable[str]
) -> CompiledRuleSet:
    if source is None:
        raise RuleSetError(problems)
    try:
        compiled = compile_rules(source, include)
    except RuleSetError as exc:
        problems.extend(exc.problems)
    if problems:
        raise RuleSetError(problems)
    return compiled


def compile_rules(
    source: RuleSource, include: Iterable[str] = ("active", "testing")
) -> CompiledRuleSet:
    """Compile the rules whose status is in ``include``; raise RuleSetError on any problem."""
    b = _Builder(source)
    wanted = set(include)
    lib = source.signals
    compiled: list[CompiledRule] = []
    for rule in source.rules:
        if rule.status not in wanted:
            continue
        uses: list[SignalUse] = []
        for si, stage in enumerate(rule.stages):
            for gi, sig in enumerate(stage.signals):
                loc = ("stages", si, "signals", gi)
                uses.append(b.use_of(rule, sig, si, f"{stage.id}/{gi + 1}", loc, stage.title))
        for ni, sig in enumerate(rule.negatives):
            uses.append(
                b.use_of(rule, sig, -1, f"negative/{ni + 1}", ("negatives", ni), _NEGATIVE_FALLBACK)
            )
        for name in lib.global_negatives:
            shared = lib.signals[name]
            mid = b.shared_matcher(name, lib)
            uses.append(
                SignalUse(mid, name, -1, shared.weight, shared.why.zh, shared.why.en, False)
            )
        compiled.append(CompiledRule(rule, len(compiled), tuple(uses)))

    if b.problems:
        raise RuleSetError(b.problems)

    # Every phrase and every regex atom go into one automaton: one pass over the message finds
    # the phrases and tells which regexes can possibly match. Only those run (RE2).
    # A regex has groups of atoms; it runs only when every group has one of its atoms present.
    groups_of = [required_groups(p) for _, _, p in b.regex_list]
    keys: dict[str, tuple[list[tuple[int, int, bool, bool]], list[int]]] = {}
    for phrase, entries in b.phrases.items():
        keys[phrase] = (list(entries), [])
    # Each (regex, atom group) pair gets one number, so the scan collects hit groups with C-level
    # set updates and counts them per regex at the end.
    regex_of_group: list[int] = []
    for ri, groups in enumerate(groups_of):
        for group in groups or ():
            gid = len(regex_of_group)
            regex_of_group.append(ri)
            for atom in group:
                keys.setdefault(atom, ([], []))[1].append(gid)
    automaton = None
    values: dict[str, tuple[Any, ...]] = {}
    # Regex atoms of one character, or two ASCII letters ("的", "re"), occur in almost every
    # message: in the automaton they are most of its matches, each a step of Python. Looked up
    # with set/str.find instead (C speed), they cost the same whatever the message holds.
    probe_chars: dict[str, tuple[Any, ...]] = {}
    probe_pairs: list[tuple[str, tuple[Any, ...]]] = []
    for key, (entries, regex_groups) in keys.items():
        values[key] = (tuple(entries), tuple(regex_groups), len(key))
        if not entries and len(key) == 1:
            probe_chars[key] = values[key]
        elif not entries and len(key) == 2 and key.isascii():
            probe_pairs.append((key, values[key]))
        else:
            if automaton is None:
                automaton = ahocorasick.Automaton()
            automaton.add_word(key, values[key])
    if automaton is not None:
        automaton.make_automaton()
    always_run = tuple(ri for ri, groups in enumerate(groups_of) if groups is None)
    group_counts = tuple(len(groups) if groups else 0 for groups in groups_of)
    # Where a match can span at most W characters, search only near the atoms of one group
    # (see atoms.max_match_width): after the first of the atoms every match begins with, or
    # before the last of those it ends with (a window W wide), else around the group with
    # the fewest atoms (2W). Keyed by the automaton's value objects, which the scan sees
    # again as they are.
    windows: list[tuple[int, tuple[int, ...], int] | None] = []
    for (_, _, pattern), groups in zip(b.regex_list, groups_of, strict=True):
        width = max_match_width(pattern)
        if width is None or not groups:
            windows.append(None)
            continue
        first, last = edge_atoms(pattern)
        edges = [(len(g), -side, g) for side, g in ((1, first), (-1, last)) if g in groups]
        if edges:
            _, side, group = min(edges, key=lambda e: e[:2])
            side = -side
        else:
            side, group = 0, min(groups, key=len)
        windows.append((width, tuple(id(values[a]) for a in group), side))

    whole = tuple(ri for ri, w in enumerate(windows) if w is None)
    whole_set = _regex_set([b.regex_list[ri][2] for ri in whole])

    anchor_automaton = None
    if b.fuzzy:
        by_anchor: dict[str, list[int]] = defaultdict(list)
        for fi, fp in enumerate(b.fuzzy):
            for a in fp.anchors:
                by_anchor[a].append(fi)
        anchor_automaton = ahocorasick.Automaton()
        for a, fis in by_anchor.items():
            anchor_automaton.add_word(a, (a, tuple(fis)))
        anchor_automaton.make_automaton()

    rules_by_matcher: dict[int, set[int]] = defaultdict(set)
    for cr in compiled:
        for u in cr.uses:
            rules_by_matcher[u.matcher].add(cr.index)

    brands = BrandIndex.build(
        Brand(
            e.name,
            tuple(t.lower() for t in e.tokens),
            tuple(d.lower() for d in e.domains),
            tuple(e.numbers),
        )
        for e in source.brands.brands
    )
    sound_automaton = None
    if b.sounds:
        sound_automaton = ahocorasick.Automaton()
        for key, users in b.sounds.items():
            sound_automaton.add_word(key, (len(key), tuple(users)))
        sound_automaton.make_automaton()
    compound_automaton = None
    if lib.compounds:
        compound_automaton = ahocorasick.Automaton()
        for word in lib.compounds:
            norm = normalize_phrase(word)
            if len(norm) >= 2:
                compound_automaton.add_word(norm, len(norm))
        compound_automaton.make_automaton()
    lexicon = Lexicon.build(
        [*b.vocabulary, *(t.lower() for e in source.brands.brands for t in e.tokens)]
    )
    return CompiledRuleSet(
        rules=tuple(compiled),
        matchers=tuple(b.matchers),
        automaton=automaton,
        probe_chars=probe_chars,
        probe_pairs=tuple(probe_pairs),
        regexes=tuple((mid, rx) for mid, rx, _ in b.regex_list),
        always_run=always_run,
        group_counts=group_counts,
        regex_of_group=tuple(regex_of_group),
        windows=tuple(windows),
        _automaton_values=values,
        fuzzy=tuple(b.fuzzy),
        anchor_automaton=anchor_automaton,
        entity_matchers={k: tuple(v) for k, v in b.entity.items()},
        rules_by_matcher={k: tuple(sorted(v)) for k, v in rules_by_matcher.items()},
        brands=brands,
        source=source,
        pattern_count=b.pattern_count,
        lexicon=lexicon,
        compound_automaton=compound_automaton,
        sound_automaton=sound_automaton,
        whole_set=whole_set,
        whole_set_regexes=whole if whole_set is not None else (),
    )


def _regex_set(patterns: Sequence[str]) -> Any | None:
    """An unanchored RE2 Set of ``patterns`` (bytes patterns, the regexes' own options), or
    None when there are none or RE2 refuses the Set: then every regex simply runs alone."""
    if not patterns:
        return None
    rx_set = re2.Set.SearchSet(re2_options())
    try:
        for i, p in enumerate(patterns):
            if rx_set.Add(p.encode("utf-8")) != i:
                return None
        rx_set.Compile()
    except re2.error:
        return None
    return rx_set
