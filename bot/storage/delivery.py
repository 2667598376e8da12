"""Digest delivery bookkeeping: who subscribed, and which week each of them has been sent.

Owns: reading subscriptions a page at a time (a broadcast to 100,000 subscribers never holds
them all), the per-week, per-subscriber delivery row claimed *before* sending (its unique key
makes a digest at most once across processes and restarts), recording how each delivery ended,
and the per-week run record that lets a restarted broadcast say where it resumes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import DigestDelivery, DigestRun, Subscription, utcnow

Sessions = async_sessionmaker[AsyncSession]

# Delivery states. "unconfirmed": claimed by a process that stopped before it knew whether
# Telegram took the message; never resent, because a second copy is worse than a missing one.
CLAIMED, SENT, FAILED, BLOCKED, UNCONFIRMED = "claimed", "sent", "failed", "blocked", "unconfirmed"


@dataclass(frozen=True)
class Subscriber:
    id: int
    chat_sealed: str
    lang: str
    timezone: str
    created_at: dt.datetime


async def subscribers_after(sessions: Sessions, after_id: int, limit: int) -> list[Subscriber]:
    """Active subscriptions with an id above ``after_id``, in id order (keyset paging)."""
    async with sessions() as s:
        rows = await s.execute(
            select(
                Subscription.id,
                Subscription.chat_sealed,
                Subscription.lang,
                Subscription.timezone,
                Subscription.created_at,
            )
            .where(Subscription.active.is_(True), Subscription.id > after_id)
            .order_by(Subscription.id)
            .limit(limit)
        )
        return [Subscriber(*row) for row in rows]


async def active_count(sessions: Sessions) -> int:
    async with sessions() as s:
        q = select(func.count()).select_from(Subscription).where(Subscription.active.is_(True))
        return int((await s.execute(q)).scalar_one())


async def already_claimed(sessions: Sessions, week: str, ids: Iterable[int]) -> set[int]:
    """Which of these subscribers already have a delivery row for ``week``."""
    ids = list(ids)
    if not ids:
        return set()
    async with sessions() as s:
        rows = await s.execute(
            select(DigestDelivery.subscription_id).where(
                DigestDelivery.week == week, DigestDelivery.subscription_id.in_(ids)
            )
        )
        return set(rows.scalars())


async def claim_delivery(sessions: Sessions, week: str, subscription_id: int) -> bool:
    """Claim this week's digest for a subscriber before sending it. The unique (week,
    subscription) row makes this at most once, across processes and restarts."""
    try:
        async with sessions() as s, s.begin():
            s.add(
                DigestDelivery(
                    week=week, subscription_id=subscription_id, status=CLAIMED, claimed_at=utcnow()
                )
            )
        return True
    except IntegrityError:
        return False


async def finish_delivery(sessions: Sessions, week: str, subscription_id: int, status: str) -> None:
    """Record how a claimed delivery ended; a subscriber who blocked the bot becomes inactive."""
    async with sessions() as s, s.begin():
        await s.execute(
            update(DigestDelivery)
            .where(DigestDelivery.week == week, DigestDelivery.subscription_id == subscription_id)
            .values(status=status, sent_at=utcnow() if status == SENT else None)
        )
        if status == BLOCKED:
            await s.execute(
                update(Subscription).where(Subscription.id == subscription_id).values(active=False)
            )


async def settle_unconfirmed(sessions: Sessions) -> int:
    """Mark deliveries left "claimed" by a process that stopped as "unconfirmed". Call only while
    holding the broadcast lock: then no live process can have a claim in flight."""
    async with sessions() as s, s.begin():
        result = await s.execute(
            update(DigestDelivery)
            .where(DigestDelivery.status == CLAIMED)
            .values(status=UNCONFIRMED)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delivery_counts(sessions: Sessions, week: str) -> dict[str, int]:
    async with sessions() as s:
        rows = await s.execute(
            select(DigestDelivery.status, func.count())
            .where(DigestDelivery.week == week)
            .group_by(DigestDelivery.status)
        )
        return {status: int(n) for status, n in rows.all()}


async def start_run(sessions: Sessions, week: str, owner: str) -> DigestRun | None:
    """Record that ``owner`` is broadcasting ``week``. Returns the earlier run if this resumes
    one that did not finish, else None."""
    try:
        return await _start_run(sessions, week, owner)
    except IntegrityError:
        # Another broadcast inserted this week's run between our read and our insert (only
        # possible if the broadcast lock was lost): that row is now there, so take it over.
        return await _start_run(sessions, week, owner)


async def _start_run(sessions: Sessions, week: str, owner: str) -> DigestRun | None:
    async with sessions() as s, s.begin():
        run = (
            await s.execute(select(DigestRun).where(DigestRun.week == week))
        ).scalar_one_or_none()
        if run is None:
            s.add(DigestRun(week=week, started_at=utcnow(), owner=owner, status="running"))
            return None
        earlier = DigestRun(
            week=run.week,
            started_at=run.started_at,
            finished_at=run.finished_at,
            owner=run.owner,
            status=run.status,
        )
        run.owner, run.status, run.finished_at = owner, "running", None
        return earlier


async def finish_run(sessions: Sessions, week: str) -> None:
    async with sessions() as s, s.begin():
        await s.execute(
            update(DigestRun)
            .where(DigestRun.week == week)
            .values(status="done", finished_at=utcnow())
        )
