"""Which Telegram updates a webhook worker has taken, so a redelivered update is answered once.

Owns: claiming an update id before handling it ("processing", with the worker and the time),
marking it "done" after the answer went out, releasing it when no answer could be sent, and
taking over an update whose worker has not
finished it within a lease (the worker died; Telegram redelivered it elsewhere). The claim also
reads what the update's handler will need from the database — the sender's saved language and
region, the group's mode — so that a worker keeps no cache another worker could make stale.

On PostgreSQL each of claim and finish is one statement, one round trip: they run for every
update, and at hundreds of updates a second the round trips and SQLAlchemy's per-statement work
were most of a worker's CPU.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.storage.db import engine_of, single_statement
from bot.storage.hits import HitRecord, hit_rows, insert_hits
from bot.storage.models import ChatSetting, Hit, ProcessedUpdate, UserPref, utcnow

Sessions = async_sessionmaker[AsyncSession]
Claim = Literal["new", "retaken", "duplicate", "busy"]


@dataclass(frozen=True)
class Claimed:
    """The claim, and (for "new" updates) what was read with it. ``lang`` None: the person
    chose no language; ``mode`` None: the group chose no mode."""

    claim: Claim
    prefetched: bool = False
    lang: str | None = None
    region: str | None = None
    mode: str | None = None


_CLAIM_PG = """
WITH claim AS (
    INSERT INTO processed_updates (update_id, received_at, state, owner)
    VALUES ($1, $2, 'processing', $3)
    ON CONFLICT (update_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM claim),
       p.lang, p.region,
       (SELECT mode FROM chat_settings WHERE chat_pseudonym = $5)
FROM (SELECT 1) AS one
LEFT JOIN user_prefs AS p ON p.user_pseudonym = $4
"""


def _hits_insert_pg() -> str:
    """The hits of an update inserted from one JSON parameter, columns and types taken from the
    model: one statement text whatever the number of hits (so it is prepared once)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = [c for c in Hit.__table__.columns if c.name != "id"]
    names = ", ".join(c.name for c in columns)
    types = ", ".join(f"{c.name} {c.type.compile(dialect=dialect)}" for c in columns)
    return (
        f"INSERT INTO hits ({names}) SELECT {names} FROM json_to_recordset($2::json) AS r({types}) "
        "ON CONFLICT (event_id) DO NOTHING"
    )


_FINISH_PG = (
    "WITH done AS (UPDATE processed_updates SET state = 'done' WHERE update_id = $1) "
    + _hits_insert_pg()
)


def _hits_json(hits: Sequence[HitRecord]) -> str:
    rows = hit_rows(hits)
    for row in rows:
        created = row["created_at"]
        assert isinstance(created, dt.datetime)
        row["created_at"] = created.isoformat()
    return json.dumps(rows, ensure_ascii=False)


async def claim_update(
    sessions: Sessions,
    update_id: int,
    owner: str,
    lease: float,
    *,
    user: str | None = None,
    chat: str | None = None,
) -> Claimed:
    """ "new"/"retaken": handle it; "duplicate": already answered; "busy": another worker is on
    it right now (answer 503 so that Telegram tries again later). ``user``/``chat`` are the
    pseudonyms whose language and group mode are read with a "new" claim."""
    engine = engine_of(sessions)
    now = utcnow()
    if engine.dialect.name == "postgresql":
        rows = await single_statement(engine, _CLAIM_PG, (update_id, now, owner, user, chat))
        claimed, lang, region, mode = tuple(rows[0])
        if claimed:
            return Claimed("new", True, lang, region, mode)
    else:
        claim = (
            sqlite.insert(ProcessedUpdate)
            .values(update_id=update_id, received_at=now, state="processing", owner=owner)
            .on_conflict_do_nothing(index_elements=["update_id"])
        )
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if (await auto.execute(claim)).rowcount == 1:
                return await _read_context(auto, user, chat)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(
                    ProcessedUpdate.state, ProcessedUpdate.owner, ProcessedUpdate.received_at
                ).where(ProcessedUpdate.update_id == update_id)
            )
        ).first()
        if row is None or row.state == "done":
            return Claimed("duplicate")
        if row.owner == owner and row.received_at == now:
            # Our own claim: the connection dropped after the INSERT committed and the
            # statement was tried again (see single_statement).
            return Claimed("new")
        result = await conn.execute(
            update(ProcessedUpdate)
            .where(
                ProcessedUpdate.update_id == update_id,
                ProcessedUpdate.state == "processing",
                ProcessedUpdate.received_at < now - dt.timedelta(seconds=lease),
            )
            .values(owner=owner, received_at=now)
        )
        return Claimed("retaken" if result.rowcount else "busy")


async def _read_context(conn: AsyncConnection, user: str | None, chat: str | None) -> Claimed:
    lang = region = mode = None
    if user is not None:
        row = (
            await conn.execute(
                select(UserPref.lang, UserPref.region).where(UserPref.user_pseudonym == user)
            )
        ).first()
        if row is not None:
            lang, region = row
    if chat is not None:
        mode = (
            await conn.execute(select(ChatSetting.mode).where(ChatSetting.chat_pseudonym == chat))
        ).scalar_one_or_none()
    return Claimed("new", True, lang, region, mode)


async def release_update(sessions: Sessions, update_id: int, owner: str) -> None:
    """Give up our claim on an update we could not answer, so that Telegram's next delivery
    of it is handled at once (by any worker) instead of after the lease."""
    engine = engine_of(sessions)
    async with engine.begin() as conn:
        await conn.execute(
            delete(ProcessedUpdate).where(
                ProcessedUpdate.update_id == update_id,
                ProcessedUpdate.state == "processing",
                ProcessedUpdate.owner == owner,
            )
        )


async def finish_update(sessions: Sessions, update_id: int, hits: Sequence[HitRecord] = ()) -> None:
    """Mark the update answered, and store its hits in the same transaction: a worker killed
    after this loses nothing, and one killed before it gets the update redelivered."""
    engine = engine_of(sessions)
    if engine.dialect.name == "postgresql":
        # One statement (the mark in a CTE), one round trip, atomic on its own.
        await single_statement(engine, _FINISH_PG, (update_id, _hits_json(hits)))
        return
    done = update(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id)
    async with engine.begin() as conn:
        await insert_hits(conn, hits)
        await conn.execute(done.values(state="done"))
