"""Harness for end-to-end tests: the Bot API emulator and the real python-telegram-bot app,
in one event loop, against a fresh SQLite database and the bundled rules."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.emulator import BotApiEmulator
from bot.engine import Engine
from bot.settings import load_settings
from bot.tg.app import build_application, polling
from bot.tg.deps import Deps, deps_of
from tests.conftest import ROOT, bundled_engine

TOKEN = "123456:TEST-TOKEN"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def engine() -> Engine:
    return bundled_engine()


@dataclass
class Running:
    emu: BotApiEmulator
    app: Any
    deps: Deps


@asynccontextmanager
async def running_bot(tmp_path: Path, *, strict: bool = True, **env: str) -> AsyncIterator[Running]:
    """The bot polling the emulator; ``strict``: at the end, every request the bot made must
    have passed the Bot API validation (a test that checks that itself turns it off)."""
    environ = {
        "SENTINEL_DATA_DIR": str(tmp_path),
        "SENTINEL_TELEGRAM__CONVERSATION_WINDOW_SECONDS": "0.5",
        **env,
    }
    settings = load_settings(ROOT / "config.yaml", environ=environ)
    emu = BotApiEmulator(token=TOKEN, bot_username="sentinel_test_bot")
    await emu.start()
    app = build_application(
        settings, engine(), token=TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url
    )
    try:
        async with polling(app):
            yield Running(emu, app, deps_of(app))
    finally:
        await emu.stop()
    if strict:
        assert [(q.method, q.description) for q in emu.invalid_requests] == []


async def joined_group(
    r: Running, title: str = "g", *, by: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A group that ``by`` (by default a new Chinese-speaking user) just added the bot to:
    the adder, the group, and the bot's hello there, already sent."""
    admin = by if by is not None else r.emu.make_user(language_code="zh-hans")
    group = r.emu.group_chat(title=title)
    r.emu.add_bot_to_group(group, by=admin)
    [hello] = await r.emu.wait_for_messages(group["id"], count=1, timeout=60)
    return admin, group, hello


@contextmanager
def bot_subprocess(
    args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m bot ARGS`` as the deployment runs it, output in ``log``; stopped with SIGTERM
    (a clean shutdown) at the end unless the test killed it."""
    with (
        log.open("ab") as out,
        subprocess.Popen(
            [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, stdout=out, stderr=out
        ) as proc,
    ):
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def render_png(lines: list[str], size: tuple[int, int] = (900, 320)) -> bytes:
    """A phone-like screenshot with Chinese text, drawn with a CJK font."""
    if not Path(FONT).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CJK font {FONT} missing in CI (make setup installs fonts-wqy-microhei)")
        pytest.skip(f"CJK font {FONT} not installed (apt-get install fonts-wqy-microhei)")
    font = ImageFont.truetype(FONT, 30)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((30, 30 + i * 60), line, font=font, fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_png(payload: str) -> bytes:
    import zxingcpp

    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode)
    image = Image.fromarray(
        __import__("numpy").asarray(barcode.to_image(scale=8, add_quiet_zones=True))
    )
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()
