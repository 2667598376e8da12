"""Run every rule's own examples: scam examples must hit, benign ones must not.

Owns: the example checks shared by ``python -m bot rules test``, the test suite and a
moderator's edit. A scam example must make *its* rule reach at least ``low`` risk; a benign
example must make the whole engine answer ``none`` (it is an ordinary message); a known miss
that now hits is reported so it can be promoted to a scam example.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from bot.engine.engine import Engine

Kind = Literal["scam", "benign", "known_miss"]


@dataclass(frozen=True, slots=True)
class ExampleResult:
    rule_id: str
    kind: Kind
    index: int
    text: str
    ok: bool
    detail: str

    @property
    def name(self) -> str:
        """Readable test id, e.g. ``fake-courier-cs:scam:2`` (1-based)."""
        return f"{self.rule_id}:{self.kind}:{self.index + 1}"


def iter_examples(engine: Engine) -> Iterator[tuple[str, Kind, int, str]]:
    for cr in engine.rules.rules:
        ex = cr.rule.examples
        for i, t in enumerate(ex.scam):
            yield cr.rule.id, "scam", i, t
        for i, t in enumerate(ex.benign):
            yield cr.rule.id, "benign", i, t
        for i, t in enumerate(ex.known_misses):
            yield cr.rule.id, "known_miss", i, t


def run_example(engine: Engine, rule_id: str, kind: Kind, index: int, text: str) -> ExampleResult:
    if kind == "benign":
        v = engine.check(text)
        ok = v.risk == "none"
        detail = "" if ok else f"benign example hit {v.rule.id if v.rule else '?'} ({v.risk})"
        return ExampleResult(rule_id, kind, index, text, ok, detail)
    own = engine.score_rule(text, rule_id)
    hit = own is not None and own.risk != "none"
    if kind == "scam":
        score = own.score if own else 0.0
        detail = "" if hit else f"scam example did not reach low risk (score {score})"
        return ExampleResult(rule_id, kind, index, text, hit, detail)
    detail = "known miss now hits: move it to the scam examples" if hit else ""
    return ExampleResult(rule_id, kind, index, text, not hit, detail)


def run_all(engine: Engine) -> list[ExampleResult]:
    return [run_example(engine, *args) for args in iter_examples(engine)]
