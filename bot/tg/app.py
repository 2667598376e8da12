"""Build and run the Telegram application: python-telegram-bot wired to the engine and storage.

Owns: creating the PTB ``Application`` (rate limiter, base URL for the local emulator), the
start-up work (migrations, commands per scope, OCR warm-up, hit writer, daily retention job)
and the shutdown work (writing waiting hits). Handlers are registered in ``handlers.register``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.digest.broadcast import broadcast
from bot.engine import Engine
from bot.metrics import watch_writer
from bot.moderation.live import LiveRules
from bot.moderation.validate import load_baseline
from bot.privacy import Pseudonymizer, Sealer, load_or_create_key
from bot.settings import Settings
from bot.storage import HitWriter, make_engine, redact_url, session_factory, upgrade
from bot.storage.db import dispose, engine_of
from bot.storage.locks import exclusive
from bot.storage.moderation import already_done, audit
from bot.storage.queries import purge_expired
from bot.tg.deps import Deps, attach, deps_of
from bot.tg.handlers import gathered, register
from bot.tg.i18n import COMMANDS, Lang
from bot.tg.media import ImageReader
from bot.tg.moderation import refresh_rules, review_reminder
from bot.tg.pacing import Gatherer, SharedPacing
from bot.tg.sending import CountingRequest, DigestSender, PollingRequest

log = logging.getLogger(__name__)

PRIVATE_COMMANDS = (
    "start",
    "help",
    "digest",
    "subscribe",
    "unsubscribe",
    "lang",
    "region",
    "privacy",
    "mydata",
    "forget",
)
GROUP_COMMANDS = ("check", "help")
ADMIN_COMMANDS = ("check", "help", "subscribe", "unsubscribe", "sentinel")


def _commands(names: tuple[str, ...], lang: Lang) -> list[BotCommand]:
    return [BotCommand(n, COMMANDS[n][lang]) for n in names]


async def set_commands(app: Application[Any, Any, Any, Any, Any, Any], default: Lang) -> None:
    """Commands per scope and language, so Telegram's menu shows the right ones."""
    bot = app.bot
    for scope, names in (
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
        (BotCommandScopeAllGroupChats(), GROUP_COMMANDS),
        (BotCommandScopeAllChatAdministrators(), ADMIN_COMMANDS),
    ):
        await bot.set_my_commands(_commands(names, default), scope=scope)
        await bot.set_my_commands(_commands(names, "zh-hans"), scope=scope, language_code="zh")
        await bot.set_my_commands(_commands(names, "en"), scope=scope, language_code="en")


async def _digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every few minutes: start a broadcast of the digests that are due, unless one runs."""
    deps = deps_of(context)
    if deps.broadcasting is not None and not deps.broadcasting.done():
        return
    await deps.writer.flush()
    sender = deps.digest_sender or DigestSender(context.bot)
    deps.digest_sender = sender
    deps.broadcast_stop = asyncio.Event()
    deps.broadcasting = asyncio.create_task(
        broadcast(
            deps.sessions,
            deps.settings.digest,
            deps.engine(),
            deps.sealer,
            sender,
            stop=deps.broadcast_stop,
        ),
        name="digest-broadcast",
    )


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily retention purge, once across all workers (a lock, and a mark per day)."""
    deps = deps_of(context)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    async with exclusive(engine_of(deps.sessions), "retention-purge") as mine:
        if not mine or await already_done(deps.sessions, "retention.purge", today):
            return
        await _purge_now(deps)
        # Marked after the purge: one that failed is tried by the next worker whose job
        # fires today (a purge done twice deletes nothing more).
        await audit(deps.sessions, "system", "retention.purge", today)


async def _purge_now(deps: Deps) -> None:
    counts = await purge_expired(
        deps.sessions,
        hit_days=deps.settings.storage.retention_days,
        report_days=deps.settings.storage.report_retention_days,
    )
    log.info("retention purge: %s", counts)


