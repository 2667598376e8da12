"""Locks that let one process of many run a job (the digest broadcast, the retention purge),
and keep processes from applying migrations at the same time.

Owns: ``exclusive(engine, name)``. On PostgreSQL it is a session advisory lock held on a
connection of its own, so a crashed or killed holder releases it the moment its connection
drops. SQLite is only ever shared by processes on one host, so there it is an advisory file
lock beside the database file (released by the kernel when the holder dies). An in-memory
SQLite database lives in one process; an asyncio lock is enough there.

Owns: ``migrating(engine)``, which serialises processes migrating one SQLite file.
(PostgreSQL's migrations take an advisory lock in their own transaction: migrations/env.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_local: dict[str, asyncio.Lock] = {}


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(
        hashlib.sha256(f"sentinel:{name}".encode()).digest()[:8], "big", signed=True
    )


@asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Yield True if this process now holds the lock ``name``, False if another one does.
    Never waits: a job that finds the lock taken has nothing to do."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        async with engine.connect() as conn:
            key = lock_key(name)
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            await conn.commit()
            try:
                yield got
            finally:
                if got:
                    # If the connection is gone, so is the lock: nothing to release.
                    with contextlib.suppress(Exception):
                        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                        await conn.commit()
        return
    database = url.database
    if not database or database == ":memory:":
        lock = _local.setdefault(name, asyncio.Lock())
        if lock.locked():
            yield False
            return
        async with lock:
            yield True
        return
    with _file_lock(Path(f"{database}.{name}.lock"), wait=False) as got:
        yield got


@asynccontextmanager
async def migrating(engine: AsyncEngine) -> AsyncIterator[None]:
    """Wait until no other process is migrating this SQLite file, and hold it off while we
    do. Nothing on PostgreSQL (its lock is taken inside the migration's transaction) and for
    an in-memory database (one process)."""
    url = engine.url
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    # Waiting blocks the thread: Alembic runs the migrations on an event loop of its own.
    with _file_lock(Path(f"{database}.migrations.lock"), wait=True):
        yield


@contextlib.contextmanager
def _file_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    """An flock on ``path``: True once held; without ``wait``, False at once if another
    process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
