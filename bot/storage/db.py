"""Database connections and migrations.

Owns: turning the one database URL from the settings into an async engine and session
factory, applying Alembic migrations (at start, or by ``python -m bot db upgrade``), and
redacting passwords from URLs before anything logs them.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Row, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

ROOT = Path(__file__).resolve().parent.parent.parent
MIGRATIONS = ROOT / "migrations"


def redact_url(url: str) -> str:
    """The URL with its password hidden, for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL must not leak through the error
        return "(unparseable database URL)"


# The async driver the bot runs each database with.
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
_SPELLINGS = "sqlite:///path/to/sentinel.db or postgresql://user:password@host:5432/db"


def async_url(url: str) -> str:
    """``url`` with the async driver the bot uses: operators write ``sqlite:///x.db``,
    ``postgresql://user@host/db`` or ``postgres://…``, which SQLAlchemy would open with a
    blocking driver and refuse ("The asyncio extension requires an async driver"). A URL
    naming another driver, or another database, is refused with the spelling that works."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a URL; write {_SPELLINGS}")
    # Only the scheme changes: the rest (a password, a path, ":memory:") is kept as written.
    scheme = {"postgres": "postgresql+asyncpg", "postgresql": "postgresql+asyncpg"}.get(
        scheme, "sqlite+aiosqlite" if scheme == "sqlite" else scheme
    )
    try:
        parsed = make_url(f"{scheme}://{rest}")
    except ArgumentError:
        # The URL itself is not repeated: it may hold a password.
        raise ValueError("cannot be read; write it as scheme://user@host/db") from None
    backend = parsed.get_backend_name()
    want = _ASYNC_DRIVERS.get(backend)
    if want is None:
        # Named only when it looks like a scheme: a malformed URL may have a password there.
        named = f"{scheme}://…" if re.fullmatch(r"[a-z][a-z0-9+.-]{0,30}", scheme) else "it"
        raise ValueError(f"Sentinel cannot use {named}; write {_SPELLINGS}")
    if parsed.get_driver_name() != want:
        raise ValueError(
            f"Sentinel talks to {backend} through {want}; write "
            f"{backend}://… or {backend}+{want}://… (not {scheme}://…)"
        )
    return f"{scheme}://{rest}"


def make_engine(url: str, *, command_timeout: float | None = 10) -> AsyncEngine:
    """An engine for ``url`` (see ``async_url``). On PostgreSQL a statement gives up after
    ``command_timeout`` seconds (None: never, for migrations, which may wait for another
    process's and may build an index on a large table)."""
    try:
        url = async_url(url)
    except ValueError as exc:
        raise ValueError(f"database URL: {exc}") from None
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: errors must not carry row values (pseudonyms, report text) into logs.
        engine = create_async_engine(url, connect_args={"timeout": 5}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets the digest read while checks write; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        hide_parameters=True,
        # A server that silently went away must not hang a query for minutes.
        connect_args={"timeout": 5, "command_timeout": command_timeout},
    )


# One autocommit sibling per engine, made on first use (see ``single_statement``).
_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def _autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    sibling = _AUTOCOMMIT.get(engine)
    if sibling is None:
        sibling = create_async_engine(
            engine.url,
            # Autocommit is set once per connection, and without pre-ping or a rollback on
            # return a statement costs one round trip instead of four (BEGIN, ping, ROLLBACK).
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=False,
            pool_reset_on_return=None,
            # With the main pool's 5 + 5, a worker holds at most 26 connections: three
            # workers stay under PostgreSQL's default max_connections of 100 (README, Scaling).
            pool_size=10,
            max_overflow=6,
            hide_parameters=True,
            connect_args={"timeout": 5, "command_timeout": 10},
        )
        _AUTOCOMMIT[engine] = sibling
    return sibling


async def single_statement(
    engine: AsyncEngine, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> list[Row[Any]]:
    """Run one self-contained SQL statement (the driver's own parameter style) in autocommit
    and return its rows: for the statements each webhook update runs on PostgreSQL.

    A connection the database dropped (it restarted) is noticed on use; the statement is then
    tried once more on a fresh one, so a restart costs no request."""
    sibling = _autocommit_engine(engine)
    for attempt in (1, 2):
        try:
            async with sibling.connect() as conn:
                result = await conn.exec_driver_sql(sql, params)
                return list(result.fetchall()) if result.returns_rows else []
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections (and its autocommit sibling's, if it made one)."""
    sibling = _AUTOCOMMIT.pop(engine, None)
    if sibling is not None:
        await sibling.dispose()
    await engine.dispose()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine a session factory is bound to (for locks and single-statement writes)."""
    bind = sessions.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind


@asynccontextmanager
async def database(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await dispose(engine)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade_sync(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply pending migrations (Alembic runs its own event loop, so use a thread)."""
    await asyncio.to_thread(upgrade_sync, url, revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await asyncio.to_thread(downgrade_sync, url, revision)
