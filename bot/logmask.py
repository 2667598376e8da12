"""Keep secrets out of every log line, whatever a library prints.

Owns: ``SecretMask``, a logging filter put on the root logger's handlers, so the records of
every library (python-telegram-bot writes the whole token into ``InvalidToken`` when the Bot
API answers 401 or 404; uvicorn logs that exception with its traceback) pass through it on
their way out. It replaces each secret in the formatted message, in the exception text and in
the stack text. Imports nothing of the bot: the command line gives it the secrets.

Known limit: secrets shorter than ``MIN_SECRET_CHARS`` are not masked (masking a two-letter
"secret" would garble ordinary lines, and such a secret protects nothing anyway).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import quote

MASK = "[secret]"
MIN_SECRET_CHARS = 8


def _variants(secret: str) -> set[str]:
    """The secret as it may appear in a line: as is, URL-encoded, and for a bot token
    (``<bot id>:<key>``) the key alone, since the id is public and the colon is often
    encoded (``%3A``) in request URLs."""
    found = {secret, quote(secret, safe="")}
    if ":" in secret:
        key = secret.split(":", 1)[1]
        found |= {key, quote(key, safe="")}
    return {v for v in found if len(v) >= MIN_SECRET_CHARS}


class SecretMask(logging.Filter):
    """Masks the given secrets in every record it sees (the record is changed in place, so
    every handler after it shows the masked text)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        variants: set[str] = set()
        for secret in secrets:
            variants |= _variants(secret)
        # Longest first, so a whole token is masked before its key alone.
        ordered = sorted(variants, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._formatter = logging.Formatter()

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def mask(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the line
            message = f"{record.msg!s} {record.args!r}"
        # The message is formatted here, once: the arguments cannot bring a secret back.
        record.msg = self.mask(message)
        record.args = None
        if record.exc_info:
            # Rendered now and masked; the raw exception is dropped, so no formatter (ours or
            # a library's) can print its unmasked text afterwards.
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def install(secrets: Iterable[str]) -> SecretMask:
    """Put one mask on every handler of the root logger (replacing an earlier one), and send
    exceptions nobody caught through logging, so they are masked and formatted like the
    rest (one JSON object per line in JSON mode) instead of printed raw by the interpreter."""
    mask = SecretMask(secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretMask)]:
            handler.removeFilter(old)
        handler.addFilter(mask)

    def uncaught(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, tb)
            return
        logging.getLogger("bot").critical(
            "stopped by an error: %s", kind.__name__, exc_info=(kind, error, tb)
        )

    def uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        logging.getLogger("bot").error(
            "a thread stopped by an error: %s",
            args.exc_type.__name__,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    if mask.active:
        sys.excepthook = uncaught
        threading.excepthook = uncaught_in_thread
    return mask
