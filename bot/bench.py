"""Benchmark: per-message latency of the engine beside a naive baseline, in one run.

Owns: generating 500-character messages and a synthetic 10,000-pattern rule set, timing the
engine and a naive scanner (every phrase with rapidfuzz, every regex with ``re``) on the same
messages, and reporting ratios. Numbers are for one core: everything runs in this process.
Latencies are steady-state: caches that a running bot fills once (character folding, RE2's
lazily built automata) are warmed by one untimed pass first.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from bot.engine import Engine, compile_rules, read_rule_dir
from bot.engine.loader import RuleSource
from bot.engine.model import Rule
from bot.engine.normalize import normalize

MESSAGE_CHARS = 500
# Common characters, so synthetic text and patterns share vocabulary like real messages do.
_ZH = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性"
    "好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第"
    "向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管"
    "特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处"
    "快递包裹理赔退款客服微信转账验证码银行卡贷款投资老师平台兼职佣金任务充值提现冻结公安法院警官账户安全"
)
_EN = (
    "parcel delivery account bank verify link payment refund claim prize winner urgent call "
    "text reply free offer customer service package update details login secure card code "
    "invest crypto profit return mentor task commission job daily salary mum phone number"
).split()


def _zh_text(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice(_ZH) for _ in range(n))


def make_messages(rnd: random.Random, count: int, seeds: Sequence[str] = ()) -> list[str]:
    """``count`` messages of MESSAGE_CHARS characters: rule examples padded with text."""
    out = []
    for i in range(count):
        parts: list[str] = []
        if seeds and i % 2 == 0:
            parts.append(rnd.choice(seeds))
        while sum(len(p) for p in parts) < MESSAGE_CHARS:
            if rnd.random() < 0.3:
                parts.append(" ".join(rnd.choice(_EN) for _ in range(8)) + ". ")
            else:
                parts.append(_zh_text(rnd, 40) + "，")
        rnd.shuffle(parts)
        out.append("".join(parts)[:MESSAGE_CHARS])
    return out


def synthetic_source(base: RuleSource, patterns: int = 10_000, seed: int = 7) -> RuleSource:
    """A rule set of ``patterns`` patterns (70% phrases, 20% regexes, 10% fuzzy) in 100 rules."""
    rnd = random.Random(seed)
    per_rule = patterns // 100
    rules = []
    for r in range(100):
        signals: list[dict[str, Any]] = []
        n_phrase = int(per_rule * 0.7)
        n_regex = int(per_rule * 0.2)
        n_fuzzy = per_rule - n_phrase - n_regex
        phrases = [_zh_text(rnd, rnd.randint(3, 6)) for _ in range(n_phrase // 2)]
        phrases += [
            " ".join(rnd.sample(_EN, 2)) + f" {rnd.randint(10, 99)}"
            for _ in range(n_phrase - len(phrases))
        ]
        regexes = [f"{_zh_text(rnd, 2)}.{{0,8}}{_zh_text(rnd, 2)}" for _ in range(n_regex)]
        fuzzy = [_zh_text(rnd, rnd.randint(8, 12)) for _ in range(n_fuzzy)]
        for chunk in range(0, len(phrases), 10):
            signals.append({"weight": 2, "phrases": phrases[chunk : chunk + 10]})
        for chunk in range(0, len(regexes), 5):
            signals.append({"weight": 2, "regex": regexes[chunk : chunk + 5]})
        signals.append({"weight": 2, "fuzzy": fuzzy})
        half = len(signals) // 2
        rules.append(
            Rule.model_validate(
                {
                    "id": f"synthetic-{r:03d}",
                    "version": 1,
                    "status": "active",
                    "severity": "high",
                    "family": "synthetic",
                    "title": {"zh": "合成规则", "en": "synthetic"},
                    "summary": {"zh": "合成规则", "en": "synthetic"},
                    "stages": [
                        {
                            "id": "first",
                            "title": {"zh": "甲", "en": "first"},
                            "signals": signals[:half],
                        },
                        {
                            "id": "second",
                            "title": {"zh": "乙", "en": "second"},
                            "signals": signals[half:],
                        },
                    ],
                    "advice": {"zh": ["无"], "en": ["none"]},
                    "examples": {"scam": ["x1", "x2"], "benign": ["y1", "y2"]},
                }
            )
        )
    return RuleSource(tuple(rules), base.signals, base.brands)


def _naive_compile(pattern: str) -> Any:
    """``re`` where it can read the pattern; RE2-only syntax (``\\p{Han}``) falls back to RE2,
    still tried one pattern at a time."""
    try:
        return re.compile(pattern)
    except re.error:
        import re2

        return re2.compile(pattern)


class NaiveScanner:
    """What one would write without an automaton: every pattern tried on every message."""

    def __init__(self, source: RuleSource) -> None:
        self.phrases: list[str] = []
        self.regexes: list[Any] = []
        for rule in source.rules:
            sigs = [s for st in rule.stages for s in st.signals] + list(rule.negatives)
            for s in sigs:
                shared = source.signals.signals.get(s.use) if s.use else None
                item = shared or s
                self.phrases.extend(p.lower() for p in item.phrases)
                self.phrases.extend(p.lower() for p in item.fuzzy)
                self.regexes.extend(_naive_compile(p) for p in item.regex)

    def scan(self, text: str) -> int:
        t = normalize(text).text
        found = 0
        for p in self.phrases:
            if fuzz.partial_ratio(p, t, score_cutoff=88):
                found += 1
        for rx in self.regexes:
            if rx.search(t):
                found += 1
        return found


def _time(fn: Callable[[str], object], messages: Sequence[str]) -> list[float]:
    out = []
    for m in messages:
        t0 = time.perf_counter()
        fn(m)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _measure(
    engine: Engine, naive: NaiveScanner, messages: list[str], baseline_n: int
) -> dict[str, float]:
    # Steady state, as in a running bot: the per-character folding table and RE2's lazily
    # built automata are filled once per process, so one pass warms them before timing.
    for m in messages:
        engine.check(m)
    t0 = time.perf_counter()
    lat = _time(engine.check, messages)
    elapsed = time.perf_counter() - t0
    base = _time(naive.scan, messages[:baseline_n])
    p99 = _p(lat, 0.99)
    base_p99 = _p(base, 0.99)
    return {
        "p50_ms": round(statistics.median(lat), 4),
        "p99_ms": round(p99, 4),
        "messages_per_s": round(len(lat) / elapsed, 1),
        "baseline_p99_ms": round(base_p99, 4),
        "speedup": round(base_p99 / p99, 1) if p99 > 0 else float("inf"),
    }


def run_bench(rules_dir: Path, messages: int = 400, seed: int = 1) -> dict[str, dict[str, float]]:
    rnd = random.Random(seed)
    source = read_rule_dir(rules_dir)
    engine = Engine(compile_rules(source))
    seeds = [t for r in source.rules for t in r.examples.scam + r.examples.benign]
    msgs = make_messages(rnd, messages, seeds)
    bundled = _measure(engine, NaiveScanner(source), msgs, baseline_n=min(messages, 100))

    synth = synthetic_source(source)
    synth_engine = Engine(compile_rules(synth))
    synth_seeds = [" ".join(rnd.sample(_EN, 3)) for _ in range(50)]
    msgs10k = make_messages(rnd, messages, synth_seeds)
    big = _measure(synth_engine, NaiveScanner(synth), msgs10k, baseline_n=min(messages, 15))
    return {"bundled": bundled, "synthetic_10k": big}
