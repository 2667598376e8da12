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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import engine_of
from bot.storage.hits import HitRecord, hit_rows, insert_hits
from bot.storage.models import Hit, ProcessedUpdate, utcnow

Sessions = async_sessionmaker[AsyncSession]
Claim = Literal["new", "retaken", "duplicate", "busy"]


async def claim_update(sessions: Sessions, update_id: int, owner: str, lease: float) -> Claim:
    """ "new"/"retaken": handle it; "duplicate": already answered; "busy": another worker is on
    it right now (answer 503 so that Telegram tries again later)."""
    # Core statements on a connection: this runs for every update, and the ORM's unit of work
    # costs more CPU than the database does here.
    engine = engine_of(sessions)
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    claim = (
        insert(ProcessedUpdate)
        .values(update_id=update_id, received_at=now, state="processing", owner=owner)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    # One statement, one round trip: no BEGIN/COMMIT around it (autocommit).
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if (await auto.execute(claim)).rowcount == 1:
            return "new"
    async with engine.begin() as conn:
        state = (
            await conn.execute(
                select(ProcessedUpdate.state).where(ProcessedUpdate.update_id == update_id)
            )
        ).scalar_one_or_none()
        if state is None or state == "done":
            return "duplicate"
        result = await conn.execute(
            update(ProcessedUpdate)
            .where(
                ProcessedUpdate.update_id == update_id,
                ProcessedUpdate.state == "processing",
                ProcessedUpdate.received_at < now - dt.timedelta(seconds=lease),
            )
            .values(owner=owner, received_at=now)
        )
        return "retaken" if result.rowcount else "busy"


async def finish_update(sessions: Sessions, update_id: int, hits: Sequence[HitRecord] = ()) -> None:
    """Mark the update answered, and store its hits in the same transaction: a worker killed
    after this loses nothing, and one killed before it gets the update redelivered."""
    engine = engine_of(sessions)
    done = update(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id)
    if engine.dialect.name == "postgresql":
        # One statement (the hits inserted in a CTE), one round trip, atomic on its own.
        stmt = done.values(state="done")
        if hits:
            new_hits = (
                postgresql.insert(Hit)
                .values(hit_rows(hits))
                .on_conflict_do_nothing(index_elements=["event_id"])
                .cte("new_hits")
            )
            stmt = stmt.add_cte(new_hits)
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(stmt)
        return
    async with engine.begin() as conn:
        await insert_hits(conn, hits)
        await conn.execute(done.values(state="done"))
