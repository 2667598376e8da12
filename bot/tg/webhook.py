"""Webhook mode: many stateless workers behind a load balancer, sharing PostgreSQL.

Owns: the ASGI app each worker serves (Starlette, run by uvicorn). ``POST <webhook.path>``
checks Telegram's secret token, claims the update id in the database (Telegram redelivers:
an update already answered is dropped, one another live worker is answering gets a 503 so
Telegram tries again later, one a dead worker left is taken over), hands the update to
python-telegram-bot and acknowledges it only after it was answered, so a worker killed
mid-update costs nothing: Telegram sends the update again and another worker answers it.
``/healthz`` (alive), ``/readyz`` (database and rules), ``/metrics`` (Prometheus).

Hostile input is refused before it costs anything: a body larger than any update (413), JSON
nested deeper than any update or carrying numbers no update has (400), a connection that sends
no complete request in time (closed; uvicorn's own timer only runs between requests).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import re
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
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.engine import Engine
from bot.metrics import UPDATE_SECONDS, UPDATES, database_error, render
from bot.settings import Settings
from bot.storage.hits import HitRecord
from bot.storage.updates import Claimed, claim_update, finish_update, release_update
from bot.tg.app import bot_api, build_application
from bot.tg.deps import PREFETCHED, Prefetched, deps_of
from bot.tg.sending import ANSWERED, HANDLER_FAILED, HIT_SINK, note_unreadable

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# An update holds at most a 4,096-character message (a caption: 1,024) with its entities, a
# reply and a few objects: tens of kilobytes. 1 MB leaves room and refuses the rest.
MAX_BODY_BYTES = 1024 * 1024
# Updates nest a dozen levels (update > message > reply_to_message > entities > user ...).
MAX_JSON_DEPTH = 32
# Telegram's integers (ids, dates, sizes) fit in 64 bits, its dates in this century.
MAX_INT = 2**63 - 1
MAX_DATE = 4_102_444_800  # 2100-01-01
# A connection must deliver a request's head, and then its body, within this many seconds.
REQUEST_TIMEOUT = 10.0


class BadUpdate(ValueError):
    """The body is not an update we accept; the message says why (logged, never answered)."""


def _number(text: str) -> int | float:
    value: int | float
    if any(c in text for c in ".eE"):
        value = float(text)
        if not math.isfinite(value) or abs(value) > MAX_INT:
            raise BadUpdate("number out of range")
        return value
    if len(text) > 20:
        raise BadUpdate("number out of range")
    value = int(text)
    if abs(value) > MAX_INT:
        raise BadUpdate("number out of range")
    return value


def _no_constant(name: str) -> Any:
    raise BadUpdate(f"{name} is not a JSON number")


_SPECIAL = re.compile(rb'[\\"\[\]{}]')


def _too_deep(body: bytes) -> bool:
    """Whether arrays and objects nest deeper than MAX_JSON_DEPTH, told without parsing (one
    pass over quotes, backslashes and brackets; brackets inside strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False  # cannot nest deeper than it has openers: the common case, no scan
    depth = 0
    in_string = False
    escaped_at = -1  # the position a backslash escapes
    for m in _SPECIAL.finditer(body):
        i = m.start()
        if i == escaped_at:
            continue
        c = body[i]
        if in_string:
            if c == 0x5C:  # backslash
                escaped_at = i + 1
            elif c == 0x22:  # quote
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif c in (0x5D, 0x7D):
            depth -= 1
    return False


def parse_update(body: bytes) -> dict[str, Any]:
    """The update in ``body``, or BadUpdate: too deep, numbers out of range, no update_id."""
    if _too_deep(body):
        raise BadUpdate("nested too deep")
    try:
        data = json.loads(body, parse_int=_number, parse_float=_number, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadUpdate(type(exc).__name__) from exc
    if not isinstance(data, dict):
        raise BadUpdate("not an object")
    update_id = data.get("update_id")
    if type(update_id) is not int or update_id < 0:
        raise BadUpdate("no update_id")
    for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
        message = data.get(key)
        if isinstance(message, dict):
            for field in ("date", "edit_date", "forward_date"):
                value = message.get(field)
                if value is not None and not (
                    isinstance(value, int | float) and 0 <= value <= MAX_DATE
                ):
                    raise BadUpdate(f"{field} out of range")
    return data


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol that closes a connection which sends no complete request
    head within ``REQUEST_TIMEOUT`` seconds of connecting or of its last response (a client
    that connects and stays silent, or sends its headers a byte at a time, is otherwise held
    forever: uvicorn arms its keep-alive timer only after a response). The body's deadline is
    the handler's."""

    _head_timer: asyncio.TimerHandle | None = None
    _armed_for: object = None

    def _arm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._armed_for = self.cycle
        self._head_timer = self.loop.call_later(REQUEST_TIMEOUT, self._head_timeout)

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.cycle is not None and self.cycle is not self._armed_for:
            return  # a request arrived meanwhile; the handler bounds the rest
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


async def read_body(request: Request) -> bytes:
    """The request body, at most MAX_BODY_BYTES, within REQUEST_TIMEOUT seconds."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(REQUEST_TIMEOUT):
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise BodyTooLarge
            chunks.append(chunk)
    return b"".join(chunks)


class BodyTooLarge(Exception):
    pass


def server_config(app: Starlette, host: str, port: int, **extra: Any) -> uvicorn.Config:
    """How a worker serves: no access log (client addresses are personal data), timed
    connections, graceful shutdown."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=TimedH11Protocol,
        # uvicorn's access log would record client addresses: off, like every personal datum.
        access_log=False,
        log_config=None,
        lifespan="on",
        timeout_keep_alive=5,
        timeout_graceful_shutdown=20,
        **extra,
    )


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
    # Flood limits, "warn once" and forwarded conversations are shared through the database too.
    deps.pacing.shared = True
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
            body = await read_body(request)
        except BodyTooLarge:
            UPDATES.labels("too_large").inc()
            return Response(status_code=413, headers={"Connection": "close"})
        except TimeoutError:
            UPDATES.labels("too_slow").inc()
            return Response(status_code=408, headers={"Connection": "close"})
        try:
            data = parse_update(body)
            update_id = data["update_id"]
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, OSError) as exc:
            # BadUpdate is a ValueError.
            UPDATES.labels("malformed").inc()
            log.warning(
                "malformed update refused: %s",
                exc if isinstance(exc, BadUpdate) else type(exc).__name__,
            )
            return Response(status_code=400)
        try:
            update = Update.de_json(data, application.bot)
        except (OverflowError, OSError) as exc:
            # A timestamp no clock can hold: forged, not a shape Telegram sends.
            UPDATES.labels("malformed").inc()
            log.warning("malformed update refused: %s", type(exc).__name__)
            return Response(status_code=400)
        except Exception as exc:  # noqa: BLE001 - whatever the library trips on
            # A well-formed update of a shape python-telegram-bot cannot read (a newer field, a
            # server's quirk): delivering it again cannot help, so it is acknowledged and
            # skipped, counted and logged by id only.
            note_unreadable(update_id, exc)
            UPDATES.labels("unreadable").inc()
            return Response(status_code=200)
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
            # The handler failed before anything was sent (a warning that could not go out,
            # nor the error message after it): not acknowledged, so Telegram redelivers it,
            # and released, so the next delivery is handled at once rather than after the lease.
            UPDATES.labels("failed").inc()
            try:
                await release_update(deps.sessions, update_id, owner)
            except Exception as exc:  # noqa: BLE001 - then the lease runs out instead
                database_error("release")
                log.warning("update %d not released: %s", update_id, type(exc).__name__)
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
    uvicorn.Server(server_config(app, host, port)).run()
