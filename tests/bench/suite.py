"""`make bench`: every benchmark, each in a process of its own, then `BENCHMARKS.md` from the figures.

Why one driver: the figures in BENCHMARKS.md must come from one run on one machine, with the
machine, the versions and the date beside them, and a reader must be able to re-run any one step.
So each step is an ordinary benchmark module (`python -m tests.bench.bench_<name> ... --json`),
run here as a child process whose output is shown as it comes and kept in `bench-results/<step>.txt`
and `.json`. While a step runs, a sampler reads the resident memory of the step's process tree and of
any embedded graph server started during it, so every step gets its memory peaks (Python side and
graph server apart). The growth of each cost is measured at three sizes (ingest and post-mortem at
sample sizes S, M and L; lineage at 10,000, 100,000 and 1,000,000 nodes; the library at 1,000,
3,000 and 10,000 post-mortems) and fitted as cost ~ size^k for the scale section.

A failing step is reported in BENCHMARKS.md and makes the exit code 1 after every other step ran;
a missed target is a figure, not a failure.

    .venv/bin/python -m tests.bench.suite [--only STEP ...] [--quick] [--results DIR] [--out PATH]
    .venv/bin/python -m tests.bench.suite --render-only      # BENCHMARKS.md from the kept results

`--quick` runs every step at a tiny size (a smoke run of the whole chain, about 5 minutes); its
figures mean nothing and BENCHMARKS.md says so in its first line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from tests.bench import report

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Step:
    """One benchmark run: `module` with `args`, its figures written to `<results>/<name>.json`."""

    name: str
    module: str
    args: tuple[str, ...] = ()


def steps(quick: bool) -> list[Step]:
    """The whole suite, in the order a reader meets it in BENCHMARKS.md."""
    if quick:
        return [
            Step("ingest-S", "bench_ingest", ("--size", "S")),
            Step("postmortem", "bench_postmortem", ("--sizes", "S")),
            Step("attribution", "bench_attribution", ("--repeat", "1", "--samples", "20", "--no-large")),
            Step("lineage-400", "bench_lineage", ("--nodes", "400", "--repeat", "10")),
            Step("library-200", "bench_library", ("--count", "200", "--repeat", "5", "--writes", "2")),
            Step("registry", "bench_registry", ("--sizes", "S", "--runs", "1")),
            Step("api", "bench_api", ("--clients", "5", "--seconds", "2")),
        ]
    return [
        Step("ingest-S", "bench_ingest", ("--size", "S")),
        Step("ingest-M", "bench_ingest", ("--size", "M")),
        Step("ingest-L", "bench_ingest", ("--size", "L")),
        Step("postmortem", "bench_postmortem", ("--sizes", "S", "M", "L")),
        Step("attribution", "bench_attribution", ()),
        Step("lineage-10k", "bench_lineage", ("--nodes", "10000")),
        Step("lineage-100k", "bench_lineage", ("--nodes", "100000")),
        # 1,000,000 nodes: a bigger heap for the graph server, bigger write batches, fewer calls.
        Step("lineage-1M", "bench_lineage", ("--nodes", "1000000", "--repeat", "100", "--batch", "5000")),
        Step("library-1k", "bench_library", ("--count", "1000")),
        Step("library-3k", "bench_library", ("--count", "3000")),
        Step("library-10k", "bench_library", ("--count", "10000")),
        Step("registry", "bench_registry", ()),
        Step("api", "bench_api", ()),
    ]


STEP_ENV = {"lineage-1M": {"WARRANT_GRAPH_HEAP": "4g"}}


class MemorySampler:
    """Peak resident memory of a process tree, and of the embedded graph servers it starts.

    The graph server is counted apart: its heap is capped by a setting, whereas the Python side grows
    with the data. A server is the step's when it is in the step's tree, or when it was born during
    the step in a benchmark's temporary home (`warrant-bench-*`): one started by a CLI child that
    has exited is no longer in the tree. Servers of other homes (a developer's, a test session's)
    are never counted."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self._root = psutil.Process(pid)
        self._before = {p.pid for p in psutil.process_iter()}
        self._interval = interval
        self._done = threading.Event()
        self.python_mb = 0.0
        self.graph_mb = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            self._sample()
            self._done.wait(self._interval)

    def _sample(self) -> None:
        try:
            tree = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return
        servers = {p.pid: p for p in tree if _is_graph_server(p)}
        for p in psutil.process_iter():
            if p.pid not in self._before and p.pid not in servers and _is_graph_server(p, "warrant-bench-"):
                servers[p.pid] = p
        self.python_mb = max(self.python_mb, sum(_rss_mb(p) for p in tree if p.pid not in servers))
        self.graph_mb = max(self.graph_mb, sum(_rss_mb(p) for p in servers.values()))

    def stop(self) -> dict[str, float]:
        self._done.set()
        self._thread.join()
        return {"python_peak_mb": round(self.python_mb), "graph_peak_mb": round(self.graph_mb)}


