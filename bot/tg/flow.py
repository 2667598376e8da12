"""Per-person flow control: a flood limit, gathering forwarded messages into one check, and
the one thread checks run in.

Owns: in-memory, per-process state keyed by pseudonyms (never raw ids). A person who floods is
slowed with one polite notice; several messages forwarded together (arriving within a short
window) are checked as one conversation so the reply can name the furthest stage reached.
Checks run off the event loop, one at a time, in the order they were asked for.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


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
