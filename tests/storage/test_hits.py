"""Hits are written in order, exactly once, and survive a database outage."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.engine import Engine
from bot.storage import HitRecord, HitWriter, hits_from_verdict
from bot.storage.db import make_engine, session_factory
from bot.storage.models import Hit


def record(i: int, when: dt.datetime | None = None) -> HitRecord:
    return HitRecord(
        created_at=when
        or dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
        rule_id="fake-courier-cs",
        rule_version=1,
        family="fake_customer_service",
        stages=("pretext", "compensation"),
        furthest_stage="compensation",
        risk="high",
        lang="zh",
        chat_type="private",
        input_kind="text",
        user_pseudonym=f"{i:064x}",
        domains=("jd-lipei.cn",),
    )


def unreachable(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite+aiosqlite:////proc/no-such-dir/sentinel.db"
    return "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"


async def stored(url: str) -> list[Hit]:
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as s:
            return list((await s.execute(select(Hit).order_by(Hit.id))).scalars())
    finally:
        await engine.dispose()


def test_records_are_written_in_order_with_aware_utc_times(db_url: str) -> None:
    async def go() -> list[Hit]:
        engine = make_engine(db_url)
        writer = HitWriter(session_factory(engine), batch_size=7)
        writer.record([record(i) for i in range(20)])
        assert await writer.flush()
        await engine.dispose()
        return await stored(db_url)

    rows = asyncio.run(go())
    assert [r.user_pseudonym for r in rows] == [f"{i:064x}" for i in range(20)]
    assert rows[0].created_at == dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    assert rows[0].stages == ["pretext", "compensation"] and rows[0].domains == ["jd-lipei.cn"]


def test_an_outage_loses_nothing_and_duplicates_nothing(db_url: str) -> None:
    async def go() -> list[Hit]:
        good = make_engine(db_url)
        bad = create_async_engine(unreachable(db_url), connect_args={"timeout": 1})
        writer = HitWriter(session_factory(good), batch_size=10, flush_interval=0.05)
        writer.start()
        writer.record([record(i) for i in range(0, 30)])
        for _ in range(1200):  # written (waited for: a busy machine takes longer)
            if writer.pending == 0:
                break
            await asyncio.sleep(0.05)
        # The database goes away mid-run: checks go on, hits wait.
        writer.sessions = session_factory(bad)
        writer.record([record(i) for i in range(30, 60)])
        for _ in range(1200):
            if not writer.stats.healthy:
                break
            await asyncio.sleep(0.05)
        assert writer.pending == 30 and not writer.stats.healthy
        # It returns: everything waiting is written, once, in order.
        writer.sessions = session_factory(good)
        writer.record([record(i) for i in range(60, 70)])
        # After failures the writer backs off before trying again: on a busy machine the last
        # hits may take seconds to go out. Waited for, not timed.
        for _ in range(1200):
            if writer.pending == 0:
                break
            await asyncio.sleep(0.05)
        await writer.stop()
        await bad.dispose()
        await good.dispose()
        return await stored(db_url)

    rows = asyncio.run(go())
    assert [r.user_pseudonym for r in rows] == [f"{i:064x}" for i in range(70)]


def test_a_retried_batch_is_not_written_twice(db_url: str) -> None:
    async def go() -> int:
        engine = make_engine(db_url)
        batch = [record(i) for i in range(5)]
        writer = HitWriter(session_factory(engine))
        writer.record(batch)
        await writer.flush()
        writer.record(batch)  # as if the first commit's outcome had been lost
        await writer.flush()
        async with session_factory(engine)() as s:
            n = (await s.execute(select(func.count()).select_from(Hit))).scalar_one()
        await engine.dispose()
        return int(n)

    assert asyncio.run(go()) == 5


def test_past_the_bound_the_oldest_are_dropped_and_that_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def go() -> HitWriter:
        bad = create_async_engine(unreachable("sqlite"))
        writer = HitWriter(session_factory(bad), max_queue=100)
        with caplog.at_level(logging.ERROR):
            writer.record([record(i) for i in range(150)])
        await bad.dispose()
        return writer

    writer = asyncio.run(go())
    assert writer.pending == 100 and writer.stats.dropped == 50
    assert "dropped the oldest" in caplog.text


def test_testing_rules_produce_shadow_hits(db_url: str, engine: Engine) -> None:
    verdict = engine.check(
        "您好，我是快递理赔专员，您的包裹丢失了，我们三倍理赔，请加客服微信办理。"
    )
    recs = hits_from_verdict(
        verdict, user_pseudonym="a" * 64, lang="zh", chat_type="private", input_kind="text"
    )
    assert recs and not recs[0].shadow and recs[0].family == "fake_customer_service"
    assert recs[0].stages[0] == "pretext"


def test_forgetting_drops_waiting_records_too() -> None:
    async def go() -> HitWriter:
        bad = create_async_engine(unreachable("sqlite"))
        writer = HitWriter(session_factory(bad))
        writer.record([record(1), record(2), record(1)])
        assert await writer.discard(f"{1:064x}") == 2
        await bad.dispose()
        return writer

    writer = asyncio.run(go())
    assert writer.pending == 1


def test_forgetting_during_a_write_loses_no_one_elses_hits(db_url: str) -> None:
    """A /forget that arrives while a batch is being written waits for it, then removes only
    that person's waiting hits; nobody else's hit is lost or duplicated."""

    async def go() -> list[Hit]:
        engine = make_engine(db_url)
        writer = HitWriter(session_factory(engine), batch_size=3)
        alice = f"{1:064x}"
        writer.record([record(1), record(2), record(1), record(3), record(4), record(5)])
        flushing = asyncio.create_task(writer.flush())
        await asyncio.sleep(0)  # the first batch is in flight
        await writer.discard(alice)
        await flushing
        assert await writer.flush()
        await engine.dispose()
        return await stored(db_url)

    rows = asyncio.run(go())
    others = [r.user_pseudonym for r in rows if r.user_pseudonym != f"{1:064x}"]
    assert others == [f"{i:064x}" for i in (2, 3, 4, 5)]


def test_a_record_the_database_refuses_does_not_block_the_others(db_url: str) -> None:
    async def go() -> tuple[list[Hit], HitWriter]:
        engine = make_engine(db_url)
        writer = HitWriter(session_factory(engine), batch_size=10)
        bad = dataclasses.replace(record(2), created_at=dt.datetime(2026, 11, 20, 12, 0))  # naive
        writer.record([record(1), bad, record(3)])
        assert await writer.flush()
        await engine.dispose()
        return await stored(db_url), writer

    rows, writer = asyncio.run(go())
    assert [r.user_pseudonym for r in rows] == [f"{1:064x}", f"{3:064x}"]
    assert writer.stats.rejected == 1 and writer.pending == 0


class _SlowSession:
    """A session that takes a moment to open, so a batch is caught in flight."""

    def __init__(self, inner: object, started: asyncio.Event) -> None:
        self.inner, self.started = inner, started

    async def __aenter__(self) -> object:
        self.started.set()
        await asyncio.sleep(0.3)
        return await self.inner.__aenter__()  # type: ignore[attr-defined]

    async def __aexit__(self, *exc: object) -> object:
        return await self.inner.__aexit__(*exc)  # type: ignore[attr-defined]


def test_stopping_while_a_batch_is_written_loses_none_of_it(db_url: str) -> None:
    """A shutdown that comes while hits are being written waits for them: they are counted as
    pending until written, and all of them are in the database afterwards."""

    async def go() -> list[Hit]:
        good = make_engine(db_url)
        sessions = session_factory(good)
        started = asyncio.Event()
        writer = HitWriter(
            lambda: _SlowSession(sessions(), started),  # type: ignore[arg-type, return-value]
            batch_size=10,
            flush_interval=0.05,
        )
        writer.start()
        writer.record([record(i) for i in range(10)])
        await started.wait()
        assert writer.pending == 10  # in flight, not yet written
        await writer.stop()
        await good.dispose()
        return await stored(db_url)

    rows = asyncio.run(go())
    assert [r.user_pseudonym for r in rows] == [f"{i:064x}" for i in range(10)]


@pytest.mark.parametrize("steps", range(6))
def test_stopping_just_as_a_hit_arrives_still_stops_and_writes_it(db_url: str, steps: int) -> None:
    """A shutdown that comes a few event-loop steps after a new hit (the writer is waking up
    for it) ends, with the hit written. Python 3.11's wait_for can swallow a cancel that
    arrives at that moment: the bot then hung in its shutdown for ever."""

    async def go() -> list[Hit]:
        engine = make_engine(db_url)
        writer = HitWriter(session_factory(engine), flush_interval=30)
        writer.start()
        await asyncio.sleep(0.05)  # the writer waits for hits
        writer.record([record(1)])
        for _ in range(steps):
            await asyncio.sleep(0)
        stopping = asyncio.create_task(writer.stop())
        done, _ = await asyncio.wait([stopping], timeout=10)
        assert done, "the hit writer did not stop"
        await engine.dispose()
        return await stored(db_url)

    rows = asyncio.run(go())
    assert [r.user_pseudonym for r in rows] == [f"{1:064x}"]
