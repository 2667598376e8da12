"""Short-lived state that webhook workers share (the ``shared_state`` table).

Owns: a person's update count per flood window, "warned once" marks (a group message warned
about must not be warned about again by another worker, e.g. after an edit), and the carried
conclusions of a forwarded conversation in progress. Each operation is one statement on a
connection of its own (autocommit), so workers never wait on each other's transactions.
Readers ignore expired rows; the retention purge deletes them. Callers fall back to their own
per-process state when the database does not answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, and_, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import engine_of
from bot.storage.models import SharedState, utcnow

Sessions = async_sessionmaker[AsyncSession]
T: Table = SharedState.__table__  # type: ignore[assignment]


def _insert(sessions: Sessions) -> Any:
    name = engine_of(sessions).dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(T)


async def _one(sessions: Sessions, statement: Any) -> Any:
    """Run one statement on its own autocommit connection; its first row, if it returns rows."""
    async with engine_of(sessions).connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        result = await auto.execute(statement)
        return result.first() if result.returns_rows else None


def _key(kind: str, pseudonym: str, slot: int) -> Any:
    return and_(T.c.kind == kind, T.c.pseudonym == pseudonym, T.c.slot == slot)


async def count(sessions: Sessions, kind: str, pseudonym: str, window: float) -> int:
    """Add one to the person's counter and return it. A counter lives ``window`` seconds from
    its first count, then starts again at 1: a burst is counted whole, whenever it starts."""
    now = utcnow()
    ins = _insert(sessions).values(
        kind=kind,
        pseudonym=pseudonym,
        slot=0,
        count=1,
        expires_at=now + dt.timedelta(seconds=window),
    )
    expired = T.c.expires_at < now
    statement = ins.on_conflict_do_update(
        index_elements=["kind", "pseudonym", "slot"],
        set_={
            "count": case((expired, 1), else_=T.c.count + 1),
            "expires_at": case((expired, ins.excluded.expires_at), else_=T.c.expires_at),
        },
    ).returning(T.c.count)
    row = await _one(sessions, statement)
    return int(row[0])


async def mark_once(sessions: Sessions, kind: str, pseudonym: str, slot: int, ttl: float) -> bool:
    """True for the first caller to mark this key (or the first after its mark expired)."""
    now = utcnow()
    ins = _insert(sessions).values(
        kind=kind, pseudonym=pseudonym, slot=slot, expires_at=now + dt.timedelta(seconds=ttl)
    )
    statement = ins.on_conflict_do_update(
        index_elements=["kind", "pseudonym", "slot"],
        set_={"expires_at": ins.excluded.expires_at},
        where=T.c.expires_at < now,
    ).returning(T.c.slot)
    return await _one(sessions, statement) is not None


async def unmark(sessions: Sessions, kind: str, pseudonym: str, slot: int) -> None:
    """Take a mark back (the warning it stood for could not be sent)."""
    await _one(sessions, delete(T).where(_key(kind, pseudonym, slot)))


async def read(sessions: Sessions, kind: str, pseudonym: str) -> Any | None:
    """The value kept under this key, or None when there is none or it expired."""
    row = await _one(
        sessions,
        select(T.c.value).where(_key(kind, pseudonym, 0), T.c.expires_at >= utcnow()),
    )
    return None if row is None else row[0]


async def write(sessions: Sessions, kind: str, pseudonym: str, value: Any, ttl: float) -> None:
    """Keep ``value`` (JSON: counts and names, never message text) for ``ttl`` seconds."""
    expires = utcnow() + dt.timedelta(seconds=ttl)
    ins = _insert(sessions).values(
        kind=kind, pseudonym=pseudonym, slot=0, value=value, expires_at=expires
    )
    statement = ins.on_conflict_do_update(
        index_elements=["kind", "pseudonym", "slot"],
        set_={"value": ins.excluded.value, "expires_at": ins.excluded.expires_at},
    )
    await _one(sessions, statement)
