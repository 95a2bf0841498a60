"""The API's read cache: one computation per key at a time, now-reads dropped by a write through
the process or after their freshness, historical reads kept, capacity bounded, a failure retried."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from api.http.cache import ReadCache


def test_concurrent_misses_on_one_key_compute_it_once() -> None:
    cache = ReadCache()
    calls = []
    gate = threading.Event()

    def slow() -> bytes:
        calls.append(1)
        gate.wait(5)
        return b"trace"

    async def main() -> list[bytes]:
        waiting = [asyncio.create_task(cache.fetch("k", historical=False, compute=slow)) for _ in range(8)]
        await asyncio.sleep(0.2)
        gate.set()
        return await asyncio.gather(*waiting)

    assert asyncio.run(main()) == [b"trace"] * 8
    assert len(calls) == 1 and (cache.misses, cache.hits) == (1, 7)


def test_a_write_drops_now_reads_but_keeps_historical_ones() -> None:
    cache = ReadCache()
    now = iter([b"v1", b"v2"])
    past = iter([b"p1", b"p2"])

    async def main() -> list[bytes]:
        got = [await cache.fetch("now", historical=False, compute=lambda: next(now))]
        got.append(await cache.fetch("past", historical=True, compute=lambda: next(past)))
        got.append(await cache.fetch("now", historical=False, compute=lambda: next(now)))
        cache.written()
        got.append(await cache.fetch("now", historical=False, compute=lambda: next(now)))
        got.append(await cache.fetch("past", historical=True, compute=lambda: next(past)))
        return got

    assert asyncio.run(main()) == [b"v1", b"p1", b"v1", b"v2", b"p1"]


def test_now_reads_expire_and_capacity_is_bounded() -> None:
    cache = ReadCache(capacity=2, fresh_seconds=0.05)
    values = iter([b"a", b"b"])

    async def main() -> list[bytes]:
        first = await cache.fetch("x", historical=False, compute=lambda: next(values))
        time.sleep(0.1)
        second = await cache.fetch("x", historical=False, compute=lambda: next(values))
        for key in ("y", "z"):
            await cache.fetch(key, historical=True, compute=lambda: b"h")
        return [first, second]

    assert asyncio.run(main()) == [b"a", b"b"]
    assert list(cache._items) == ["y", "z"]  # the least recently used went


def test_a_failed_computation_lets_the_next_caller_try_again() -> None:
    cache = ReadCache()

    def broken() -> bytes:
        raise RuntimeError("graph down")

    async def main() -> bytes:
        with pytest.raises(RuntimeError, match="graph down"):
            await cache.fetch("k", historical=False, compute=broken)
        return await cache.fetch("k", historical=False, compute=lambda: b"ok")

    assert asyncio.run(main()) == b"ok"
