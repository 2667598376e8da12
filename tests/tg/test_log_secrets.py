"""The bot token and the webhook secret never reach a log line: ``python -m bot run`` (polling
and webhook, text and JSON logs) started against a Bot API that refuses its token (401) or does
not know its URL (404), as python-telegram-bot reports with the whole token in the message."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from tests.tg.conftest import TOKEN, bot_subprocess

WRONG_TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "webhook-secret-for-the-log-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("mode", "log_format", "status"),
    [
        ("polling", "text", 401),
        ("polling", "json", 404),
        ("webhook", "text", 404),
        ("webhook", "json", 401),
    ],
)
def test_a_rejected_token_is_never_written_to_the_logs(
    tmp_path: Path, mode: str, log_format: str, status: int
) -> None:
    log = tmp_path / "bot.log"

    async def go() -> int:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        # 401: a token the server does not know. 404: a URL it does not serve.
        base = emu.base_url if status == 401 else emu.base_url.replace("/bot", "/no-such/bot")
        env = os.environ | {
            "SENTINEL_BOT_TOKEN": WRONG_TOKEN,
            "SENTINEL_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SENTINEL_DATA_DIR": str(tmp_path),
            "SENTINEL_TELEGRAM__API_BASE_URL": base,
            "SENTINEL_LOG_FORMAT": log_format,
            "SENTINEL_LOG_LEVEL": "DEBUG",
        }
        args = ["run"]
        if mode == "webhook":
            args += ["--mode", "webhook", "--host", "127.0.0.1", "--port", str(free_port())]
        try:
            with bot_subprocess(args, env, log) as proc:
                for _ in range(1200):
                    if proc.poll() is not None:
                        break
                    await asyncio.sleep(0.1)
                code = proc.poll()
                assert code is not None, "the bot kept running with a rejected token"
        finally:
            await emu.stop()
        if status == 401:
            assert any(r.status == 401 for r in emu.requests)
        return code

    code = asyncio.run(go())
    out = log.read_text(encoding="utf-8", errors="replace")
    assert code != 0
    key = WRONG_TOKEN.split(":", 1)[1]
    assert key not in out and key[:20] not in out
    assert WEBHOOK_SECRET not in out
    assert "[secret]" in out or "rejected the bot token" in out  # the failure is still told
    if log_format == "json":
        # Every line is a JSON object, the traceback of the failure included.
        lines = [line for line in out.splitlines() if line.strip()]
        assert lines and all(isinstance(json.loads(line), dict) for line in lines)


def test_the_mask_covers_arguments_exceptions_and_encoded_forms() -> None:
    import logging

    from bot.cli import JsonFormatter
    from bot.logmask import SecretMask

    mask = SecretMask([WRONG_TOKEN, WEBHOOK_SECRET, "short"])
    key = WRONG_TOKEN.split(":", 1)[1]
    try:
        raise RuntimeError(f"The token `{WRONG_TOKEN}` was rejected by the server.")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "telegram.ext.Application",
            logging.ERROR,
            __file__,
            1,
            "GET %s failed, header %r",
            (
                f"https://api.telegram.org/bot{WRONG_TOKEN.replace(':', '%3A')}/getMe",
                WEBHOOK_SECRET,
            ),
            (type(exc), exc, exc.__traceback__),
        )
    assert mask.filter(record)
    for formatter in (logging.Formatter(), JsonFormatter()):
        line = formatter.format(record)
        assert key not in line and WEBHOOK_SECRET not in line, line
        assert "[secret]" in line and "RuntimeError" in line  # still says what failed
    # Secrets too short to mask safely are left alone rather than garbling every line.
    assert mask.mask("a short line") == "a short line"
