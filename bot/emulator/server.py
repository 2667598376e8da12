"""The Bot API emulator: an HTTP server on 127.0.0.1 that answers like Telegram's.

Owns the transport: the Starlette app and its routes, decoding and validating each call
against api.json, injected faults, getUpdates long polling and webhook delivery, and starting
and stopping uvicorn on the caller's event loop. Refusals are kept in `invalid_requests` so
tests see them. Imports nothing from `bot.*` outside the emulator, nor `telegram`: it is an
independent fake of Telegram's server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import re
import socket
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator.decode import decode_params
from bot.emulator.methods import BotApi, Handler
from bot.emulator.spec import ApiError, bad_request
from bot.emulator.world import DEFAULT_UPDATES, JSON, now

log = logging.getLogger(__name__)

_FAULT_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    403: "Forbidden: bot was blocked by the user",
    400: "Bad Request",
}
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class RequestRecord:
    """One call the bot made: what it asked and what the emulator answered."""

    method: str
    params: dict[str, Any]
    status: int
    ok: bool
    description: str | None
    # When the call arrived (time.monotonic()), for rate checks such as Telegram's 30/s.
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the bot's webhook."""

    url: str
    update_id: int
    status: int | None  # None when the connection failed
    ok: bool
    chat_id: int | None = None  # the chat the update belongs to, if any


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    methods: frozenset[str] | None
    remaining: int
    description: str | None

    def matches(self, method: str) -> bool:
        if self.methods is None:
            return method != "getupdates"
        return method in self.methods


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The process hosting the emulator (a test run, the demo) owns SIGINT and SIGTERM.
        yield


