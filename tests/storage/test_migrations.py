"""Migrations build exactly the schema the models describe, and can be undone and redone."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.storage.db import downgrade_sync, make_engine, upgrade_sync
from bot.storage.models import Base


async def _diff_and_tables(url: str) -> tuple[list[object], set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def work(sync_conn: object) -> tuple[list[object], set[str]]:
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
                return compare_metadata(ctx, Base.metadata), set(
                    inspect(sync_conn).get_table_names()
                )

            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def test_upgrade_head_on_empty_database_matches_the_models(empty_db: str) -> None:
    upgrade_sync(empty_db)
    diff, tables = asyncio.run(_diff_and_tables(empty_db))
    assert diff == []
    assert set(Base.metadata.tables) <= tables


def test_downgrade_base_then_upgrade_head_again(empty_db: str) -> None:
    upgrade_sync(empty_db)
    downgrade_sync(empty_db, "base")
    _, tables = asyncio.run(_diff_and_tables(empty_db))
    assert tables <= {"alembic_version"}
    upgrade_sync(empty_db)
    diff, tables = asyncio.run(_diff_and_tables(empty_db))
    assert diff == [] and set(Base.metadata.tables) <= tables


def _upgrade_when_all_are_ready(url: str, barrier: Any) -> None:
    barrier.wait(timeout=60)
    upgrade_sync(url)


def test_workers_starting_together_apply_the_migrations_once(empty_db: str) -> None:
    # Every webhook worker applies the migrations at start; several start at the same moment
    # (a deploy, a restart of all containers). None may fail, and the schema must come out whole.
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(3)
    procs = [
        spawn.Process(target=_upgrade_when_all_are_ready, args=(empty_db, barrier))
        for _ in range(3)
    ]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    diff, tables = asyncio.run(_diff_and_tables(empty_db))
    assert diff == [] and set(Base.metadata.tables) <= tables


def test_the_plain_urls_operators_write_migrate_and_connect(empty_db: str) -> None:
    # "sqlite:///x.db", "postgresql://user@host/db": the bot picks its async driver itself.
    plain = empty_db.replace("+aiosqlite", "").replace("+asyncpg", "")
    assert "+" not in plain.split("://")[0]
    upgrade_sync(plain)

    async def tables() -> list[str]:
        engine = make_engine(plain)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: inspect(c).get_table_names())
        finally:
            await engine.dispose()

    assert "hits" in asyncio.run(tables())
