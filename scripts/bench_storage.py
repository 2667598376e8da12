"""Benchmark: hit write throughput (rows/s) and size on disk, on SQLite and PostgreSQL.

Usage:
  python scripts/bench_storage.py [--rows 1000000] [--batch 1000]
      [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Writes ``--rows`` synthetic hit records through the same HitWriter the bot uses, into a fresh
SQLite file and a fresh PostgreSQL database, and prints rows/s and the size on disk (the SQLite
file after a checkpoint; pg_total_relation_size of the hits table and its indexes).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage import HitRecord, HitWriter
from bot.storage.db import make_engine, session_factory, upgrade

FAMILIES = ["fake_customer_service", "order_brushing", "investment", "loan_credit", "romance"]


def records(n: int, seed: int = 1) -> list[HitRecord]:
    rnd = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out = []
    for i in range(n):
        fam = rnd.choice(FAMILIES)
        out.append(
            HitRecord(
                created_at=start + dt.timedelta(seconds=i * 7),
                rule_id=fam.replace("_", "-"),
                rule_version=rnd.randint(1, 5),
                family=fam,
                stages=("pretext", "offer"),
                furthest_stage="offer",
                risk=rnd.choice(["high", "medium", "low"]),
                lang=rnd.choice(["zh", "en"]),
                chat_type="private",
                input_kind="text",
                user_pseudonym=f"{rnd.getrandbits(256):064x}",
                domains=(f"scam{rnd.randint(1, 500)}.top",),
                event_id=str(uuid.UUID(int=rnd.getrandbits(128))),
            )
        )
    return out


async def write(url: str, rows: list[HitRecord], batch: int) -> float:
    await upgrade(url)
    engine = make_engine(url)
    writer = HitWriter(session_factory(engine), max_queue=len(rows) + 1, batch_size=batch)
    t0 = time.perf_counter()
    chunk = 10_000
    for i in range(0, len(rows), chunk):
        writer.record(rows[i : i + chunk])
        assert await writer.flush(), "database failed during the benchmark"
    elapsed = time.perf_counter() - t0
    await engine.dispose()
    return len(rows) / elapsed


async def sqlite_size(path: Path) -> int:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.connect() as conn:
        await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    await engine.dispose()
    return path.stat().st_size


async def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    a = ap.parse_args()
    rows = records(a.rows)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        rate = await write(f"sqlite+aiosqlite:///{path}", rows, a.batch)
        size = await sqlite_size(path)
        print(f"sqlite:     {rate:,.0f} rows/s; {a.rows:,} hits = {size / 2**20:,.1f} MiB on disk")

    admin = make_url(a.postgres).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"sentinel_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = make_url(a.postgres).set(database=name).render_as_string(hide_password=False)
    try:
        rate = await write(url, rows, a.batch)
        db = await asyncpg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        size = await db.fetchval("SELECT pg_total_relation_size('hits')")
        await db.close()
        print(f"postgresql: {rate:,.0f} rows/s; {a.rows:,} hits = {size / 2**20:,.1f} MiB on disk")
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
