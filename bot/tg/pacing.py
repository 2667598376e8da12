"""Per-person pacing: flood limits, gathering forwarded messages into one check, "warn
once" marks, and the one thread checks run in.

Owns: state keyed by pseudonyms (never raw ids). A person who floods is slowed with one polite
notice; several messages forwarded together are checked as one conversation so the reply can
name the furthest stage reached. In one process (polling) this state is in memory; webhook
workers share it through the database (``SharedPacing``), each falling back to its own memory
while the database does not answer, so the bot keeps answering. Checks run off the event loop,
one at a time, in the order they were asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import database_error
from bot.storage import shared

log = logging.getLogger(__name__)
Item = TypeVar("Item")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Result = TypeVar("Result")


_LEFT_RUNNING: set[asyncio.Future[Any]] = set()


def _settle(future: asyncio.Future[Any]) -> None:
    _LEFT_RUNNING.discard(future)
    if not future.cancelled():
        future.exception()  # retrieved: a late failure was already answered by the fallback


async def within(work: Awaitable[Result], timeout: float) -> Result:
    """``await work`` for at most ``timeout`` seconds (TimeoutError after). The work itself is
    not cancelled but left to finish on its own: a database call cancelled halfway leaves its
    connection unclosed, and the caller has its fallback anyway."""
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout)
    except TimeoutError:
        _LEFT_RUNNING.add(future)
        future.add_done_callback(_settle)
        raise


class LRU(Generic[K, V]):
    """A bounded map: recent keys stay, the oldest go."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def drop(self, key: K) -> None:
        self._data.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._data


class SerialWorker:
    """Runs blocking work (the engine's check) in one worker thread, in the order it was
    submitted. The event loop stays free for other updates meanwhile; one thread keeps the
    engine's lazily filled caches unshared, keeps each person's answers in the order of their
    messages, and bounds what one long check costs anyone else to its own (capped) duration."""

    def __init__(self, name: str = "check") -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., Result], *args: Any) -> tuple[Result, float]:
        """``fn(*args)`` and the seconds it took (queueing not counted)."""

        def timed() -> tuple[Result, float]:
            started = time.perf_counter()
            result = fn(*args)
            return result, time.perf_counter() - started

        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        return await asyncio.get_running_loop().run_in_executor(self._pool, timed)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodLimiter:
    """Token bucket per key: ``burst`` messages at once, then ``rate`` per second."""

    def __init__(self, burst: int, rate: float, max_keys: int = 100_000) -> None:
        self.burst = burst
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def check(self, key: str, now: float | None = None) -> str:
        """``ok``, ``warn`` (first refusal: tell them once) or ``drop``."""
        now = time.monotonic() if now is None else now
        b = self._buckets.get(key)
        if b is None:
            b = _Bucket(float(self.burst), now)
            self._buckets[key] = b
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            b.warned = False
            return "ok"
        if not b.warned:
            b.warned = True
            return "warn"
        return "drop"

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)


@dataclass
class _Batch(Generic[Item]):
    key: str
    items: list[Item | None] = field(default_factory=list)
    pending: int = 0  # reserved places still being prepared (a screenshot under OCR)
    task: asyncio.Task[None] | None = None
    # Set once the batch has been answered (or dropped): a webhook worker acknowledges an
    # update to Telegram only then, so a worker that dies mid-batch gets it redelivered.
    done: asyncio.Event = field(default_factory=asyncio.Event)


Slot = tuple[_Batch[Any], int]


