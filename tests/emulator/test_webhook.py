"""Webhook mode: updates are POSTed to the bot, redelivered until it answers 2xx."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import httpx

from bot.emulator import BotApiEmulator

from .conftest import Runner, call


@dataclass
class Receiver:
    """A bare HTTP endpoint that answers with the given statuses in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], dict[str, object]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.received.append((headers, json.loads(body)))
            self.arrived.set()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    async def wait_for(self, count: int) -> None:
        while len(self.received) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=5)


def test_updates_are_posted_with_the_secret_and_redelivered(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        receiver = Receiver(statuses=[500, 502])
        await receiver.start()
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        ok = await call(client, "setWebhook", url=receiver.url, secret_token="s3cret_-X")
        assert ok.json()["result"] is True
        emu.send_text(chat, user, "first")
        emu.send_text(chat, user, "second")
        await receiver.wait_for(2)
        assert [body["message"]["text"] for _, body in receiver.received] == ["first", "second"]
        for headers, _ in receiver.received:
            assert headers["x-telegram-bot-api-secret-token"] == "s3cret_-X"
            assert headers["content-type"] == "application/json"
        attempts = [(d.update_id, d.status) for d in emu.webhook_deliveries]
        first_id = receiver.received[0][1]["update_id"]
        assert attempts[:3] == [(first_id, 500), (first_id, 502), (first_id, 200)]
        info = (await call(client, "getWebhookInfo")).json()["result"]
        assert info["url"] == receiver.url and info["pending_update_count"] == 0
        assert "502" in info["last_error_message"]
        conflict = await call(client, "getUpdates")
        assert conflict.status_code == 409
        await receiver.stop()

    emulated(scenario)


def test_connection_errors_are_retried_and_delete_webhook_returns_to_polling(
    emulated: Runner,
) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        await call(client, "setWebhook", url="http://127.0.0.1:9/nobody-listens")
        emu.send_text(chat, user, "kept")
        while len(emu.webhook_deliveries) < 2:
            await asyncio.sleep(0.01)
        assert all(d.status is None and not d.ok for d in emu.webhook_deliveries)
        assert (await call(client, "deleteWebhook")).json()["result"] is True
        updates = (await call(client, "getUpdates")).json()["result"]
        assert [u["message"]["text"] for u in updates] == ["kept"]

    emulated(scenario)


def test_webhook_targets_share_updates_round_robin(emulated: Runner) -> None:
    async def scenario(emu: BotApiEmulator, client: httpx.AsyncClient) -> None:
        first, second = Receiver(), Receiver()
        await first.start()
        await second.start()
        emu.webhook_targets = [first.url, second.url]
        user = emu.make_user("Ann")
        chat = emu.private_chat(user)
        await call(client, "setWebhook", url="https://sentinel.example/hook")
        for n in range(4):
            emu.send_text(chat, user, f"m{n}")
        await first.wait_for(2)
        await second.wait_for(2)
        assert [b["message"]["text"] for _, b in first.received] == ["m0", "m2"]
        assert [b["message"]["text"] for _, b in second.received] == ["m1", "m3"]
        await first.stop()
        await second.stop()

    emulated(scenario)
