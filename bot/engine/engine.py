"""Match messages against a compiled rule set and explain the result as a verdict.

Owns: the per-message pipeline (normalize -> extract -> match -> score) and the scoring policy.
Each message is scanned once per matcher kind (one automaton pass, one RE2-set pass, one anchor
pass for fuzzy candidates); only rules that some hit points to are scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from bot.engine.compiler import CompiledRule, CompiledRuleSet, build_ruleset
from bot.engine.extract import Entity, extract
from bot.engine.model import RISK_ORDER, Risk
from bot.engine.normalize import Normalized, normalize
from bot.engine.verdict import Evidence, RuleRef, RuleScore, SignalHit, StageHit, StageRef, Verdict

MAX_EVIDENCE_PER_SIGNAL = 3
MAX_REGEX_MATCHES = 3


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass
class _Scan:
    """What one message produced: matcher id -> normalized spans, plus entities."""

    norm: Normalized
    hits: dict[int, list[tuple[int, int]]]
    entities: list[Entity]


class Engine:
    """The detection engine. Thread-safe for reading; build a new one to change rules."""

    def __init__(self, rules: CompiledRuleSet) -> None:
        self.rules = rules

    @classmethod
    def from_dir(cls, directory: str | Path) -> Engine:
        return cls(build_ruleset(Path(directory)))

    # -- scanning -------------------------------------------------------------------------

    def _scan(self, text: str, links: Sequence[str]) -> _Scan:
        rs = self.rules
        norm = normalize(text)
        t = norm.text
        hits: dict[int, list[tuple[int, int]]] = defaultdict(list)

        candidates: set[int] = set(rs.always_run)
        groups_hit: dict[int, set[int]] = defaultdict(set)
        if rs.automaton is not None and t:
            n = len(t)
            atoms_seen: set[int] = set()
            for end, (entries, regex_groups) in rs.automaton.iter(t):
                if regex_groups and id(regex_groups) not in atoms_seen:
                    atoms_seen.add(id(regex_groups))
                    for ri, gi in regex_groups:
                        groups_hit[ri].add(gi)
                for mid, length, left_b, right_b in entries:
                    start = end - length + 1
                    if left_b and start > 0 and _is_word_char(t[start - 1]):
                        continue
                    if right_b and end + 1 < n and _is_word_char(t[end + 1]):
                        continue
                    spans = hits[mid]
                    if len(spans) < MAX_EVIDENCE_PER_SIGNAL:
                        spans.append((start, end + 1))

        counts = rs.group_counts
        candidates.update(ri for ri, hit in groups_hit.items() if len(hit) == counts[ri])
        if candidates and t:
            tb = t.encode("utf-8")
            ascii_only = len(tb) == len(t)

            def char_at(byte: int) -> int:
                return byte if ascii_only else len(tb[:byte].decode("utf-8", "ignore"))

            for idx in sorted(candidates):
                mid, rx = rs.regexes[idx]
                spans = hits[mid]
                if len(spans) >= MAX_EVIDENCE_PER_SIGNAL:
                    continue
                for k, m in enumerate(rx.finditer(tb)):
                    if k >= MAX_REGEX_MATCHES or len(spans) >= MAX_EVIDENCE_PER_SIGNAL:
                        break
                    if m.end() > m.start():
                        spans.append((char_at(m.start()), char_at(m.end())))
                if not spans:
                    del hits[mid]

        if rs.anchor_automaton is not None and t:
            self._fuzzy(t, hits)

        entities = extract(t, rs.brands, links)
        for ent in entities:
            for mid in rs.entity_matchers.get(ent.kind, ()):
                spans = hits[mid]
                if len(spans) < MAX_EVIDENCE_PER_SIGNAL:
                    spans.append((ent.start, ent.end))
        return _Scan(norm, dict(hits), entities)

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
        messages = [texts] if isinstance(texts, str) else list(texts)
        scans = [self._scan(text, links if i == 0 else ()) for i, text in enumerate(messages)]

        candidates: set[int] = set()
        for scan in scans:
            for mid in scan.hits:
                candidates.update(self.rules.rules_by_matcher.get(mid, ()))

        scored: list[tuple[Verdict, CompiledRule]] = []
        for ri in sorted(candidates):
            cr = self.rules.rules[ri]
            scored.append((self._score(cr, scans), cr))

        domains = sorted(
            {e.detail for s in scans for e in s.entities if e.kind == "url" and e.detail}
        )
        kinds = sorted({e.kind for s in scans for e in s.entities})
        visible = [(v, cr) for v, cr in scored if cr.rule.status == "active"]
        shadow = tuple(
            RuleScore(v.rule, v.risk, v.score)
            for v, cr in scored
            if cr.rule.status == "testing" and v.rule is not None and v.risk != "none"
        )
        visible.sort(key=lambda p: (RISK_ORDER[p[0].risk], p[0].score), reverse=True)
        others = tuple(
            RuleScore(v.rule, v.risk, v.score)
            for v, _ in visible[1:]
            if v.rule is not None and v.risk != "none"
        )
        if not visible or visible[0][0].risk == "none":
            return Verdict(
                risk="none", domains=tuple(domains), entity_kinds=tuple(kinds), shadow=shadow
            )
        best = visible[0][0]
        return Verdict(
            risk=best.risk,
            rule=best.rule,
            score=best.score,
            stages=best.stages,
            furthest_stage=best.furthest_stage,
            next_stages=best.next_stages,
            advice_zh=best.advice_zh,
            advice_en=best.advice_en,
            negatives=best.negatives,
            domains=tuple(domains),
            entity_kinds=tuple(kinds),
            others=others,
            shadow=shadow,
        )

    def score_rule(self, texts: str | Sequence[str], rule_id: str) -> Verdict | None:
        """How one rule alone scores these messages (for its examples and for moderators)."""
        messages = [texts] if isinstance(texts, str) else list(texts)
        for cr in self.rules.rules:
            if cr.rule.id == rule_id:
                return self._score(cr, [self._scan(t, ()) for t in messages])
        return None

    def _score(self, cr: CompiledRule, scans: list[_Scan]) -> Verdict:
        rule = cr.rule
        stage_hits: dict[int, list[SignalHit]] = defaultdict(list)
        negatives: list[SignalHit] = []
        seen: set[tuple[int, str]] = set()
        positive = 0.0
        textual = 0.0
        textual_count = 0
        neg = 0.0
        for use in cr.uses:
            evidence: list[Evidence] = []
            for mi, scan in enumerate(scans):
                for a, b in scan.hits.get(use.matcher, ()):
                    if a < 0:
                        evidence.append(Evidence("", -1, -1, mi))
                        continue
                    oa, ob = scan.norm.span(a, b)
                    evidence.append(Evidence(scan.norm.original[oa:ob], oa, ob, mi))
            if not evidence:
                continue
            # A signal counts once per rule, even if listed in two stages.
            key = (use.matcher, "neg" if use.stage < 0 else "pos")
            if key in seen:
                continue
            seen.add(key)
            hit = SignalHit(
                use.name,
                use.weight,
                use.why_zh,
                use.why_en,
                tuple(e for e in evidence if e.start >= 0)[:MAX_EVIDENCE_PER_SIGNAL],
                use.entity_only,
            )
            if use.stage < 0:
                negatives.append(hit)
                neg += use.weight
            else:
                stage_hits[use.stage].append(hit)
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
        if textual_count >= rule.min_signals and textual >= th.low and textual + neg >= th.low:
            if score >= th.high and len(stage_hits) >= 2:
                risk = "high"
            elif score >= th.medium:
                risk = "medium"
            elif score >= th.low:
                risk = "low"
        cap = rule.severity
        if RISK_ORDER[risk] > RISK_ORDER[cap]:
            risk = cap

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
        ref = RuleRef(
            rule.id, rule.version, rule.family, rule.severity, rule.title.zh, rule.title.en
        )
        return Verdict(
            risk=risk,
            rule=ref,
            score=round(score, 3),
            stages=stages,
            furthest_stage=furthest_ref,
            next_stages=next_stages,
            advice_zh=tuple(rule.advice.zh),
            advice_en=tuple(rule.advice.en),
            negatives=tuple(negatives),
        )
