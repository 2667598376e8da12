"""Benchmark: the weekly digest broadcast to many subscribers against the Bot API emulator.

Usage:
  python scripts/bench_digest.py [--subscribers 100000] [--rate 25] [--en-share 0.2]
      [--concurrency 8] [--database URL]

The emulator runs in a child process (so its memory is not counted) with one private chat per
subscriber. This process builds the real bot (python-telegram-bot with its rate limiter), fills
a fresh database (SQLite by default) with eight weeks of sample hits and the subscribers, then
runs the same broadcast the bot runs every few minutes. It prints the achieved rate against the
configured one, the largest number of messages the emulator received in any one second, the
bot process's memory, and checks that every subscriber got exactly one digest.

At the default 25 messages/s, 100,000 subscribers take over an hour: that is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bot.digest.broadcast import broadcast
from bot.digest.sample import fill_sample
from bot.digest.stats import previous_week, week_id
from bot.emulator import BotApiEmulator
from bot.engine import Engine
from bot.settings import load_settings
from bot.storage.db import upgrade
from bot.storage.models import Subscription, utcnow
from bot.tg.app import build_application
from bot.tg.deps import deps_of
from bot.tg.sending import DigestSender

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-TOKEN"
KEY = "b" * 64


# -- the emulator, in its own process ---------------------------------------------------------


def emulator_main(n: int, conn: Connection) -> None:
    asyncio.run(_emulator(n, conn))


async def _emulator(n: int, conn: Connection) -> None:
    emu = BotApiEmulator(token=TOKEN)
    chats = [emu.private_chat(emu.make_user(first_name="Subscriber"))["id"] for _ in range(n)]
    await emu.start()
    conn.send((emu.base_url, chats))
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        stamps = [r.at for r in emu.requests if r.ok and r.method in ("sendMessage", "sendPhoto")]
        per_second = Counter(int(s - stamps[0]) for s in stamps) if stamps else Counter()
        # One pass over the calls (asking per chat would scan every message each time).
        digests = Counter(
            int(r.params["chat_id"]) for r in emu.requests if r.ok and r.method == "sendPhoto"
        )
        conn.send(
            {
                "messages": len(stamps),
                "max_in_one_second": max(per_second.values(), default=0),
                "got_one": sum(1 for c in chats if digests[c] == 1),
                "got_more": sum(1 for c in chats if digests[c] > 1),
                "got_none": sum(1 for c in chats if digests[c] == 0),
                "invalid_requests": len(emu.invalid_requests),
            }
        )
    await emu.stop()


# -- the bot side -----------------------------------------------------------------------------


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def bench(args: argparse.Namespace) -> int:
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(
        target=emulator_main, args=(args.subscribers, child), daemon=True
    )
    proc.start()
    print(f"emulator: creating {args.subscribers:,} private chats ...", flush=True)
    base_url, chats = parent.recv()

    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    limit = max(30.0, args.rate)
    settings = load_settings(
        ROOT / "config.yaml",
        environ={
            "SENTINEL_DATA_DIR": tmp.name,
            "SENTINEL_DATABASE_URL": url,
            "SENTINEL_PSEUDONYM_KEY": KEY,
            "SENTINEL_LOG_LEVEL": "INFO",
            "SENTINEL_DIGEST__RATE_PER_SECOND": str(args.rate),
            "SENTINEL_DIGEST__CONCURRENCY": str(args.concurrency),
            "SENTINEL_TELEGRAM__MAX_MESSAGES_PER_SECOND": str(limit),
        },
    )
    await upgrade(url)
    engine = Engine.from_dir(ROOT / settings.engine.rules_dir)
    app = build_application(settings, engine, token=TOKEN, base_url=base_url)
    deps = deps_of(app)
    now = dt.datetime.now(dt.UTC)
    zone = ZoneInfo(settings.digest.timezone)
    last_week = previous_week(week_id(now, zone), zone, 1)
    hits = await fill_sample(deps.sessions, last_week, zone)
    subscribed = utcnow() - dt.timedelta(days=8)
    every = max(1, round(1 / args.en_share)) if args.en_share > 0 else 0
    rows = [
        {
            "chat_pseudonym": f"{i:064x}",
            "chat_sealed": deps.sealer.seal(chat),
            "chat_type": "private",
            "lang": "en" if every and i % every == 0 else "zh-hans",
            "timezone": settings.digest.timezone,
            "active": True,
            "created_at": subscribed,
        }
        for i, chat in enumerate(chats)
    ]
    async with deps.sessions() as s, s.begin():
        for start in range(0, len(rows), 5000):
            await s.execute(insert(Subscription), rows[start : start + 5000])
    del rows
    print(
        f"database: {hits:,} sample hits, {len(chats):,} subscribers ({url.split(':')[0]}); "
        f"broadcasting at {args.rate:g} messages/s, {args.concurrency} in flight",
        flush=True,
    )

    peak = baseline = rss_mib()
    done = asyncio.Event()

    async def sample_memory() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mib())
            await asyncio.sleep(0.5)

    async with app:
        sampler = asyncio.create_task(sample_memory())
        started = time.monotonic()
        report = await broadcast(
            deps.sessions, settings.digest, engine, deps.sealer, DigestSender(app.bot)
        )
        elapsed = time.monotonic() - started
        done.set()
        await sampler
    parent.send("stats")
    stats = parent.recv()
    parent.send("stop")
    proc.join(10)
    await deps.writer.stop()
    tmp.cleanup()

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"subscribers          {len(chats):>12,}")
    print(
        f"digests sent         {report.sent:>12,}   "
        f"(blocked {report.blocked}, failed {report.failed})"
    )
    print(f"messages sent        {report.messages:>12,}   (a digest too long for a caption is two)")
    print(f"elapsed              {elapsed:>12,.1f} s")
    print(
        f"achieved rate        {report.messages / elapsed:>12.2f} messages/s  "
        f"= {report.messages / elapsed / args.rate:.3f} x the configured {args.rate:g}/s"
    )
    print(f"emulator, busiest 1s {stats['max_in_one_second']:>12,} messages")
    print(
        f"bot memory (RSS)     {baseline:>12.0f} MiB before, {peak:.0f} MiB peak "
        f"(+{peak - baseline:.0f}); ru_maxrss {maxrss:.0f} MiB"
    )
    print(
        f"each subscriber      {stats['got_one']:>12,} got exactly one, "
        f"{stats['got_more']} more than one, {stats['got_none']} none; "
        f"invalid requests {stats['invalid_requests']}"
    )
    ok = stats["got_one"] == len(chats) and stats["invalid_requests"] == 0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=25.0, help="messages/s (config default 25)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--en-share", type=float, default=0.2, help="share of English subscribers")
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
