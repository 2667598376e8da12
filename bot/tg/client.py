"""The bot's HTTP client for the Bot API: python-telegram-bot's request interface on aiohttp.

Owns: ``AiohttpRequest``. PTB's own client (httpx) spent more CPU per message than the checking
itself; aiohttp sends the same requests for about a third of that. Bodies without files go as
JSON (the Bot API accepts it, and it is cheaper to build than a urlencoded form of JSON values);
files go as multipart. Timeouts and network failures become PTB's ``TimedOut`` and
``NetworkError``, exactly as with PTB's client, so retry decisions do not change.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _seconds(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """Keep-alive connections to the Bot API, at most ``connection_pool_size`` at once."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str] = {}
        self._proxy_for: dict[str, str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # Idle connections are closed before the 5 s after which servers commonly
                # close them (httpx's default too): reusing one the server just closed fails.
                connector=aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=4),
                json_serialize=json.dumps,
                headers={"User-Agent": self.USER_AGENT},
                # Cookies have no place in Bot API calls.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        # HTTPS_PROXY, NO_PROXY and friends are honoured, as by PTB's own client (and by
        # polling's getUpdates, which still uses it): a bot behind a proxy must send through
        # it. They are read once here, not by aiohttp's trust_env on every request, which
        # cost more CPU than the rest of the request.
        self._proxies = urllib.request.getproxies()
        self._proxy_for = {}

    def _proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxy_for:
            proxy = self._proxies.get(parts.scheme)
            host = parts.hostname or ""
            # A local Bot API server (or the emulator) is reached directly, proxy or not.
            if proxy and (host in _LOOPBACK or urllib.request.proxy_bypass(host)):
                proxy = None
            self._proxy_for[origin] = proxy
        return self._proxy_for[origin]

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        read = _seconds(read_timeout, self._read_timeout)
        write = _seconds(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _seconds(connect_timeout, self._connect_timeout)
        pool = _seconds(pool_timeout, self._pool_timeout)
        # As with PTB's client, the read timeout limits each wait for data, not the whole
        # transfer: a large screenshot on a slow link still downloads. aiohttp has no write
        # timeout, so an upload (the digest chart) gets write + read as its total, lest a
        # server that stops reading hold it forever.
        total = None if not files or read is None or write is None else read + write
        timeout = aiohttp.ClientTimeout(
            total=total,
            connect=None if connect is None or pool is None else connect + pool,
            sock_read=read,
        )
        kwargs: dict[str, Any] = {}
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                kwargs["data"] = form
            else:
                kwargs["json"] = request_data.parameters
        try:
            async with self._session.request(
                method, url, timeout=timeout, proxy=self._proxy(url), **kwargs
            ) as res:
                return res.status, await res.read()
        # aiohttp's errors may quote the URL, which holds the bot token: they are not chained
        # (a logged traceback would print them); the class name says enough.
        except TimeoutError as err:
            raise TimedOut(f"Timed out (aiohttp.{err.__class__.__name__})") from None
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}") from None
