"""A small cache of serialised read responses (lineage traces, library searches), because a trace is a
graph traversal the database takes ~15 ms for, and an auditor's screen asks for the same one again
and again.

Correctness: a read of the graph *as of a past time* never changes (nothing is overwritten), so it
is kept until evicted. A read of *now* is kept for `FRESH_SECONDS` at most, and any write through
this API process (counted by the app's middleware) invalidates every now-read at once; a write made
elsewhere (the CLI, another worker) shows after `FRESH_SECONDS` at the latest."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

FRESH_SECONDS = 2.0
CAPACITY = 2048


class ReadCache:
    def __init__(self, capacity: int = CAPACITY, fresh_seconds: float = FRESH_SECONDS) -> None:
        self.capacity = capacity
        self.fresh_seconds = fresh_seconds
        self.generation = 0  # bumped by every successful write through this process
        self._items: OrderedDict[Hashable, tuple[int, float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def written(self) -> None:
        with self._lock:
            self.generation += 1

    def get(self, key: Hashable, *, historical: bool, compute: Callable[[], bytes]) -> bytes:
        """The cached bytes for `key`, or `compute()`'s (stored). `historical`: a read as of a past
        time, valid for ever."""
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                generation, stored_at, body = found
                if historical or (generation == self.generation and now - stored_at < self.fresh_seconds):
                    self._items.move_to_end(key)
                    self.hits += 1
                    return body
            generation = self.generation
            self.misses += 1
        body = compute()
        with self._lock:
            self._items[key] = (generation, now, body)
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return body
