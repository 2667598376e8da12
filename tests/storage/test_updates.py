"""Webhook update claims: a redelivered update is answered once; one whose worker died is
taken over after the lease; one a live worker is answering is left to it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from bot.storage.db import database
from bot.storage.models import ProcessedUpdate
from bot.storage.updates import Claimed, claim_update, finish_update, release_update


def test_claims(db_url: str) -> None:
    async def go() -> list[str]:
        async with database(db_url) as sessions:
            seen = [
                (await claim_update(sessions, 1, "a", 30)).claim,  # new
                (await claim_update(sessions, 1, "b", 30)).claim,  # a is still on it
            ]
            # a died: its claim is older than the lease
            async with sessions() as s, s.begin():
                old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
                await s.execute(update(ProcessedUpdate).values(received_at=old))
            seen.append((await claim_update(sessions, 1, "b", 30)).claim)  # retaken by b
            await finish_update(sessions, 1)
            seen.append((await claim_update(sessions, 1, "c", 30)).claim)  # answered: duplicate
            return seen

    assert asyncio.run(go()) == ["new", "busy", "retaken", "duplicate"]


def test_an_update_that_could_not_be_answered_is_released_by_its_worker_only(
    db_url: str,
) -> None:
    async def go() -> list[str]:
        async with database(db_url) as sessions:
            seen = [(await claim_update(sessions, 4, "a", 30)).claim]
            await release_update(sessions, 4, "b")  # not b's claim: nothing changes
            seen.append((await claim_update(sessions, 4, "b", 30)).claim)
            await release_update(sessions, 4, "a")  # a could not answer: free at once
            seen.append((await claim_update(sessions, 4, "b", 30)).claim)
            await finish_update(sessions, 4)
            await release_update(sessions, 4, "b")  # an answered update stays answered
            seen.append((await claim_update(sessions, 4, "c", 30)).claim)
            return seen

    assert asyncio.run(go()) == ["new", "busy", "new", "duplicate"]


def test_a_server_restarting_is_connection_trouble_not_a_bad_record() -> None:
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from bot.storage.hits import _transient

    class Driver(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    starting_up = DBAPIError("INSERT", {}, Driver("57P03"))  # the database system is starting up
    shutting_down = DBAPIError("INSERT", {}, Driver("57P01"))  # terminated by administrator
    duplicate = IntegrityError("INSERT", {}, Driver("23505"))
    assert _transient(starting_up) and _transient(shutting_down)
    assert not _transient(duplicate)


def test_the_answered_mark_stores_the_hits_with_it(db_url: str) -> None:
    from sqlalchemy import func, select

    from bot.storage.hits import HitRecord
    from bot.storage.models import Hit, utcnow

    def hit(n: int) -> HitRecord:
        return HitRecord(
            created_at=utcnow(),
            rule_id="fake-courier-cs",
            rule_version=1,
            family="fake_customer_service",
            stages=("pretext",),
            furthest_stage="pretext",
            risk="high",
            lang="zh-hans",
            chat_type="private",
            input_kind="text",
            user_pseudonym=f"{n:064x}",
            domains=("example.com",),
        )

    async def go() -> tuple[int, str]:
        async with database(db_url) as sessions:
            assert (await claim_update(sessions, 7, "a", 30)).claim == "new"
            records = [hit(1), hit(2)]
            await finish_update(sessions, 7, records)
            await finish_update(sessions, 7, records)  # a retry stores nothing twice
            async with sessions() as s:
                n = (await s.execute(select(func.count()).select_from(Hit))).scalar_one()
                state = (await s.execute(select(ProcessedUpdate.state))).scalar_one()
            return int(n), str(state)

    assert asyncio.run(go()) == (2, "done")


def test_a_claim_reads_the_saved_language_and_group_mode_with_it(db_url: str) -> None:
    """What the handler needs comes with the claim, fresh from the database, so a worker
    never answers in a language the person changed through another worker."""
    from bot.storage.queries import set_chat_mode, set_preference

    alice, bob, group = "a" * 64, "b" * 64, "c" * 64

    async def go() -> list[Claimed]:
        async with database(db_url) as sessions:
            await set_preference(sessions, alice, lang="en", region="GB")
            await set_chat_mode(sessions, group, "quiet")
            first = await claim_update(sessions, 1, "w", 30, user=alice, chat=group)
            second = await claim_update(sessions, 2, "w", 30, user=bob)
            await set_preference(sessions, alice, lang="zh-hant", region="TW")
            third = await claim_update(sessions, 3, "w", 30, user=alice)
            again = await claim_update(sessions, 3, "w", 30, user=alice)
            return [first, second, third, again]

    first, second, third, again = asyncio.run(go())
    assert first == Claimed("new", True, "en", "GB", "quiet")
    assert second == Claimed("new", True, None, None, None)  # nothing saved
    assert (third.lang, third.region) == ("zh-hant", "TW")
    assert again.claim == "busy" and not again.prefetched


def test_a_claim_survives_the_database_dropping_the_workers_connections(pg_url: str) -> None:
    """After a PostgreSQL restart every pooled connection is dead; the first statement on one
    is tried again on a fresh connection instead of failing the update."""
    from tests.storage.conftest import _admin

    async def go() -> list[str]:
        async with database(pg_url) as sessions:
            seen = [(await claim_update(sessions, 1, "w", 30)).claim]
            # What a restart does to the worker's idle connections.
            name = make_url(pg_url).database
            await _admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            seen.append((await claim_update(sessions, 2, "w", 30)).claim)
            await finish_update(sessions, 2)
            seen.append((await claim_update(sessions, 2, "w", 30)).claim)
            return seen

    assert asyncio.run(go()) == ["new", "new", "duplicate"]


def test_a_claim_tried_again_after_it_committed_is_still_ours(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the connection drops after the claim committed, the statement runs again and finds
    the row: the same worker and the same moment mean it is our own claim, not a busy one."""
    import bot.storage.updates as updates

    moment = dt.datetime(2026, 11, 25, 6, 0, 0, 123456, tzinfo=dt.UTC)
    monkeypatch.setattr(updates, "utcnow", lambda: moment)

    async def go() -> list[str]:
        async with database(db_url) as sessions:
            return [
                (await claim_update(sessions, 5, "worker-a", 30)).claim,
                (await claim_update(sessions, 5, "worker-a", 30)).claim,  # the retry
                (await claim_update(sessions, 5, "worker-b", 30)).claim,  # someone else
            ]

    assert asyncio.run(go()) == ["new", "new", "busy"]
