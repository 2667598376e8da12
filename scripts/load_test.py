"""Load and fault test: webhook workers sharing PostgreSQL, fed by the emulator at a fixed rate.

Usage:
  python scripts/load_test.py [--rate 200] [--seconds 60] [--workers 3]
      [--faults [kill,pg,telegram]] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Starts the Bot API emulator in this process and ``--workers`` real workers
(``python -m bot run --mode webhook``) on a fresh PostgreSQL database; the emulator posts
updates to the workers in turn (as a load balancer would) with up to 40 connections at once,
while this script plays users sending a mix of scam and ordinary messages at ``--rate`` per
second for ``--seconds``. It then waits for the last answers and prints: sustained checked
messages per second, p50/p99 from update to reply, CPU and memory per worker, how many updates
got no answer or more than one, and how many hits were stored.

``--faults`` adds, during the run: one worker killed (SIGKILL) at 25% and started again at
35%; PostgreSQL restarted at 50%; 20 answers refused with 429 (retry after 1 s) and 20 with 500
at 70% (``--faults kill,pg`` picks some). Every update must still be answered exactly once and no
hit lost; anything answered twice is listed with its times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.emulator import BotApiEmulator
from bot.storage.db import database, upgrade
from bot.storage.models import Hit

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:LOAD-TEST"
SECRET = "load-test-secret"

SCAMS = [
    "您好，我是快递理赔专员，您的包裹在运输途中丢失了，我们按三倍价格给您理赔，请加一下客服微信办理。",
    "【兼职】动动手指日结300，点赞关注拿佣金，先做三单小任务，加QQ {n} 领取。",
    "我是公安局的，你的身份证涉嫌洗钱案，现在把资金转到安全账户配合调查，不要告诉家人。",
    "Your parcel could not be delivered. Pay the £1.45 redelivery fee at royalmail-resched{n}.com",
    "Hi mum, I dropped my phone in the toilet, this is my new number. Can you pay a bill for me?",
]
ORDINARY = [
    "今晚七点老地方吃饭，别迟到 {n}",
    "【菜鸟驿站】您的包裹已到达小区驿站，凭取件码 6-2-{n} 取件，营业至21点。",
    "See you at the station at 5, I'll bring the tickets. ({n})",
    "会议改到周四下午三点，请大家准时参加。",
    "Thanks for the birthday wishes! Party pics coming soon {n}",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, index: int, env: dict[str, str], log_dir: Path) -> None:
        self.index = index
        self.port = free_port()
        self.env = env
        self.log = log_dir / f"worker{index}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpu_before = 0.0
        self.peak_rss = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--mode", "webhook", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=out,
        )

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                try:
                    if (await http.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        raise RuntimeError(f"worker {self.index} not ready; see {self.log}")

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def pg_restart() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
    )


async def admin(url: str, sql: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> int:
    name = f"sentinel_load_{uuid.uuid4().hex[:8]}"
    await admin(args.postgres, f'CREATE DATABASE "{name}"')
    db = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    await upgrade(db)
    log_dir = Path(args.logs)
    log_dir.mkdir(parents=True, exist_ok=True)
    emu = BotApiEmulator(token=TOKEN)
    emu.self_check = False  # the bot's requests are still validated; the emulator's own output
    # is checked by the test suite, and checking it here would make the emulator the bottleneck
    await emu.start()
    env = os.environ | {
        "SENTINEL_BOT_TOKEN": TOKEN,
        "SENTINEL_PSEUDONYM_KEY": "l" * 64,
        "SENTINEL_DATABASE_URL": db,
        "SENTINEL_MODE": "production",
        "SENTINEL_LOG_FORMAT": "json",
        "SENTINEL_LOG_LEVEL": "WARNING",
        "SENTINEL_WEBHOOK_SECRET": SECRET,
        "SENTINEL_TELEGRAM__API_BASE_URL": emu.base_url,
        # Far above Telegram's free 30/s: the test measures the bot, not Telegram's limit.
        "SENTINEL_TELEGRAM__MAX_MESSAGES_PER_SECOND": "1000",
        "SENTINEL_DATA_DIR": str(log_dir),
        # Telegram opens up to this many connections at once (setWebhook max_connections).
        "SENTINEL_WEBHOOK__MAX_CONNECTIONS": str(args.connections),
        # A killed worker's updates are taken over this long after it took them.
        "SENTINEL_WEBHOOK__LEASE_SECONDS": str(args.lease),
    }
    workers = [Worker(i, env, log_dir) for i in range(args.workers)]
    env_first = env | {"SENTINEL_WEBHOOK__URL": f"{workers[0].url}/telegram"}
    for w in workers:
        w.env = env_first if w.index == 0 else env
        w.start()
    try:
        await asyncio.gather(*(w.ready() for w in workers))
        while emu.webhook_url is None:  # the first worker registers the webhook
            await asyncio.sleep(0.1)
        emu.webhook_targets = [f"{w.url}/telegram" for w in workers]

        users = [emu.make_user(first_name="U", language_code="zh-hans") for _ in range(2000)]
        chats = [emu.private_chat(u) for u in users]
        sent: dict[tuple[int, int], float] = {}
        expect_warning: dict[tuple[int, int], bool] = {}
        total = int(args.rate * args.seconds)
        for w in workers:
            w.cpu_before = w.cpu_seconds()
        faults: list[tuple[float, str]] = []
        if args.faults:
            chosen = set(args.faults.split(","))
            faults = [
                (at, what)
                for at, what, group in [
                    (0.25, "kill", "kill"),
                    (0.35, "restart", "kill"),
                    (0.5, "pg", "pg"),
                    (0.7, "telegram", "telegram"),
                ]
                if group in chosen
            ]
        rnd = random.Random(7)
        own_cpu = time.process_time()
        start = time.monotonic()
        loop = asyncio.get_running_loop()

        async def sample_rss() -> None:
            while True:
                for w in workers:
                    if w.proc is not None and w.proc.poll() is None:
                        w.peak_rss = max(w.peak_rss, w.rss_mib())
                await asyncio.sleep(1)

        sampler = asyncio.create_task(sample_rss())
        fault_log: list[str] = []
        background: set[asyncio.Task[None]] = set()
        for i in range(total):
            due = start + i / args.rate
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            while faults and i >= faults[0][0] * total:
                _, what = faults.pop(0)
                fault_log.append(f"{time.monotonic() - start:5.1f}s {what}")
                if what == "kill":
                    workers[-1].kill()
                elif what == "restart":
                    workers[-1].start()
                    workers[-1].cpu_before = 0.0  # a new process: its CPU counts from zero
                    background.add(loop.create_task(workers[-1].ready()))
                elif what == "pg":
                    # In the background: the users keep sending while the database restarts.
                    background.add(loop.create_task(asyncio.to_thread(pg_restart)))
                elif what == "telegram":
                    emu.inject_fault(status=429, count=20, methods=["sendMessage"], retry_after=1)
                    emu.inject_fault(status=500, count=20, methods=["sendMessage"])
            k = i % len(chats)
            scam = rnd.random() < 0.5
            template = rnd.choice(SCAMS if scam else ORDINARY)
            message = emu.send_text(chats[k], users[k], template.format(n=10000 + i))
            key = (chats[k]["id"], int(message["message_id"]))
            sent[key] = time.monotonic()
            expect_warning[key] = scam
        send_seconds = time.monotonic() - start
        await asyncio.gather(*background)  # the restarted worker is up, the database too

        def replies() -> list[tuple[tuple[int, int], float]]:
            """(chat, message answered) and when, for every answer the bot sent, in order."""
            out = []
            for r in emu.requests:
                if r.method == "sendMessage" and r.ok and "reply_parameters" in r.params:
                    reply_to = r.params["reply_parameters"]
                    if isinstance(reply_to, str):
                        reply_to = json.loads(reply_to)
                    out.append(((int(r.params["chat_id"]), int(reply_to["message_id"])), r.at))
            return out

        def answers() -> Counter[tuple[int, int]]:
            return Counter(key for key, _ in replies())

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(answers()) < len(sent):
            await asyncio.sleep(1)
        elapsed = time.monotonic() - start
        sampler.cancel()
        own_cpu = time.process_time() - own_cpu
        cpu = [
            (w.cpu_seconds() - w.cpu_before) if w.proc and w.proc.poll() is None else 0.0
            for w in workers
        ]

        got = answers()
        latencies = []
        first_answer: dict[tuple[int, int], float] = {}
        for key, at in replies():
            first_answer.setdefault(key, at)
        windows: dict[int, list[float]] = {}
        for key, at in first_answer.items():
            if key in sent:
                latencies.append(at - sent[key])
                windows.setdefault(int((sent[key] - start) // 10), []).append(at - sent[key])
        latencies.sort()
        lost = [k for k in sent if got[k] == 0]
        dup = [k for k in sent if got[k] > 1]
        async with database(db) as sessions:
            await asyncio.sleep(3)  # the workers write hits every second
            async with sessions() as s:
                hits = int((await s.execute(select(func.count()).select_from(Hit))).scalar_one())

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        answered = len(sent) - len(lost)
        # The rate over the time the answers took (first update sent to last answer), not the
        # polling loop's, which waits in whole seconds.
        last_answer = max(first_answer.values(), default=start)
        answer_seconds = max(last_answer - start, send_seconds)
        rows = [
            ("workers", f"{args.workers} webhook workers, PostgreSQL, the emulator"),
            ("offered", f"{len(sent):,} updates at {args.rate:g}/s over {send_seconds:.1f} s"),
            (
                "answered",
                f"{answered:,}, the last {answer_seconds:.1f} s after the first was sent: "
                f"{answered / answer_seconds:.1f} checked messages/s sustained",
            ),
        ]
        if latencies:
            rows.append(
                (
                    "update -> reply",
                    f"p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, "
                    f"max {latencies[-1] * 1000:.0f} ms",
                )
            )
        if windows:
            per_window = []
            for w_index, values in sorted(windows.items()):
                values.sort()
                p99 = values[min(len(values) - 1, int(0.99 * len(values)))] * 1000
                per_window.append(f"{w_index * 10}-{w_index * 10 + 10}s {p99:.0f}")
            rows.append(("p99 (ms) by 10 s", ", ".join(per_window)))
        rows.append(("lost / duplicated", f"{len(lost)} / {len(dup)}"))
        for key in dup:
            times = ", ".join(f"{at - start:.2f} s" for k, at in replies() if k == key)
            when = f"sent at {sent[key] - start:.2f} s, answers at {times}"
            rows.append(("  answered twice", when))
        rows.append(("hits stored", f"{hits:,} (updates {len(sent):,})"))
        for w, c in zip(workers, cpu, strict=True):
            rows.append(
                (
                    f"worker {w.index}",
                    f"CPU {c / elapsed * 100:.0f}% of a core, peak RSS {w.peak_rss:.0f} MiB",
                )
            )
        if fault_log:
            rows.append(("faults", "; ".join(fault_log)))
        rows.append(
            (
                "emulator + users",
                f"CPU {own_cpu / elapsed * 100:.0f}% of a core (this process); "
                f"{len(emu.requests):,} requests, {len(emu.invalid_requests)} invalid",
            )
        )
        print()
        for label, value in rows:
            print(f"{label:<20} {value}")
        ok = not lost and not dup and not emu.invalid_requests
        return 0 if ok else 1
    finally:
        for w in workers:
            w.stop()
        await emu.stop()
        await admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="updates per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--faults",
        nargs="?",
        const="kill,pg,telegram",
        help="faults during the run (all when given alone): kill (a worker killed, then "
        "started again), pg (PostgreSQL restarted), telegram (429s and 500s)",
    )
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--connections", type=int, default=100, help="webhook.max_connections")
    parser.add_argument("--lease", type=float, default=5.0, help="webhook.lease_seconds")
    parser.add_argument("--logs", default="/tmp/sentinel-load", help="worker logs go here")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
