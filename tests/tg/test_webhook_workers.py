"""Webhook workers as the deployment runs them (``python -m bot db upgrade``, then
``python -m bot run --mode webhook``), two of them on one PostgreSQL behind the emulator: each
update is answered exactly once when one worker is stopped (SIGTERM) with updates in flight,
and none is lost when one is killed (SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.emulator import BotApiEmulator
from tests.conftest import ROOT
from tests.storage.conftest import pg_url
from tests.tg.conftest import TOKEN, bot_subprocess
from tests.tg.test_e2e import FAKE_CS_ZH, run
from tests.tg.test_webhook import free_port

__all__ = ["pg_url"]


def _env(emu: BotApiEmulator, db: str, tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "SENTINEL_BOT_TOKEN": TOKEN,
        "SENTINEL_PSEUDONYM_KEY": "w" * 64,
        "SENTINEL_DATABASE_URL": db,
        "SENTINEL_MODE": "production",
        "SENTINEL_LOG_FORMAT": "json",
        "SENTINEL_DATA_DIR": str(tmp_path),
        "SENTINEL_WEBHOOK_SECRET": "worker-test-secret",
        "SENTINEL_WEBHOOK__LEASE_SECONDS": "2",
        "SENTINEL_TELEGRAM__API_BASE_URL": emu.base_url,
    }


def worker(env: dict[str, str], port: int, log: Path) -> AbstractContextManager[Any]:
    return bot_subprocess(["run", "--mode", "webhook", "--port", str(port)], env, log)


async def _ready(port: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until the worker on ``port`` says it is ready. A busy machine may take a minute to
    start two workers (imports, rule compilation, migrations), so the wait is bounded by the
    worker dying or by five minutes, not by a time that assumes a fast machine."""
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(trust_env=False) as http:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"worker on {port} exited with {proc.returncode}")
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"worker on {port} never became ready")


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_two_workers_answer_each_update_once_even_when_one_is_killed(
    pg_url: str, tmp_path: Path, stop: signal.Signals
) -> None:
    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            env = _env(emu, pg_url, tmp_path)
            subprocess.run(
                [sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True
            )
            a_port, b_port = free_port(), free_port()
            a_env = env | {"SENTINEL_WEBHOOK__URL": f"http://127.0.0.1:{a_port}/telegram"}
            with (
                worker(a_env, a_port, tmp_path / "a.log") as a,
                worker(env, b_port, tmp_path / "b.log") as b,
            ):
                await asyncio.gather(_ready(a_port, a), _ready(b_port, b))
                emu.webhook_targets = [
                    f"http://127.0.0.1:{a_port}/telegram",
                    f"http://127.0.0.1:{b_port}/telegram",
                ]
                chats = []

                async def burst(n: int) -> None:
                    for i in range(n):
                        user = emu.make_user(language_code="zh-hans")
                        chat = emu.private_chat(user)
                        chats.append(chat["id"])
                        emu.send_text(chat, user, f"{FAKE_CS_ZH} {i}")

                await burst(20)
                while sum(d.ok for d in emu.webhook_deliveries) < 20:  # all acknowledged
                    await asyncio.sleep(0.05)
                await burst(20)
                a_url = f"http://127.0.0.1:{a_port}/telegram"
                # Stop A while it holds updates (however fast or slow this machine is).
                for _ in range(2000):
                    if a_url in emu.webhook_in_flight.values():
                        break
                    await asyncio.sleep(0.005)
                held_by_a = {u for u, url in emu.webhook_in_flight.items() if url == a_url}
                assert held_by_a
                # SIGKILL with updates in flight: no goodbye, no cleanup. SIGTERM (docker stop,
                # a rolling upgrade): the worker finishes the updates it has, then exits.
                a.send_signal(stop)
                killed_at = time.monotonic()
                for chat in chats:
                    await emu.wait_for_messages(chat, count=1, timeout=60)
                await asyncio.sleep(3)  # anything answered twice would show by now
            answers: dict[int, list[float]] = {}
            for r in emu.requests:
                if r.method == "sendMessage" and r.ok:
                    answers.setdefault(int(r.params["chat_id"]), []).append(r.at)
            # Every update answered; the updates A had in flight were redelivered to B and
            # answered once there. The one exception the design admits: A sent an answer and
            # was killed in the milliseconds before marking it, so B answers it again; such an
            # answer is always one A sent before the kill.
            assert all(answers.get(c) for c in chats)
            twice = {c: sorted(at) for c, at in answers.items() if len(at) > 1}
            if stop == signal.SIGTERM:
                assert twice == {}  # a graceful stop leaves no answer unrecorded
                assert a.returncode is not None  # A is gone, and it went cleanly:
                assert "Application shutdown complete" in (tmp_path / "a.log").read_text()
            assert all(len(at) == 2 and at[0] < killed_at for at in twice.values()), twice
            # ... and only for an update A held when it was killed and never acknowledged.
            unacknowledged = {
                d.chat_id
                for d in emu.webhook_deliveries
                if d.url == a_url and not d.ok and d.update_id in held_by_a
            }
            assert set(twice) <= unacknowledged, (twice, unacknowledged)
            delivered_to = {d.url for d in emu.webhook_deliveries if d.ok}
            assert len(delivered_to) == 2  # both workers took part before the kill
            if stop == signal.SIGKILL:
                assert any(not d.ok for d in emu.webhook_deliveries)  # the kill was felt ...
            assert emu.invalid_requests == []  # ... and redelivered updates went to B
        finally:
            await emu.stop()

    run(go())


def test_a_rule_change_or_language_chosen_in_one_worker_is_in_force_in_the_other(
    pg_url: str, tmp_path: Path
) -> None:
    """A rule change confirmed through worker A is used by worker B within 5 s; a language a
    person chose through A is used by B at once, although B had answered them before."""
    admin_id, mod_id = 910001, 910002

    async def go() -> None:
        emu = BotApiEmulator(token=TOKEN)
        await emu.start()
        try:
            env = _env(emu, pg_url, tmp_path) | {"SENTINEL_MODERATION__ADMINS": f"[{admin_id}]"}
            a_port, b_port = free_port(), free_port()
            a_env = env | {"SENTINEL_WEBHOOK__URL": f"http://127.0.0.1:{a_port}/telegram"}
            with (
                worker(a_env, a_port, tmp_path / "a.log") as a,
                worker(env, b_port, tmp_path / "b.log") as b,
            ):
                await asyncio.gather(_ready(a_port, a), _ready(b_port, b))
                a_url, b_url = (f"http://127.0.0.1:{p}/telegram" for p in (a_port, b_port))
                # Worker B answers a person in their Telegram language (Chinese) ...
                emu.webhook_targets = [b_url]
                person = emu.make_user(language_code="zh-hans")
                person_chat = emu.private_chat(person)
                emu.send_text(person_chat, person, "/lang")
                [prompt] = await emu.wait_for_messages(person_chat["id"], count=1, timeout=30)
                assert "请选择语言" in prompt["text"]
                # ... who then chooses English through worker A.
                emu.webhook_targets = [a_url]
                emu.press_button(person_chat, person, prompt, "lang:en")
                msgs = await emu.wait_for_messages(person_chat["id"], count=2, timeout=30)
                assert "reply in English" in msgs[1]["text"]
                emu.webhook_targets = [b_url]
                emu.send_text(person_chat, person, "/help")
                msgs = await emu.wait_for_messages(person_chat["id"], count=3, timeout=30)
                assert "Forward" in msgs[2]["text"]  # B answers in English at once
                # Every update goes to worker A only, until the change is confirmed there.
                emu.webhook_targets = [a_url]
                admin = emu.make_user(language_code="en", user_id=admin_id)
                mod = emu.make_user(language_code="en", user_id=mod_id)
                admin_chat, mod_chat = emu.private_chat(admin), emu.private_chat(mod)
                emu.send_text(admin_chat, admin, f"/mod add {mod_id}")
                await emu.wait_for_messages(admin_chat["id"], count=1, timeout=30)
                emu.send_text(mod_chat, mod, "/disable fake-courier-cs\nwhy: paused for review")
                [preview] = await emu.wait_for_messages(mod_chat["id"], count=1, timeout=60)
                data = preview["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                emu.press_button(mod_chat, mod, preview, data)
                msgs = await emu.wait_for_messages(mod_chat["id"], count=2, timeout=30)
                assert "is live" in msgs[1]["text"]
                # From now on only worker B answers: it picks the new version up without a
                # restart (it polls every few seconds; a busy machine may take longer).
                emu.webhook_targets = [b_url]
                for _ in range(30):
                    await asyncio.sleep(2.0)
                    user = emu.make_user(language_code="zh-hans")
                    chat = emu.private_chat(user)
                    emu.send_text(chat, user, FAKE_CS_ZH)
                    [answer] = await emu.wait_for_messages(chat["id"], count=1, timeout=60)
                    if "冒充快递" not in answer["text"]:
                        break
                assert "冒充快递" not in answer["text"]
                for _ in range(100):  # acknowledged just after the answer went out
                    if any(d.ok and f":{b_port}/" in d.url for d in emu.webhook_deliveries):
                        break
                    await asyncio.sleep(0.05)
                assert any(d.ok and f":{b_port}/" in d.url for d in emu.webhook_deliveries)
            assert emu.invalid_requests == []
        finally:
            await emu.stop()

    run(go())
