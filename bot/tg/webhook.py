"""Webhook mode: many stateless workers behind a load balancer, sharing PostgreSQL.

Owns: the ASGI app each worker serves (Starlette, run by uvicorn). ``POST <webhook.path>``
checks Telegram's secret token, claims the update id in the database (Telegram redelivers:
an update already answered is dropped, one another live worker is answering gets a 503 so
Telegram tries again later, one a dead worker left is taken over), hands the update to
python-telegram-bot and acknowledges it only after it was answered, so a worker killed
mid-update costs nothing: Telegram sends the update again and another worker answers it.
``/healthz`` (alive), ``/readyz`` (database and rules), ``/metrics`` (Prometheus).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.engine import Engine
from bot.metrics import UPDATE_SECONDS, UPDATES, database_error, render
from bot.settings import Settings
from bot.storage.hits import HitRecord
from bot.storage.updates import Claimed, claim_update, finish_update
from bot.tg.app import bot_api, build_application
from bot.tg.deps import PREFETCHED, Prefetched, deps_of
from bot.tg.sending import ANSWERED, HANDLER_FAILED, HIT_SINK

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    token: str,
    base_url: str | None = None,
    base_file_url: str | None = None,
) -> Starlette:
    """The ASGI app of one worker; python-telegram-bot starts and stops with it."""
    application = build_application(
        settings, engine, token=token, base_url=base_url, base_file_url=base_file_url
    )
    deps = deps_of(application)
    # Several workers share the database: a choice one of them stores must not be hidden from
    # the others by a per-process cache (each update reads it with its claim instead).
    deps.local_caches = False
    hook = settings.webhook
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    owner = f"{socket.gethostname()}:{os.getpid()}"
    state = {"running": False}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        if hook.url:
            await application.bot.set_webhook(
                hook.url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                max_connections=hook.max_connections,
            )
        state["running"] = True
        try:
            yield
        finally:
            state["running"] = False
            await application.stop()
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)

    async def telegram(request: Request) -> Response:
        if secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                UPDATES.labels("forbidden").inc()
                return Response(status_code=403)
        try:
            data = await request.json()
            update_id = int(data["update_id"])
            update = Update.de_json(data, application.bot)
        except (ValueError, KeyError, TypeError, AttributeError):
            UPDATES.labels("malformed").inc()
            return Response(status_code=400)
        started = time.perf_counter()
        user = update.effective_user
        chat = update.effective_chat
        user_key = deps.pseudonym(user.id) if user is not None else None
        chat_key = deps.pseudonym(chat.id) if chat is not None and chat.type != "private" else None
        try:
            claimed = await claim_update(
                deps.sessions, update_id, owner, hook.lease_seconds, user=user_key, chat=chat_key
            )
        except Exception as exc:  # noqa: BLE001 - no database: answer anyway (at least once)
            database_error("claim")
            log.warning(
                "update %d not claimed (%s); answering anyway", update_id, type(exc).__name__
            )
            claimed = Claimed("new")
        claim = claimed.claim
        UPDATES.labels(claim).inc()
        if claim == "duplicate":
            return Response(status_code=200)
        if claim == "busy":
            return Response(status_code=503, headers={"Retry-After": "5"})
        marked = False
        hits: list[HitRecord] = []

        async def answered() -> None:
            nonlocal marked
            taken = list(hits)
            hits.clear()
            if marked:
                if taken:
                    deps.writer.record(taken)  # hits of a later part of the answer
                return
            marked = True
            try:
                await finish_update(deps.sessions, update_id, taken)
            except Exception as exc:  # noqa: BLE001 - hits wait in the queue; the lease covers the mark
                database_error("mark")
                log.warning("update %d answered, not marked: %s", update_id, type(exc).__name__)
                deps.writer.record(taken)

        failed: list[str] = []
        pre = (
            Prefetched(user_key, claimed.lang, claimed.region, chat_key, claimed.mode)
            if claimed.prefetched
            else None
        )
        tokens = (ANSWERED.set(answered), HIT_SINK.set(hits), HANDLER_FAILED.set(failed))
        pre_token = PREFETCHED.set(pre)
        try:
            await application.process_update(update)
        finally:
            ANSWERED.reset(tokens[0])
            HIT_SINK.reset(tokens[1])
            HANDLER_FAILED.reset(tokens[2])
            PREFETCHED.reset(pre_token)
        if failed and not marked:
            # The handler failed before anything was sent (a group warning that could not go
            # out): not acknowledged, so Telegram redelivers it and a worker takes it over
            # after the lease.
            UPDATES.labels("failed").inc()
            return Response(status_code=500)
        await answered()  # an update that needed no answer (a group's ordinary message)
        UPDATE_SECONDS.observe(time.perf_counter() - started)
        return Response(status_code=200)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        problems = []
        if not state["running"]:
            problems.append("bot not started")
        if not deps.live.engine().rules.rules:
            problems.append("no rules loaded")
        try:
            async with deps.sessions() as s:
                await asyncio.wait_for(s.execute(text("SELECT 1")), timeout=2)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            problems.append(f"database: {type(exc).__name__}")
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready", "rules": len(deps.live.rules())})

    async def metrics(_: Request) -> Response:
        return Response(render(), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route(hook.path, telegram, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.application = application
    return app


def run_webhook(settings: Settings, engine: Engine, *, host: str, port: int) -> None:
    """Serve one webhook worker until interrupted (SIGINT/SIGTERM stop it cleanly)."""
    api = bot_api(settings)
    app = create_app(
        settings,
        engine,
        token=str(api["token"]),
        base_url=api["base_url"],
        base_file_url=api["base_file_url"],
    )
    config: dict[str, Any] = {
        "host": host,
        "port": port,
        # uvicorn's access log would record client addresses: off, like every personal datum.
        "access_log": False,
        "log_config": None,
        "lifespan": "on",
        "timeout_graceful_shutdown": 20,
    }
    uvicorn.run(app, **config)
