"""Anonymized hit records and the resilient writer that stores them.

Owns: turning a verdict into the facts we keep (never the text), and getting those facts into
the database even when it is briefly away. ``HitWriter.record`` never blocks and never raises,
so a database outage never costs a user their warning; records wait in a bounded queue and are
written in order when the database returns. Each record carries a unique event id and is
inserted with "on conflict do nothing", so a batch retried after an uncertain commit is not
written twice. Past the bound the oldest waiting record is dropped, and that is logged and
counted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.engine import Verdict
from bot.engine.verdict import RuleRef
from bot.storage.models import Hit, utcnow

log = logging.getLogger(__name__)

ChatType = Literal["private", "group"]
InputKind = Literal["text", "photo", "link", "qr"]


@dataclass(frozen=True, slots=True)
class HitRecord:
    """What we store about one check. Built only from the verdict and a pseudonym."""

    created_at: dt.datetime
    rule_id: str | None
    rule_version: int | None
    family: str | None
    stages: tuple[str, ...]
    furthest_stage: str | None
    risk: str
    lang: str
    chat_type: str
    input_kind: str
    user_pseudonym: str
    domains: tuple[str, ...]
    shadow: bool = False
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def hits_from_verdict(
    verdict: Verdict,
    *,
    user_pseudonym: str,
    lang: str,
    chat_type: ChatType,
    input_kind: InputKind,
    now: dt.datetime | None = None,
) -> list[HitRecord]:
    """The records for one check: the shown verdict (risk ``none`` too: every check counts)
    and one per ``testing`` rule that would have fired (counted, never shown)."""
    now = now or utcnow()

    def record(
        rule: RuleRef, risk: str, stages: tuple[str, ...], furthest: str | None, shadow: bool
    ) -> HitRecord:
        return HitRecord(
            created_at=now,
            rule_id=rule.id,
            rule_version=rule.version,
            family=rule.family,
            stages=stages,
            furthest_stage=furthest,
            risk=risk,
            lang=lang,
            chat_type=chat_type,
            input_kind=input_kind,
            user_pseudonym=user_pseudonym,
            domains=verdict.domains,
            shadow=shadow,
        )

    out: list[HitRecord] = []
    if verdict.rule is not None and verdict.risk != "none":
        furthest = verdict.furthest_stage.id if verdict.furthest_stage else None
        stages = tuple(s.id for s in verdict.stages)
        out.append(record(verdict.rule, verdict.risk, stages, furthest, False))
    else:
        # Every check leaves a record, so the digest can say how many checks there were.
        out.append(
            HitRecord(
                created_at=now,
                rule_id=None,
                rule_version=None,
                family=None,
                stages=(),
                furthest_stage=None,
                risk="none",
                lang=lang,
                chat_type=chat_type,
                input_kind=input_kind,
                user_pseudonym=user_pseudonym,
                domains=verdict.domains,
            )
        )
    out.extend(record(s.rule, s.risk, (), None, True) for s in verdict.shadow)
    return out


def hit_rows(records: Sequence[HitRecord]) -> list[dict[str, object]]:
    rows = []
    for r in records:
        row = asdict(r)
        row["stages"] = list(r.stages)
        row["domains"] = list(r.domains)
        rows.append(row)
    return rows


async def insert_hits(
    session: AsyncSession | AsyncConnection, records: Sequence[HitRecord]
) -> None:
    """Insert, skipping records already stored (same event id): retries are idempotent."""
    if not records:
        return
    if isinstance(session, AsyncConnection):
        dialect = session.dialect.name
    else:
        dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One compiled statement executed with many parameter sets: SQLAlchemy batches these into
    # multi-row inserts without compiling a new statement per batch.
    stmt = insert(Hit).on_conflict_do_nothing(index_elements=["event_id"])
    await session.execute(stmt, hit_rows(records))


# PostgreSQL error classes that mean "the server is not there right now", not "bad record":
# 08 connection exception, 57P operator intervention (shutdown, restarting, starting up),
# 53 insufficient resources, 40001/40P01 serialization failure and deadlock.
_TRANSIENT_SQLSTATE = ("08", "57P", "53", "40001", "40P01")


def _sqlstate(exc: BaseException) -> str:
    for candidate in (getattr(exc, "orig", None), exc.__cause__):
        for inner in (candidate, getattr(candidate, "__cause__", None)):
            code = getattr(inner, "sqlstate", None) or getattr(inner, "pgcode", None)
            if isinstance(code, str):
                return code
    return ""


def _transient(exc: BaseException) -> bool:
    """Connection trouble (retry later) rather than a record the database refuses."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if _sqlstate(exc).startswith(_TRANSIENT_SQLSTATE):
        return True
    return not isinstance(exc, StatementError | ValueError | TypeError)


