"""Webhook mode through the emulator: Telegram posts updates to a worker (uvicorn + Starlette),
which checks the secret, answers each update once, and serves health, readiness and metrics."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from bot.emulator import BotApiEmulator
from bot.metrics import REGISTRY
from bot.settings import load_settings
from bot.tg.webhook import SECRET_HEADER, create_app, server_config
from tests.conftest import ROOT
from tests.tg.conftest import TOKEN, engine
from tests.tg.test_e2e import FAKE_CS_ZH, run

SECRET = "s3cret-token_for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def worker(
    tmp_path: Path, emu: BotApiEmulator, **env: str
) -> AsyncIterator[tuple[str, Starlette]]:
    """One webhook worker in this process (its database in ``tmp_path``: workers given the
    same directory share it), registered with the emulator; ``env``: more settings."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        ROOT / "config.yaml",
        environ={
            "SENTINEL_DATA_DIR": str(tmp_path),
            "SENTINEL_WEBHOOK_SECRET": SECRET,
            "SENTINEL_WEBHOOK__URL": f"{url}/telegram",
        }
        | env,
    )
    app = create_app(
        settings, engine(), token=TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url
    )
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the worker did not start"
        await asyncio.sleep(0.02)
    try:
        yield url, app
    finally:
        server.should_exit = True
        await task


def test_updates_are_answered_once_and_the_worker_reports_its_health(tmp_path: Path) -> None:
    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            async with worker(tmp_path, emu) as (url, _), httpx.AsyncClient() as http:
                assert emu.webhook_url == f"{url}/telegram"  # registered with the secret
                user = emu.make_user(language_code="zh-hans")
                chat = emu.private_chat(user)
                emu.send_text(chat, user, FAKE_CS_ZH)
                [warning] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
                assert "高风险" in warning["text"]

                # Telegram redelivers: the same update again gets 200 and no second answer.
                while not emu.webhook_deliveries:  # acknowledged after the answer went out
                    await asyncio.sleep(0.05)
                delivered = emu.webhook_deliveries[-1]
                assert delivered.ok
                update: dict[str, Any] = {
                    "update_id": delivered.update_id,
                    "message": {
                        "message_id": 999,
                        "date": 0,
                        "chat": {"id": chat["id"], "type": "private"},
                        "from": {"id": user["id"], "is_bot": False, "first_name": "U"},
                        "text": FAKE_CS_ZH,
                    },
                }
                again = await http.post(
                    f"{url}/telegram", json=update, headers={SECRET_HEADER: SECRET}
                )
                assert again.status_code == 200
                # Without the secret: refused, and nothing is answered.
                forged = await http.post(f"{url}/telegram", json=update | {"update_id": 10**9})
                assert forged.status_code == 403
                await asyncio.sleep(0.5)
                assert len(emu.sent_messages(chat["id"])) == 1

                assert (await http.get(f"{url}/healthz")).status_code == 200
                ready = await http.get(f"{url}/readyz")
                assert ready.status_code == 200 and ready.json()["rules"] >= 20
                metrics = (await http.get(f"{url}/metrics")).text
                assert (
                    'sentinel_checks_total{family="fake_customer_service",risk="high"}' in metrics
                )
                assert 'sentinel_webhook_updates_total{outcome="duplicate"}' in metrics
                assert 'sentinel_webhook_updates_total{outcome="forbidden"}' in metrics
                assert 'sentinel_rule_version{rule="fake-courier-cs"}' in metrics
                assert "sentinel_hits_queued" in metrics and "sentinel_update_seconds" in metrics
                assert "sentinel_replies_sent_total" in metrics
                assert str(user["id"]) not in metrics  # no identifiers in labels
            assert emu.invalid_requests == []
        finally:
            await emu.stop()

    run(go())


