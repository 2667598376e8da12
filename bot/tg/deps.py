"""The bot's dependencies in one typed place, and small per-process caches.

Owns: ``Deps`` (settings, engine, storage, readers, limiters) and ``deps_of`` — the only code
that touches PTB's ``bot_data``. Handlers ask for ``deps_of(context)`` and get typed fields.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine import Engine
from bot.moderation.live import LiveRules
from bot.privacy import Pseudonymizer, Sealer
from bot.settings import Settings
from bot.storage import HitWriter
from bot.tg.media import ImageReader
from bot.tg.pacing import LRU, Gatherer, SerialWorker, SharedPacing
from bot.tg.removed import RemovedPosts
from bot.tg.sending import DigestSender

_KEY = "sentinel.deps"


@dataclass(frozen=True)
class Prefetched:
    """Read by a webhook worker together with the update's claim: the sender's saved language
    and region, the group's mode (None: nothing saved). Fresh for this update only."""

    user: str | None
    lang: str | None
    region: str | None
    chat: str | None
    mode: str | None


# Set by the webhook worker while it handles an update (see ``Prefetched``).
PREFETCHED: ContextVar[Prefetched | None] = ContextVar("prefetched", default=None)


@dataclass
class Deps:
    settings: Settings
    engine: Callable[[], Engine]  # the rules in force now (moderators may change them)
    pseudonym: Pseudonymizer
    sealer: Sealer
    sessions: async_sessionmaker[AsyncSession]
    writer: HitWriter
    images: ImageReader
    pacing: SharedPacing  # flood limits, warn-once marks, conversations (shared by webhook workers)
    gather: Gatherer[Any]
    live: LiveRules  # the rules in force: bundled files + moderators' revisions
    # Per-process caches of what people and groups chose. Only for a single process: webhook
    # workers turn them off (``local_caches``), since another worker may change a choice.
    prefs: LRU[str, tuple[str, str]] = field(default_factory=LRU)
    group_modes: LRU[str, str] = field(default_factory=LRU)
    # Business connections (id -> the owner's user id, private chat id and language), read
    # from Telegram on first use; in memory only.
    business: LRU[str, tuple[int, int, str | None]] = field(default_factory=lambda: LRU(1000))
    # Group posts removed in "delete" mode, for an admin's Restore: this process's memory only.
    removed: RemovedPosts = field(default_factory=RemovedPosts)
    local_caches: bool = True
    background: list[Any] = field(default_factory=list)  # start-up work running in threads
    # The digest broadcast running in this process, if any, and how to stop it gracefully.
    broadcasting: asyncio.Task[Any] | None = None
    broadcast_stop: asyncio.Event | None = None
    digest_sender: DigestSender | None = None
    baseline: list[str] = field(default_factory=list)  # ordinary messages edits must pass
    checks: SerialWorker = field(default_factory=SerialWorker)  # the engine, off the loop
    # Albums this webhook worker collects (see handlers.album_item); texts in memory only.
    albums: dict[tuple[str, int], Any] = field(default_factory=dict)


def attach(bot_data: dict[str, Any], deps: Deps) -> None:
    bot_data[_KEY] = deps


def deps_of(context: Any) -> Deps:
    deps = context.bot_data[_KEY]
    assert isinstance(deps, Deps)
    return deps