@dataclass
class WriterStats:
    queued: int = 0
    written: int = 0
    dropped: int = 0
    rejected: int = 0
    failures: int = 0
    healthy: bool = True


class HitWriter:
    """Buffered, ordered, idempotent writes of hit records."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_queue: int = 10_000,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        retry_max: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_max = retry_max
        self._queue: collections.deque[HitRecord] = collections.deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False  # set by stop(): the loop ends at its next step
        self._task: asyncio.Task[None] | None = None
        self._in_flight = 0  # records taken out of the queue and being written
        self.stats = WriterStats()

    def record(self, records: HitRecord | Sequence[HitRecord]) -> None:
        """Queue records for writing. Never blocks, never raises."""
        items = [records] if isinstance(records, HitRecord) else list(records)
        for item in items:
            if len(self._queue) >= self.max_queue:
                self._queue.popleft()
                self.stats.dropped += 1
                if self.stats.dropped == 1 or self.stats.dropped % 1000 == 0:
                    log.error(
                        "hit queue full (%d): dropped the oldest waiting hit; %d dropped so far",
                        self.max_queue,
                        self.stats.dropped,
                    )
            self._queue.append(item)
        self.stats.queued = len(self._queue)
        self._wake.set()

    async def discard(self, user_pseudonym: str) -> int:
        """Drop waiting records of one person (for /forget). Waits for a batch being written,
        so afterwards nothing of theirs is waiting or in flight: delete their rows next."""
        async with self._lock:
            before = len(self._queue)
            kept = [r for r in self._queue if r.user_pseudonym != user_pseudonym]
            self._queue.clear()
            self._queue.extend(kept)
            self.stats.queued = len(self._queue)
            return before - len(self._queue)

    @property
    def pending(self) -> int:
        """Records not yet written: waiting, or in a batch being written."""
        return len(self._queue) + self._in_flight

    async def flush(self) -> bool:
        """Write everything queued, oldest first. False if the database failed (records stay)."""
        async with self._lock:
            while self._queue:
                # Take the batch out while it is written: record() may drop the oldest waiting
                # record meanwhile, and must not drop one that is in flight.
                batch = [
                    self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))
                ]
                self._in_flight = len(batch)
                try:
                    async with self.sessions() as session, session.begin():
                        await insert_hits(session, batch)
                except Exception as exc:  # noqa: BLE001 - any database fault: keep and retry
                    if not _transient(exc):
                        # One bad record must not block every later one: write them one by
                        # one and set aside (log, count) those the database refuses.
                        await self._write_one_by_one(batch)
                        continue
                    self._queue.extendleft(reversed(batch))
                    self.stats.failures += 1
                    if self.stats.healthy:
                        log.warning(
                            "database unavailable, %d hits waiting: %s",
                            len(self._queue),
                            type(exc).__name__,
                        )
                    self.stats.healthy = False
                    self.stats.queued = len(self._queue)
                    return False
                finally:
                    self._in_flight = 0
                self.stats.written += len(batch)
                if not self.stats.healthy:
                    log.warning("database back; writing waiting hits")
                self.stats.healthy = True
            self.stats.queued = 0
            return True

    async def _write_one_by_one(self, batch: list[HitRecord]) -> None:
        for item in batch:
            try:
                async with self.sessions() as session, session.begin():
                    await insert_hits(session, [item])
                self.stats.written += 1
            except Exception as exc:  # noqa: BLE001 - classify, then keep or set aside
                if _transient(exc):
                    self._queue.appendleft(item)
                    return
                self.stats.rejected += 1
                log.error(
                    "a hit record was refused by the database and set aside: %s", type(exc).__name__
                )

    async def run(self) -> None:
        """Background loop: flush on new records or every interval; after a failure, wait the
        whole back-off (new records do not trigger retries against a database that is away)."""
        delay = self.flush_interval
        while True:
            try:
                if delay > self.flush_interval:
                    await asyncio.sleep(delay)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=delay)
                if self._stopping:
                    # Python 3.11's wait_for returns instead of raising when the cancel comes
                    # as the event is set (python/cpython#86296): the flag ends the loop then.
                    return
                self._wake.clear()
                ok = await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hit writer loop failed; continuing")
                ok = False
            delay = self.flush_interval if ok else min(max(delay * 2, 0.5), self.retry_max)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="hit-writer")

    async def stop(self) -> None:
        """Stop the loop and make one last attempt to write what is waiting."""
        if self._task is not None:
            # A batch being written is let finish first: cancelled mid-write, it would be in
            # neither the queue nor the database.
            async with self._lock:
                self._stopping = True
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            self._stopping = False
        if self._queue and not await self.flush():
            log.error(
                "stopping with %d hits not written: the database is unavailable", self.pending
            )
