"""State webhook workers share: flood counters per window, warn-once marks, a conversation's
carried conclusions; expired rows are invisible and purged, /forget removes a person's."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, update

from bot.storage import shared
from bot.storage.db import database
from bot.storage.models import SharedState
from bot.storage.queries import forget, purge_expired

ALICE, BOB = "a" * 64, "b" * 64


def test_counters_count_per_person_and_restart_after_their_window(db_url: str) -> None:
    async def go() -> list[int]:
        async with database(db_url) as sessions:
            got = [await shared.count(sessions, "message", ALICE, 30) for _ in range(3)]
            got.append(await shared.count(sessions, "message", BOB, 30))
            got.append(await shared.count(sessions, "button", ALICE, 30))  # another kind
            async with sessions() as s, s.begin():
                past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                await s.execute(update(SharedState).values(expires_at=past))
            got.append(await shared.count(sessions, "message", ALICE, 30))  # window over
            got.append(await shared.count(sessions, "message", ALICE, 30))
            return got

    assert asyncio.run(go()) == [1, 2, 3, 1, 1, 1, 2]


def test_a_mark_is_taken_once_until_released_or_expired(db_url: str) -> None:
    async def go() -> list[bool]:
        async with database(db_url) as sessions:
            got = [
                await shared.mark_once(sessions, "warned", ALICE, 5, 60),
                await shared.mark_once(sessions, "warned", ALICE, 5, 60),  # another worker
                await shared.mark_once(sessions, "warned", ALICE, 6, 60),  # another message
            ]
            await shared.unmark(sessions, "warned", ALICE, 5)  # the warning failed to go out
            got.append(await shared.mark_once(sessions, "warned", ALICE, 5, 60))
            async with sessions() as s, s.begin():
                past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                await s.execute(update(SharedState).values(expires_at=past))
            got.append(await shared.mark_once(sessions, "warned", ALICE, 5, 60))  # expired
            return got

    assert asyncio.run(go()) == [True, False, True, True, True]


def test_a_conversation_is_read_back_until_it_expires_then_purged(db_url: str) -> None:
    value = {"signals": [["fake-courier-cs", "pretext_refund"]], "messages": 1, "reply": 12}

    async def go() -> tuple[object, object, object, int, int]:
        async with database(db_url) as sessions:
            await shared.write(sessions, "conversation", ALICE, value, 60)
            first = await shared.read(sessions, "conversation", ALICE)
            await shared.write(sessions, "conversation", ALICE, value | {"messages": 2}, 60)
            second = await shared.read(sessions, "conversation", ALICE)
            async with sessions() as s, s.begin():
                past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                await s.execute(update(SharedState).values(expires_at=past))
            gone = await shared.read(sessions, "conversation", ALICE)
            purged = (await purge_expired(sessions, hit_days=30, report_days=90))["shared_state"]
            async with sessions() as s:
                left = (await s.execute(select(func.count()).select_from(SharedState))).scalar()
            return first, second, gone, purged, int(left or 0)

    first, second, gone, purged, left = asyncio.run(go())
    assert first == value and second == value | {"messages": 2}
    assert gone is None and purged == 1 and left == 0


def test_forget_removes_the_persons_shared_state(db_url: str) -> None:
    async def go() -> tuple[int, list[str]]:
        async with database(db_url) as sessions:
            await shared.count(sessions, "message", ALICE, 30)
            await shared.write(sessions, "conversation", ALICE, {"messages": 1}, 60)
            await shared.count(sessions, "message", BOB, 30)
            deleted = await forget(sessions, ALICE)
            async with sessions() as s:
                rows = (await s.execute(select(SharedState.pseudonym))).scalars().all()
            return deleted["shared_state"], list(rows)

    assert asyncio.run(go()) == (2, [BOB])
