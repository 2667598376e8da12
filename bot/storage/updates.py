"""Which Telegram updates a webhook worker has taken, so a redelivered update is answered once.

Owns: claiming an update id before handling it ("processing", with the worker and the time),
marking it "done" after the answer went out, and taking over an update whose worker has not
finished it within a lease (the worker died; Telegram redelivered it elsewhere).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.hits import HitRecord, insert_hits
from bot.storage.models import ProcessedUpdate, utcnow

Sessions = async_sessionmaker[AsyncSession]
Claim = Literal["new", "retaken", "duplicate", "busy"]


async def claim_update(sessions: Sessions, update_id: int, owner: str, lease: float) -> Claim:
    """ "new"/"retaken": handle it; "duplicate": already answered; "busy": another worker is on
    it right now (answer 503 so that Telegram tries again later)."""
    try:
        async with sessions() as s, s.begin():
            s.add(
                ProcessedUpdate(
                    update_id=update_id, received_at=utcnow(), state="processing", owner=owner
                )
            )
        return "new"
    except IntegrityError:
        pass
    async with sessions() as s, s.begin():
        row = (
            await s.execute(select(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id))
        ).scalar_one_or_none()
        if row is None or row.state == "done":
            return "duplicate"
        cutoff = utcnow() - dt.timedelta(seconds=lease)
        result = await s.execute(
            update(ProcessedUpdate)
            .where(
                ProcessedUpdate.update_id == update_id,
                ProcessedUpdate.state == "processing",
                ProcessedUpdate.received_at < cutoff,
            )
            .values(owner=owner, received_at=utcnow())
        )
        return "retaken" if result.rowcount else "busy"  # type: ignore[attr-defined]


async def finish_update(sessions: Sessions, update_id: int, hits: Sequence[HitRecord] = ()) -> None:
    """Mark the update answered, and store its hits in the same transaction: a worker killed
    after this loses nothing, and one killed before it gets the update redelivered."""
    async with sessions() as s, s.begin():
        await insert_hits(s, hits)
        await s.execute(
            update(ProcessedUpdate)
            .where(ProcessedUpdate.update_id == update_id)
            .values(state="done")
        )
