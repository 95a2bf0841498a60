"""The lineage benchmark at a small size: it keeps running, and its answers match networkx.

The benchmark builds a two-era graph with revisions and closed edges and checks every trace and
impact (now and as of the era boundary) against networkx reachability; a mismatch here is a
lineage bug, whatever the timings."""

from __future__ import annotations

import json
from pathlib import Path

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
