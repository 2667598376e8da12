"""Developer tool: fit signal weights and medium thresholds of some rules on labeled corpora.

Usage:
  python scripts/fit_weights.py FILE.jsonl[@W] [FILE.jsonl[@W] ...] --rules r1,r2 [--iters 3]
      [--gamma 3] [--cap NAME=W ...] [--floor RULE:SIGNAL=W ...] [--jobs 2]

The way SpamAssassin fits its scores: every row is checked once, the signals each listed rule
fired are kept, then weights are changed one at a time (steps of 0.5) to flag more scam rows at
medium while false alarms cost far more than a hit is worth (a medium false alarm 25, a low one
4 on ads and personal SMS), and every change from the rule file costs ``gamma`` per unit. Shared
generic signals (urgency, money_request, ...) are capped low so no pile of common words reaches
a verdict. The medium threshold of each rule is tried at low + 1, 1.5 and 2.

``FILE@W`` counts every row of FILE W times (hits and false alarms alike): real messages can
outweigh semi-synthetic ones, so no fit buys synthetic hits with real misses.

It prints the suggested weights and thresholds as numbers only (signal names such as
``identity/2``); nothing from the corpus is printed or written. Edit the rule files by hand,
then run ``rules test`` and the corpus report again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine import Engine
from bot.engine.model import RISK_ORDER

GENERIC = {
    "urgency": 1.0,
    "money_request": 1.0,
    "offplatform_contact": 2.0,
    "app_download": 1.5,
    "secrecy": 3.0,
    "code_request": 3.0,
    "screen_sharing": 3.0,
}
_ENGINE: Engine | None = None
_RULES: set[str] = set()


def _init(directory: str, rules: list[str]) -> None:
    global _ENGINE, _RULES
    _ENGINE = Engine.from_dir(directory)
    _RULES = set(rules)


def _fired(text: str) -> tuple[int, dict[str, list[tuple[int, str, float, bool]]]]:
    """The best risk of the other rules, and the signals each listed rule fired."""
    assert _ENGINE is not None
    scan = _ENGINE._scan(text)  # a developer tool reads the engine's tallies
    cand: set[int] = set()
    for mid in scan.hits:
        cand.update(_ENGINE.rules.rules_by_matcher.get(mid, ()))
    other, mine = 0, {}
    for ri in cand:
        cr = _ENGINE.rules.rules[ri]
        t = _ENGINE._tally(cr, [scan])
        if cr.rule.id in _RULES:
            mine[cr.rule.id] = [(u.stage, u.name, u.weight, u.entity_only) for u in t.fired]
        elif cr.rule.status == "active":
            other = max(other, RISK_ORDER[t.risk])
    return other, mine


def _risk(fired, meta, weights, rid) -> int:
    pos = textual = neg = 0.0
    count, stages = 0, set()
    for st, name, w, ent in fired:
        w = weights.get((rid, name), w)
        if st < 0:
            neg += w
        else:
            stages.add(st)
            pos += w
            if not ent:
                textual += w
                count += 1
    m = meta[rid]
    if not (
        count >= m["min_signals"]
        and len(stages) >= m["min_stages"]
        and textual >= m["low"]
        and textual + neg >= m["low"]
    ):
        return 0
    score = pos + neg
    if score >= m["high"] and len(stages) >= 2:
        r = 3
    elif score >= m["medium"]:
        r = 2
    else:
        r = 1 if score >= m["low"] else 0
    return min(r, RISK_ORDER[m["severity"]])


def _group(row: dict) -> str:
    c = str(row.get("category"))
    if c.startswith("AD:"):
        return "ad"
    if c == "personal_sms":
        return "personal"
    return f"{row.get('dataset')}|{row['label']}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="+")
    ap.add_argument("--dir", default="rules")
    ap.add_argument("--rules", required=True)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--gamma", type=float, default=3.0)
    ap.add_argument("--cap", action="append", default=[], help="RULE:SIGNAL=MAX")
    ap.add_argument("--floor", action="append", default=[], help="RULE:SIGNAL=MIN")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    rules = a.rules.split(",")
    caps = {tuple(k.split(":", 1)): float(v) for k, v in (c.split("=") for c in a.cap)}
    floors = {tuple(k.split(":", 1)): float(v) for k, v in (c.split("=") for c in a.floor)}
    rows, weight_of = [], []
    for spec in a.files:
        name, _, w = spec.partition("@")
        with open(name, encoding="utf-8") as fh:
            new = [json.loads(line) for line in fh]
        rows.extend(new)
        weight_of.extend([float(w or 1)] * len(new))
    with Pool(a.jobs, initializer=_init, initargs=(a.dir, rules)) as pool:
        data = pool.map(_fired, [r["text"] for r in rows], chunksize=100)
    engine = Engine.from_dir(a.dir)
    meta = {}
    for cr in engine.rules.rules:
        r = cr.rule
        if r.id in rules:
            meta[r.id] = {
                "low": r.thresholds.low,
                "medium": r.thresholds.medium,
                "high": r.thresholds.high,
                "min_signals": r.min_signals,
                "min_stages": r.min_stages,
                "severity": r.severity,
            }
    start: dict[tuple[str, str], float] = {}
    where: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_rule: dict[str, list[int]] = defaultdict(list)
    for i, (_, mine) in enumerate(data):
        for rid, fired in mine.items():
            by_rule[rid].append(i)
            for st, name, w, _e in fired:
                if st >= 0:
                    start.setdefault((rid, name), w)
                    where[(rid, name)].append(i)
    weights = dict(start)
    groups = [_group(r) for r in rows]

    def row_risk(i: int) -> int:
        return max([_risk(f, meta, weights, rid) for rid, f in data[i][1].items()] or [0])

    risk = [row_risk(i) for i in range(len(rows))]

    def objective() -> tuple[float, Counter[str], Counter[str]]:
        tp, fp, fpl = 0.0, Counter[str](), Counter[str]()
        for i, row in enumerate(rows):
            w = weight_of[i]
            if row["label"] == "scam":
                tp += w * (max(risk[i], data[i][0]) >= 2)
            else:
                fp[groups[i]] += w * (risk[i] >= 2)
                fpl[groups[i]] += w * (risk[i] >= 1)
        pen = sum(25 * fp[g] + (4 if g in ("ad", "personal") else 2) * fpl[g] for g in fp)
        return tp - pen, fp, fpl

    def try_values(ids: list[int], values, setter, anchor) -> None:
        best = None
        for v in values:
            setter(v)
            for i in ids:
                risk[i] = row_risk(i)
            val = objective()[0] - anchor(v)
            if best is None or val > best[0] + 1e-9:
                best = (val, v)
        setter(best[1])
        for i in ids:
            risk[i] = row_risk(i)

    for it in range(a.iters):
        for rid in rules:
            low, cur = meta[rid]["low"], meta[rid]["medium"]
            try_values(
                by_rule[rid],
                [low + d for d in (1.0, 1.5, 2.0)],
                lambda v, rid=rid: meta[rid].__setitem__("medium", v),
                lambda v, cur=cur: 2.0 * abs(v - cur),
            )
        for key in sorted(weights, key=lambda k: -len(where[k])):
            if len(where[key]) < 3:
                continue
            hi = min(GENERIC.get(key[1], 4.0), caps.get(key, 4.0))
            hi = max(hi, start[key] if key[1] in GENERIC else 0)
            lo = floors.get(key, 0.5)
            values = [x / 2 for x in range(int(lo * 2), int(hi * 2) + 1)]
            try_values(
                where[key],
                values,
                lambda v, key=key: weights.__setitem__(key, v),
                lambda v, key=key: a.gamma * abs(v - start[key]),
            )
        o, fp, fpl = objective()
        print(f"iteration {it + 1}: objective {o:.1f}")
        print(f"  false alarms at medium {dict(fp)}, at low {dict(fpl)}")
    for rid in rules:
        m = meta[rid]
        print(f"{rid}: thresholds low {m['low']} medium {m['medium']}")
    for key in sorted(weights):
        if weights[key] != start[key]:
            print(f"  {key[0]} {key[1]}: {start[key]} -> {weights[key]}")
    tot, hit = Counter(), Counter()
    for i, row in enumerate(rows):
        k = f"{row.get('dataset')}|{row['label']}|{row.get('category')}"
        tot[k] += 1
        hit[k] += max(risk[i], data[i][0]) >= 2
    for k in sorted(tot):
        print(f"{k[:70]:<70} {hit[k]:>6}/{tot[k]:<6} {hit[k] / tot[k]:7.2%}")


if __name__ == "__main__":
    main()
