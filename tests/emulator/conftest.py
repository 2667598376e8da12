"""Running a started emulator inside a plain sync test, with an HTTP client on its bot URL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.emulator import BotApiEmulator

Scenario = Callable[[BotApiEmulator, httpx.AsyncClient], Awaitable[None]]
Runner = Callable[..., None]


async def call(client: httpx.AsyncClient, method: str, **params: Any) -> httpx.Response:
    """POST a Bot API call with a JSON body."""
    return await client.post(method, json=params)


@pytest.fixture
def emulated() -> Runner:
    """Run `scenario(emu, client)` against a started emulator; stop it afterwards."""

    def run(scenario: Scenario, **options: Any) -> None:
        async def main() -> None:
            emu = BotApiEmulator(**options)
            await emu.start(port=0)
            try:
                async with httpx.AsyncClient(
                    base_url=f"{emu.base_url}{emu.token}/", trust_env=False, timeout=10
                ) as client:
                    await asyncio.wait_for(scenario(emu, client), timeout=10)
            finally:
                await emu.stop()

        asyncio.run(main())

    return run
