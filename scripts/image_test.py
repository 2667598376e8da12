"""Smoke test of the built container image (``make image-test``): the image's own CMD and
HEALTHCHECK, run as an operator would, against the local PostgreSQL and the Bot API emulator.

One line per check, PASS or FAIL; the exit code is 1 when any failed. Checks: the image's
HEALTHCHECK says healthy, /healthz and /readyz answer 200, a scam message and a scam
screenshot (OCR in the image) are answered with a warning, SIGTERM stops the container after a
graceful shutdown (exit code 143 or 0), every log line is JSON from the first one, no log
line holds message text, and a digest chart is drawn (matplotlib, the CJK font) without a
warning on the read-only root.

The container runs with a read-only root filesystem and a tmpfs on /tmp (as
docker-compose.yml runs it), on the host's network: the worker reaches PostgreSQL and the
emulator on 127.0.0.1, and listens on the image's port 8080, which must be free here.
docker when its daemon answers, else podman (with this machine's needs: runc, ulimits).

    python scripts/image_test.py [--image sentinel-bot:latest]

PostgreSQL: SENTINEL_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
names a server and a database to connect to; a fresh database is made beside it and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from bot.emulator import BotApiEmulator

TOKEN = "123456:IMAGE-TEST-TOKEN"
PORT = 8080  # the image's CMD and HEALTHCHECK
SCAM = (
    "您好，我是快递理赔专员，您的包裹在运输途中丢失了，"
    "我们按三倍价格给您理赔，请加一下客服微信办理。"
)
SHOT = [
    "您好，我是快递理赔专员，您的包裹丢失了，",
    "我们按三倍价格给您理赔，",
    "请加客服微信办理退款。",
]
# Pieces of the messages that must never appear in a log line.
SECRET_BITS = ["快递理赔专员", "三倍价格", "客服微信", "包裹丢失", "理赔"]
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
PODMAN_RUN = [
    # crun fails on this kind of host's mixed cgroups; podman's default ulimits exceed its
    # hard limits.
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=20000:20000",
    "--ulimit",
    "nproc=32768:32768",
]

failures: list[str] = []


def report(ok: bool, what: str, detail: str = "") -> bool:
    print(f"{'PASS' if ok else 'FAIL'}: {what}{f' ({detail})' if detail else ''}", flush=True)
    if not ok:
        failures.append(what)
    return ok


def engine() -> str:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        return "docker"
    if shutil.which("podman"):
        return "podman"
    sys.exit("FAIL: neither a working docker nor podman here")


def get(path: str, base: str = f"http://127.0.0.1:{PORT}") -> int:
    """The HTTP status of GET ``base + path`` (no proxy); 0 when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def screenshot() -> bytes:
    font = ImageFont.truetype(FONT, 30)
    img = Image.new("RGB", (900, 320), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(SHOT):
        draw.text((30, 30 + i * 60), line, font=font, fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def tool_run(tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``tool ARGS`` (docker or podman), its output captured, never raising on failure."""
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


class Container:
    def __init__(self, tool: str, image: str) -> None:
        self.tool, self.image = tool, image
        self.name = f"sentinel-image-test-{uuid.uuid4().hex[:8]}"

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return tool_run(self.tool, *args, timeout=timeout)

    def run(self, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        flags = PODMAN_RUN if self.tool == "podman" else []
        envs = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        return self.cli(
            "run", "-d", "--name", self.name, *flags, "--network", "host",
            "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m",
            "--stop-timeout", "45", *envs, self.image,
        )  # fmt: skip

    def once(self, *command: str) -> subprocess.CompletedProcess[str]:
        """``command`` in a new container of the image, read-only as the worker, no network."""
        flags = PODMAN_RUN if self.tool == "podman" else []
        return self.cli(
            "run", "--rm", *flags, "--network", "none", "--read-only",
            "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m", self.image, *command,
        )  # fmt: skip

    def healthy(self) -> bool:
        if self.tool == "podman":
            # Runs the image's HEALTHCHECK command in the container now.
            return self.cli("healthcheck", "run", self.name).returncode == 0
        done = self.cli("inspect", "--format", "{{.State.Health.Status}}", self.name)
        return done.stdout.strip() == "healthy"

    def logs(self) -> list[str]:
        done = self.cli("logs", self.name)
        return (done.stdout + done.stderr).splitlines()


async def warned(emu: BotApiEmulator, timeout: float) -> bool | None:
    """A new person sends SCAM: whether the answer is a high-risk warning; None: no answer
    within ``timeout`` seconds."""
    user = emu.make_user(language_code="zh-hans")
    chat = emu.private_chat(user)
    emu.send_text(chat, user, SCAM)
    try:
        [reply] = await emu.wait_for_messages(chat["id"], count=1, timeout=timeout)
    except TimeoutError:
        return None
    return "高风险" in reply["text"]


async def scam_answered(emu: BotApiEmulator) -> None:
    ok = await warned(emu, timeout=30)
    detail = "no answer within 30 s" if ok is None else ""
    report(bool(ok), "a scam message is answered with a warning", detail)
    user = emu.make_user(language_code="zh-hans")
    chat = emu.private_chat(user)
    emu.send_photo(chat, user, screenshot())
    try:
        [reply] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
        ok = "高风险" in reply["text"] and "快递" in reply["text"]  # the type: fake courier
        report(ok, "a scam screenshot is read (OCR) and answered with a warning")
    except TimeoutError:
        report(False, "a scam screenshot is answered with a warning", "no answer within 60 s")


# The digest chart: matplotlib (its font cache in /tmp) and the CJK font, on the read-only root.
# -W error: matplotlib's "not writable" and "missing glyph" warnings fail it.
CHART = """
import datetime as dt
from bot.digest.render import render_chart
from bot.digest.stats import FamilyLine, WeekStats
d = dt.date(2026, 11, 30)
up = FamilyLine("order_brushing", 40, 20, 66.7, 50.0, 16.7)
down = FamilyLine("fake_cs", 20, 20, 33.3, 50.0, -16.7)
stats = WeekStats("2026-W49", d, d + dt.timedelta(6), d - dt.timedelta(7), d - dt.timedelta(1),
                  False, 90, 60, (up, down), up, down, None, ())
assert render_chart(stats, "zh-hans", 5).startswith(b"\\x89PNG")
"""


def check_chart(box: Container) -> None:
    done = box.once("python", "-W", "error", "-c", CHART)
    detail = done.stderr.strip().splitlines()[-1:] if done.returncode else []
    report(done.returncode == 0, "a digest chart is drawn on the read-only root", "".join(detail))


def check_logs(lines: list[str]) -> None:
    bad = [i for i, line in enumerate(lines, 1) if not _is_json(line)]
    first = json.loads(lines[0]).get("msg", "") if lines and bad[:1] != [1] else ""
    report(
        bool(lines) and not bad,
        "every log line is JSON, from the first",
        f"{len(lines)} lines; first: {str(first)[:60]!r}"
        + (f"; not JSON: line {bad[0]}: {lines[bad[0] - 1][:80]!r}" if bad else ""),
    )
    leaked = [bit for bit in SECRET_BITS if any(bit in line for line in lines)]
    report(not leaked, "no log line holds message text", f"found {leaked}" if leaked else "")


def _is_json(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


async def main(image: str) -> int:
    tool = engine()
    print(f"image {image}, run with {tool}", flush=True)
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            report(False, f"port {PORT} is free on this host (the image listens there)")
            return 1
    admin_url = os.environ.get(
        "SENTINEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ).replace("+asyncpg", "")
    db = f"sentinel_image_{uuid.uuid4().hex[:8]}"
    await admin(admin_url, f'CREATE DATABASE "{db}"')
    base, _, _ = admin_url.rpartition("/")
    emu = BotApiEmulator(token=TOKEN)
    await emu.start()
    box = Container(tool, image)
    try:
        env = {
            "SENTINEL_BOT_TOKEN": TOKEN,
            "SENTINEL_PSEUDONYM_KEY": "d" * 64,
            "SENTINEL_WEBHOOK_SECRET": "e" * 64,
            # As operators write it: no +asyncpg.
            "SENTINEL_DATABASE_URL": f"{base}/{db}",
            "SENTINEL_TELEGRAM__API_BASE_URL": emu.base_url,
            "SENTINEL_WEBHOOK__URL": f"http://127.0.0.1:{PORT}/telegram",
        }
        started = box.run(env)
        if started.returncode != 0:
            report(False, "the container starts", started.stderr.strip()[-300:])
            return 1
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120 and not box.healthy():
            if box.cli("inspect", "--format", "{{.State.Running}}", box.name).stdout.strip() != (
                "true"
            ):
                break
            await asyncio.sleep(2)
        took = time.monotonic() - t0
        if not report(box.healthy(), "the image's HEALTHCHECK says healthy", f"{took:.0f} s"):
            print("\n".join(box.logs()[-20:]))
            return 1
        report(get("/healthz") == 200, "/healthz answers 200")
        report(get("/readyz") == 200, "/readyz answers 200 (database and rules ready)")
        await scam_answered(emu)
        t0 = time.monotonic()
        box.cli("kill", "--signal", "TERM", box.name)
        waited = box.cli("wait", box.name, timeout=60)
        code = waited.stdout.strip().splitlines()[-1] if waited.stdout.strip() else "?"
        took = time.monotonic() - t0
        lines = box.logs()
        # uvicorn finishes the updates in flight and shuts the bot down, then lets SIGTERM end
        # the process: 143 (128 + 15), as for any process that docker stop ends; 0 also fine.
        clean = code in {"0", "143"} and any("Application shutdown complete" in x for x in lines)
        report(clean, "SIGTERM stops it cleanly", f"exit code {code} after {took:.1f} s")
        check_logs(lines)
        check_chart(box)
    finally:
        box.cli("rm", "-f", box.name)
        await emu.stop()
        await admin(admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return summary("image smoke test")


def summary(what: str) -> int:
    """The last line, PASS or FAIL with the count of failed checks; the exit code."""
    print(f"{'FAIL' if failures else 'PASS'}: {what} ({len(failures)} failed)")
    return 1 if failures else 0


def command_line(main: Callable[[str], Coroutine[Any, Any, int]], doc: str) -> None:
    """``--image`` (default $IMAGE, else sentinel-bot:latest) into ``main``; exits with its code."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--image", default=os.environ.get("IMAGE", "sentinel-bot:latest"))
    sys.exit(asyncio.run(main(parser.parse_args().image)))


if __name__ == "__main__":
    command_line(main, __doc__)
