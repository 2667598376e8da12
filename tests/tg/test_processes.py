"""Real bot processes (``python -m bot run``) against one PostgreSQL and the emulator: the weekly
digest reaches every subscriber exactly once, with two processes running, and when the
broadcasting process is killed halfway and started again."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from bot.emulator import BotApiEmulator
from bot.privacy import Pseudonymizer, Sealer
from bot.storage.db import database
from bot.storage.models import DigestDelivery, utcnow
from bot.storage.queries import subscribe
from tests.storage.conftest import pg_url
from tests.tg.conftest import TOKEN, bot_subprocess

__all__ = ["pg_url"]

KEY = "k" * 64


@contextmanager
def bot_process(
    emu: BotApiEmulator, db: str, log: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    environ = os.environ | {
        "SENTINEL_BOT_TOKEN": TOKEN,
        "SENTINEL_PSEUDONYM_KEY": KEY,
        "SENTINEL_DATABASE_URL": db,
        "SENTINEL_MODE": "production",
        "SENTINEL_DATA_DIR": str(log.parent),
        "SENTINEL_TELEGRAM__API_BASE_URL": emu.base_url,
        "SENTINEL_DIGEST__CHECK_SECONDS": "1",
        **env,
    }
    with bot_subprocess(["run"], environ, log) as proc:
        yield proc


async def _setup(emu: BotApiEmulator, db: str, n: int) -> list[int]:
    """n subscribers who subscribed last week, so last week's digest is due now."""
    sealer, pseudonym = Sealer(KEY.encode()), Pseudonymizer(KEY.encode())
    chats = []
    async with database(db) as sessions:
        for i in range(n):
            user = emu.make_user(language_code="zh-hans" if i % 3 else "en")
            chat = emu.private_chat(user)
            chats.append(chat["id"])
            await subscribe(
                sessions,
                chat_pseudonym=pseudonym(chat["id"]),
                chat_sealed=sealer.seal(chat["id"]),
                chat_type="private",
                lang="en" if i % 3 == 0 else "zh-hans",
                timezone="Asia/Shanghai",
                now=utcnow() - dt.timedelta(days=8),
            )
    return chats


def _digests(emu: BotApiEmulator, chats: list[int]) -> Counter[int]:
    """How many digests each chat received (a digest ends with its chart)."""
    return Counter({c: sum("photo" in m for m in emu.sent_messages(c)) for c in chats})


async def _wait(condition: object, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.2)


def test_two_processes_each_subscriber_gets_exactly_one_digest(pg_url: str, tmp_path: Path) -> None:
    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            chats = await _setup(emu, pg_url, 60)
            with (
                bot_process(emu, pg_url, tmp_path / "a.log") as a,
                bot_process(emu, pg_url, tmp_path / "b.log") as b,
            ):
                await _wait(lambda: all(_digests(emu, chats).values()), 90)
                await asyncio.sleep(3)  # both keep checking every second meanwhile
                assert a.poll() is None and b.poll() is None
            assert set(_digests(emu, chats).values()) == {1}
            logs = [(tmp_path / f"{p}.log").read_text() for p in "ab"]
            # One process ran the broadcast; the other found it locked.
            done = [re.findall(r"digest broadcast done: (\d+) sent", log) for log in logs]
            assert sorted(done) == [[], ["60"]]
            assert emu.invalid_requests == []
        finally:
            await emu.stop()

    asyncio.run(go())


def test_killed_halfway_and_restarted_nobody_gets_two(pg_url: str, tmp_path: Path) -> None:
    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            n = 120
            chats = await _setup(emu, pg_url, n)
            slow = {"SENTINEL_DIGEST__RATE_PER_SECOND": "20"}
            with bot_process(emu, pg_url, tmp_path / "first.log", **slow) as first:
                await _wait(lambda: sum(_digests(emu, chats).values()) >= n // 3, 90)
                first.kill()  # SIGKILL: no shutdown, no bookkeeping
                first.wait()
            halfway = sum(_digests(emu, chats).values())
            assert halfway < n
            with bot_process(emu, pg_url, tmp_path / "second.log", **slow):
                async with database(pg_url) as sessions:

                    async def statuses() -> Counter[str]:
                        async with sessions() as s:
                            rows = await s.execute(select(DigestDelivery.status))
                            return Counter(rows.scalars())

                    loop = asyncio.get_running_loop()
                    deadline = loop.time() + 90
                    while (counts := await statuses())["sent"] + counts["unconfirmed"] < n:
                        assert loop.time() < deadline, counts
                        await asyncio.sleep(0.3)
            received = _digests(emu, chats)
            assert max(received.values()) == 1  # nobody twice
            missing = [c for c in chats if received[c] == 0]
            # Only sends in flight at the kill can be missing: those are never resent (Telegram
            # may have taken them) and are counted as unconfirmed. Everyone else got theirs.
            assert len(missing) <= counts["unconfirmed"] <= 8
            assert counts["sent"] + counts["unconfirmed"] == n
            assert "resuming the broadcast" in (tmp_path / "second.log").read_text()
            assert emu.invalid_requests == []
        finally:
            await emu.stop()

    asyncio.run(go())