def _rss_mb(process: psutil.Process) -> float:
    try:
        return process.memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def _is_graph_server(process: psutil.Process, home_part: str = "") -> bool:
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return False
    return "graph.embedded_main" in command and home_part in command


def run_step(step: Step, results: Path) -> dict[str, Any]:
    """Run one step, echoing its output, and return its run record (time, memory, exit code)."""
    figures = results / f"{step.name}.json"
    figures.unlink(missing_ok=True)
    code = report.code_version()
    command = [sys.executable, "-m", f"tests.bench.{step.module}", *step.args, "--json", str(figures)]
    print(f"\n=== {step.name}: {' '.join(command[1:])}", flush=True)
    env = {**os.environ, **STEP_ENV.get(step.name, {})}
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with (results / f"{step.name}.txt").open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        sampler = MemorySampler(process.pid)
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
        code = process.wait()
        memory = sampler.stop()
    seconds = time.perf_counter() - started
    print(
        f"=== {step.name}: exit {code} in {seconds:.0f} s; peak memory: Python "
        f"{memory['python_peak_mb']:,} MB, graph server {memory['graph_peak_mb']:,} MB",
        flush=True,
    )
    return {
        "code": code,
        # The machine's 1-minute load average around the step: a figure taken while something else ran
        # (load well above the step's own one or two busy cores) is marked as such in BENCHMARKS.md.
        "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "step": step.name,
        "command": command[1:],
        "exit_code": code,
        "seconds": round(seconds, 1),
        **memory,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.suite", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="STEP", help="run these steps only")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, figures mean nothing")
    parser.add_argument("--results", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--render-only", action="store_true", help="write BENCHMARKS.md from the results kept in --results"
    )
    args = parser.parse_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    runs_path = args.results / "runs.json"
    chosen = steps(args.quick)
    known = {s.name for s in chosen}
    if args.only and not set(args.only) <= known:
        parser.error(f"unknown step(s) {sorted(set(args.only) - known)}; the steps are {sorted(known)}")
    if not args.render_only:
        previous = json.loads(runs_path.read_text()) if runs_path.exists() and args.only else {}
        runs = {**previous.get("steps", {})}
        started = datetime.now(UTC)
        for step in chosen:
            if args.only is None or step.name in args.only:
                runs[step.name] = run_step(step, args.results)
        runs_path.write_text(
            json.dumps(
                {"quick": args.quick, "started": previous.get("started", started.isoformat()), "steps": runs},
                indent=2,
            )
            + "\n"
        )
    document = report.render(args.results, [s.name for s in chosen])
    args.out.write_text(document)
    print(f"\nwrote {args.out}", flush=True)
    runs = json.loads(runs_path.read_text())["steps"] if runs_path.exists() else {}
    failed = [name for name, run in runs.items() if run["exit_code"] != 0]
    if failed:
        print(f"failed steps: {', '.join(failed)} (their output is in {args.results})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
