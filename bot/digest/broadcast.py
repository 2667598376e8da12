"""Deliver the weekly digest to subscribers: due at their local time, at most once a week.

Owns: deciding who is due (the configured weekday and time in the subscriber's time zone),
letting one process of many broadcast (a database lock), claiming a per-week, per-subscriber
delivery row *before* sending (so another process, or this one after a crash, never sends it
twice), throttling under Telegram's limits and pausing on its "retry after", recording each
outcome (a subscriber who blocked the bot is made inactive), and logging progress. A restarted
broadcast resumes with whoever has no delivery row yet.

Sending is a callable handed in by the Telegram layer; this module knows nothing of Telegram.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digest.build import Digest, build_digest
from bot.digest.stats import week_bounds, week_id
from bot.engine import Engine
from bot.lang import LANGS, Lang
from bot.privacy import Sealer
from bot.settings import DigestSettings
from bot.storage.db import engine_of
from bot.storage.delivery import (
    BLOCKED,
    FAILED,
    SENT,
    Subscriber,
    active_count,
    already_claimed,
    claim_delivery,
    finish_delivery,
    finish_run,
    settle_unconfirmed,
    start_run,
    subscribers_after,
)
from bot.storage.locks import exclusive

log = logging.getLogger(__name__)

PAGE = 1000  # subscribers read per query
PROGRESS_SECONDS = 10.0
MAX_SLOWDOWNS = 5  # 429s for one subscriber before that delivery counts as failed


class Blocked(Exception):
    """The subscriber blocked the bot or removed it from the chat (Telegram's 403)."""


class SlowDown(Exception):
    """Telegram asked to wait (429) even after the sender's own retries."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


Send = Callable[[int, Digest], Awaitable[None]]


class _HasZone(Protocol):
    @property
    def timezone(self) -> str: ...
    @property
    def created_at(self) -> dt.datetime | None: ...


@dataclass
class BroadcastReport:
    due: int = 0
    sent: int = 0
    skipped: int = 0  # already claimed this week (by this or another process)
    blocked: int = 0
    failed: int = 0
    unconfirmed: int = 0  # left "claimed" by a process that stopped; never resent
    messages: int = 0  # Telegram messages sent (a digest is one or two)
    seconds: float = 0.0
    locked_out: bool = False  # another process holds the broadcast lock
    weeks: set[str] = field(default_factory=set)

    @property
    def rate(self) -> float:
        """Messages per second achieved."""
        return self.messages / self.seconds if self.seconds else 0.0


def _zone(name: str, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo(default)


def due_week(sub: _HasZone, settings: DigestSettings, now: dt.datetime) -> str | None:
    """The week whose digest is due for this subscriber now, or None before the local send time.
    The digest reports the week that has just ended. Someone who subscribed after this week's
    send time waits for the next one (``/digest`` shows the current digest at any time)."""
    tz = _zone(sub.timezone, settings.timezone)
    start, _ = week_bounds(week_id(now, tz), tz)
    hh, mm = (int(x) for x in settings.time.split(":"))
    local_start = start.astimezone(tz)
    send_at = (local_start + dt.timedelta(days=settings.weekday - 1)).replace(hour=hh, minute=mm)
    if now < send_at or (sub.created_at is not None and sub.created_at > send_at):
        return None
    return week_id(local_start - dt.timedelta(days=1), tz)


class _Throttle:
    """At most ``rate`` messages per second across the whole broadcast, paused on a 429."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.monotonic()

    async def wait(self, messages: int = 1) -> None:
        now = time.monotonic()
        if self.next > now:
            await asyncio.sleep(self.next - now)
        self.next = max(self.next, now) + messages * self.interval

    def pause(self, seconds: float) -> None:
        self.next = max(self.next, time.monotonic() + seconds)


async def broadcast(
    sessions: async_sessionmaker[AsyncSession],
    settings: DigestSettings,
    engine: Engine | None,
    sealer: Sealer,
    send: Send,
    *,
    now: dt.datetime | None = None,
    stop: asyncio.Event | None = None,
) -> BroadcastReport:
    """Send every due digest once. Safe to run at any time, in any number of processes: one of
    them holds the lock and sends; the others return at once with ``locked_out``."""
    report = BroadcastReport()
    async with exclusive(engine_of(sessions), "digest-broadcast") as mine:
        if not mine:
            report.locked_out = True
            return report
        # Holding the lock, no live process has a claim in flight: any "claimed" row is a
        # crashed process's, and whether Telegram got that message is unknowable.
        report.unconfirmed = await settle_unconfirmed(sessions)
        if report.unconfirmed:
            log.warning(
                "digest broadcast: %d deliveries were in flight when a process stopped; "
                "they are not resent (at most one digest each)",
                report.unconfirmed,
            )
        await _Broadcast(sessions, settings, engine, sealer, send, report, stop).run(
            now or dt.datetime.now(dt.UTC)
        )
    return report


class _Broadcast:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: DigestSettings,
        engine: Engine | None,
        sealer: Sealer,
        send: Send,
        report: BroadcastReport,
        stop: asyncio.Event | None,
    ) -> None:
        self.sessions, self.settings, self.engine = sessions, settings, engine
        self.sealer, self.send, self.report = sealer, send, report
        self.stop = stop or asyncio.Event()
        self.throttle = _Throttle(settings.rate_per_second)
        self.pool = asyncio.Semaphore(settings.concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.digests: dict[tuple[str, Lang], Digest] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.started = time.monotonic()
        self.last_log = self.started
        self.total = 0
        self.seen = 0

    async def run(self, now: dt.datetime) -> None:
        report = self.report
        self.total = await active_count(self.sessions)
        after = 0
        try:
            while not self.stop.is_set():
                page = await subscribers_after(self.sessions, after, PAGE)
                if not page:
                    break
                after = page[-1].id
                self.seen += len(page)
                by_week: dict[str, list[Subscriber]] = {}
                for sub in page:
                    week = due_week(sub, self.settings, now)
                    if week is not None:
                        by_week.setdefault(week, []).append(sub)
                for week, subs in by_week.items():
                    await self._week(week, subs, now)
        finally:
            # Sends already started finish and are recorded, even when stopping.
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
            report.seconds = time.monotonic() - self.started
        if not self.stop.is_set():
            for week in sorted(report.weeks):
                await finish_run(self.sessions, week)
        if report.sent or report.blocked or report.failed:
            self._progress(final=True)

    async def _week(self, week: str, subs: list[Subscriber], now: dt.datetime) -> None:
        report = self.report
        if week not in report.weeks:
            report.weeks.add(week)
            earlier = await start_run(self.sessions, week, self.owner)
            if earlier is not None and earlier.status != "done":
                log.info(
                    "digest %s: resuming the broadcast started %s; subscribers already "
                    "claimed are skipped",
                    week,
                    earlier.started_at.isoformat(timespec="seconds"),
                )
        report.due += len(subs)
        claimed = await already_claimed(self.sessions, week, (s.id for s in subs))
        report.skipped += len(claimed)
        for sub in subs:
            if self.stop.is_set():
                return
            if sub.id in claimed:
                continue
            lang: Lang = sub.lang if sub.lang in LANGS else "zh-hans"
            digest = await self._digest(week, lang, now)
            await self.pool.acquire()
            await self.throttle.wait(digest.messages)
            # Claimed only now, right before sending, so a crash strands at most the sends in
            # flight rather than a whole batch.
            if not await claim_delivery(self.sessions, week, sub.id):
                report.skipped += 1
                self.pool.release()
                continue
            task = asyncio.create_task(self._deliver(week, sub, digest))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            if time.monotonic() - self.last_log >= PROGRESS_SECONDS:
                self._progress()

    async def _digest(self, week: str, lang: Lang, now: dt.datetime) -> Digest:
        if (week, lang) not in self.digests:
            self.digests[(week, lang)] = await build_digest(
                self.sessions, self.settings, lang, self.engine, week=week, now=now
            )
        return self.digests[(week, lang)]

    async def _deliver(self, week: str, sub: Subscriber, digest: Digest) -> None:
        report = self.report
        try:
            status = FAILED
            for _ in range(MAX_SLOWDOWNS):
                try:
                    await self.send(self.sealer.open(sub.chat_sealed), digest)
                except SlowDown as exc:
                    log.warning("digest broadcast: Telegram asks to wait %.0f s", exc.retry_after)
                    self.throttle.pause(exc.retry_after)
                    await self.throttle.wait(digest.messages)
                    continue
                except Blocked:
                    status = BLOCKED
                except Exception as exc:  # noqa: BLE001 - one failure must not stop the rest
                    log.warning("digest delivery failed: %s", type(exc).__name__)
                else:
                    status = SENT
                break
            if status == SENT:
                report.sent += 1
                report.messages += digest.messages
            elif status == BLOCKED:
                report.blocked += 1
            else:
                report.failed += 1
            try:
                await finish_delivery(self.sessions, week, sub.id, status)
            except Exception as exc:  # noqa: BLE001 - the claim still stops a second copy
                log.error("digest delivery outcome not recorded: %s", type(exc).__name__)
        finally:
            self.pool.release()

    def _progress(self, *, final: bool = False) -> None:
        r = self.report
        self.last_log = time.monotonic()
        elapsed = max(self.last_log - self.started, 1e-9)
        log.info(
            "digest broadcast%s: %d sent, %d blocked, %d failed, %d had it already; "
            "%d of %d subscribers looked at; %.1f messages/s",
            " done" if final else "",
            r.sent,
            r.blocked,
            r.failed,
            r.skipped,
            self.seen,
            self.total,
            r.messages / elapsed,
        )
