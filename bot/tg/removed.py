"""Group posts the bot removed, kept in this process's memory only, for an admin's Restore.

Owns: ``RemovedPost`` (what it takes to post one again: its text or caption as HTML, the
file_id of its media, the poster's first name) and ``RemovedPosts``, a bounded store (the
oldest go first) whose entries expire. A copy of a message's text is exactly what the privacy
rule forbids storing, so these never reach the database, the shared state of webhook workers
or a log line (their ``repr`` shows no content). After the expiry, a restart, or on another
webhook worker, the copy is gone and Restore says so. Imports nothing of Telegram.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.lang import Lang

# How long, and how many, removed posts can be restored.
RESTORE_SECONDS = 3600.0
RESTORE_KEPT = 300


@dataclass(frozen=True)
class RemovedPost:
    chat_id: int
    html: str = field(repr=False)  # the text or caption, entities kept, as Telegram HTML
    length: int  # of the text or caption as Telegram counts it (UTF-16 code units)
    media: tuple[str, str] | None  # (kind, file_id): "photo", "video", "document", …
    poster: str = field(repr=False)  # first name (or the signing chat's title)
    lang: Lang  # the group's language, as the notice was written in
    thread: int | None = None  # the forum topic it was posted in (None: General, no forum)


class RemovedPosts:
    """Removed posts by an unguessable token (the Restore button's data)."""

    def __init__(
        self,
        size: int = RESTORE_KEPT,
        ttl: float = RESTORE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, RemovedPost]] = OrderedDict()

    def keep(self, post: RemovedPost) -> str:
        """Keep ``post``; the token that takes it back."""
        self._expire()
        token = secrets.token_urlsafe(12)
        self._data[token] = (self._clock() + self.ttl, post)
        while len(self._data) > self.size:
            self._data.popitem(last=False)
        return token

    def take(self, token: str) -> tuple[float, RemovedPost] | None:
        """The post kept under ``token`` and when it expires, removed from the store (so two
        admins pressing Restore at once restore it once)."""
        self._expire()
        return self._data.pop(token, None)

    def put_back(self, token: str, kept: tuple[float, RemovedPost]) -> None:
        """A restore that failed: the post can be pressed for again until it expires."""
        self._data[token] = kept

    def __len__(self) -> int:
        self._expire()
        return len(self._data)

    def _expire(self) -> None:
        now = self._clock()
        for token in [k for k, (until, _) in self._data.items() if until <= now]:
            del self._data[token]
