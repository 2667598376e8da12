"""The rule-set schema: what a rule file, the shared signal library and the brands file may say.

Owns: the typed, validated shape of rules (pydantic models, unknown keys rejected). Loading from
YAML with line numbers lives in ``loader``; turning rules into matchers lives in ``compiler``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.engine.extract import ENTITY_KINDS

Risk = Literal["high", "medium", "low", "none"]
RISK_ORDER: dict[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}
Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages the bot answers in (Traditional is derived from zh)."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class TextList(Strict):
    zh: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)


class Advice(TextList):
    """A rule's advice, most important first. ``when`` keeps a piece of advice (by its
    position, from 1) to the messages that show one of the named stages or signals (a stage
    id, or the ``id`` of one of the rule's own signals): the bail-money advice is not for a
    "hi mum, new number" opener. Advice without a ``when`` applies to every match."""

    when: dict[int, list[str]] = Field(default_factory=dict)


class Signal(Strict):
    """One weighted clue. It fires when any of its phrases, fuzzy phrases, regexes or entity
    kinds is found, and counts once per rule however often it is found."""

    id: str | None = Field(default=None, pattern=ID_PATTERN)
    use: str | None = Field(default=None, pattern=ID_PATTERN)
    weight: float | None = None
    why: Text | None = None
    phrases: list[str] = Field(default_factory=list)
    fuzzy: list[str] = Field(default_factory=list)
    fuzzy_score: float = Field(default=88.0, ge=60.0, le=100.0)
    regex: list[str] = Field(default_factory=list)
    entity: list[str] = Field(default_factory=list)
    # Chinese words matched by their pronunciation too: 跑分 also fires on 跑芬 and 泡粉.
    sounds_like: list[str] = Field(default_factory=list)

    @field_validator("phrases", "fuzzy", "regex", "sounds_like")
    @classmethod
    def _no_blank(cls, v: list[str]) -> list[str]:
        for item in v:
            if not item.strip():
                raise ValueError("empty pattern")
        return v

    @field_validator("entity")
    @classmethod
    def _known_entities(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - ENTITY_KINDS)
        if unknown:
            raise ValueError(f"unknown entity kind {unknown}; known: {sorted(ENTITY_KINDS)}")
        return v

    @model_validator(mode="after")
    def _has_matcher(self) -> Signal:
        own = self.phrases or self.fuzzy or self.regex or self.entity or self.sounds_like
        if self.use and own:
            raise ValueError("a signal either uses a shared signal or lists its own patterns")
        if not self.use and not own:
            raise ValueError("a signal needs phrases, fuzzy, regex, sounds_like, entity or use")
        return self


class Stage(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: Text
    signals: list[Signal] = Field(min_length=1)


class Thresholds(Strict):
    low: float = 3.0
    medium: float = 5.0
    high: float = 8.0

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not 0 < self.low <= self.medium <= self.high:
            raise ValueError("thresholds must satisfy 0 < low <= medium <= high")
        return self


class Examples(Strict):
    scam: list[str] = Field(min_length=2)
    benign: list[str] = Field(min_length=2)
    known_misses: list[str] = Field(default_factory=list)


class Rule(Strict):
    id: str = Field(pattern=ID_PATTERN)
    version: int = Field(ge=1)
    status: Literal["active", "testing", "disabled"]
    severity: Literal["high", "medium", "low"]
    family: str = Field(pattern=ID_PATTERN)
    title: Text
    summary: Text
    references: list[str] = Field(default_factory=list)
    false_positives: list[str] = Field(default_factory=list)
    review_by: dt.date | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)
    # How many distinct textual signals must fire before the rule may give any risk.
    min_signals: int = Field(default=2, ge=1, le=10)
    # How many distinct stages must show signals before the rule may give any risk.
    min_stages: int = Field(default=1, ge=1, le=10)
    # The languages of the messages the rule reads: an English lure rule never fires on a
    # Chinese message, nor a Chinese rule on an English one. Mixed messages are read by both.
    languages: list[Lang] = Field(default_factory=lambda: list(LANGS), min_length=1)
    stages: list[Stage] = Field(min_length=1)
    negatives: list[Signal] = Field(default_factory=list)
    advice: Advice
    # Advice for readers in a region, in place of ``advice`` (keys: region codes as in
    # config.yaml, e.g. TW, US): a Taiwanese reader is not told about mainland products, an
    # American not about Action Fraud. Regions not listed read ``advice``.
    regional_advice: dict[str, TextList] = Field(default_factory=dict)
    examples: Examples

    @field_validator("regional_advice")
    @classmethod
    def _region_codes(cls, v: dict[str, TextList]) -> dict[str, TextList]:
        bad = sorted(k for k in v if not re.fullmatch(r"[A-Z]{2}", k))
        if bad:
            raise ValueError(f"regional_advice keys must be two-letter region codes, not {bad}")
        return v

    @model_validator(mode="after")
    def _unique_stage_ids(self) -> Rule:
        ids = [s.id for s in self.stages]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate stage ids {dup}")
        return self

    @model_validator(mode="after")
    def _advice_when_names_this_rule(self) -> Rule:
        when = self.advice.when
        if not when:
            return self
        if self.regional_advice:
            # A regional list replaces the whole advice and has no `when` of its own: the
            # choice by what the message showed would silently not apply in those regions.
            raise ValueError(
                "advice.when and regional_advice cannot be combined: a regional list replaces "
                "the whole advice, and `when` would not apply to it"
            )
        n = len(self.advice.zh)
        if len(self.advice.en) != n:
            raise ValueError("advice with `when` needs as many zh as en items")
        bad = sorted(k for k in when if not 1 <= k <= n)
        if bad:
            raise ValueError(f"advice.when names positions {bad}; advice has {n} items")
        if len(when) >= n:
            raise ValueError("advice.when: at least one piece of advice must apply always")
        names = {s.id for s in self.stages} | {
            sig.id for s in self.stages for sig in s.signals if sig.id
        }
        unknown = sorted({x for xs in when.values() for x in xs} - names)
        if unknown:
            raise ValueError(f"advice.when names no stage or signal id of this rule: {unknown}")
        return self

    def advice_applies(self, position: int, seen: set[str]) -> bool:
        """Whether the advice at ``position`` (from 0) is for a message that showed ``seen``
        (stage ids and signal names)."""
        names = self.advice.when.get(position + 1)
        return not names or not seen.isdisjoint(names)


class SharedSignal(Strict):
    """A signal in the shared library (``rules/_signals.yaml``), referenced with ``use:``."""

    weight: float
    why: Text
    phrases: list[str] = Field(default_factory=list)
    fuzzy: list[str] = Field(default_factory=list)
    fuzzy_score: float = Field(default=88.0, ge=60.0, le=100.0)
    regex: list[str] = Field(default_factory=list)
    entity: list[str] = Field(default_factory=list)
    sounds_like: list[str] = Field(default_factory=list)

    @field_validator("entity")
    @classmethod
    def _known_entities(cls, v: list[str]) -> list[str]:
        return Signal._known_entities(v)


class SignalLibrary(Strict):
    signals: dict[str, SharedSignal]
    # Shared signals applied as negatives to every rule (news, warnings, the bank's own notice).
    global_negatives: list[str] = Field(default_factory=list)
    # Longer words that contain a keyword but mean something else (支付宝 holds 支付, 分期付款
    # holds 付款): a match that lies inside one of them is a fragment and never counts.
    compounds: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _negatives_exist(self) -> SignalLibrary:
        missing = sorted(set(self.global_negatives) - set(self.signals))
        if missing:
            raise ValueError(f"global_negatives name unknown signals {missing}")
        for name in self.global_negatives:
            if self.signals[name].weight >= 0:
                raise ValueError(f"global negative {name!r} must have a negative weight")
        return self


class BrandEntry(Strict):
    name: str
    tokens: list[str] = Field(min_length=1)
    domains: list[str] = Field(min_length=1)
    numbers: list[str] = Field(default_factory=list)


class BrandFile(Strict):
    brands: list[BrandEntry]
