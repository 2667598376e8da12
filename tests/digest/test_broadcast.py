"""Delivery: due at the subscriber's local time, at most once per subscriber per week, even with
two broadcasts at once or a crash halfway; a subscriber who blocked the bot becomes inactive."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import warnings

from sqlalchemy import select

from bot.digest.broadcast import Blocked, BroadcastReport, SlowDown, _Broadcast, broadcast, due_week
from bot.digest.build import Digest
from bot.privacy import Sealer
from bot.settings import load_settings
from bot.storage.db import database
from bot.storage.delivery import active_count, start_run
from bot.storage.models import DigestDelivery, DigestRun, Subscription
from bot.storage.queries import subscribe
from tests.conftest import ROOT

SEALER = Sealer(b"k" * 32)
SETTINGS = load_settings(ROOT / "config.yaml", environ={}).digest  # Monday 09:00 Asia/Shanghai
FAST = SETTINGS.model_copy(update={"rate_per_second": 1000.0})
MONDAY_AFTER = dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai
LAST_WEEK = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)


def test_due_at_local_time_and_reports_the_week_just_ended() -> None:
    sub = Subscription(timezone="Asia/Shanghai", created_at=LAST_WEEK)
    assert due_week(sub, SETTINGS, dt.datetime(2026, 11, 23, 0, 59, tzinfo=dt.UTC)) is None
    assert due_week(sub, SETTINGS, MONDAY_AFTER) == "2026-W47"
    assert due_week(sub, SETTINGS, MONDAY_AFTER + dt.timedelta(days=3)) == "2026-W47"
    london = Subscription(timezone="Europe/London", created_at=LAST_WEEK)
    assert due_week(london, SETTINGS, MONDAY_AFTER) is None  # still Monday 01:30 there


def test_someone_who_subscribed_after_the_send_time_waits_for_next_week() -> None:
    wednesday = MONDAY_AFTER + dt.timedelta(days=2)
    sub = Subscription(timezone="Asia/Shanghai", created_at=wednesday)
    assert due_week(sub, SETTINGS, wednesday + dt.timedelta(hours=1)) is None
    assert due_week(sub, SETTINGS, MONDAY_AFTER + dt.timedelta(days=7)) == "2026-W48"


async def _subscribers(sessions: object, n: int) -> None:
    for chat_id in range(1, n + 1):
        await subscribe(
            sessions,  # type: ignore[arg-type]
            chat_pseudonym=f"{chat_id:064x}",
            chat_sealed=SEALER.seal(chat_id),
            chat_type="private",
            lang="en" if chat_id % 2 else "zh-hans",
            timezone="Asia/Shanghai",
            now=LAST_WEEK,
        )


def test_each_subscriber_once_and_blocked_ones_become_inactive(db_url: str) -> None:
    sent: list[int] = []

    async def send(chat_id: int, digest: Digest) -> None:
        if chat_id == 3:
            raise Blocked
        assert "<b>" in digest.html and digest.chart_png[:4] == b"\x89PNG"
        sent.append(chat_id)

    async def go() -> tuple[BroadcastReport, BroadcastReport, int]:
        async with database(db_url) as sessions:
            await _subscribers(sessions, 5)
            first = await broadcast(sessions, FAST, None, SEALER, send, now=MONDAY_AFTER)
            again = await broadcast(sessions, FAST, None, SEALER, send, now=MONDAY_AFTER)
            return first, again, await active_count(sessions)

    first, again, active = asyncio.run(go())
    assert sorted(sent) == [1, 2, 4, 5]
    assert first.sent == 4 and first.blocked == 1 and first.weeks == {"2026-W47"}
    assert again.sent == 0 and again.skipped == 4  # the blocked one is no longer a subscriber
    assert active == 4


def test_a_second_process_finds_the_broadcast_locked_and_nobody_gets_two(db_url: str) -> None:
    sent: list[int] = []

    async def send(chat_id: int, digest: Digest) -> None:
        await asyncio.sleep(0.005)
        sent.append(chat_id)

    async def go() -> list[BroadcastReport]:
        async with database(db_url) as a, database(db_url) as b:
            await _subscribers(a, 20)
            return list(
                await asyncio.gather(
                    broadcast(a, FAST, None, SEALER, send, now=MONDAY_AFTER),
                    broadcast(b, FAST, None, SEALER, send, now=MONDAY_AFTER),
                )
            )

    reports = asyncio.run(go())
    assert sorted(sent) == list(range(1, 21))
    assert sorted(r.locked_out for r in reports) == [False, True]


def test_claims_alone_keep_each_digest_single_when_two_broadcasts_overlap(db_url: str) -> None:
    # Should the lock ever be lost (a database restart drops PostgreSQL's advisory lock), the
    # per-subscriber claim still stops a second copy.
    sent: list[int] = []

    async def send(chat_id: int, digest: Digest) -> None:
        await asyncio.sleep(0.001)
        sent.append(chat_id)

    async def go() -> None:
        async with database(db_url) as a, database(db_url) as b:
            await _subscribers(a, 30)
            runs = [
                _Broadcast(s, FAST, None, SEALER, send, BroadcastReport(), None).run(MONDAY_AFTER)
                for s in (a, b)
            ]
            await asyncio.gather(*runs)

    asyncio.run(go())
    assert sorted(sent) == list(range(1, 31))


def test_broadcasts_starting_the_same_week_at_once_both_go_on(db_url: str) -> None:
    # Without the lock, two processes may both find no run for the week and both insert one;
    # the loser must take the row over instead of failing its whole broadcast.
    async def go() -> list[object]:
        async with database(db_url) as a, database(db_url) as b:
            starts = [
                start_run(s, f"2026-W{n:02d}", f"p{i}")
                for n in range(1, 21)
                for i, s in enumerate((a, b))
            ]
            results = await asyncio.gather(*starts)
            async with a() as s:
                runs = (await s.execute(select(DigestRun))).scalars().all()
            assert sorted(r.week for r in runs) == [f"2026-W{n:02d}" for n in range(1, 21)]
            return list(results)

    results = asyncio.run(go())
    # Each week: one start found nothing, the other took over the first one's run.
    assert sum(r is None for r in results) == 20


def test_a_crash_halfway_then_a_restart_nobody_gets_two(db_url: str) -> None:
    sent: list[int] = []
    hung = asyncio.Event()

    async def dies_on_the_fifth(chat_id: int, digest: Digest) -> None:
        if len(sent) == 4:
            hung.set()
            await asyncio.Event().wait()  # the process dies while this send is in flight
        sent.append(chat_id)

    async def fine(chat_id: int, digest: Digest) -> None:
        sent.append(chat_id)

    one_at_a_time = FAST.model_copy(update={"concurrency": 1})

    async def go() -> BroadcastReport:
        async with database(db_url) as sessions:
            await _subscribers(sessions, 10)
            task = asyncio.create_task(
                broadcast(
                    sessions, one_at_a_time, None, SEALER, dies_on_the_fifth, now=MONDAY_AFTER
                )
            )
            await hung.wait()
            while not task.done():  # abrupt: nothing gets to finish or record anything
                task.cancel()
                await asyncio.sleep(0)
        async with database(db_url) as sessions:  # a new process
            report = await broadcast(sessions, FAST, None, SEALER, fine, now=MONDAY_AFTER)
            async with sessions() as s:
                statuses = sorted(
                    (await s.execute(select(DigestDelivery.status))).scalars(), reverse=True
                )
                runs = (await s.execute(select(DigestRun.status))).scalars().all()
            assert statuses == ["unconfirmed"] + ["sent"] * 9
            assert runs == ["done"]
            return report

    report = asyncio.run(go())
    assert len(sent) == len(set(sent))  # nobody twice
    # The one in flight at the crash was claimed: at most once means it is not resent.
    assert sorted(sent) == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert report.unconfirmed == 1 and report.skipped == 5 and report.sent == 5


def test_a_graceful_stop_loses_nobody(db_url: str) -> None:
    sent: list[int] = []
    stop = asyncio.Event()

    async def send(chat_id: int, digest: Digest) -> None:
        if chat_id == 4:
            stop.set()  # shutdown requested while this send is in flight
        await asyncio.sleep(0.01)
        sent.append(chat_id)

    async def go() -> tuple[BroadcastReport, BroadcastReport]:
        async with database(db_url) as sessions:
            await _subscribers(sessions, 10)
            first = await broadcast(sessions, FAST, None, SEALER, send, now=MONDAY_AFTER, stop=stop)
            second = await broadcast(sessions, FAST, None, SEALER, send, now=MONDAY_AFTER)
            return first, second

    first, second = asyncio.run(go())
    assert sorted(sent) == list(range(1, 11))
    assert 4 <= first.sent < 10 and first.sent + second.sent == 10
    assert second.unconfirmed == 0


def test_telegram_asking_to_wait_pauses_the_broadcast_and_the_digest_still_arrives_once(
    db_url: str,
) -> None:
    starts: list[tuple[int, float]] = []
    sent: list[int] = []
    asked = False

    async def send(chat_id: int, digest: Digest) -> None:
        nonlocal asked
        starts.append((chat_id, time.monotonic()))
        if chat_id == 2 and not asked:
            asked = True
            raise SlowDown(0.3)
        sent.append(chat_id)

    async def go() -> BroadcastReport:
        async with database(db_url) as sessions:
            await _subscribers(sessions, 4)
            settings = FAST.model_copy(update={"concurrency": 1})
            return await broadcast(sessions, settings, None, SEALER, send, now=MONDAY_AFTER)

    report = asyncio.run(go())
    assert sorted(sent) == [1, 2, 3, 4] and report.sent == 4
    refused = next(at for chat, at in starts if chat == 2)
    after = [at for chat, at in starts if at > refused]
    assert after and min(after) - refused >= 0.3  # nothing was sent while Telegram said wait


def test_telegrams_retry_after_reaches_the_broadcast_as_a_pause() -> None:
    import pytest
    from telegram.error import RetryAfter
    from telegram.warnings import PTBDeprecationWarning

    from bot.tg.sending import DigestSender

    class Bot:
        async def send_photo(self, *args: object, **kwargs: object) -> object:
            with warnings.catch_warnings():  # PTB's own notice about the attribute's type
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                error = RetryAfter(dt.timedelta(seconds=3))
            raise error

    digest = Digest(stats=None, html="<b>short</b>", chart_png=b"\x89PNG")  # type: ignore[arg-type]
    with pytest.raises(SlowDown) as caught:
        asyncio.run(DigestSender(Bot())(42, digest))  # type: ignore[arg-type]
    assert caught.value.retry_after == 3
