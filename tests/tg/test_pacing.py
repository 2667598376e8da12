"""Flow control units: per-process flood buckets, and waiting on the database without
cancelling it halfway."""

from __future__ import annotations

import asyncio

import pytest

from bot.tg.pacing import FloodLimiter, within


def test_a_flood_bucket_allows_a_burst_warns_once_then_refills() -> None:
    limiter = FloodLimiter(burst=3, rate=0.5)
    seen = [limiter.check("a", now=0.0) for _ in range(6)]
    assert seen == ["ok", "ok", "ok", "warn", "drop", "drop"]
    assert limiter.check("b", now=0.0) == "ok"  # per person
    assert limiter.check("a", now=2.0) == "ok"  # one more after 1/rate seconds
    limiter.forget("a")
    assert limiter.check("a", now=2.0) == "ok"


def test_a_slow_read_gives_up_waiting_but_is_not_cancelled_halfway() -> None:
    finished: list[str] = []

    async def slow() -> str:
        await asyncio.sleep(0.3)
        finished.append("closed cleanly")
        return "late"

    async def go() -> None:
        with pytest.raises(TimeoutError):
            await within(slow(), 0.01)
        assert finished == []  # the caller moved on with its fallback ...
        await asyncio.sleep(0.6)
        assert finished == ["closed cleanly"]  # ... and the work still ran to its end
        assert await within(slow(), 5) == "late"

    asyncio.run(go())
