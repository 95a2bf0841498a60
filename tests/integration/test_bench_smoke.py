"""`make bench` at tiny sizes (`--quick`): every step of the suite runs, BENCHMARKS.md is written
from the figures, and the figures that are answers rather than timings are right.

The lineage step builds a two-era graph with revisions and closed edges and checks every trace and
impact (now and as of the era boundary) against networkx reachability: a mismatch here is a lineage
bug, whatever the timings. The attribution step's per-channel differences from the peers are
answers too, and must stay within the issue's bounds at any size."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.bench import report, suite

# The whole suite at tiny sizes runs once for the module (about 6 minutes on 2 cores).
pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    code = suite.main(["--quick", "--results", str(out / "results"), "--out", str(out / "BENCHMARKS.md")])
    results = out / "results"
    return {
        "code": code,
        "page": (out / "BENCHMARKS.md").read_text(),
        "runs": json.loads((results / "runs.json").read_text())["steps"],
        "figures": {p.stem: json.loads(p.read_text()) for p in results.glob("*.json") if p.stem != "runs"},
    }


def test_every_step_runs_and_has_memory_peaks(quick: dict[str, Any]) -> None:
    names = [s.name for s in suite.steps(quick=True)]
    assert quick["code"] == 0, {n: r["exit_code"] for n, r in quick["runs"].items()}
    assert set(quick["runs"]) == set(names) and set(quick["figures"]) == set(names)
    for name, run in quick["runs"].items():
        assert run["exit_code"] == 0 and run["seconds"] > 0 and run["python_peak_mb"] > 50, name
    # Steps that start an embedded graph server have its memory measured apart; the others start none.
    for name in ("ingest-S", "lineage-400", "library-200", "registry", "api"):
        assert quick["runs"][name]["graph_peak_mb"] > 50, name
    for name in ("postmortem", "attribution"):
        assert quick["runs"][name]["graph_peak_mb"] == 0, name


def test_page_is_written_from_the_figures(quick: dict[str, Any]) -> None:
    page, f = quick["page"], quick["figures"]
    assert page.startswith("> **Quick run")
    for heading in (
        "## Machine and versions",
        "## Targets",
        "## Ingest",
        "## Post-mortem, step by step",
        "## Attribution against peers",
        "## Lineage",
        "## Library search",
        "## Registry (MLflow) overhead",
        "## HTTP API under load",
        "## Run time and memory peaks per step",
        "## Scale on paper",
        "### What a team with 100x the data should deploy",
    ):
        assert heading in page, heading
    assert "Not run." not in page
    assert f"| {f['ingest-S']['rows']:,} |" in page
    assert f"{f['lineage-400']['operations']['trace']['median_ms']:,.1f} ms" in page


def test_lineage_answers_match_networkx(quick: dict[str, Any]) -> None:
    figures = quick["figures"]["lineage-400"]
    assert sum(figures["counts"]["nodes"].values()) == 400
    assert figures["counts"]["edges"]["JUSTIFIED_BY"]["closed"] > 0
    for name, op in figures["operations"].items():
        assert op["calls"] == 10 and op["mismatches"] == 0, name
    assert set(figures["portable_cypher"]) == {"trace", "impact"}


def test_ingest_figures_add_up(quick: dict[str, Any]) -> None:
    figures = quick["figures"]["ingest-S"]
    assert len(figures["files"]) == 11 and all(f["rows"] > 0 for f in figures["files"])
    assert figures["rows"] == sum(f["rows"] for f in figures["files"]) > 40_000
    assert figures["peak_rss_mb"] > 0 and figures["total_s"] > 0


def test_attribution_agrees_with_the_peers(quick: dict[str, Any]) -> None:
    figures = quick["figures"]["attribution"]
    assert figures["channelattribution"]["max_deviation_pct_of_total"] < 1.0
    assert figures["shapley_vs_mam"]["max_deviation_pct_of_total"] < 0.01


def test_growth_exponent_is_the_log_log_slope() -> None:
    # cost = 3 * size^1.5 exactly: the fit must give 1.5; one point is not a fit.
    assert report.fit([(n, 3 * n**1.5) for n in (10, 100, 1000)]) == pytest.approx(1.5)
    assert report.fit([(10, 5.0)]) is None
