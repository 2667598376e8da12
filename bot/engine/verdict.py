"""The verdict: one record that explains a check, from which replies, stored hits and the
moderator view are all derived.

Owns: the result types and their plain-data (JSON) form. A verdict never says "safe": risk
``none`` means "no known scam pattern matched".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.engine.model import Risk


@dataclass(frozen=True, slots=True)
class Evidence:
    """Exact words from the original message: ``text == messages[message][start:end]``.
    When hidden links were given, ``message == len(messages)`` quotes them, joined by spaces."""

    text: str
    start: int
    end: int
    message: int = 0


def _overlaps(a: Evidence, b: Evidence) -> bool:
    return a.message == b.message and a.start < b.end and b.start < a.end


def distinct_evidence(items: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """Evidence in reading order, no two quotes overlapping: of overlapping spans the longer
    (then the earlier) is kept, so a piece of a quote is never quoted again."""
    ranked = sorted(set(items), key=lambda e: (-(e.end - e.start), e.message, e.start))
    out: list[Evidence] = []
    for e in ranked:
        if e.end > e.start and not any(_overlaps(e, o) for o in out):
            out.append(e)
    return tuple(sorted(out, key=lambda e: (e.message, e.start)))


@dataclass(frozen=True, slots=True)
class SignalHit:
    signal: str  # "stage-id/3" for a rule's own signal, or the shared signal's name
    weight: float
    reason_zh: str
    reason_en: str
    evidence: tuple[Evidence, ...]
    entity_only: bool = False


@dataclass(frozen=True, slots=True)
class StageHit:
    id: str
    index: int
    title_zh: str
    title_en: str
    signals: tuple[SignalHit, ...]

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return distinct_evidence(e for s in self.signals for e in s.evidence)


@dataclass(frozen=True, slots=True)
class StageRef:
    id: str
    index: int
    title_zh: str
    title_en: str


@dataclass(frozen=True, slots=True)
class RuleRef:
    id: str
    version: int
    family: str
    severity: str
    title_zh: str
    title_en: str


@dataclass(frozen=True, slots=True)
class RuleScore:
    """How one rule scored, for the runner-up list and for shadow (``testing``) rules."""

    rule: RuleRef
    risk: Risk
    score: float


@dataclass(frozen=True)
class Verdict:
    risk: Risk
    rule: RuleRef | None = None
    score: float = 0.0
    stages: tuple[StageHit, ...] = ()
    furthest_stage: StageRef | None = None
    next_stages: tuple[StageRef, ...] = ()
    advice_zh: tuple[str, ...] = ()
    advice_en: tuple[str, ...] = ()
    # (region, zh, en): the rule's advice for readers in that region, in place of the above.
    regional_advice: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    negatives: tuple[SignalHit, ...] = ()
    domains: tuple[str, ...] = ()
    entity_kinds: tuple[str, ...] = ()
    others: tuple[RuleScore, ...] = ()
    shadow: tuple[RuleScore, ...] = field(default=())  # ``testing`` rules: logged, never shown

    @property
    def matched(self) -> bool:
        return self.risk != "none"

    @property
    def progress(self) -> StageRef | None:
        """The stage to tell the person they have reached: only when the risk is medium or
        high, so a low-risk verdict never claims "step 3 of 4" (it lists the clues seen)."""
        return self.furthest_stage if self.risk in ("medium", "high") else None

    def advice_for(self, region: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The advice (zh, en) for a reader in ``region``: its regional variant if the rule
        has one, else the rule's general advice."""
        for code, zh, en in self.regional_advice:
            if code == region:
                return zh, en
        return self.advice_zh, self.advice_en

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return distinct_evidence(e for s in self.stages for e in s.evidence)

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        """The ``check --json`` contract: risk, rule, family, stages, evidence, next, advice."""
        zh = lang.startswith("zh")
        evidence = []
        for e in self.evidence:
            item: dict[str, Any] = {"text": e.text, "start": e.start, "end": e.end}
            if e.message:
                item["message"] = e.message
            evidence.append(item)
        return {
            "risk": self.risk,
            "rule": self.rule.id if self.rule else None,
            "rule_version": self.rule.version if self.rule else None,
            "family": self.rule.family if self.rule else None,
            "title": (self.rule.title_zh if zh else self.rule.title_en) if self.rule else None,
            "stages": [s.id for s in self.stages],
            "furthest_stage": self.furthest_stage.id if self.furthest_stage else None,
            "evidence": evidence,
            "next": [s.title_zh if zh else s.title_en for s in self.next_stages],
            "advice": list(self.advice_zh if zh else self.advice_en),
            "reasons": [
                {
                    "signal": h.signal,
                    "weight": h.weight,
                    "reason": h.reason_zh if zh else h.reason_en,
                }
                for s in self.stages
                for h in s.signals
            ]
            + [
                {
                    "signal": h.signal,
                    "weight": h.weight,
                    "reason": h.reason_zh if zh else h.reason_en,
                }
                for h in self.negatives
            ],
            "score": self.score,
            "domains": list(self.domains),
        }
