"""The deployment files say what the tests run: the image's start and health-check commands
start real workers here, and the compose example's environment is valid settings that fit
the proxy's configuration. (No Docker engine runs here; these keep the files honest.)"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.emulator import BotApiEmulator
from bot.settings import load_settings
from tests.conftest import ROOT
from tests.storage.conftest import fresh_pg
from tests.tg.conftest import TOKEN
from tests.tg.test_e2e import FAKE_CS_ZH, run
from tests.tg.test_webhook import free_port
from tests.tg.test_webhook_workers import _ready

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
NGINX = (ROOT / "deploy" / "nginx.conf.template").read_text(encoding="utf-8")
LOCK = (ROOT / "requirements.lock").read_text(encoding="utf-8")

# Values for the variables docker compose reads from .env.
DOT_ENV = {
    "SENTINEL_BOT_TOKEN": TOKEN,
    "SENTINEL_PSEUDONYM_KEY": "d" * 64,
    "SENTINEL_WEBHOOK_SECRET": "e" * 64,
    "POSTGRES_PASSWORD": "pw",
    "PUBLIC_URL": "https://bot.example.org",
}


def _exec_form(instruction: str) -> list[str]:
    """The JSON (exec form) argument list of a Dockerfile instruction, e.g. CMD."""
    found = re.search(rf"^{instruction}\s+(?:.*?\bCMD\s+)?(\[.*\])\s*$", DOCKERFILE, re.M | re.S)
    assert found, f"no {instruction} in exec form"
    joined = found.group(1).replace("\\\n", " ")
    return list(json.loads(joined[: joined.index("]") + 1]))


def _image_env() -> dict[str, str]:
    return dict(re.findall(r"^\s+(SENTINEL_\w+)=(\S+)", DOCKERFILE, re.M))


def _compose_env(service: str) -> dict[str, str]:
    def substitute(value: str) -> str:
        def one(m: re.Match[str]) -> str:
            name, kind, default = m.group(1), m.group(2), m.group(3)
            return DOT_ENV.get(name, default if kind == ":-" else "")

        return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", one, value)

    env = COMPOSE["services"][service]["environment"]
    return {k: substitute(str(v)) for k, v in env.items()}


def test_the_compose_workers_start_with_valid_settings_that_fit_the_proxy() -> None:
    workers = [name for name, svc in COMPOSE["services"].items() if "environment" in svc]
    workers = [name for name in workers if name.startswith("worker")]
    assert len(workers) >= 2
    total_rate = 0.0
    for name in workers:
        settings = load_settings(ROOT / "config.yaml", environ=_image_env() | _compose_env(name))
        assert settings.mode == "production" and settings.database_url is not None
        assert settings.webhook.url == f"{DOT_ENV['PUBLIC_URL']}{settings.webhook.path}"
        # nginx forwards exactly the path the workers listen on, to the port they listen on.
        assert f"location = {settings.webhook.path} {{" in NGINX
        assert f"server {name}:8080 " in NGINX
        total_rate += settings.telegram.max_messages_per_second
    # Each worker limits only its own sending: together they must stay within Telegram's 30/s.
    assert total_rate <= 30


def test_the_proxy_finds_the_workers_through_the_networks_own_dns() -> None:
    # Docker's embedded DNS (127.0.0.11) does not exist under podman: nginx's entrypoint fills
    # in the nameservers of the container's /etc/resolv.conf instead.
    assert not re.search(r"^\s*resolver 127\.0\.0\.11", NGINX, re.M)
    assert re.search(r"^\s+resolver \$\{NGINX_LOCAL_RESOLVERS\} ", NGINX, re.M)
    proxy = COMPOSE["services"]["proxy"]
    assert proxy["environment"]["NGINX_ENTRYPOINT_LOCAL_RESOLVERS"] == "1"
    out = proxy["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"]
    [mount] = proxy["volumes"]
    assert mount == "./deploy/nginx.conf.template:/etc/nginx/templates/nginx.conf.template:ro"
    assert f"{out}/nginx.conf" == "/etc/nginx/nginx.conf"
    # Only ${NAME} forms are replaced, and only this one is meant: nginx's own stay as written.
    assert set(re.findall(r"\$\{(\w+)\}", NGINX)) == {"NGINX_LOCAL_RESOLVERS"}


def test_images_are_pinned_and_the_workers_run_read_only() -> None:
    assert re.fullmatch(r"postgres:16\.\d+(-\w+)?", COMPOSE["services"]["postgres"]["image"])
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-alpine", COMPOSE["services"]["proxy"]["image"])
    # One base, by default Docker Hub's patch-pinned Python; make image passes a local one.
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11\.\d+-slim-bookworm$", DOCKERFILE, re.M)
    froms = re.findall(r"^FROM (.+)$", DOCKERFILE, re.M)
    assert froms and all(f.split()[0] == "${BASE_IMAGE}" for f in froms), froms
    for name in ("worker1", "worker2"):
        worker = COMPOSE["services"][name]
        assert worker["read_only"] is True
        assert any(t.startswith("/tmp:") for t in worker["tmpfs"])
    # What the image writes to at run time is under /tmp (or /data, the SQLite volume).
    env = dict(re.findall(r"^(?:ENV)?\s+(\w+)=(\S+?)\s*\\?$", DOCKERFILE, re.M))
    assert env["HOME"] == "/tmp" and env["MPLCONFIGDIR"].startswith("/tmp/")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_the_lock_pins_every_package_with_hashes_and_the_image_requires_them() -> None:
    entries = [e for e in re.split(r"(?<!\\)\n", LOCK) if e.strip() and not e.startswith("#")]
    names = set()
    for entry in entries:
        name, _, rest = entry.partition("==")
        assert re.match(r"[\w.+-]+ \\", rest) and "--hash=sha256:" in rest, entry
        names.add(name)
    # The headless OpenCV (no libGL), and the build backend pinned with pip.
    assert "opencv-python-headless" in names and "opencv-python" not in names
    assert {"pip", "setuptools"} <= names
    assert "--require-hashes --no-deps --only-binary=:all: -r requirements.lock" in DOCKERFILE
    assert "--no-deps --no-build-isolation -e ." in DOCKERFILE


@pytest.fixture
def empty_pg() -> Iterator[str]:
    yield from fresh_pg()


def test_two_workers_started_together_with_the_image_command_answer_and_are_healthy(
    empty_pg: str, tmp_path: Path
) -> None:
    # The image's CMD, with only its port changed, started twice at once on an empty database
    # (both apply the migrations); then the image's HEALTHCHECK against each.
    [shell, dash_c, cmd] = _exec_form("CMD")
    assert [shell, dash_c] == ["sh", "-c"] and "--port 8080" in cmd
    health = shlex.join(_exec_form("HEALTHCHECK"))
    # `python` in the image is the one with the project installed: here, this venv's.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        ports = [free_port(), free_port()]
        env = (
            os.environ
            | _image_env()
            | {
                "PATH": path,
                "SENTINEL_BOT_TOKEN": TOKEN,
                "SENTINEL_PSEUDONYM_KEY": "d" * 64,
                "SENTINEL_WEBHOOK_SECRET": "e" * 64,
                "SENTINEL_DATABASE_URL": empty_pg,
                "SENTINEL_DATA_DIR": str(tmp_path),
                "SENTINEL_TELEGRAM__API_BASE_URL": emu.base_url,
                # Both register the one public URL, as behind the proxy.
                "SENTINEL_WEBHOOK__URL": f"http://127.0.0.1:{ports[0]}/telegram",
            }
        )
        procs = []
        try:
            for i, port in enumerate(ports):
                with (tmp_path / f"worker{i}.log").open("wb") as log:
                    procs.append(
                        subprocess.Popen(
                            ["sh", "-c", cmd.replace("--port 8080", f"--port {port}")],
                            cwd=ROOT,
                            env=env,
                            stdout=log,
                            stderr=log,
                        )
                    )
            await asyncio.gather(
                *(_ready(port, proc) for port, proc in zip(ports, procs, strict=True))
            )
            for port in ports:
                check = health.replace(":8080/", f":{port}/")
                done = subprocess.run(["sh", "-c", check], env=env, capture_output=True)
                assert done.returncode == 0, done.stderr
            emu.webhook_targets = [f"http://127.0.0.1:{p}/telegram" for p in ports]
            chats = []
            for _ in range(4):
                user = emu.make_user(language_code="zh-hans")
                chat = emu.private_chat(user)
                chats.append(chat["id"])
                emu.send_text(chat, user, FAKE_CS_ZH)
            for chat_id in chats:
                [warning] = await emu.wait_for_messages(chat_id, count=1, timeout=30)
                assert "高风险" in warning["text"]
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)  # what docker stop sends; exec made it Python
            codes = []
            for proc in procs:
                try:
                    codes.append(proc.wait(timeout=40))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    codes.append(proc.wait())
            await emu.stop()
        logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(2))
        # A clean stop: uvicorn finishes the updates in flight, shuts the bot down, then lets
        # SIGTERM end the process (exit 143 in Docker, as for any process docker stop ends).
        assert set(codes) <= {0, -signal.SIGTERM}, f"{codes}\n{logs}"
        assert logs.count("Application shutdown complete") == 2, logs
        assert FAKE_CS_ZH[:8] not in logs  # JSON logs, and no message text in them

    run(go())
