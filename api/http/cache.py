"""A small cache of serialised read responses (lineage walks, library searches), because a walk is a
graph traversal the database takes ~15 ms for, and an auditor's screen asks for the same one again
and again.

Correctness: a read of the graph *as of a past time* never changes (nothing is overwritten), so it
is kept until evicted. A read of *now* is kept for `FRESH_SECONDS` at most, and any write through
this API process (counted by the app's middleware) invalidates every now-read at once; a write made
elsewhere (the CLI, another worker) shows after `FRESH_SECONDS` at the latest.

Speed: a hit is answered on the event loop, with no thread; a miss runs its (blocking) computation
in the thread pool once, and the requests for the same key that arrive meanwhile await that one
result. (Dozens of threads all waiting in the pool made the GIL hand-offs, not the database, the
bottleneck under load.)"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from starlette.concurrency import run_in_threadpool

FRESH_SECONDS = 2.0
CAPACITY = 2048


class ReadCache:
    def __init__(self, capacity: int = CAPACITY, fresh_seconds: float = FRESH_SECONDS) -> None:
        self.capacity = capacity
        self.fresh_seconds = fresh_seconds
        self.generation = 0  # bumped by every successful write through this process
        self._items: OrderedDict[Hashable, tuple[int, float, bytes]] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[None]] = {}
        self.hits = 0
        self.misses = 0

    def written(self) -> None:
        self.generation += 1

    def _fresh(self, key: Hashable, historical: bool) -> bytes | None:
        found = self._items.get(key)
        if found is None:
            return None
        generation, stored_at, body = found
        if historical or (
            generation == self.generation and time.monotonic() - stored_at < self.fresh_seconds
        ):
            self._items.move_to_end(key)
            return body
        return None

    async def fetch(self, key: Hashable, *, historical: bool, compute: Callable[[], bytes]) -> bytes:
        """The cached bytes for `key`, or `compute()`'s (run in the thread pool, then stored).
        `historical`: a read as of a past time, valid for ever."""
        while True:
            body = self._fresh(key, historical)
            if body is not None:
                self.hits += 1
                return body
            running = self._running.get(key)
            if running is None:
                break
            await asyncio.wait([running])  # then look again: its result, or our turn
        running = self._running[key] = asyncio.get_running_loop().create_future()
        generation = self.generation
        self.misses += 1
        try:
            body = await run_in_threadpool(compute)
            self._items[key] = (generation, time.monotonic(), body)
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
            return body
        finally:
            del self._running[key]
            running.set_result(None)
