"""One process of many runs a job: the lock is exclusive, never waits, and is freed when its
holder releases it or dies."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

from bot.storage.db import make_engine
from bot.storage.locks import exclusive
from tests.conftest import ROOT


def test_only_one_holder_at_a_time(db_url: str) -> None:
    async def go() -> list[bool]:
        a, b = make_engine(db_url), make_engine(db_url)
        seen = []
        try:
            async with exclusive(a, "job") as first:
                seen.append(first)
                async with exclusive(b, "job") as second:
                    seen.append(second)
                async with exclusive(b, "another job") as other:
                    seen.append(other)
            async with exclusive(b, "job") as after_release:
                seen.append(after_release)
        finally:
            await a.dispose()
            await b.dispose()
        return seen

    assert asyncio.run(go()) == [True, False, True, True]


def test_a_killed_holder_frees_the_lock(db_url: str) -> None:
    holder = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from bot.storage.db import make_engine
        from bot.storage.locks import exclusive

        async def main():
            async with exclusive(make_engine({db_url!r}), "job") as got:
                print("held" if got else "refused", flush=True)
                await asyncio.sleep(60)

        asyncio.run(main())
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "held"
            assert asyncio.run(_try_lock(db_url)) is False
        finally:
            proc.kill()
            proc.wait(timeout=10)
    assert asyncio.run(_try_lock(db_url)) is True


async def _try_lock(db_url: str) -> bool:
    engine = make_engine(db_url)
    try:
        async with exclusive(engine, "job") as got:
            return got
    finally:
        await engine.dispose()
