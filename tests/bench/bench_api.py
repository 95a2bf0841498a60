"""HTTP API load benchmark: concurrent clients on library search and lineage trace over the demo
library (target: p99 under 100 ms and no errors with 100 clients on this machine).

A fresh home gets the demo (sample S, seed 7) loaded and its post-mortem run, a key, and
`warrant serve` in a process of its own (the load generator must not share the server's GIL).
First one client alone measures the service time; then `--clients` clients, each sending a search
or a trace and waiting `--think` seconds (0.5 on average: a person clicking through the library
makes a request every second or two), for `--seconds`; then the same clients with no think time,
which measures the capacity (informative: 100 clients firing back to back queue behind each other
whatever the server). Printed: requests, throughput, p50, p95, p99 and max latency, errors by status,
per route and overall, against the single client. The target is judged on the middle run.

    .venv/bin/python -m tests.bench.bench_api [--clients 100] [--seconds 20] [--think 0.5] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

CAMPAIGN = "cmp-2026q3"
TARGET_P99_MS = 100.0
QUERIES = ("landing page", "nurture", "creative fatigue", "paid social", "utm", "attribution window")


def _say(line: str = "") -> None:
    print(line, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _setup(home: Path) -> tuple[dict[str, str], str, list[str]]:
    """The demo in `home`; returns the server's environment, a key and the finding ids to trace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARRANT_", "MLFLOW_"))}
    env.update(WARRANT_HOME=str(home), WARRANT_ACTOR="bench", WARRANT_API_RATE_PER_MINUTE="100000000")
    warrant = str(Path(sys.executable).with_name("warrant"))

    def run(*args: str) -> str:
        return subprocess.run([warrant, *args], env=env, capture_output=True, text=True, check=True).stdout

    run("db", "start")
    run("sample", "generate", "--size", "S", "--seed", "7", "--out", str(home / "demo"))
    run("sample", "load", str(home / "demo"))
    done = json.loads(run("postmortem", "run", "--campaign", CAMPAIGN, "--json"))
    key = done["run_id"].removeprefix("run:")[:12]
    findings = [f"finding:{key}:{f['id']}" for f in done["findings"]]
    run("people", "add", "bench", "--name", "Bench Analyst", "--role", "analyst")
    token = run("keys", "create", "--person", "bench", "--role", "analyst").strip().splitlines()[-1]
    return env, token, findings


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class _Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the load generator has to be far
    cheaper than the server it measures (httpx's pool, at 100 connections in one process, was the
    bottleneck: it measured its own queue)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        request = f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}\r\n"
        self.writer.write(request.encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _load(
    base: str, token: str, findings: list[str], clients: int, seconds: float, think: float
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {"search": [], "trace": []}
    statuses: Counter[str] = Counter()
    host, port = base.removeprefix("http://").split(":")
    connections = [_Connection(host, int(port), token) for _ in range(clients)]
    # Each client opens its connection first (a UI session keeps one open); the time it takes all
    # of them to connect and get a first answer is reported on its own.
    opened = time.perf_counter()
    await asyncio.gather(*(c.get("/v1/health") for c in connections))
    connect_s = time.perf_counter() - opened
    stop = time.perf_counter() + seconds

    async def client(n: int) -> None:
        rng = random.Random(n)
        if think:  # spread the clients' first requests over one think time
            await asyncio.sleep(rng.uniform(0, think))
        while time.perf_counter() < stop:
            if rng.random() < 0.5:
                kind, target = "search", "/v1/library/search?" + urlencode({"text": rng.choice(QUERIES)})
            else:
                kind, target = "trace", "/v1/lineage/trace?" + urlencode({"id": rng.choice(findings)})
            started = time.perf_counter()
            try:
                statuses[f"{kind} {await connections[n].get(target)}"] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                statuses[f"{kind} {type(exc).__name__}"] += 1
                connections[n].close()
                connections[n] = _Connection(host, int(port), token)
            latencies[kind].append((time.perf_counter() - started) * 1000)
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.perf_counter() - started
    for c in connections:
        c.close()
    every = latencies["search"] + latencies["trace"]
    errors = sum(n for status, n in statuses.items() if not status.endswith(" 200"))

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "requests": len(values),
            "p50_ms": _percentile(values, 0.50),
            "p95_ms": _percentile(values, 0.95),
            "p99_ms": _percentile(values, 0.99),
            "max_ms": max(values, default=float("nan")),
        }

    return {
        "clients": clients,
        "think_s": think,
        "connect_s": connect_s,
        "seconds": wall,
        "throughput_rps": len(every) / wall,
        "errors": errors,
        "statuses": dict(statuses),
        "all": summary(every),
        "search": summary(latencies["search"]),
        "trace": summary(latencies["trace"]),
    }


def _print(label: str, result: dict[str, Any]) -> None:
    a = result["all"]
    _say(
        f"{label}: {a['requests']} requests in {result['seconds']:.1f} s = {result['throughput_rps']:.0f}/s; "
        f"p50 {a['p50_ms']:.1f} ms, p95 {a['p95_ms']:.1f} ms, p99 {a['p99_ms']:.1f} ms, "
        f"max {a['max_ms']:.0f} ms; errors {result['errors']} "
        f"(connecting all clients took {result['connect_s']:.2f} s)"
    )
    for kind in ("search", "trace"):
        k = result[kind]
        _say(f"    {kind:6s} {k['requests']:6d} req  p50 {k['p50_ms']:.1f}  p99 {k['p99_ms']:.1f} ms")
    if result["errors"]:
        _say(f"    statuses: {result['statuses']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between a client's requests")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="warrant-bench-api-") as tmp:
        home = Path(tmp) / "home"
        _say("setting up the demo library (sample S, seed 7) ...")
        env, token, findings = _setup(home)
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("warrant")), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    auth = {"Authorization": f"Bearer {token}"}
                    if httpx.get(f"{base}/v1/health", headers=auth).is_success:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API server did not start")
                time.sleep(0.2)
            asyncio.run(_load(base, token, findings, 4, 3, 0))  # warm-up
            alone = asyncio.run(_load(base, token, findings, 1, min(10.0, args.seconds), 0))
            loaded = asyncio.run(_load(base, token, findings, args.clients, args.seconds, args.think))
            saturated = asyncio.run(_load(base, token, findings, args.clients, args.seconds / 2, 0))
        finally:
            server.terminate()
            server.wait(timeout=30)
            subprocess.run(
                [str(Path(sys.executable).with_name("warrant")), "db", "stop"], env=env, capture_output=True
            )
    _print("1 client, back to back", alone)
    _print(f"{args.clients} clients, think {args.think:g} s", loaded)
    _print(f"{args.clients} clients, no think time (capacity, for information)", saturated)
    p99 = loaded["all"]["p99_ms"]
    met = p99 < TARGET_P99_MS and loaded["errors"] == 0
    _say(
        f"target p99 < {TARGET_P99_MS:.0f} ms with no errors: {'met' if met else 'NOT met'} "
        f"(p99 {p99:.1f} ms, {p99 / max(alone['all']['p99_ms'], 1e-9):.1f}x the single client's)"
    )
    if args.json:
        doc = {"alone": alone, "loaded": loaded, "saturated": saturated, "met": met}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0  # a missed target is a figure in the report, not a failed run


if __name__ == "__main__":
    sys.exit(main())
