"""Match messages against a compiled rule set and explain the result as a verdict.

Owns: the per-message pipeline (normalize -> extract -> match -> score) and the scoring policy.
Each message is scanned once per matcher kind (one automaton pass, one RE2-set pass, one anchor
pass for fuzzy candidates); only rules that some hit points to are scored.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import re2
from rapidfuzz import fuzz

from bot.engine.compiler import (
    CompiledRule,
    CompiledRuleSet,
    SignalUse,
    build_ruleset,
    build_ruleset_files,
)
from bot.engine.extract import Entity, extract, registered_domain
from bot.engine.model import RISK_ORDER, Risk, Rule
from bot.engine.normalize import Normalized, normalize
from bot.engine.respell import transcribe
from bot.engine.verdict import Evidence, RuleRef, RuleScore, SignalHit, StageHit, StageRef, Verdict

MAX_EVIDENCE_PER_SIGNAL = 3
MAX_REGEX_MATCHES = 3
# What a conversation carries from message to message is bounded (see ``Carried``).
MAX_CARRIED_SIGNALS = 200
MAX_CARRIED_RULES = 8
# google-re2's own anchor value for an unanchored search (what its finditer passes)
_UNANCHORED = re2._Anchor.UNANCHORED


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _byte_offsets(t: str) -> list[int]:
    """The UTF-8 byte offset of every character of ``t`` and of its end (array arithmetic:
    a Python loop over the characters cost about a sixth of all regex work)."""
    code = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32)
    width = 1 + (code >= 0x80).astype(np.int64) + (code >= 0x800) + (code >= 0x10000)
    out = np.zeros(len(code) + 1, dtype=np.int64)
    np.cumsum(width, out=out[1:])
    offsets: list[int] = out.tolist()
    return offsets


def _in_number(t: str, i: int) -> bool:
    """Whether position ``i`` continues a number begun before it ("8,800", "3.5")."""
    prev = t[i - 1] if i > 0 else ""
    if prev.isdigit() and prev.isascii():
        return True
    return prev in ",." and i > 1 and t[i - 2].isdigit() and t[i].isdigit()


_LATIN_WORD_RE = re.compile(r"[a-z]{2,}")
_CJK_CHARS_RE = re.compile("[\u3400-\u9fff]")
_ASCII_LETTERS_RE = re.compile("[a-z]")
# Each alternative that reads a run starts only where its run starts, so the cost is linear.
_LINKISH_RE = re.compile(
    r"(?:https?://|www\.)\S*|(?<!\S)\S+\.[a-z]{2,}/\S*|(?<![a-z0-9_])[a-z0-9_]*\d[a-z0-9_]*"
)


def message_languages(texts: Sequence[str]) -> frozenset[str]:
    """Which rule languages may read these (normalized) messages: Chinese when Chinese
    characters carry the text, English when Latin words do, both when it is mixed. Links and
    codes are not words."""
    cjk = letters = 0
    for t in texts:
        cjk += len(_CJK_CHARS_RE.findall(t))
        letters += len(_ASCII_LETTERS_RE.findall(t))
    # Most messages are plainly one or the other; words are counted only when it is close.
    if cjk >= 2 and letters <= cjk // 2:
        return frozenset({"zh"})
    latin = 0
    for t in texts:
        latin += len(_LATIN_WORD_RE.findall(_LINKISH_RE.sub(" ", t)))
    if cjk >= 2 and latin <= cjk // 4:
        return frozenset({"zh"})
    if latin >= 2 and cjk <= 1:
        return frozenset({"en"})
    return frozenset({"zh", "en"})


def _overlap(a: Evidence, b: Evidence) -> bool:
    return a.message == b.message and a.start < b.end and b.start < a.end


@dataclass(frozen=True, slots=True)
class _Tally:
    rule: CompiledRule
    fired: tuple[SignalUse, ...]
    score: float
    risk: Risk
    textual_count: int = 0
    stage_count: int = 0
    textual: float = 0.0
    negative: float = 0.0


@dataclass(frozen=True, slots=True)
class Carried:
    """What the engine concluded from earlier messages of a conversation, without their text:
    the clues found (rule id, signal name: stable across processes and rule reloads) and the
    languages written. Small enough to keep in shared state between webhook workers."""

    signals: frozenset[tuple[str, str]] = frozenset()
    langs: frozenset[str] = frozenset()
    messages: int = 0


@dataclass(frozen=True, slots=True)
class Near:
    """The rule that came closest to (or reached) a risk level, and why it stayed where it is:
    for reading misses and false alarms (``eval --misses``)."""

    rule: RuleRef
    risk: Risk
    score: float
    signals: tuple[str, ...]
    why: tuple[str, ...]


def _advice_for(rule: Rule, items: list[str], seen: set[str]) -> tuple[str, ...]:
    """The advice for a message that showed ``seen`` (stage ids, signal names): what applies
    only to what it showed comes first (it is about this very message), then the rest."""
    applies = [k for k in range(len(items)) if rule.advice_applies(k, seen)]
    applies.sort(key=lambda k: (k + 1) not in rule.advice.when)
    return tuple(items[k] for k in applies)


def _ref(rule: Rule) -> RuleRef:
    return RuleRef(rule.id, rule.version, rule.family, rule.severity, rule.title.zh, rule.title.en)


@dataclass
class _Scan:
    """What one message produced: matcher id -> normalized spans, plus entities."""

    norm: Normalized
    hits: dict[int, list[tuple[int, int]]]
    entities: list[Entity]


_EMPTY = normalize("")  # stands for earlier messages of a conversation: clues, no text


class Engine:
    """The detection engine. Thread-safe for reading; build a new one to change rules."""

    def __init__(self, rules: CompiledRuleSet) -> None:
        self.rules = rules
        self._uses_by_rule = {cr.rule.id: cr.uses for cr in rules.rules}

    @classmethod
    def from_dir(cls, directory: str | Path) -> Engine:
        return cls(build_ruleset(Path(directory)))

    @classmethod
    def from_files(cls, files: Mapping[str, str | bytes], origin: str = "rules") -> Engine:
        """An engine for a rule set held in memory: file name -> YAML (see ``build_ruleset``)."""
        return cls(build_ruleset_files(files, origin))

    # -- scanning -------------------------------------------------------------------------

    def _scan(self, text: str) -> _Scan:
        rs = self.rules
        norm = normalize(text, rs.lexicon)
        t = norm.text
        hits: dict[int, list[tuple[int, int]]] = defaultdict(list)

        candidates: set[int] = set(rs.always_run)
        groups_hit: set[int] = set()
        # First start and last end of each atom seen, keyed by the automaton's value object.
        atom_span: dict[int, list[int]] = {}
        if rs.automaton is not None and t:
            n = len(t)
            for end, value in rs.automaton.iter(t):
                entries, regex_groups, klen = value
                if regex_groups:
                    span = atom_span.get(id(value))
                    if span is None:
                        atom_span[id(value)] = [end - klen + 1, end + 1]
                        groups_hit.update(regex_groups)
                    else:
                        span[1] = end + 1
                for mid, length, left_b, right_b in entries:
                    start = end - length + 1
                    if left_b and start > 0 and _is_word_char(t[start - 1]):
                        continue
                    if right_b and end + 1 < n and _is_word_char(t[end + 1]):
                        continue
                    spans = hits[mid]
                    if len(spans) < MAX_EVIDENCE_PER_SIGNAL:
                        spans.append((start, end + 1))

        if t and (rs.probe_chars or rs.probe_pairs):
            probes = [(c, rs.probe_chars[c]) for c in rs.probe_chars.keys() & set(t)]
            probes += [(k, v) for k, v in rs.probe_pairs if k in t]
            for key, value in probes:
                atom_span[id(value)] = [t.find(key), t.rfind(key) + len(key)]
                groups_hit.update(value[1])

        if groups_hit:
            counts = rs.group_counts
            per_regex = Counter(map(rs.regex_of_group.__getitem__, groups_hit))
            candidates.update(ri for ri, n in per_regex.items() if n == counts[ri])
        if candidates and t:
            self._regexes(t, sorted(candidates), atom_span, hits)

        if rs.anchor_automaton is not None and t:
            self._fuzzy(t, hits)
        if rs.sound_automaton is not None and t:
            self._sounds(t, hits)
        if hits:
            self._whole_words(t, hits)

        entities = extract(t, rs.brands)
        for ent in entities:
            for mid in rs.entity_matchers.get(ent.kind, ()):
                spans = hits[mid]
                if len(spans) < MAX_EVIDENCE_PER_SIGNAL:
                    spans.append((ent.start, ent.end))
        return _Scan(norm, dict(hits), entities)

    def _regexes(
        self,
        t: str,
        candidates: list[int],
        atom_span: dict[int, list[int]],
        hits: dict[int, list[tuple[int, int]]],
    ) -> None:
        """Run candidate regexes: in a window around their atoms when a match's width is
        bounded (same results, a fraction of the work), else over the whole text.

        RE2 is called on the message's UTF-8 bytes once encoded, with the window as its start
        and end position: no copy or re-encoding per regex, and ``^``, ``$`` and ``\b`` still
        see the whole message (a window's edge is not the message's edge)."""
        rs = self.rules
        n = len(t)
        tb = t.encode("utf-8")
        ascii_only = len(tb) == n
        if ascii_only:
            byte_at: list[int] | None = None
        else:
            byte_at = _byte_offsets(t)
        end_b = len(tb)
        misses = rs.whole_text_misses(tb)
        for idx in candidates:
            window = rs.windows[idx]
            if window is None and idx in misses:
                continue
            mid, rx = rs.regexes[idx]
            spans = hits[mid]
            if len(spans) >= MAX_EVIDENCE_PER_SIGNAL:
                continue
            if window is not None:
                width, ids, side = window
                lo, hi = n, 0
                for k in ids:
                    sp = atom_span.get(k)
                    if sp is not None:
                        lo = min(lo, sp[0])
                        hi = max(hi, sp[1])
                # A match begins at or after the first atom, or ends at or before the last:
                # that edge of the window is exact.
                if side <= 0:
                    lo = max(0, lo - width)
                if side >= 0:
                    hi = min(n, hi + width)
                # A window never starts or ends inside a word or number: a match cut off
                # there would be a fragment ("0点" out of "800点").
                while (
                    side <= 0 and lo > 0 and _is_word_char(t[lo - 1]) and hi - lo < 4 * width + 64
                ):
                    lo -= 1
                while side >= 0 and hi < n and _is_word_char(t[hi]) and hi - lo < 4 * width + 64:
                    hi += 1
                if byte_at is not None:
                    lo, hi = byte_at[lo], byte_at[hi]
            else:
                lo, hi = 0, end_b
            match = rx._regexp.Match  # the compiled RE2 object: no wrapper work per call
            found = 0
            while found < MAX_REGEX_MATCHES and lo <= hi:
                a, b = match(_UNANCHORED, tb, lo, hi)[0]
                if a < 0:
                    break
                if b > a:
                    if byte_at is None:
                        spans.append((a, b))
                    else:
                        spans.append((bisect_left(byte_at, a), bisect_left(byte_at, b)))
                    found += 1
                    if len(spans) >= MAX_EVIDENCE_PER_SIGNAL:
                        break
                    lo = b
                else:
                    # An empty match: step over one whole character.
                    lo = a + 1
                    while lo < end_b and (tb[lo] & 0xC0) == 0x80:
                        lo += 1
            if not spans:
                del hits[mid]

    def _sounds(self, t: str, hits: dict[int, list[tuple[int, int]]]) -> None:
        """``sounds_like`` words, found in the message read aloud (one automaton pass)."""
        automaton = self.rules.sound_automaton
        assert automaton is not None
        for end, (length, entries) in automaton.iter(transcribe(t)):
            first = end - length + 1
            for mid in entries:
                spans = hits[mid]
                if len(spans) < MAX_EVIDENCE_PER_SIGNAL and (first, end + 1) not in spans:
                    spans.append((first, end + 1))

    def _whole_words(self, t: str, hits: dict[int, list[tuple[int, int]]]) -> None:
        """Evidence is whole words: a match that starts inside a Latin word ("ill" in "will")
        or lies inside a longer, different word (支付 in 支付宝) is a fragment and is dropped,
        so it can neither be quoted nor raise a stage or the risk. A match that ends inside a
        Latin word (a stem such as "compensat") is extended to the end of that word."""
        n = len(t)
        compounds: list[tuple[int, int]] = []
        if self.rules.compound_automaton is not None:
            compounds = [
                (end - length + 1, end + 1) for end, length in self.rules.compound_automaton.iter(t)
            ]
        for mid in list(hits):
            kept: list[tuple[int, int]] = []
            for a, b in hits[mid]:
                if a > 0 and a < n and t[a].isdigit() and _in_number(t, a):
                    # A digit class at a pattern's start: quote the whole number.
                    while a > 0 and (t[a - 1].isdigit() or _in_number(t, a - 1)):
                        a -= 1
                elif a > 0 and _is_word_char(t[a - 1]) and a < n and _is_word_char(t[a]):
                    continue
                if 0 < b < n and _is_word_char(t[b]) and _is_word_char(t[b - 1]):
                    while b < n and _is_word_char(t[b]):
                        b += 1
                if compounds and any(c <= a and b <= d and (c, d) != (a, b) for c, d in compounds):
                    continue
                kept.append((a, b))
            if kept:
                hits[mid] = kept
            else:
                del hits[mid]

    def _fuzzy(self, t: str, hits: dict[int, list[tuple[int, int]]]) -> None:
        rs = self.rules
        seen: dict[int, set[str]] = defaultdict(set)
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        automaton = rs.anchor_automaton
        assert automaton is not None
        for end, (anchor, fis) in automaton.iter(t):
            for fi in fis:
                seen[fi].add(anchor)
                first.setdefault(fi, end)
                last[fi] = end
        for fi, anchors in seen.items():
            fp = rs.fuzzy[fi]
            if len(anchors) < fp.need or fp.matcher in hits:
                continue
            pad = len(fp.phrase)
            lo = max(0, first[fi] - pad)
            hi = min(len(t), last[fi] + pad)
            # Long messages: the window is bounded so one fuzzy phrase costs O(len(phrase)^2).
            hi = min(hi, lo + 6 * pad)
            window = t[lo:hi]
            res = fuzz.partial_ratio_alignment(
                fp.phrase, window, score_cutoff=self.rules.matchers[fp.matcher].fuzzy_score
            )
            if res is not None and res.dest_end > res.dest_start:
                hits[fp.matcher].append((lo + res.dest_start, lo + res.dest_end))

    # -- scoring --------------------------------------------------------------------------

    def check(self, texts: str | Sequence[str], links: Sequence[str] = ()) -> Verdict:
        """Check one message, or several messages of one conversation together."""
        scans = self._scans(texts, links)
        return self._verdict(scans, message_languages([s.norm.text for s in scans]))[0]

    def check_continuing(
        self,
        texts: str | Sequence[str],
        links: Sequence[str] = (),
        carried: Carried | None = None,
    ) -> tuple[Verdict, Carried]:
        """Check the next message(s) of a conversation whose earlier messages are gone: what
        the engine concluded from them (``carried``) counts as if they were here, without
        their text (so without quotes). Returns the verdict and what to carry on."""
        count = len([texts] if isinstance(texts, str) else texts)
        return self._continue(self._scans(texts, links), count, carried)

    def _continue(
        self, scans: list[_Scan], count: int, carried: Carried | None
    ) -> tuple[Verdict, Carried]:
        """``check_continuing`` on the scans of ``count`` messages (not changed here)."""
        scans = list(scans)
        langs = message_languages([s.norm.text for s in scans])
        if carried is not None and carried.signals:
            hits: dict[int, list[tuple[int, int]]] = {}
            for rule_id, name in carried.signals:
                for use in self._uses_by_rule.get(rule_id, ()):
                    if use.name == name:
                        hits[use.matcher] = []
            scans.append(_Scan(_EMPTY, hits, []))
            langs = langs | carried.langs
        verdict, tallies = self._verdict(scans, langs)
        signals = set(carried.signals) if carried is not None else set()
        for tally in tallies:
            signals.update((tally.rule.rule.id, use.name) for use in tally.fired)
        if len(signals) > MAX_CARRIED_SIGNALS:
            # Bounded, whatever a conversation holds: the clues of the rules that score most.
            ranked = sorted(tallies, key=lambda t: (RISK_ORDER[t.risk], t.score), reverse=True)
            keep = {t.rule.rule.id for t in ranked[:MAX_CARRIED_RULES]}
            signals = {s for s in signals if s[0] in keep}
        messages = (carried.messages if carried is not None else 0) + count
        return verdict, Carried(frozenset(signals), frozenset(langs), messages)

    def check_follow_on(
        self,
        texts: str | Sequence[str],
        links: Sequence[str],
        earlier: Carried | None,
        earlier_rule: str | None,
        *,
        asks: bool = False,
    ) -> tuple[Verdict, Carried, bool]:
        """Check a message a person sends soon after an earlier check whose verdict pointed
        at ``earlier_rule`` (``earlier``: what that check carried). The earlier verdict is
        continued — returned with this message's evidence added, and True — when this message
        adds clues of that rule and the continued verdict is no weaker than this message
        alone (a second screenshot of the same chat), or when the person ``asks`` about it
        ("what do I do now?") and this message alone matches nothing. Otherwise this message
        is checked on its own (False). The messages are scanned once for all of this."""
        count = len([texts] if isinstance(texts, str) else texts)
        scans = self._scans(texts, links)
        fresh, carry = self._continue(scans, count, None)
        if earlier is None or not earlier.signals or earlier_rule is None:
            return fresh, carry, False
        cont, cont_carry = self._continue(scans, count, earlier)
        if cont.rule is None or cont.rule.id != earlier_rule:
            return fresh, carry, False
        same = (
            fresh.rule == cont.rule
            and fresh.risk == cont.risk
            and (fresh.furthest_stage == cont.furthest_stage)
        )
        if same:
            return fresh, carry, False
        if asks and fresh.risk == "none":
            return cont, cont_carry, True
        # The earlier rule on this message's texts alone (its hidden links are scanned last).
        own = self._score_rule_scans(scans[:count], earlier_rule)
        if own is None or own.score <= 0 or RISK_ORDER[cont.risk] < RISK_ORDER[fresh.risk]:
            return fresh, carry, False
        # A message that another rule recognises, and this one does not on its own, is a new
        # story (a loan offer after a parcel refund), not the next screenshot of the same.
        fits = own.risk != "none" or fresh.rule is None or fresh.rule.id == earlier_rule
        return (cont, cont_carry, True) if fits else (fresh, carry, False)

    def _scans(self, texts: str | Sequence[str], links: Sequence[str]) -> list[_Scan]:
        messages = [texts] if isinstance(texts, str) else list(texts)
        if links:
            # Hidden links (Telegram text_link entities) are read like one more message, so
            # their addresses count as words and can be quoted: evidence with
            # ``message == len(texts)`` quotes the links joined by spaces.
            messages.append(" ".join(links))
        return [self._scan(text) for text in messages]

    def _verdict(self, scans: list[_Scan], langs: frozenset[str]) -> tuple[Verdict, list[_Tally]]:
        """The verdict of these scans, and the tallies of every candidate rule."""
        candidates: set[int] = set()
        for scan in scans:
            for mid in scan.hits:
                candidates.update(self.rules.rules_by_matcher.get(mid, ()))

        # Numbers first for every candidate; evidence only for the rules that are reported.
        tallies = [
            self._tally(self.rules.rules[ri], scans)
            for ri in sorted(candidates)
            if not langs.isdisjoint(self.rules.rules[ri].rule.languages)
        ]
        # Registered domains only: scam infrastructure, not a person's own subdomain.
        hosts = {e.detail for s in scans for e in s.entities if e.kind == "url" and e.detail}
        domains = tuple(sorted({registered_domain(h) for h in hosts}))
        kinds = tuple(sorted({e.kind for s in scans for e in s.entities}))
        shadow = tuple(
            RuleScore(_ref(t.rule.rule), t.risk, t.score)
            for t in tallies
            if t.rule.rule.status == "testing" and t.risk != "none"
        )
        visible = sorted(
            (t for t in tallies if t.rule.rule.status == "active" and t.risk != "none"),
            key=lambda t: (RISK_ORDER[t.risk], t.score),
            reverse=True,
        )
        if not visible:
            none = Verdict(risk="none", domains=domains, entity_kinds=kinds, shadow=shadow)
            return none, tallies
        best = self._build(visible[0], scans)
        others = tuple(RuleScore(_ref(t.rule.rule), t.risk, t.score) for t in visible[1:])
        verdict = replace(best, domains=domains, entity_kinds=kinds, others=others, shadow=shadow)
        return verdict, tallies

    def score_rule(self, texts: str | Sequence[str], rule_id: str) -> Verdict | None:
        """How one rule alone scores these messages (for its examples and for moderators)."""
        messages = [texts] if isinstance(texts, str) else list(texts)
        if self.rules.rule(rule_id) is None:
            return None
        return self._score_rule_scans([self._scan(t) for t in messages], rule_id)

    def _score_rule_scans(self, scans: list[_Scan], rule_id: str) -> Verdict | None:
        for cr in self.rules.rules:
            if cr.rule.id == rule_id:
                langs = message_languages([s.norm.text for s in scans])
                if langs.isdisjoint(cr.rule.languages):
                    return Verdict(risk="none", rule=_ref(cr.rule))
                return self._build(self._tally(cr, scans), scans)
        return None

    def closest(self, texts: str | Sequence[str], min_risk: Risk = "low") -> Near | None:
        """The rule that scores these messages nearest to ``min_risk`` (or above it), with the
        reasons it stayed below: for misses, the rule that came closest and what it lacked;
        for false alarms, the rule that fired and on what."""
        messages = [texts] if isinstance(texts, str) else list(texts)
        scans = [self._scan(t) for t in messages]
        candidates: set[int] = set()
        for scan in scans:
            for mid in scan.hits:
                candidates.update(self.rules.rules_by_matcher.get(mid, ()))
        langs = message_languages([s.norm.text for s in scans])
        tallies = [
            self._tally(self.rules.rules[ri], scans)
            for ri in sorted(candidates)
            if not langs.isdisjoint(self.rules.rules[ri].rule.languages)
        ]
        tallies = [t for t in tallies if any(u.stage >= 0 for u in t.fired)]
        if not tallies:
            return None
        need = RISK_ORDER[min_risk]

        def nearness(t: _Tally) -> tuple[int, float]:
            th = t.rule.rule.thresholds
            target = {1: th.low, 2: th.medium, 3: th.high}.get(need, th.low)
            return RISK_ORDER[t.risk], t.score / target

        best = max(tallies, key=nearness)
        return Near(
            _ref(best.rule.rule),
            best.risk,
            best.score,
            tuple(f"{u.name} ({u.weight:+g})" for u in best.fired),
            self._shortfall(best, min_risk),
        )

    @staticmethod
    def _shortfall(t: _Tally, min_risk: Risk) -> tuple[str, ...]:
        rule = t.rule.rule
        th = rule.thresholds
        why: list[str] = []
        if rule.status != "active":
            why.append(f"rule is {rule.status}: never shown")
        if RISK_ORDER[t.risk] >= RISK_ORDER[min_risk]:
            return (*why, f"reached {t.risk} with score {t.score:g}")
        if t.textual_count < rule.min_signals:
            why.append(f"{t.textual_count} clue(s) in words, needs {rule.min_signals}")
        if t.stage_count < rule.min_stages:
            why.append(f"signals in {t.stage_count} stage(s), needs {rule.min_stages}")
        if t.textual < th.low:
            why.append(f"words alone score {t.textual:g}, below low {th.low:g}")
        if t.negative:
            why.append(f"negatives {t.negative:+g}")
        level = {"low": th.low, "medium": th.medium, "high": th.high}[min_risk]
        if t.score < level:
            why.append(f"score {t.score:g} below {min_risk} {level:g}")
        if min_risk == "high" and t.stage_count < 2:
            why.append("high needs signals in two stages")
        if RISK_ORDER[rule.severity] < RISK_ORDER[min_risk]:
            why.append(f"severity caps this rule at {rule.severity}")
        return tuple(why)

    def _tally(self, cr: CompiledRule, scans: list[_Scan]) -> _Tally:
        """Which signals of a rule fired, the score and the risk: no evidence yet."""
        rule = cr.rule
        fired: list[SignalUse] = []
        seen: set[tuple[int, bool]] = set()
        stages: set[int] = set()
        positive = textual = neg = 0.0
        textual_count = 0
        hit_ids = scans[0].hits if len(scans) == 1 else set().union(*(s.hits for s in scans))
        for use in cr.uses:
            if use.matcher not in hit_ids:
                continue
            # A signal counts once per rule, even if listed in two stages.
            key = (use.matcher, use.stage < 0)
            if key in seen:
                continue
            seen.add(key)
            fired.append(use)
            if use.stage < 0:
                neg += use.weight
            else:
                stages.add(use.stage)
                positive += use.weight
                if not use.entity_only:
                    textual += use.weight
                    textual_count += 1
        score = positive + neg
        th = rule.thresholds
        risk: Risk = "none"
        # A bare link, number or amount never decides a verdict: the words must reach the
        # lowest threshold on their own before entities may add to the score.
        # One keyword is never enough: at least ``min_signals`` distinct clues in words.
        if (
            textual_count >= rule.min_signals
            and len(stages) >= rule.min_stages
            and textual >= th.low
            and textual + neg >= th.low
        ):
            if score >= th.high and len(stages) >= 2:
                risk = "high"
            elif score >= th.medium:
                risk = "medium"
            elif score >= th.low:
                risk = "low"
        if RISK_ORDER[risk] > RISK_ORDER[rule.severity]:
            risk = rule.severity
        return _Tally(
            cr, tuple(fired), round(score, 3), risk, textual_count, len(stages), textual, neg
        )

    def _build(self, tally: _Tally, scans: list[_Scan]) -> Verdict:
        """The full explanation for one rule: stages, evidence quoted from the original."""
        rule = tally.rule.rule
        stage_hits: dict[int, list[SignalHit]] = defaultdict(list)
        negatives: list[SignalHit] = []
        for use in tally.fired:
            evidence: list[Evidence] = []
            for mi, scan in enumerate(scans):
                for a, b in scan.hits.get(use.matcher, ()):
                    oa, ob = scan.norm.span(a, b)
                    evidence.append(Evidence(scan.norm.original[oa:ob], oa, ob, mi))
            hit = SignalHit(
                use.name,
                use.weight,
                use.why_zh,
                use.why_en,
                tuple(evidence[:MAX_EVIDENCE_PER_SIGNAL]),
                use.entity_only,
            )
            if use.stage < 0:
                negatives.append(hit)
            else:
                stage_hits[use.stage].append(hit)

        # No two quotes overlap in one explanation: the longest quotes are kept (on a tie, the
        # earlier stage's), so a piece of a quote is never quoted again elsewhere.
        ranked = sorted(
            (
                (-(e.end - e.start), i, e.message, e.start, k, e)
                for i, hits_ in stage_hits.items()
                for k, h in enumerate(hits_)
                for e in h.evidence
            ),
            key=lambda x: x[:4],
        )
        taken: list[Evidence] = []
        keep: dict[tuple[int, int], list[Evidence]] = defaultdict(list)
        for _, i, _, _, k, e in ranked:
            if e.end > e.start and not any(_overlap(e, o) for o in taken):
                taken.append(e)
                keep[(i, k)].append(e)
        for i, hits_ in stage_hits.items():
            stage_hits[i] = [
                replace(h, evidence=tuple(sorted(keep[(i, k)], key=lambda e: (e.message, e.start))))
                for k, h in enumerate(hits_)
            ]

        stages = tuple(
            StageHit(
                rule.stages[i].id,
                i,
                rule.stages[i].title.zh,
                rule.stages[i].title.en,
                tuple(stage_hits[i]),
            )
            for i in sorted(stage_hits)
        )
        furthest = max(stage_hits) if stage_hits else -1
        furthest_ref = (
            StageRef(
                rule.stages[furthest].id,
                furthest,
                rule.stages[furthest].title.zh,
                rule.stages[furthest].title.en,
            )
            if furthest >= 0
            else None
        )
        next_stages = tuple(
            StageRef(s.id, i, s.title.zh, s.title.en)
            for i, s in enumerate(rule.stages)
            if i > furthest
        )
        # Only the advice for what this message showed (see ``Advice.when``).
        seen = {rule.stages[i].id for i in stage_hits} | {
            h.signal for hits_ in stage_hits.values() for h in hits_
        }
        return Verdict(
            risk=tally.risk,
            rule=_ref(rule),
            score=tally.score,
            stages=stages,
            furthest_stage=furthest_ref,
            next_stages=next_stages,
            advice_zh=_advice_for(rule, rule.advice.zh, seen),
            advice_en=_advice_for(rule, rule.advice.en, seen),
            regional_advice=tuple(
                (code, tuple(a.zh), tuple(a.en)) for code, a in rule.regional_advice.items()
            ),
            negatives=tuple(negatives),
        )