def test_a_worker_without_its_database_still_warns_and_says_it_is_not_ready(
    tmp_path: Path,
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.storage.db import session_factory
    from bot.tg.deps import deps_of

    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        gone = create_async_engine("sqlite+aiosqlite:////proc/no-such-dir/x.db")
        try:
            async with worker(tmp_path, emu) as (url, app), httpx.AsyncClient() as http:
                deps = deps_of(app.state.application)
                deps.sessions = session_factory(gone)
                deps.writer.sessions = session_factory(gone)
                user = emu.make_user(language_code="zh-hans")
                chat = emu.private_chat(user)
                emu.send_text(chat, user, FAKE_CS_ZH)
                [warning] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
                assert "高风险" in warning["text"]

                ready = await http.get(f"{url}/readyz")
                assert ready.status_code == 503
                assert any("database" in p for p in ready.json()["problems"])
                metrics = (await http.get(f"{url}/metrics")).text
                assert 'sentinel_database_errors_total{operation="claim"} 1.0' in metrics
                for _ in range(600):  # the failed mark hands the hit to the waiting queue
                    metrics = (await http.get(f"{url}/metrics")).text
                    if "sentinel_hits_queued 1.0" in metrics:
                        break
                    await asyncio.sleep(0.1)
                assert "sentinel_hits_queued 1.0" in metrics  # the hit waits for the database
        finally:
            await gone.dispose()
            await emu.stop()

    run(go())


def raw_update(update_id: str, date: str = "0", text: str = '"hi"', user: int = 42) -> bytes:
    """An update as bytes, so a test can write numbers and escapes JSON libraries would not."""
    return (
        f'{{"update_id": {update_id}, "message": {{"message_id": 5, "date": {date}, '
        f'"chat": {{"id": {user}, "type": "private"}}, '
        f'"from": {{"id": {user}, "is_bot": false, "first_name": "U"}}, "text": {text}}}}}'
    ).encode()


def test_out_of_range_numbers_deep_json_and_huge_bodies_are_refused(tmp_path: Path) -> None:
    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            async with worker(tmp_path, emu) as (url, _), httpx.AsyncClient(timeout=60) as http:
                user = emu.make_user(language_code="zh-hans")
                chat = emu.private_chat(user)
                uid = user["id"]
                headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
                deep = b'{"update_id": 9, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
                cases = {
                    "update_id 1e400": (raw_update("1e400", user=uid), 400),
                    "update_id 2**63": (raw_update(str(2**63), user=uid), 400),
                    "update_id 10**400": (raw_update("1" + "0" * 400, user=uid), 400),
                    "update_id NaN": (raw_update("NaN", user=uid), 400),
                    "date 1e17": (raw_update("7", "1e17", user=uid), 400),
                    "date 10**17": (raw_update("8", str(10**17), user=uid), 400),
                    "nested 100,000 deep": (deep, 400),
                }
                for name, (body, status) in cases.items():
                    answer = await http.post(f"{url}/telegram", content=body, headers=headers)
                    assert answer.status_code == status, name
                # 50 MB announced: refused from the headers, before a byte of it is read.
                host, port = url.removeprefix("http://").split(":")
                reader, writer = await asyncio.open_connection(host, int(port))
                head = f"POST /telegram HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {SECRET}\r\n"
                writer.write(f"{head}Content-Length: 50000000\r\n\r\n".encode() + b"{" * 1000)
                assert (await reader.readline()).startswith(b"HTTP/1.1 413")
                writer.close()
                # No length announced: refused once more than 1 MB has arrived.
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
                for _ in range(20):
                    writer.write(b"10000\r\n" + b" " * 65536 + b"\r\n")
                await writer.drain()
                assert (await reader.readline()).startswith(b"HTTP/1.1 413")
                writer.close()
                # Ordinary updates still pass, brackets and quotes inside the text included.
                text = '"' + '[{\\"' * 40 + '加客服微信"'
                answer = await http.post(
                    f"{url}/telegram",
                    content=raw_update("11", text=text, user=uid),
                    headers=headers,
                )
                assert answer.status_code == 200
                await emu.wait_for_messages(chat["id"], count=1, timeout=60)
                await asyncio.sleep(0.3)
                assert len(emu.sent_messages(chat["id"])) == 1  # none of the refused ones
        finally:
            await emu.stop()

    run(go())


def test_silent_and_slow_connections_are_closed(tmp_path: Path, monkeypatch: Any) -> None:
    import bot.tg.webhook as webhook

    monkeypatch.setattr(webhook, "REQUEST_TIMEOUT", 1.0)

    async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
        return await asyncio.wait_for(reader.read(), seconds)

    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            async with worker(tmp_path, emu) as (url, _):
                host, port = url.removeprefix("http://").split(":")
                # Connects and says nothing.
                reader, writer = await asyncio.open_connection(host, int(port))
                assert await closed_within(reader, 5) == b""
                writer.close()
                # Sends its headers a piece at a time and never finishes them.
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(b"POST /telegram HTTP/1.1\r\nHost: x\r\n")
                await writer.drain()
                await asyncio.sleep(0.5)
                writer.write(b"X-A: 1\r\n")
                await writer.drain()
                assert await closed_within(reader, 5) == b""
                writer.close()
                # Promises a body and sends one byte of it.
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(
                    f"POST /telegram HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {SECRET}\r\n"
                    "Content-Length: 100\r\n\r\n{".encode()
                )
                await writer.drain()
                answer = await closed_within(reader, 5)
                assert answer.startswith(b"HTTP/1.1 408")
                writer.close()
        finally:
            await emu.stop()

    run(go())


def test_a_lone_surrogate_in_the_text_still_gets_the_warning(tmp_path: Path) -> None:
    # JSON can carry "\ud800" without its partner; no encoding can, so a reply quoting it
    # failed (before: the warning retried five times, then the error reply four times).
    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            async with worker(tmp_path, emu) as (url, _), httpx.AsyncClient(timeout=60) as http:
                user = emu.make_user(language_code="zh-hans")
                chat = emu.private_chat(user)
                text = FAKE_CS_ZH.replace("客服", "客\\ud800服").replace("包裹", "包\\udfff裹")
                answer = await http.post(
                    f"{url}/telegram",
                    content=raw_update("5", text=f'"{text}"', user=user["id"]),
                    headers={SECRET_HEADER: SECRET, "content-type": "application/json"},
                )
                assert answer.status_code == 200
                await asyncio.sleep(0.5)
                [warning] = emu.sent_messages(chat["id"])
                assert "高风险" in warning["text"]
                assert emu.internal_errors == []
        finally:
            await emu.stop()

    run(go())


def test_a_forward_whose_answer_cannot_be_sent_is_not_acknowledged(tmp_path: Path) -> None:
    """When both the warning and the fallback error message fail, the update is answered
    500: Telegram delivers it again and the person still gets the warning."""

    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            async with worker(tmp_path, emu):
                user = emu.make_user(language_code="zh-hans")
                chat = emu.private_chat(user)
                # 400s are not retried: the warning and the error message both fail once.
                emu.inject_fault(400, methods={"sendMessage"}, count=2, description="Bad Request")
                emu.send_text(chat, user, FAKE_CS_ZH, forwarded=True)
                [warning] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
                assert "高风险" in warning["text"]
                for _ in range(600):  # acknowledged just after the answer went out
                    if emu.webhook_deliveries and emu.webhook_deliveries[-1].ok:
                        break
                    await asyncio.sleep(0.05)
                statuses = [d.status for d in emu.webhook_deliveries]
                # Refused once, then answered by the very next delivery: the failed claim was
                # released, so no "busy" 503s while a lease runs out.
                assert statuses == [500, 200], statuses
            assert emu.invalid_requests == []
        finally:
            await emu.stop()

    run(go())


def test_an_update_the_library_cannot_read_is_acknowledged_and_skipped(tmp_path: Path) -> None:
    from tests.tg.test_e2e import UNREADABLE

    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            async with worker(tmp_path, emu) as (url, _), httpx.AsyncClient() as http:
                user = emu.make_user(language_code="zh-hans")
                chat = emu.private_chat(user)
                bad = json.loads(json.dumps(UNREADABLE))
                bad["message"]["chat"]["id"] = bad["message"]["from"]["id"] = user["id"]
                before = REGISTRY.get_sample_value("sentinel_updates_unreadable_total") or 0.0
                skipped = emu.enqueue_unchecked(bad)
                emu.send_text(chat, user, FAKE_CS_ZH)
                [warning] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
                assert "高风险" in warning["text"]
                # Answered 200 once: delivering it again could not make it readable.
                tries = [d for d in emu.webhook_deliveries if d.update_id == skipped["update_id"]]
                assert [d.status for d in tries] == [200]
                metrics = (await http.get(f"{url}/metrics")).text
                assert f"sentinel_updates_unreadable_total {before + 1}" in metrics
        finally:
            await emu.stop()

    run(go())
