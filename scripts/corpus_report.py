"""Developer tool: which rule flags what in labeled corpora (per dataset and category).

Usage:
  python scripts/corpus_report.py FILE.jsonl [FILE.jsonl ...] [--min-risk low|medium|high]
      [--rules r1,r2] [--show-misses CATEGORY] [--show-fp] [--limit N] [--dataset NAME] [--jobs N]

Prints, per dataset, label and category, how many rows are flagged at --min-risk or above
(default medium) and which rules were best. With --rules, counts only verdicts whose best rule
is in the list, so one rule author can see the recall and the false alarms of their own rules.
--show-misses / --show-fp print sample rows to the terminal for analysis (never copy them into
the repository: the corpus licence forbids it).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine import Engine
from bot.engine.model import RISK_ORDER

_ENGINE: Engine | None = None


def _init(directory: str) -> None:
    global _ENGINE
    _ENGINE = Engine.from_dir(directory)


def _check(text: str) -> tuple[str, str | None]:
    assert _ENGINE is not None
    v = _ENGINE.check(text)
    return v.risk, v.rule.id if v.rule else None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="+")
    ap.add_argument("--dir", default="rules")
    ap.add_argument("--min-risk", choices=["low", "medium", "high"], default="medium")
    ap.add_argument("--rules", help="comma-separated rule ids to attribute hits to")
    ap.add_argument("--dataset")
    ap.add_argument("--category", help="only rows whose category contains this")
    ap.add_argument("--show-misses", metavar="CATEGORY_SUBSTRING")
    ap.add_argument("--show-fp", action="store_true")
    ap.add_argument("--limit", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    mine = set(a.rules.split(",")) if a.rules else None
    need = RISK_ORDER[a.min_risk]
    rows = []
    for name in a.files:
        with open(name, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if a.dataset and row.get("dataset") != a.dataset:
                    continue
                if a.category and a.category not in str(row.get("category")):
                    continue
                rows.append(row)
    with Pool(a.jobs, initializer=_init, initargs=(a.dir,)) as pool:
        results = pool.map(_check, [r["text"] for r in rows], chunksize=100)
    total: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    best: dict[str, Counter[str]] = defaultdict(Counter)
    misses: list[str] = []
    fps: list[tuple[str, str, str]] = []
    for row, (risk, rule) in zip(rows, results, strict=True):
        key = f"{row.get('dataset')}|{row['label']}|{row.get('category')}"
        total[key] += 1
        hit = RISK_ORDER[risk] >= need and (mine is None or rule in mine)
        if hit:
            flagged[key] += 1
            best[key][f"{rule}:{risk}"] += 1
            if row["label"] == "benign":
                fps.append((str(rule), risk, row["text"]))
        elif (
            row["label"] == "scam"
            and a.show_misses is not None
            and (a.show_misses in str(row.get("category")))
        ):
            misses.append(f"[{rule}:{risk}] {row['text']}")
    for key in sorted(total):
        n, f = total[key], flagged[key]
        print(f"{key[:70]:<70} {f:>6}/{n:<6} {f / n:7.2%}")
        for rid, c in best[key].most_common(8):
            print(f"      {rid:<40} {c}")
    rnd = random.Random(a.seed)
    if a.show_fp:
        print(f"\n=== false alarms (sample of {len(fps)}) ===")
        for rid, risk, text in rnd.sample(fps, min(a.limit, len(fps))):
            print(f"[{rid} {risk}] {text[:300]!r}")
    if a.show_misses is not None:
        print(f"\n=== misses in {a.show_misses!r} (sample of {len(misses)}) ===")
        for text in rnd.sample(misses, min(a.limit, len(misses))):
            print(repr(text[:400]))


if __name__ == "__main__":
    main()
