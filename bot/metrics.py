"""Prometheus metrics of one bot process, served on ``/metrics`` in webhook mode.

Owns: the metric names and labels. Labels never carry personal data: risk levels, rule
families and ids, outcomes. Counters live for the process; Prometheus sums the workers.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

CHECKS = Counter(
    "sentinel_checks",
    "Messages checked, by risk and scam family",
    ["risk", "family"],
    registry=REGISTRY,
)
CHECK_SECONDS = Histogram(
    "sentinel_check_seconds",
    "Time the engine took for one check",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
UPDATE_SECONDS = Histogram(
    "sentinel_update_seconds",
    "Time from receiving a webhook update to acknowledging it (the reply sent)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
UPDATES = Counter(
    "sentinel_webhook_updates", "Webhook updates by outcome", ["outcome"], registry=REGISTRY
)
UNREADABLE_UPDATES = Counter(
    "sentinel_updates_unreadable",
    "Updates python-telegram-bot cannot read (a newer or odd shape): skipped, both modes",
    registry=REGISTRY,
)
TELEGRAM_RESPONSES = Counter(
    "sentinel_telegram_responses",
    "Bot API answers by status class: ok, 429 (rate limited), 4xx, 5xx",
    ["status"],
    registry=REGISTRY,
)
REPLIES = Counter("sentinel_replies_sent", "Messages the bot sent", registry=REGISTRY)
RULE_VERSION = Gauge(
    "sentinel_rule_version", "Version of each rule in force", ["rule"], registry=REGISTRY
)


# Database errors outside the hit writer, by what was being done ("claim", "mark", ...).
# Both known operations start at 0, so that a rate alert sees the first error.
_database_errors: Tally[str] = Tally({"claim": 0, "mark": 0})


def database_error(operation: str) -> None:
    """Count a failed database operation (a fixed name, never data) for /metrics."""
    _database_errors[operation] += 1


class WriterCollector(Collector):
    """Hit-writer figures read at scrape time: queued hits, database errors, dropped hits."""

    def __init__(self, stats: Callable[[], tuple[int, int, int, int]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        queued, failures, dropped, rejected = self.stats()
        yield GaugeMetricFamily("sentinel_hits_queued", "Hits waiting to be written", queued)
        errors = CounterMetricFamily(
            "sentinel_database_errors",
            "Failed database operations: hit writes (the hits wait and are retried), update "
            "claims (the update is answered anyway), answered marks",
            labels=["operation"],
        )
        errors.add_metric(["hits"], failures)
        for operation, n in sorted(_database_errors.items()):
            errors.add_metric([operation], n)
        yield errors
        yield CounterMetricFamily(
            "sentinel_hits_dropped", "Hits dropped because the waiting queue was full", dropped
        )
        yield CounterMetricFamily(
            "sentinel_hits_rejected", "Hit records the database refused", rejected
        )


_writer: WriterCollector | None = None


def watch_writer(stats: Callable[[], tuple[int, int, int, int]]) -> None:
    """Report this process's hit writer (the last one registered wins)."""
    global _writer
    if _writer is not None:
        REGISTRY.unregister(_writer)
    _writer = WriterCollector(stats)
    REGISTRY.register(_writer)


def set_rule_versions(versions: dict[str, int]) -> None:
    RULE_VERSION.clear()
    for rule, version in versions.items():
        RULE_VERSION.labels(rule).set(version)


def render() -> bytes:
    return generate_latest(REGISTRY)
