"""Score the engine on a labeled JSONL corpus: precision, recall and false-positive rate.

Owns: reading evaluation rows strictly (a malformed row stops with its line number) and the
metric arithmetic. A row counts as flagged when its verdict's risk is at least ``min_risk``
(``low`` by default: any warning). Misses and false alarms can be written out with the rule
that came closest and why it stayed below, for whoever tunes the rules.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.engine import Engine
from bot.engine.model import RISK_ORDER, Risk


class EvalInputError(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass
class Counts:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, scam: bool, flagged: bool) -> None:
        if scam and flagged:
            self.tp += 1
        elif scam:
            self.fn += 1
        elif flagged:
            self.fp += 1
        else:
            self.tn += 1

    def metrics(self) -> dict[str, Any]:
        scam = self.tp + self.fn
        benign = self.fp + self.tn
        flagged = self.tp + self.fp
        return {
            "scam": scam,
            "benign": benign,
            "tp": self.tp,
            "fn": self.fn,
            "fp": self.fp,
            "tn": self.tn,
            "recall": round(self.tp / scam, 4) if scam else None,
            "precision": round(self.tp / flagged, 4) if flagged else None,
            "fpr": round(self.fp / benign, 4) if benign else None,
        }


@dataclass
class Report:
    overall: Counts = field(default_factory=Counts)
    by_lang: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    # field -> value -> counts, for every field asked for (``by`` is the first of them)
    by_fields: dict[str, dict[str, Counts]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 3)

        return {
            "overall": self.overall.metrics(),
            "by_lang": {k: v.metrics() for k, v in sorted(self.by_lang.items())},
            "by": {k: v.metrics() for k, v in sorted(self.by.items())},
            "by_fields": {
                name: {k: v.metrics() for k, v in sorted(values.items())}
                for name, values in self.by_fields.items()
            },
            "latency_ms": {
                "p50": pct(0.5),
                "p90": pct(0.9),
                "p99": pct(0.99),
                "max": round(lat[-1], 3) if lat else None,
            },
            "messages_per_s": round(len(lat) / self.seconds, 1) if self.seconds > 0 else None,
        }


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(n, f"not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise EvalInputError(n, "a row must be a JSON object")
        if not isinstance(row.get("text"), str):
            raise EvalInputError(n, 'missing "text" (a string)')
        if row.get("label") not in ("scam", "benign"):
            raise EvalInputError(n, '"label" must be "scam" or "benign"')
        yield n, row


def evaluate(
    engine: Engine,
    path: Path,
    by: str | Sequence[str] | None = None,
    min_risk: Risk = "low",
    misses: list[dict[str, Any]] | None = None,
) -> Report:
    """Check every row. Rows are validated as they are read; all are read before scoring so a
    malformed row is reported before any work is done. With ``misses`` (a list), every scam
    row not flagged and every benign row flagged is appended to it, explained."""
    with path.open(encoding="utf-8") as fh:
        rows = list(read_rows(fh))
    report = Report()
    fields = [by] if isinstance(by, str) else list(by or ())
    for name in fields:
        report.by_fields[name] = defaultdict(Counts)
    if fields:
        report.by = report.by_fields[fields[0]]
    need = RISK_ORDER[min_risk]
    start = time.perf_counter()
    for n, row in rows:
        t0 = time.perf_counter()
        verdict = engine.check(row["text"])
        report.latencies_ms.append((time.perf_counter() - t0) * 1000)
        scam = row["label"] == "scam"
        flagged = RISK_ORDER[verdict.risk] >= need
        report.overall.add(scam, flagged)
        if isinstance(row.get("lang"), str):
            report.by_lang[row["lang"]].add(scam, flagged)
        for name in fields:
            if name in row:
                report.by_fields[name][str(row[name])].add(scam, flagged)
        if misses is not None and scam != flagged:
            misses.append(_explained(engine, n, row, verdict.risk, min_risk))
    report.seconds = time.perf_counter() - start
    return report


def _explained(
    engine: Engine, line: int, row: dict[str, Any], risk: Risk, min_risk: Risk
) -> dict[str, Any]:
    near = engine.closest(row["text"], min_risk)
    out: dict[str, Any] = {
        "line": line,
        "kind": "miss" if row["label"] == "scam" else "false_alarm",
        "risk": risk,
    }
    for key in ("dataset", "category", "lang"):
        if key in row:
            out[key] = row[key]
    out["text"] = row["text"]
    if near is None:
        out.update(rule=None, why=["no signal of any rule fired"])
    else:
        out.update(
            rule=near.rule.id,
            rule_risk=near.risk,
            score=near.score,
            signals=list(near.signals),
            why=list(near.why),
        )
    return out
