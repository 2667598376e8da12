"""Sending to Telegram reliably: retries that never deliver twice, and the digest's messages.

Owns: ``with_retries`` (which failures are safe to retry) and ``send_digest`` /
``DigestSender`` (the chart with the digest as its caption when it fits, otherwise the text and
then the chart; the chart is uploaded once and then re-sent by Telegram's file id).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from telegram import Bot, InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.digest.broadcast import Blocked, SlowDown
from bot.digest.build import Digest
from bot.metrics import REPLIES, TELEGRAM_RESPONSES, UNREADABLE_UPDATES
from bot.tg.client import AiohttpRequest

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 5
T = TypeVar("T")

# Set by the webhook worker while it handles an update: called after the first message of the
# answer went out, so the update is marked answered at once (a worker killed later in the
# handler must not have it answered a second time by another worker).
ANSWERED: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("answered", default=None)
# Set by the webhook worker too: hits of the update being handled are collected here and
# written with its "answered" mark, in one transaction, instead of the in-memory queue.
HIT_SINK: ContextVar[list[Any] | None] = ContextVar("hit_sink", default=None)
# Set by the webhook worker too: the error handler notes a failed handler here.
HANDLER_FAILED: ContextVar[list[str] | None] = ContextVar("handler_failed", default=None)


_SENDS = ("sendmessage", "sendphoto", "senddocument")


class CountingRequest(AiohttpRequest):
    """The bot's HTTP client, counting Telegram's answers for /metrics (429s included, which the
    rate limiter otherwise retries silently) and the messages sent."""

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, *args, **kwargs)
        status = "ok" if code == 200 else "429" if code == 429 else f"{code // 100}xx"
        TELEGRAM_RESPONSES.labels(status).inc()
        if code == 200 and url.rsplit("/", 1)[-1].lower() in _SENDS:
            REPLIES.inc()
        return code, payload


class PollingRequest(HTTPXRequest):
    """The client of polling's getUpdates (python-telegram-bot's own, one connection), with
    the updates it cannot read emptied before it sees them (see ``readable_updates``)."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, *args, **kwargs)
        if code == 200 and url.rsplit("/", 1)[-1].lower() == "getupdates":
            payload = readable_updates(payload)
        return code, payload


def note_unreadable(update_id: int, exc: BaseException) -> None:
    """Count and log (by id only) an update python-telegram-bot cannot read, skipped."""
    UNREADABLE_UPDATES.inc()
    log.warning("update %d skipped: it cannot be read (%s)", update_id, type(exc).__name__)


def readable_updates(payload: bytes) -> bytes:
    """A getUpdates answer with every update python-telegram-bot cannot read replaced by an
    empty update of the same id. Without this, one such update (a newer field, a server's
    quirk) makes the library log every update of the batch in full — names, ids, texts — at
    CRITICAL and fetch the same batch again, thousands of times a minute, answering nobody.
    Emptied, it is skipped once, counted and logged by id only, and the offset moves on."""
    try:
        body = json.loads(payload)
        updates = body["result"]
    except (ValueError, KeyError, TypeError):
        return payload  # not a batch of updates: the library reports it as it is
    if not isinstance(updates, list):
        return payload
    changed = False
    for i, raw in enumerate(updates):
        try:
            Update.de_json(raw, None)
        except Exception as exc:  # noqa: BLE001 - whatever the library trips on
            uid = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(uid, int):
                continue  # no id to skip past: left for the library to report
            note_unreadable(uid, exc)
            updates[i] = {"update_id": uid}
            changed = True
    return json.dumps(body).encode() if changed else payload


def seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait. PTB 22 warns that the attribute's type will change to
    a timedelta; both are handled, so the warning is not for us."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def with_retries(
    make_call: Callable[[], Awaitable[T]], what: str, *, retry_429: bool = True
) -> T:
    """Retry transient failures (5xx, refused connections, 429 beyond the rate limiter) with
    backoff. Those requests had no effect at Telegram, so retrying delivers once."""
    delay = 0.5
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            result = await make_call()
        except RetryAfter as exc:
            if not retry_429:
                raise  # the caller paces itself (the digest broadcast pauses as a whole)
            await asyncio.sleep(seconds(exc))
        except NetworkError as exc:
            # A timeout may mean Telegram did deliver: retrying could send it twice. Server
            # errors (5xx) and refused connections had no effect, so those are retried.
            if isinstance(exc, BadRequest | TimedOut) or attempt == SEND_ATTEMPTS:
                raise
            log.warning("%s failed (%s), retrying", what, type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 8.0)
        else:
            hook = ANSWERED.get()
            if hook is not None and isinstance(result, Message):  # a message went out
                await hook()
            return result
    raise TimedOut(f"{what}: gave up after {SEND_ATTEMPTS} attempts")


async def send_digest(
    bot: Bot,
    chat_id: int,
    digest: Digest,
    file_ids: dict[bytes, str] | None = None,
    *,
    retry_429: bool = True,
) -> None:
    """One message (the chart, the digest as caption) when the text fits, else two. With
    ``file_ids``, a chart already uploaded is re-sent by its file id instead of again."""
    photo: str | InputFile = (file_ids or {}).get(digest.chart_png) or InputFile(
        digest.chart_png, filename="digest.png"
    )
    if not digest.fits_caption:
        await with_retries(
            lambda: bot.send_message(chat_id, digest.html, parse_mode=ParseMode.HTML),
            "digest",
            retry_429=retry_429,
        )
    caption = digest.html if digest.fits_caption else None
    sent = await with_retries(
        lambda: bot.send_photo(chat_id, photo=photo, caption=caption, parse_mode=ParseMode.HTML),
        "digest chart",
        # After the text went out, a 429 is waited out here: resending both would repeat it.
        retry_429=retry_429 or not digest.fits_caption,
    )
    if file_ids is not None and sent.photo and isinstance(photo, InputFile):
        file_ids[digest.chart_png] = sent.photo[-1].file_id


class DigestSender:
    """The broadcast's ``send``: Telegram's answers turned into what the broadcast acts on."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.file_ids: dict[bytes, str] = {}

    async def __call__(self, chat_id: int, digest: Digest) -> None:
        try:
            await send_digest(self.bot, chat_id, digest, self.file_ids, retry_429=False)
        except Forbidden as exc:
            raise Blocked from exc
        except RetryAfter as exc:
            raise SlowDown(seconds(exc)) from exc
