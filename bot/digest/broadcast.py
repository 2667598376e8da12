"""Deliver the weekly digest to subscribers: due at their local time, at most once a week.

Owns: deciding who is due (the configured weekday and time in the subscriber's time zone),
claiming a per-week, per-subscriber delivery row *before* sending (so another process, or this
one after a crash, never sends it twice), throttling under Telegram's limits, and recording the
outcome (sent, failed, or blocked: a subscriber who blocked the bot is made inactive).

Sending is a callable handed in by the Telegram layer; this module knows nothing of Telegram.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digest.build import Digest, build_digest
from bot.digest.stats import week_bounds, week_id
from bot.engine import Engine
from bot.lang import LANGS, Lang
from bot.privacy import Sealer
from bot.settings import DigestSettings
from bot.storage.models import Subscription
from bot.storage.queries import active_subscriptions, claim_delivery, finish_delivery

log = logging.getLogger(__name__)


class Blocked(Exception):
    """The subscriber blocked the bot or removed it from the chat (Telegram's 403)."""


Send = Callable[[int, Digest], Awaitable[None]]


@dataclass
class BroadcastReport:
    due: int = 0
    sent: int = 0
    skipped: int = 0  # already claimed this week (by this or another process)
    blocked: int = 0
    failed: int = 0


def due_week(sub: Subscription, settings: DigestSettings, now: dt.datetime) -> str | None:
    """The week whose digest is due for this subscriber now, or None before the local send time."""
    try:
        tz = ZoneInfo(sub.timezone)
    except (KeyError, ValueError):
        tz = ZoneInfo(settings.timezone)
    week = week_id(now, tz)
    start, _ = week_bounds(week, tz)
    hh, mm = (int(x) for x in settings.time.split(":"))
    local_start = start.astimezone(tz)
    send_at = (local_start + dt.timedelta(days=settings.weekday - 1)).replace(hour=hh, minute=mm)
    # The digest reports the week that has just ended.
    previous = week_id(local_start - dt.timedelta(days=1), tz)
    return previous if now >= send_at else None


class _Throttle:
    """At most ``rate`` sends per second across the whole broadcast."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        if self.next > now:
            await asyncio.sleep(self.next - now)
        self.next = max(self.next, now) + self.interval


async def broadcast(
    sessions: async_sessionmaker[AsyncSession],
    settings: DigestSettings,
    engine: Engine | None,
    sealer: Sealer,
    send: Send,
    *,
    now: dt.datetime | None = None,
    rate: float = 25.0,
) -> BroadcastReport:
    """Send every due digest once. Safe to run again at any time, in any number of processes."""
    now = now or dt.datetime.now(dt.UTC)
    report = BroadcastReport()
    digests: dict[tuple[str, Lang], Digest] = {}
    throttle = _Throttle(rate)
    for sub in await active_subscriptions(sessions):
        week = due_week(sub, settings, now)
        if week is None:
            continue
        report.due += 1
        if not await claim_delivery(sessions, week, sub.id):
            report.skipped += 1
            continue
        lang: Lang = sub.lang if sub.lang in LANGS else "zh-hans"
        if (week, lang) not in digests:
            digests[(week, lang)] = await build_digest(
                sessions, settings, lang, engine, week=week, now=now
            )
        await throttle.wait()
        try:
            await send(sealer.open(sub.chat_sealed), digests[(week, lang)])
        except Blocked:
            report.blocked += 1
            await finish_delivery(sessions, week, sub.id, "blocked")
            continue
        except Exception as exc:  # noqa: BLE001 - one subscriber's failure must not stop the rest
            report.failed += 1
            log.warning("digest delivery failed: %s", type(exc).__name__)
            await finish_delivery(sessions, week, sub.id, "failed")
            continue
        report.sent += 1
        await finish_delivery(sessions, week, sub.id, "sent")
        if report.sent % 1000 == 0:
            log.info("digest broadcast: %d sent so far", report.sent)
    if report.due:
        log.info("digest broadcast done: %s", report)
    return report
