"""The terminal demo: paste a message, read the verdict; anonymized hits go to SQLite.

Owns: the local, no-token way to try Sentinel end to end on this machine: settings, the rule
engine, the pseudonym key (created in the data directory), migrations applied at start, the
resilient hit writer, and the /mydata and /forget rights. The terminal user is local user 0.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable

from bot.engine import Engine, Verdict
from bot.privacy import Pseudonymizer, load_or_create_key
from bot.settings import Settings
from bot.storage import (
    HitWriter,
    hits_from_verdict,
    make_engine,
    redact_url,
    session_factory,
    upgrade,
)
from bot.storage.queries import forget, my_data

log = logging.getLogger(__name__)
LOCAL_USER = 0


async def run_demo(
    settings: Settings,
    engine: Engine,
    lang: str,
    show: Callable[[Verdict, str], None],
    interactive: bool,
) -> None:
    key = load_or_create_key(
        settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None,
        settings.data_dir,
        production=settings.mode == "production",
    )
    me = Pseudonymizer(key)(LOCAL_USER)
    url = settings.database_url_value
    try:
        await upgrade(url)
    except Exception as exc:
        print(
            f"(database {redact_url(url)} unavailable: {type(exc).__name__}; "
            "checks go on, hits wait in memory)",
            file=sys.stderr,
        )
    db = make_engine(url)
    sessions = session_factory(db)
    writer = HitWriter(
        sessions,
        max_queue=settings.storage.queue_max,
        batch_size=settings.storage.batch_size,
        flush_interval=settings.storage.flush_interval_seconds,
    )
    writer.start()
    limit = settings.engine.max_text_chars
    if interactive:
        print(
            "Sentinel demo: paste a message and press Enter. /mydata shows what is stored about "
            "you, /forget deletes it. Ctrl-D quits."
        )
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, "> " if interactive else "")
            except EOFError:
                break
            text = line.strip()
            if not text:
                continue
            if text == "/mydata":
                await writer.flush()  # what is waiting counts as stored
                data = await my_data(sessions, me)
                print(f"stored about you: {data['counts']}")
                continue
            if text == "/forget":
                waiting = writer.discard(me)
                deleted = await forget(sessions, me)
                deleted["hits"] += waiting
                print(f"deleted: {deleted}")
                continue
            if len(text) > limit:
                print(
                    f"That message is longer than {limit} characters; please send a shorter part."
                )
                continue
            verdict = engine.check(text)
            writer.record(
                hits_from_verdict(
                    verdict, user_pseudonym=me, lang=lang, chat_type="private", input_kind="text"
                )
            )
            show(verdict, lang)
            print()
    finally:
        await writer.stop()
        await db.dispose()
