"""Delivery: due at the subscriber's local time, at most once per subscriber per week, even with
two broadcasts at once or a crash halfway; a subscriber who blocked the bot becomes inactive."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.digest.broadcast import Blocked, broadcast, due_week
from bot.digest.build import Digest
from bot.privacy import Sealer
from bot.settings import load_settings
from bot.storage.db import database
from bot.storage.models import Subscription
from bot.storage.queries import active_subscriptions, subscribe
from tests.conftest import ROOT

SEALER = Sealer(b"k" * 32)
SETTINGS = load_settings(ROOT / "config.yaml", environ={}).digest  # Monday 09:00 Asia/Shanghai
MONDAY_AFTER = dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai


def test_due_at_local_time_and_reports_the_week_just_ended() -> None:
    sub = Subscription(timezone="Asia/Shanghai")
    assert due_week(sub, SETTINGS, dt.datetime(2026, 11, 23, 0, 59, tzinfo=dt.UTC)) is None
    assert due_week(sub, SETTINGS, MONDAY_AFTER) == "2026-W47"
    london = Subscription(timezone="Europe/London")
    assert due_week(london, SETTINGS, MONDAY_AFTER) is None  # still Monday 01:30 there


async def _subscribers(sessions: object, n: int) -> None:
    for chat_id in range(1, n + 1):
        await subscribe(
            sessions,  # type: ignore[arg-type]
            chat_pseudonym=f"{chat_id:064x}",
            chat_sealed=SEALER.seal(chat_id),
            chat_type="private",
            lang="en" if chat_id % 2 else "zh-hans",
            timezone="Asia/Shanghai",
        )


def test_each_subscriber_once_and_blocked_ones_become_inactive(db_url: str) -> None:
    sent: list[int] = []

    async def send(chat_id: int, digest: Digest) -> None:
        if chat_id == 3:
            raise Blocked
        assert "<b>" in digest.html and digest.chart_png[:4] == b"\x89PNG"
        sent.append(chat_id)

    async def go() -> tuple[object, object, int]:
        async with database(db_url) as sessions:
            await _subscribers(sessions, 5)
            first = await broadcast(
                sessions, SETTINGS, None, SEALER, send, now=MONDAY_AFTER, rate=1000
            )
            again = await broadcast(
                sessions, SETTINGS, None, SEALER, send, now=MONDAY_AFTER, rate=1000
            )
            return first, again, len(await active_subscriptions(sessions))

    first, again, active = asyncio.run(go())
    assert sorted(sent) == [1, 2, 4, 5]
    assert first.sent == 4 and first.blocked == 1  # type: ignore[attr-defined]
    assert again.sent == 0 and again.skipped == 4  # type: ignore[attr-defined]
    assert active == 4


def test_two_broadcasts_at_once_send_each_digest_once(db_url: str) -> None:
    sent: list[int] = []

    async def send(chat_id: int, digest: Digest) -> None:
        await asyncio.sleep(0.001)
        sent.append(chat_id)

    async def go() -> None:
        async with database(db_url) as a, database(db_url) as b:
            await _subscribers(a, 20)
            await asyncio.gather(
                broadcast(a, SETTINGS, None, SEALER, send, now=MONDAY_AFTER, rate=1000),
                broadcast(b, SETTINGS, None, SEALER, send, now=MONDAY_AFTER, rate=1000),
            )

    asyncio.run(go())
    assert sorted(sent) == list(range(1, 21))


class Crash(BaseException):
    pass


def test_a_crash_halfway_then_a_restart_nobody_gets_two(db_url: str) -> None:
    sent: list[int] = []

    async def crashing(chat_id: int, digest: Digest) -> None:
        if len(sent) == 4:
            raise Crash  # the process dies while sending the fifth
        sent.append(chat_id)

    async def fine(chat_id: int, digest: Digest) -> None:
        sent.append(chat_id)

    async def go() -> None:
        async with database(db_url) as sessions:
            await _subscribers(sessions, 10)
            with pytest.raises(Crash):
                await broadcast(
                    sessions, SETTINGS, None, SEALER, crashing, now=MONDAY_AFTER, rate=1000
                )
        async with database(db_url) as sessions:  # a new process
            await broadcast(sessions, SETTINGS, None, SEALER, fine, now=MONDAY_AFTER, rate=1000)

    asyncio.run(go())
    assert len(sent) == len(set(sent))  # nobody twice
    # The one being sent at the crash was claimed: at most once means it is not retried.
    assert len(sent) == 9 and 5 not in sent
