"""Ingest benchmark: the whole sample campaign of size L (>= 1,000,000 touchpoints, >= 100,000
leads) through `warrant ingest`'s service, file by file: parse, map, type, gates, canonical
Parquet, hash and graph. Target on the reference machine: all of it under 60 s.

It prints, per file, rows, seconds and rows per second, then the total and the process's peak
resident memory. The sample is generated in a child process first (so its memory does not count),
and the graph is a fresh embedded server in a temporary home. As a peer, the same files are read
with polars' own readers only (no mapping, no checks, no writes): the floor that parsing alone
costs, so the overhead of everything else is visible.

    .venv/bin/python -m tests.bench.bench_ingest [--size L] [--seed 7] [--json PATH] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from api.services.ingest import ingest
from graph.connect import open_store
from graph.embedded import EmbeddedServer
from graph.settings import Settings
from ingest.mapping import load_mapping

TARGET_SECONDS = 60.0


def _say(line: str = "") -> None:
    print(line, flush=True)


def _generate(size: str, seed: int, out: Path) -> float:
    started = time.perf_counter()
    code = (
        "import sys; from pathlib import Path; from ingest.sample import generate; "
        "generate(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run([sys.executable, "-c", code, size, str(seed), str(out)], check=True)
    return time.perf_counter() - started


def _peer_read(path: Path, mapping: str) -> float:
    """polars reading the file with the mapping's layout options, nothing else: no typing, no
    checks, no line numbers, no writes."""
    options = load_mapping(mapping).csv
    started = time.perf_counter()
    if path.suffix == ".parquet":
        pl.read_parquet(path)
    elif path.suffix == ".jsonl":
        pl.read_ndjson(path)
    else:
        raw = path.read_bytes()
        wide = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        text = raw.decode("utf-16" if wide else "utf-8-sig")
        body = "\n".join(text.splitlines()[options.skip_rows :]).encode()
        separator = options.delimiter if options.delimiter != "auto" else ("\t" if wide else ",")
        pl.read_csv(body, separator=separator, infer_schema=False, truncate_ragged_lines=True)
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="warrant-bench-ingest-"))
    data = work / "sample"
    settings = Settings(
        home=work / "home", graph_uri="", graph_database="", graph_bolt_port=0, graph_http_port=0
    )
    try:
        _say(f"generating sample size {args.size} (seed {args.seed}) in a child process ...")
        generated = _generate(args.size, args.seed, data)
        manifest = json.loads((data / "manifest.json").read_text())
        total_bytes = sum((data / f["file"]).stat().st_size for f in manifest["files"])
        _say(f"generated {len(manifest['files'])} files, {total_bytes / 1e6:.0f} MB, in {generated:.1f} s")
        store = open_store(settings)
        try:
            rows: list[dict[str, Any]] = []
            started = time.perf_counter()
            for entry in manifest["files"]:
                path = data / entry["file"]
                t0 = time.perf_counter()
                report = ingest(
                    settings, [path], entry["mapping"], campaign_id=entry.get("campaign_id"), store=store
                )
                seconds = time.perf_counter() - t0
                rows.append(
                    {
                        "file": entry["file"],
                        "mapping": entry["mapping"],
                        "rows": report.rows,
                        "bytes": path.stat().st_size,
                        "seconds": round(seconds, 3),
                        "rows_per_s": round(report.rows / seconds),
                        "peer_read_s": round(_peer_read(path, entry["mapping"]), 3),
                        "warnings": [g.name for g in report.gates if g.status == "warn"],
                    }
                )
                _say(
                    f"  {entry['file']:<36} {report.rows:>9} rows {seconds:6.2f} s "
                    f"{report.rows / seconds:>10,.0f} rows/s  (read alone {rows[-1]['peer_read_s']:.2f} s)"
                )
            total = time.perf_counter() - started
        finally:
            store.close()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        all_rows = sum(r["rows"] for r in rows)
        peer = sum(r["peer_read_s"] for r in rows)
        _say()
        _say(
            f"ingested {all_rows:,} rows in {total:.1f} s = {all_rows / total:,.0f} rows/s; "
            f"peak RSS {peak_mb:,.0f} MB"
        )
        _say(
            f"peer: polars reading the same files alone: {peer:.1f} s "
            f"(the whole ingest takes {total / max(peer, 1e-9):.1f}x that)"
        )
        met = total < TARGET_SECONDS
        _say(
            f"{'PASS' if met else 'MISS'} whole {args.size} ingest {total:.1f} s "
            f"(target < {TARGET_SECONDS:g} s)"
        )
        return {
            "size": args.size,
            "seed": args.seed,
            "generate_s": round(generated, 2),
            "bytes": total_bytes,
            "files": rows,
            "rows": all_rows,
            "total_s": round(total, 2),
            "peak_rss_mb": round(peak_mb),
            "peer_read_s": round(peer, 2),
            "target_s": TARGET_SECONDS,
            "met": met,
        }
    finally:
        EmbeddedServer(settings).stop()
        if args.keep:
            _say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_ingest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--size", default="L", choices=("S", "M", "L"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and the home")
    args = parser.parse_args(argv)
    figures = run(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
