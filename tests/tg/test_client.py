"""The bot's HTTP client for the Bot API: failures become the errors the retry logic expects
(a timeout may have delivered, so it is not retried; a refused connection had no effect)."""

from __future__ import annotations

import asyncio
import socket
import traceback

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.emulator import BotApiEmulator
from bot.tg.client import AiohttpRequest
from bot.tg.sending import with_retries
from tests.tg.conftest import TOKEN


def test_a_silent_server_is_a_timeout_and_a_closed_port_a_network_error() -> None:
    async def go() -> tuple[type[Exception], type[Exception]]:
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        errors: list[type[Exception]] = []
        request = AiohttpRequest(read_timeout=0.3, write_timeout=0.3)
        await request.initialize()
        try:
            for sock in (silent, closed):
                port = sock.getsockname()[1]
                with pytest.raises(NetworkError) as caught:
                    await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
                errors.append(type(caught.value))
                # A logged traceback must not carry the URL (it holds the token).
                logged = "".join(traceback.format_exception(caught.value))
                assert TOKEN not in logged
        finally:
            await request.shutdown()
            silent.close()
            closed.close()
        return errors[0], errors[1]

    timeout, refused = asyncio.run(go())
    assert timeout is TimedOut  # never retried: Telegram may have delivered
    assert refused is NetworkError


def test_messages_with_markup_and_uploads_arrive_as_sent() -> None:
    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        bot = Bot(TOKEN, base_url=emu.base_url, request=AiohttpRequest())
        try:
            async with bot:
                user = emu.make_user()
                chat = emu.private_chat(user)
                await with_retries(
                    lambda: bot.send_message(
                        chat["id"],
                        "<b>注意</b> &amp; 检查",
                        parse_mode="HTML",
                        reply_markup={"inline_keyboard": [[{"text": "👍", "callback_data": "x"}]]},
                    ),
                    "test",
                )
                png = (
                    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
                    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe"
                    b"\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
                )
                sent = await bot.send_photo(chat["id"], photo=png, caption="图表")
                assert sent.photo and sent.caption == "图表"
            text, photo = await emu.wait_for_messages(chat["id"], count=2, timeout=60)
            assert text["text"] == "注意 & 检查"
            assert text["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "x"
            assert photo["caption"] == "图表"
            assert emu.invalid_requests == []
        finally:
            await emu.stop()

    asyncio.run(go())


def test_a_slow_download_is_not_cut_off_while_data_keeps_coming() -> None:
    """The read timeout limits each wait for data, as with PTB's own client: a screenshot on
    a slow link arrives whole."""

    async def go() -> bytes:
        served = asyncio.Event()

        async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
                for i in range(10):  # about 1 s in all, 0.1 s between bytes
                    if i:
                        await asyncio.sleep(0.1)
                    writer.write(b"x")
                    await writer.drain()
            finally:
                writer.close()
                await writer.wait_closed()
                served.set()

        server = await asyncio.start_server(slow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        request = AiohttpRequest(read_timeout=0.4, write_timeout=0.4)
        await request.initialize()
        try:
            return await request.retrieve(f"http://127.0.0.1:{port}/file/bot{TOKEN}/photo.jpg")
        finally:
            await request.shutdown()
            await served.wait()
            server.close()
            await server.wait_closed()

    assert asyncio.run(go()) == b"x" * 10


def test_the_proxy_from_the_environment_is_used_except_where_no_proxy_or_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Like PTB's own client: a bot behind a proxy sends through it (here a closed port, so
    going through it fails with a proxy error), NO_PROXY exempts a host, and a local Bot API
    server (the emulator) is reached directly."""

    async def error_for(url: str) -> str:
        request = AiohttpRequest(connect_timeout=2)
        await request.initialize()
        try:
            code, _ = await request.do_request(url, "POST")
            return str(code)
        except NetworkError as exc:
            return exc.message
        finally:
            await request.shutdown()

    async def go() -> list[str]:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        try:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed.getsockname()[1]}")
            for name in ("NO_PROXY", "no_proxy", "http_proxy"):
                monkeypatch.delenv(name, raising=False)
            remote = f"http://api.example.invalid/bot{TOKEN}/getMe"
            seen = [await error_for(remote)]
            monkeypatch.setenv("NO_PROXY", "api.example.invalid")
            seen.append(await error_for(remote))
            seen.append(await error_for(f"{emu.base_url}{TOKEN}/getMe"))
            return seen
        finally:
            closed.close()
            await emu.stop()

    through_proxy, exempt, local = asyncio.run(go())
    assert "Proxy" in through_proxy
    assert "Proxy" not in exempt  # tried directly (and the name does not resolve)
    assert local == "200"
