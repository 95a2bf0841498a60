"""Registry overhead benchmark: what MLflow adds to a post-mortem, as a share of its time, at sizes S
and L (target: under 20% at L).

Each size gets a fresh home with its own embedded graph server and MLflow store; the sample is
generated and loaded (ingest is bench_ingest's subject, not timed here). Then the post-mortem runs
through the service several times, each under another bootstrap seed so each is a new run that is
logged in full: resolving the model versions, the MLflow run (params, metrics, dataset inputs, the
HTML report and every model's output as artifacts) and the drift check. The service times those
steps itself (`seconds["registry"]`, `seconds["drift"]`); the share is that over the run's wall time.
One-off costs are printed apart: importing MLflow, creating the store and registering the models.

    .venv/bin/python -m tests.bench.bench_registry [--sizes S L] [--runs 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TARGET_SHARE = 0.20
CAMPAIGN = "cmp-2026q3"


def _say(line: str = "") -> None:
    print(line, flush=True)


def _import_seconds() -> float:
    """Importing MLflow in a fresh interpreter: paid once per process (CLI call, API worker)."""
    code = "import time; t = time.perf_counter(); import mlflow.pyfunc; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def _cold_cli(settings: Any, seed: int) -> dict[str, float]:
    """One `warrant postmortem run` as a user types it: a new process pays MLflow's import too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARRANT_", "MLFLOW_"))}
    env.update(WARRANT_HOME=str(settings.home), WARRANT_ACTOR="bench")
    warrant = str(Path(sys.executable).with_name("warrant"))
    started = time.perf_counter()
    done = subprocess.run(
        [warrant, "postmortem", "run", "--campaign", CAMPAIGN, "--set", f"seed={seed}", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    seconds = json.loads(done.stdout)["seconds"]
    registry_s = seconds.get("registry", 0.0) + seconds.get("drift", 0.0)
    return {"wall_s": round(wall, 2), "registry_s": round(registry_s, 2), "share": registry_s / wall}


def measure(size: str, seed: int, runs: int) -> dict[str, Any]:
    from api.services.postmortem import run_postmortem
    from api.services.sample import load
    from graph.embedded import EmbeddedServer
    from graph.settings import Settings

    work = Path(tempfile.mkdtemp(prefix=f"warrant-bench-registry-{size}-"))
    settings = Settings(home=work / "home", actor="bench", graph_heap="2g")
    server = EmbeddedServer(settings)
    try:
        server.ensure_running()
        code = "import sys; from pathlib import Path; from ingest.sample import generate; generate(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))"  # noqa: E501
        subprocess.run([sys.executable, "-c", code, size, str(seed), str(work / "s")], check=True)
        started = time.perf_counter()
        load(settings, work / "s")
        load_s = time.perf_counter() - started

        from registry import models as registered
        from registry.tracking import registry

        started = time.perf_counter()
        with registry(settings) as reg:
            store_s = time.perf_counter() - started
            started = time.perf_counter()
            registered.sync(reg)
            register_s = time.perf_counter() - started

        measured = []
        for i in range(runs):
            started = time.perf_counter()
            stored, _ = run_postmortem(settings, CAMPAIGN, overrides={"seed": 1000 + i})
            wall = time.perf_counter() - started
            assert stored.created, "each benchmark run must be a new, fully logged run"
            seconds = stored.seconds
            overhead = seconds.get("registry", 0.0) + seconds.get("drift", 0.0)
            measured.append(
                {"wall_s": wall, "registry_s": overhead, "share": overhead / wall, "steps": seconds}
            )
        cold = _cold_cli(settings, seed=2000)
        return {
            "size": size,
            "cold_cli": cold,
            "load_s": round(load_s, 2),
            "store_create_s": round(store_s, 2),
            "register_models_s": round(register_s, 2),
            "runs": measured,
            "median_wall_s": round(statistics.median(r["wall_s"] for r in measured), 2),
            "median_registry_s": round(statistics.median(r["registry_s"] for r in measured), 3),
            "median_share": statistics.median(r["share"] for r in measured),
        }
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_registry", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", nargs="+", default=["S", "L"], choices=("S", "M", "L"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    imported = _import_seconds()
    _say(f"one-off: importing mlflow.pyfunc in a fresh process {imported:.2f} s")
    figures = {}
    for size in args.sizes:
        _say(f"size {size}: generating and loading the sample ...")
        f = figures[size] = measure(size, args.seed, args.runs)
        _say(
            f"  loaded in {f['load_s']:.1f} s; store created in {f['store_create_s']:.2f} s; "
            f"models registered in {f['register_models_s']:.2f} s (one-off)"
        )
        for i, r in enumerate(f["runs"], start=1):
            _say(
                f"  run {i}: post-mortem {r['wall_s']:6.2f} s, "
                f"registry {r['registry_s']:5.2f} s ({r['share']:.1%})"
            )
        _say(
            f"  median: {f['median_wall_s']:.2f} s, "
            f"registry {f['median_registry_s']:.2f} s ({f['median_share']:.1%})"
        )
        c = f["cold_cli"]
        _say(
            f"  informative, one cold `warrant postmortem run`: {c['wall_s']:.2f} s, of which the registry "
            f"{c['registry_s']:.2f} s ({c['share']:.1%}; it includes importing MLflow)"
        )
    last = args.sizes[-1]
    met = figures[last]["median_share"] < TARGET_SHARE
    _say(
        f"{'PASS' if met else 'MISS'} registry overhead at size {last}: {figures[last]['median_share']:.1%} "
        f"of the post-mortem (target < {TARGET_SHARE:.0%})"
    )
    if args.json:
        out = {"import_mlflow_s": imported, "sizes": figures, "target_share": TARGET_SHARE, "met": met}
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
