"""Developer tool: which rule flags what in a labeled corpus (per dataset and category).

Usage:
  python scripts/corpus_report.py FILE.jsonl [--rules r1,r2] [--show-misses CATEGORY] [--show-fp]
      [--limit N] [--dataset NAME]

Prints, per category, how many rows are flagged (any rule) and which rule was best. With
--rules, counts only verdicts whose best rule is in the list, so one rule author can see the
recall and the false positives of their own rules. --show-misses / --show-fp print sample rows
to the terminal for analysis (never copy them into the repository: the corpus licence forbids it).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine import Engine


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("file")
    ap.add_argument("--dir", default="rules")
    ap.add_argument("--rules", help="comma-separated rule ids to attribute hits to")
    ap.add_argument("--dataset")
    ap.add_argument("--show-misses", metavar="CATEGORY_SUBSTRING")
    ap.add_argument("--show-fp", action="store_true")
    ap.add_argument("--limit", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    engine = Engine.from_dir(a.dir)
    mine = set(a.rules.split(",")) if a.rules else None
    total: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    best: dict[str, Counter[str]] = defaultdict(Counter)
    misses: list[str] = []
    fps: list[tuple[str, str, str]] = []
    with open(a.file, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    for row in rows:
        if a.dataset and row.get("dataset") != a.dataset:
            continue
        key = f"{row['dataset']}|{row['label']}|{row['category']}"
        total[key] += 1
        v = engine.check(row["text"])
        hit = v.risk != "none" and (mine is None or (v.rule is not None and v.rule.id in mine))
        if hit:
            flagged[key] += 1
            best[key][f"{v.rule.id}:{v.risk}"] += 1  # type: ignore[union-attr]
            if row["label"] == "benign":
                fps.append((v.rule.id, v.risk, row["text"]))  # type: ignore[union-attr]
        elif row["label"] == "scam" and a.show_misses and a.show_misses in row["category"]:
            misses.append(row["text"])
    for key in sorted(total):
        n, f = total[key], flagged[key]
        print(f"{key[:70]:<70} {f:>6}/{n:<6} {f / n:7.2%}")
        for rid, c in best[key].most_common(8):
            print(f"      {rid:<40} {c}")
    rnd = random.Random(a.seed)
    if a.show_fp:
        print("\n=== false positives (sample) ===")
        for rid, risk, text in rnd.sample(fps, min(a.limit, len(fps))):
            print(f"[{rid} {risk}] {text[:300]!r}")
    if a.show_misses:
        print(f"\n=== misses in {a.show_misses} (sample of {len(misses)}) ===")
        for text in rnd.sample(misses, min(a.limit, len(misses))):
            print(repr(text[:400]))


if __name__ == "__main__":
    main()