class BotApiEmulator(BotApi):
    """A fake Telegram Bot API server with a test API to play the users' side."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "sentinel_demo_bot",
        *,
        bot_first_name: str = "Sentinel",
        privacy_mode: bool = False,
    ) -> None:
        super().__init__(
            token, bot_username, bot_first_name=bot_first_name, privacy_mode=privacy_mode
        )
        self.requests: list[RequestRecord] = []
        self.invalid_requests: list[RequestRecord] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        # When set, webhook updates go to these URLs in turn instead of the one set by the bot.
        self.webhook_targets: list[str] | None = None
        # Updates being POSTed right now: update_id -> the URL they went to.
        self.webhook_in_flight: dict[int, str] = {}
        self._faults: list[_Fault] = []
        self._webhook_url: str | None = None
        self._webhook_secret: str | None = None
        self._webhook_info: JSON = {}
        self._webhook_task: asyncio.Task[None] | None = None
        self._round_robin = 0
        self._stopping = False
        self._server: _Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._socket: socket.socket | None = None
        # Exceptions the emulator raised while answering: its own bugs, answered with a 500.
        self.internal_errors: list[str] = []
        self._handlers: dict[str, Handler] = self.method_handlers() | {
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._file_endpoint, methods=["GET"]),
                Route("/{rest:path}", self._not_found, methods=["GET", "POST"]),
            ]
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> None:
        """Serve on `host`:`port` (0 picks a free port) in a task on the running loop."""
        # Binding here makes a busy port an OSError for the caller; uvicorn would sys.exit.
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and
        # without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._stopping = False
        self._socket = sock
        self._server = _Server(config)
        self._serve_task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
                raise RuntimeError(f"the emulator could not serve on {host}:{port}")
            await asyncio.sleep(0.005)
        self._port = int(sock.getsockname()[1])

    async def stop(self) -> None:
        """Release waiting long polls, stop webhook delivery and the server."""
        self._stopping = True
        self._notify()
        await self._stop_webhook_task()
        if self._server is not None and self._serve_task is not None:
            self._server.should_exit = True
            await self._serve_task
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._serve_task = None
        self._socket = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def webhook_url(self) -> str | None:
        return self._webhook_url

    # -- faults ------------------------------------------------------------------------------------

    def inject_fault(
        self,
        status: int = 429,
        retry_after: int | None = None,
        methods: set[str] | None = None,
        count: int = 1,
        *,
        description: str | None = None,
    ) -> None:
        """The next `count` calls of `methods` (None: any but getUpdates) fail with `status`
        and have no effect."""
        if status == 429 and retry_after is None:
            retry_after = 1
        names = None if methods is None else frozenset(m.lower() for m in methods)
        self._faults.append(_Fault(status, retry_after, names, count, description))

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.matches(method.lower()):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- HTTP --------------------------------------------------------------------------------------

    async def _not_found(self, request: Request) -> Response:
        return _error_response(ApiError("Not Found", 404))

    async def _file_endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error_response(ApiError("Unauthorized", 401))
        stored = self._files_by_path.get(request.path_params["file_path"])
        if stored is None or stored.data is None:
            return _error_response(ApiError("Not Found", 404))
        return Response(stored.data, media_type="application/octet-stream")

    async def _api_endpoint(self, request: Request) -> Response:
        name = request.path_params["method"]
        method = self._spec.method(name)
        params: dict[str, Any] = {}
        try:
            if request.path_params["token"] != self.token:
                raise ApiError("Unauthorized", 401)
            if method is None:
                raise ApiError("Not Found", 404)
            name = method.name
            raw, uploads = decode_params(
                request.url.query, request.headers.get("content-type", ""), await request.body()
            )
            params = raw | uploads
            fault = self._take_fault(name)
            if fault is not None:
                error = _fault_error(fault)
                self.requests.append(
                    RequestRecord(name, params, error.status, False, error.description)
                )
                return _error_response(error)
            params = self._spec.validate_call(method, raw, uploads)
            handler = self._handlers.get(name.lower())
            if handler is None:
                raise bad_request("method not implemented by the emulator")
            result = await handler(params)
            checked = result
            if name == "getUpdates" and self.unchecked_update_ids:
                # Updates queued with enqueue_unchecked are delivered as given, unchecked.
                checked = [u for u in result if u["update_id"] not in self.unchecked_update_ids]
            try:
                self._spec.check(method.returns, checked, f"{name} result")
            except ApiError as e:
                raise AssertionError(f"invalid result: {e.description}") from e
        except ApiError as e:
            record = RequestRecord(name, params, e.status, False, e.description)
            self.requests.append(record)
            self.invalid_requests.append(record)
            return _error_response(e)
        except Exception as e:
            # The emulator's own bug: answer like Telegram's 500 and keep the cause for tests.
            log.exception("emulator failed on %s", name)
            self.internal_errors.append(f"{name}: {e!r}")
            self.requests.append(RequestRecord(name, params, 500, False, "Internal Server Error"))
            return _error_response(ApiError("Internal Server Error", 500))
        self.requests.append(RequestRecord(name, params, 200, True, None))
        return JSONResponse({"ok": True, "result": result})

    # -- getUpdates --------------------------------------------------------------------------------

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook_url is not None:
            raise ApiError(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                409,
            )
        if "allowed_updates" in params:
            self._allowed = _allowed(params["allowed_updates"])
        self._confirm(int(params.get("offset", 0)))
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(int(params.get("timeout", 0)), 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._pending and not self._stopping and loop.time() < deadline:
            wakeup = self._wakeup
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), deadline - loop.time())
        return copy.deepcopy(self._pending[:limit])

    # -- webhook -----------------------------------------------------------------------------------

    async def _set_webhook(self, params: JSON) -> bool:
        url = params["url"]
        if not url:
            return await self._delete_webhook(params)
        if not re.match(r"https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in params:
            self._allowed = _allowed(params["allowed_updates"])
        self._webhook_url = url
        self._webhook_secret = secret
        self._webhook_info = {"max_connections": int(params.get("max_connections", 40))}
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        self._notify()
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook_url = None
        self._webhook_secret = None
        await self._stop_webhook_task()
        return True

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook_url is not None:
            info |= self._webhook_info
            info["allowed_updates"] = sorted(self._allowed)
        return info

    def _next_target(self) -> str:
        targets = self.webhook_targets or [self._webhook_url or ""]
        url = targets[self._round_robin % len(targets)]
        self._round_robin += 1
        return url

    async def _deliver_webhooks(self) -> None:
        """POST pending updates until each gets a 2xx answer, like Telegram: up to
        ``max_connections`` at once, but one at a time per chat, in order; a failed update is
        sent again (to the next target) after a short back-off."""
        in_flight: set[int] = set()
        busy_chats: set[int] = set()
        not_before: dict[int, float] = {}
        failures: dict[int, int] = {}
        tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=30.0, trust_env=False, limits=limits) as client:
            poster = _Poster(client)

            async def deliver(update: JSON, chat: int | None) -> None:
                uid = update["update_id"]
                url = self._next_target()
                headers = {}
                if self._webhook_secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook_secret
                status: int | None = None
                self.webhook_in_flight[uid] = url
                try:
                    status, reason = await poster.post(url, json.dumps(update).encode(), headers)
                    error = f"Wrong response from the webhook: {status} {reason}"
                except (httpx.HTTPError, OSError, ValueError, TimeoutError, EOFError) as e:
                    error = f"Connection failed: {type(e).__name__}"
                ok = status is not None and 200 <= status < 300
                self.webhook_in_flight.pop(uid, None)
                self.webhook_deliveries.append(WebhookDelivery(url, uid, status, ok, chat))
                in_flight.discard(uid)
                if chat is not None:
                    busy_chats.discard(chat)
                if ok:
                    failures.pop(uid, None)
                    not_before.pop(uid, None)
                    self._pending = [u for u in self._pending if u["update_id"] != uid]
                else:
                    n = failures[uid] = failures.get(uid, 0) + 1
                    self._webhook_info |= {"last_error_date": now(), "last_error_message": error}
                    # Telegram backs off too; short here so that tests of redelivery stay fast.
                    not_before[uid] = loop.time() + min(0.05 * 2 ** (n - 1), 1.0)
                self._notify()

            try:
                while self._webhook_url is not None and not self._stopping:
                    limit = int(self._webhook_info.get("max_connections", 40))
                    started = False
                    waiting_until: float | None = None
                    backing_off: set[int] = set()  # chats whose next update waits: keep their order
                    for update in list(self._pending):
                        if len(in_flight) >= limit:
                            break
                        uid = update["update_id"]
                        chat = _chat_of(update)
                        if uid in in_flight or (
                            chat is not None and (chat in busy_chats or chat in backing_off)
                        ):
                            continue
                        due = not_before.get(uid, 0.0)
                        if due > loop.time():
                            waiting_until = (
                                due if waiting_until is None else min(waiting_until, due)
                            )
                            if chat is not None:
                                backing_off.add(chat)
                            continue
                        in_flight.add(uid)
                        if chat is not None:
                            busy_chats.add(chat)
                        task = asyncio.create_task(deliver(update, chat))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                        started = True
                    if started:
                        continue
                    wakeup = self._wakeup
                    timeout = None if waiting_until is None else max(waiting_until - loop.time(), 0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wakeup.wait(), timeout)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await poster.aclose()


class _Poster:
    """Keep-alive HTTP/1.1 POSTs to plain-http webhook targets on this machine. httpx's
    connection pool costs O(connections x requests) per request at 40 concurrent deliveries,
    which made the emulator, not the bot, the bottleneck of load tests; https goes via httpx."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._idle: dict[
            tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        ] = {}
        self._open: set[asyncio.StreamWriter] = set()  # every connection, idle or in use

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            response = await self.client.post(
                url, content=body, headers=headers | {"Content-Type": "application/json"}
            )
            return response.status_code, response.reason_phrase
        key = (parts.hostname, parts.port or 80)
        idle = self._idle.setdefault(key, [])
        reader, writer = idle.pop() if idle else await asyncio.open_connection(*key)
        self._open.add(writer)
        try:
            head = [
                f"POST {parts.path or '/'} HTTP/1.1",
                f"Host: {key[0]}:{key[1]}",
                "Content-Type: application/json",
                f"Content-Length: {len(body)}",
            ] + [f"{k}: {v}" for k, v in headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), 30)
            if not status_line:
                raise ConnectionError("connection closed")
            _, code, *reason = status_line.decode("latin-1").split(" ", 2)
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            if length:
                await reader.readexactly(length)
        except BaseException:
            self._open.discard(writer)
            await _close(writer)
            raise
        if close:
            self._open.discard(writer)
            await _close(writer)
        else:
            idle.append((reader, writer))
        return int(code), (reason[0].strip() if reason else "")

    async def aclose(self) -> None:
        for writer in list(self._open):
            await _close(writer)
        self._open.clear()
        self._idle.clear()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, asyncio.CancelledError):
        await writer.wait_closed()


def _chat_of(update: JSON) -> int | None:
    """The chat an update belongs to, so that one chat's updates are delivered in order."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        user = value.get("from")
        if isinstance(user, dict) and "id" in user:
            return int(user["id"])
    return None


def _allowed(requested: list[str]) -> frozenset[str]:
    return frozenset(requested) if requested else DEFAULT_UPDATES


def _fault_error(fault: _Fault) -> ApiError:
    if fault.status == 429:
        return ApiError(
            fault.description or f"Too Many Requests: retry after {fault.retry_after}",
            429,
            {"retry_after": fault.retry_after},
        )
    return ApiError(fault.description or _FAULT_TEXT.get(fault.status, "Error"), fault.status)


def _error_response(error: ApiError) -> JSONResponse:
    body: JSON = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return JSONResponse(body, status_code=error.status)