class Gatherer(Generic[Item]):
    """Collects items per key until ``window`` seconds pass with nothing new, then hands the
    whole batch to ``process`` (at most ``max_items``; a full batch is processed at once).

    A place can be reserved when a message arrives and filled later (after OCR), so a slow
    screenshot stays in its conversation and in its order."""

    def __init__(
        self,
        window: float,
        max_items: int,
        process: Callable[[str, list[Item]], Awaitable[None]],
    ) -> None:
        self.window = window
        self.max_items = max_items
        self.process = process
        self._batches: dict[str, _Batch[Item]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def reserve(self, key: str) -> Slot:
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(key)
        batch.items.append(None)
        batch.pending += 1
        self._restart(batch)
        return batch, len(batch.items) - 1

    def fill(self, slot: Slot, item: Item | None) -> None:
        """Put the prepared item in its place (None: nothing to check, e.g. a broken image)."""
        batch, index = slot
        batch.items[index] = item
        batch.pending -= 1
        if self._batches.get(batch.key) is batch:
            self._restart(batch)

    def add(self, key: str, item: Item) -> None:
        self.fill(self.reserve(key), item)

    def _restart(self, batch: _Batch[Item]) -> None:
        if batch.task is not None:
            batch.task.cancel()
        delay = 0.0 if len(batch.items) >= self.max_items else self.window
        batch.task = asyncio.create_task(self._fire(batch, delay))
        self._running.add(batch.task)
        batch.task.add_done_callback(self._running.discard)

    async def _fire(self, batch: _Batch[Item], delay: float) -> None:
        await asyncio.sleep(delay)
        if batch.pending > 0:
            return  # fill() restarts the timer when the last place is ready
        if self._batches.get(batch.key) is batch:
            del self._batches[batch.key]
        batch.task = None
        items = [item for item in batch.items if item is not None]
        try:
            if items:
                await self.process(batch.key, items)
        finally:
            batch.done.set()

    async def answered(self, slot: Slot) -> None:
        """Wait until the batch holding ``slot`` has been answered."""
        await slot[0].done.wait()

    def drop(self, key: str) -> None:
        """Forget a batch still being gathered (the person asked to /forget)."""
        batch = self._batches.pop(key, None)
        if batch is not None:
            batch.done.set()
            if batch.task is not None:
                batch.task.cancel()


FloodKind = Literal["message", "forward", "button", "edit"]


# The kinds of state ``keep`` holds per person (dropped together by ``forget``).
KEPT_KINDS = ("conversation", "last_check", "album")


class SharedPacing:
    """Flood limits and "warn once" marks for every kind of update, and forwarded conversations
    in progress: shared by all workers through the database when ``shared`` (webhook mode),
    this process's own otherwise, and whenever the database does not answer in ``timeout``.

    A flood limit allows ``burst`` updates, then one per ``every`` seconds (shared: ``burst``
    in the ``burst * every`` seconds from a person's first update, one counter row each). A
    forwarded message costs 1/``forward_share`` of a message: a conversation is checked as
    one."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        burst: int,
        every: float,
        forward_share: int,
        shared: bool,
        timeout: float = 0.5,
    ) -> None:
        self.sessions = sessions
        self.shared = shared
        self.timeout = timeout
        scale: dict[FloodKind, int] = {
            "message": 1,
            "forward": forward_share,
            # Buttons come in quick runs (a moderator's review, language, feedback, report).
            "button": 2,
            "edit": 1,
        }
        self.limits = {kind: burst * n for kind, n in scale.items()}
        self.window = burst * every
        self.local = {kind: FloodLimiter(burst * n, n / every) for kind, n in scale.items()}
        # This process's own copies: all of it in polling mode, the fallback in webhook mode.
        self.conversations: LRU[tuple[str, str], tuple[float, Any]] = LRU(100_000)
        self.marks: LRU[tuple[str, str, int], float] = LRU(100_000)

    async def _db(self, what: str, fn: Callable[..., Awaitable[Result]], *args: Any) -> Result:
        try:
            return await within(fn(self.sessions, *args), self.timeout)
        except Exception as exc:
            database_error(f"shared_{what}")
            log.warning("shared %s unavailable: %s", what, type(exc).__name__)
            raise

    async def flood(self, kind: FloodKind, key: str) -> str:
        """``ok``, ``warn`` (the first refusal: tell them once) or ``drop``."""
        if self.shared:
            try:
                n = await self._db("flood", shared.count, kind, key, self.window)
            except Exception:  # noqa: BLE001 - logged; this process's own bucket decides
                return self.local[kind].check(key)
            limit = self.limits[kind]
            return "ok" if n <= limit else "warn" if n == limit + 1 else "drop"
        return self.local[kind].check(key)

    async def once(self, kind: str, key: str, slot: int, ttl: float) -> bool:
        """True for the first to claim this mark (a warning about to be sent)."""
        if self.shared:
            try:
                return await self._db("mark", shared.mark_once, kind, key, slot, ttl)
            except Exception:  # noqa: BLE001 - logged; at worst a second worker warns too
                pass
        now = time.monotonic()
        stamp = self.marks.get((kind, key, slot))
        if stamp is not None and stamp > now:
            return False
        self.marks.put((kind, key, slot), now + ttl)
        return True

    async def release(self, kind: str, key: str, slot: int) -> None:
        """Give a mark back: what it stood for did not happen (a redelivery may try again)."""
        self.marks.drop((kind, key, slot))
        if self.shared:
            # Logged; the mark expires on its own.
            with contextlib.suppress(Exception):
                await self._db("mark", shared.unmark, kind, key, slot)

    async def conversation(self, key: str) -> Any | None:
        """The state kept for this person's forwarded conversation, if one is in progress."""
        return await self.recall("conversation", key)

    async def keep_conversation(self, key: str, value: Any, ttl: float) -> None:
        """Keep what was concluded so far (JSON: signal names and counts, never text)."""
        await self.keep("conversation", key, value, ttl)

    async def recall(self, kind: str, key: str) -> Any | None:
        """The state of this kind kept for this person, unless it expired."""
        if self.shared:
            try:
                return await self._db(kind, shared.read, kind, key)
            except Exception:  # noqa: BLE001 - logged; this worker's own memory, if any
                pass
        held = self.conversations.get((kind, key))
        if held is None or held[0] < time.monotonic():
            return None
        return held[1]

    async def keep(self, kind: str, key: str, value: Any, ttl: float) -> None:
        """Keep ``value`` (JSON: rule ids, signal names and counts, never text) for ``ttl``
        seconds, shared by every worker in webhook mode."""
        self.conversations.put((kind, key), (time.monotonic() + ttl, value))
        if self.shared:
            # Logged; kept in this worker's memory meanwhile.
            with contextlib.suppress(Exception):
                await self._db(kind, shared.write, kind, key, value, ttl)

    def forget(self, key: str) -> None:
        """Drop this process's memory of a person (the database rows go with /forget)."""
        for kind in KEPT_KINDS:
            self.conversations.drop((kind, key))
        for limiter in self.local.values():
            limiter.forget(key)
