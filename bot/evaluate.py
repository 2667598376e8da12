"""Score the engine on a labeled JSONL corpus: precision, recall and false-positive rate.

Owns: reading evaluation rows strictly (a malformed row stops with its line number) and the
metric arithmetic. A row counts as flagged when its verdict's risk is not ``none``.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.engine import Engine


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


def evaluate(engine: Engine, path: Path, by: str | None = None) -> Report:
    """Check every row. Rows are validated as they are read; all are read before scoring so a
    malformed row is reported before any work is done."""
    with path.open(encoding="utf-8") as fh:
        rows = list(read_rows(fh))
    report = Report()
    start = time.perf_counter()
    for _, row in rows:
        t0 = time.perf_counter()
        verdict = engine.check(row["text"])
        report.latencies_ms.append((time.perf_counter() - t0) * 1000)
        scam = row["label"] == "scam"
        flagged = verdict.risk != "none"
        report.overall.add(scam, flagged)
        if isinstance(row.get("lang"), str):
            report.by_lang[row["lang"]].add(scam, flagged)
        if by is not None and by in row:
            report.by[str(row[by])].add(scam, flagged)
    report.seconds = time.perf_counter() - start
    return report
