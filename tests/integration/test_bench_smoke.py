"""The benchmarks at a small size: they keep running, and the lineage answers match networkx.

The benchmark builds a two-era graph with revisions and closed edges and checks every trace and
impact (now and as of the era boundary) against networkx reachability; a mismatch here is a
lineage bug, whatever the timings."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench import bench_ingest
from tests.bench.bench_lineage import main


def test_benchmark_answers_match_networkx(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    assert main(["--nodes", "400", "--repeat", "10", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert sum(figures["counts"]["nodes"].values()) == 400
    assert figures["counts"]["edges"]["JUSTIFIED_BY"]["closed"] > 0
    for name, op in figures["operations"].items():
        assert op["calls"] == 10 and op["mismatches"] == 0, name
    assert set(figures["portable_cypher"]) == {"trace", "impact"}


def test_ingest_benchmark_runs_at_size_s(tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"
    assert bench_ingest.main(["--size", "S", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert len(figures["files"]) == 11 and all(f["rows"] > 0 for f in figures["files"])
    assert figures["rows"] == sum(f["rows"] for f in figures["files"]) > 40_000
    assert figures["peak_rss_mb"] > 0 and figures["total_s"] > 0
