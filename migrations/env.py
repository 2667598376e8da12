"""Alembic environment: async engine from the URL the app passes in (never from a file)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.storage.db import make_engine
from bot.storage.locks import lock_key, migrating
from bot.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    return str(url)


def run_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Every worker applies the migrations at start, and several may start at once:
            # the first to get this lock migrates, the others wait and then find nothing to
            # do (the lock ends with the transaction, which is the whole upgrade).
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("migrations")}
            )
        context.run_migrations()


async def run_online() -> None:
    engine = make_engine(_url(), command_timeout=None)
    try:
        async with migrating(engine):
            async with engine.connect() as connection:
                await connection.run_sync(_run)
                await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
