"""Post-mortem benchmark: every step of the engine on the sample campaign of size L (>= 1,000,000
touchpoints, >= 100,000 leads), and the HTML report. Target on the reference machine: under 60 s
in total.

The sample is generated in a child process and mapped to unified tables first (that is ingest's
work, timed by bench_ingest); what is timed here starts from the tables, as the post-mortem service
does after reading the snapshots. The peer in the same run is the same engine at the smaller sizes
(`--sizes`, default S and L), so the growth with data size shows. In the same run, Markov
attribution on ca_paths.csv is timed against ChannelAttribution's markov_model (target: Warrant at
least 5x faster).

    .venv/bin/python -m tests.bench.bench_postmortem [--sizes S M L] [--seed 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from diagnostics import postmortem
from diagnostics.report import render
from diagnostics.report_data import report_data
from ingest.mapping import load_mapping
from ingest.readers import ROW, read_export
from ingest.transform import to_unified
from tests.bench import bench_attribution

TARGET_SECONDS = 60.0


def _say(line: str = "") -> None:
    print(line, flush=True)


def _tables(directory: Path) -> tuple[dict[str, pl.DataFrame], list[dict[str, Any]]]:
    manifest = json.loads((directory / "manifest.json").read_text())
    parts: dict[str, list[pl.DataFrame]] = {}
    for entry in manifest["files"]:
        mapping = load_mapping(entry["mapping"])
        export = read_export(
            directory / entry["file"], fmt=mapping.format, csv_options=mapping.csv, max_bytes=10**10
        )
        parts.setdefault(entry["table"], []).append(to_unified(export, mapping).drop(ROW))
    tables = {name: pl.concat(frames, how="diagonal_relaxed") for name, frames in parts.items()}
    return tables, json.loads((directory / "campaigns.json").read_text())


def measure(size: str, seed: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"warrant-bench-pm-{size}-"))
    try:
        code = "import sys; from pathlib import Path; from ingest.sample import generate; generate(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))"  # noqa: E501
        subprocess.run([sys.executable, "-c", code, size, str(seed), str(work / "s")], check=True)
        tables, campaigns = _tables(work / "s")
        rows = {name: frame.height for name, frame in tables.items()}
        started = time.perf_counter()
        result = postmortem.run(tables, campaigns, "cmp-2026q3")
        t0 = time.perf_counter()
        html = render(report_data(result))
        steps = {**result.seconds, "report": round(time.perf_counter() - t0, 3)}
        total = time.perf_counter() - started
        return {
            "size": size,
            "rows": rows,
            "steps": steps,
            "total_s": round(total, 2),
            "findings": len(result.findings),
            "report_bytes": len(html),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_postmortem", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--sizes", nargs="+", default=["S", "L"], choices=("S", "M", "L"), help="the last one is judged"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = {}
    for size in dict.fromkeys(args.sizes):
        _say(f"size {size}: generating and mapping the sample ...")
        figures[size] = measure(size, args.seed)
        f = figures[size]
        _say(f"  rows: {f['rows']}")
        for step, seconds in f["steps"].items():
            _say(f"  {step:<16} {seconds:8.2f} s")
        _say(
            f"  total            {f['total_s']:8.2f} s  "
            f"({f['findings']} findings, report {f['report_bytes']:,} bytes)"
        )
    _say("Markov attribution on ca_paths.csv against ChannelAttribution:")
    markov = bench_attribution.against_channel_attribution(pl.read_csv(bench_attribution.CA_PATHS), repeat=7)
    judged = args.sizes[-1]
    main_figures = figures[judged]
    met = main_figures["total_s"] < TARGET_SECONDS
    _say(
        f"{'PASS' if met else 'MISS'} post-mortem at size {judged}: {main_figures['total_s']:.1f} s "
        f"(target < {TARGET_SECONDS:g} s)"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"sizes": figures, "target_s": TARGET_SECONDS, "met": met, "markov": markov}, indent=2)
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