def build_application(
    settings: Settings,
    engine: Engine,
    *,
    token: str,
    base_url: str | None = None,
    base_file_url: str | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot, ready for ``run_polling`` or ``async with app: await app.start()``."""
    key = load_or_create_key(
        settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None,
        settings.data_dir,
        production=settings.mode == "production",
    )
    url = settings.database_url_value
    db = make_engine(url)
    sessions = session_factory(db)
    writer = HitWriter(
        sessions,
        max_queue=settings.storage.queue_max,
        batch_size=settings.storage.batch_size,
        flush_interval=settings.storage.flush_interval_seconds,
    )
    watch_writer(
        lambda: (
            writer.pending,
            writer.stats.failures,
            writer.stats.dropped,
            writer.stats.rejected,
        )
    )
    tg = settings.telegram

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        deps = deps_of(app)

        async def migrate() -> None:
            # The database may come up after the bot (compose, a restart): keep trying, and
            # start writing hits only once the tables exist. Checks are answered meanwhile.
            delay = 1.0
            while True:
                try:
                    await upgrade(url)
                    break
                except Exception as exc:  # noqa: BLE001 - checks must go on without the database
                    log.error(
                        "database %s unavailable (%s); retrying migrations in %.0f s; hits wait",
                        redact_url(url),
                        type(exc).__name__,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 60.0)
            writer.start()

        try:
            await asyncio.wait_for(upgrade(url), timeout=30)
            writer.start()
        except Exception:  # noqa: BLE001 - retried in the background below
            deps.background.append(asyncio.create_task(migrate(), name="migrate"))
        await set_commands(app, settings.default_language)
        try:
            await live.refresh(sessions)  # moderators' revisions, before the first update
        except Exception as exc:  # noqa: BLE001 - the bundled rules serve until the database is up
            log.warning("rule revisions not loaded yet: %s", type(exc).__name__)
        # Load the OCR models in a worker thread now, so the first screenshot is not slow.
        deps.background.append(
            asyncio.get_running_loop().run_in_executor(None, deps.images.warm_up)
        )
        if app.job_queue is not None:
            hh, mm = (int(x) for x in tg.purge_time_utc.split(":"))
            app.job_queue.run_daily(_purge, time=dt.time(hh, mm, tzinfo=dt.UTC), name="retention")
            app.job_queue.run_repeating(
                refresh_rules,
                interval=settings.moderation.refresh_seconds,
                first=settings.moderation.refresh_seconds,
                name="rules",
            )
            mod = settings.moderation
            rh, rm = (int(x) for x in mod.review_time_utc.split(":"))
            app.job_queue.run_daily(
                review_reminder,
                time=dt.time(rh, rm, tzinfo=dt.UTC),
                days=(mod.review_weekday % 7,),  # PTB counts days from 0 = Sunday
                name="review-reminder",
            )
            every = settings.digest.check_seconds
            app.job_queue.run_repeating(
                _digest, interval=every, first=min(every, 60), name="digest"
            )

    async def post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        deps = deps_of(app)
        for task in deps.background:
            task.cancel()
        if deps.broadcasting is not None and not deps.broadcasting.done():
            # Stop claiming; the sends in flight finish and are recorded.
            assert deps.broadcast_stop is not None
            deps.broadcast_stop.set()
            try:
                await asyncio.wait_for(deps.broadcasting, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("digest broadcast did not stop in time; it resumes at the next start")
        await writer.stop()
        deps.checks.close()
        await dispose(db)

    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .token(token)
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=tg.max_messages_per_second, overall_time_period=1, max_retries=3
            )
        )
        .request(CountingRequest(connection_pool_size=256))
        .get_updates_request(PollingRequest())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .concurrent_updates(True)
    )
    if base_url:
        builder = builder.base_url(base_url)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    app = builder.build()

    deps_holder: dict[str, Deps] = {}

    async def process_batch(key: str, pieces: list[Any]) -> None:
        await gathered(deps_holder["deps"], key, pieces)

    live = LiveRules(Path(settings.engine.rules_dir), engine)
    deps = Deps(
        settings=settings,
        engine=live.engine,
        live=live,
        baseline=load_baseline(),
        pseudonym=Pseudonymizer(key),
        sealer=Sealer(key),
        sessions=sessions,
        writer=writer,
        images=ImageReader(
            tg.ocr_workers,
            max_pixels=int(tg.max_image_megapixels * 1_000_000),
            max_text_chars=tg.max_image_text_chars,
        ),
        pacing=SharedPacing(
            sessions,
            burst=tg.flood_burst,
            every=tg.flood_every_seconds,
            forward_share=settings.engine.conversation_max_messages,
            shared=False,  # a webhook worker turns it on (see webhook.create_app)
            timeout=tg.shared_state_timeout_seconds,
        ),
        gather=Gatherer(
            tg.conversation_window_seconds, settings.engine.conversation_max_messages, process_batch
        ),
    )
    deps_holder["deps"] = deps
    attach(app.bot_data, deps)
    register(app)
    return app


@asynccontextmanager
async def polling(
    app: Application[Any, Any, Any, Any, Any, Any], *, timeout: int = 1
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the bot with polling inside an existing event loop (tests, the demo). PTB calls the
    post-init and post-shutdown hooks only from ``run_polling``, so they are called here too."""
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0, timeout=timeout, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


def bot_api(settings: Settings) -> dict[str, str | None]:
    """Token and server URLs from the settings: Telegram's, or ``telegram.api_base_url``."""
    assert settings.bot_token is not None
    base = settings.telegram.api_base_url
    return {
        "token": settings.bot_token.get_secret_value(),
        "base_url": base,
        # A local Bot API server serves files under /file/bot…, beside /bot….
        "base_file_url": base.replace("/bot", "/file/bot", 1) if base else None,
    }


def run_polling(settings: Settings, engine: Engine) -> None:
    """The real bot against Telegram, or the Bot API server in ``telegram.api_base_url``."""
    api = bot_api(settings)
    app = build_application(
        settings,
        engine,
        token=str(api["token"]),
        base_url=api["base_url"],
        base_file_url=api["base_file_url"],
    )
    app.run_polling(allowed_updates=Update.ALL_TYPES)
