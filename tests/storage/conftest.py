"""Every storage test runs on SQLite and on a real PostgreSQL, each in a fresh database.

PostgreSQL comes from SENTINEL_TEST_POSTGRES_URL (default: the local server, database
``test``). With CI set, an unreachable PostgreSQL fails the run; elsewhere its half skips.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.storage.db import upgrade_sync

PG_URL = os.environ.get(
    "SENTINEL_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _pg_dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(PG_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh_pg() -> Iterator[str]:
    name = f"sentinel_t_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if os.environ.get("CI"):
            pytest.fail(
                f"PostgreSQL at {make_url(PG_URL).render_as_string()} is required in CI: {exc}"
            )
        pytest.skip(f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string()}: {exc}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh, empty database (no tables)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sentinel.db'}"
    else:
        yield from fresh_pg()


@pytest.fixture
def db_url(empty_db: str) -> str:
    """A URL to a fresh database with every migration applied."""
    upgrade_sync(empty_db)
    return empty_db


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database with every migration applied (for multi-process tests)."""
    for url in fresh_pg():
        upgrade_sync(url)
        yield url
