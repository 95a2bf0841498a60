"""The demo library (`warrant sample library`): fifty generated campaigns, each generated, loaded and
post-mortemed through the services, in a database and an MLflow store of their own; then the judged
query set (tests/fixtures/library_queries.yaml) searched the way the CLI and the API search it.

Why the judgments are checked again here: a query's expected post-mortems are written out in the
fixture so that a reader can see them, and derived here from each campaign's ground_truth.json, so
that they can never drift into "whatever the search returned".
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.services import demo_library
from graph.connect import open_store
from graph.library import LibraryQuery, search
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore
from ingest.sample_variants import variant
from tests.conftest import new_database

QUERIES = Path(__file__).parents[1] / "fixtures" / "library_queries.yaml"
SPEC = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
FACETS = ("channels", "categories", "outcomes", "tags", "date_from", "date_to")
COUNTED = ("PostMortem", "Finding", "ActionItem", "DiagnosticRun", "Snapshot", "Campaign", "QualityCheck")

# Building fifty post-mortems takes minutes (about five on two busy cores): more than the suite's
# default per-test timeout, which counts the module fixture's set-up in the first test that uses it.
pytestmark = pytest.mark.timeout(1200)


@dataclass(frozen=True)
class Library:
    settings: Settings
    directory: Path
    build: demo_library.LibraryBuild
    seconds: float


@pytest.fixture(scope="module")
def library(
    embedded_settings: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Library]:
    database = new_database(admin_store)
    settings = Settings(
        home=embedded_settings.home,
        actor="test",
        graph_database=database,
        mlflow_store=tmp_path_factory.mktemp("library-mlflow") / "store",
    )
    directory = tmp_path_factory.mktemp("library")
    started = time.perf_counter()
    try:
        built = demo_library.build(
            settings, directory, count=SPEC["library"]["count"], seed=SPEC["library"]["seed"]
        )
        seconds = time.perf_counter() - started
        print(f"\ndemo library: {len(built.built)} post-mortems built in {seconds:.0f}s")
        yield Library(settings, directory, built, seconds)
    finally:
        admin_store.dialect.server_command(f"drop database {database}")


def _truths(directory: Path) -> dict[str, dict[str, Any]]:
    """{campaign id: ground truth} of every campaign folder of the library."""
    out = {}
    for path in sorted(directory.glob("*/ground_truth.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        out[truth["campaign_id"]] = truth
    return out


def _relevant(truth: dict[str, Any], judge: dict[str, Any]) -> bool:
    planted = {m["id"] for m in truth["failure_modes"]}
    variant = truth["variant"]
    if not set(judge["modes"]) <= planted:
        return False
    if "theme" in judge and variant["theme"] != judge["theme"]:
        return False
    if "overlaps" in judge:
        first, last = judge["overlaps"]
        return variant["end"] >= first and variant["start"] <= last
    return True


def _query(q: dict[str, Any]) -> LibraryQuery:
    return LibraryQuery.of(text=q.get("text", ""), **{k: q[k] for k in FACETS if k in q})


def test_the_expected_post_mortems_are_what_the_ground_truth_says(library: Library) -> None:
    truths = _truths(library.directory)
    assert len(truths) == SPEC["library"]["count"]
    for q in SPEC["queries"]:
        judged = [cid for cid, truth in truths.items() if _relevant(truth, q["judge"])]
        assert sorted(q["expect"]) == sorted(judged), q["id"]


def test_judged_queries_find_their_post_mortems_in_the_top_3(library: Library) -> None:
    top, queries = SPEC["top"], SPEC["queries"]
    assert len(queries) >= 20
    lines, hits = [], 0
    with open_store(library.settings) as store:
        for q in queries:
            page = search(store, _query(q).model_copy(update={"page_size": 10}))
            expected = set(q["expect"])
            ranks = [i for i, hit in enumerate(page.hits, start=1) if hit.campaign in expected]
            rank = ranks[0] if ranks else None
            hit = rank is not None and rank <= top
            hits += hit
            shown = ", ".join(f"{h.campaign}{'*' if h.campaign in expected else ''}" for h in page.hits[:top])
            lines.append(
                f"{'hit ' if hit else 'MISS'} {q['id']:<28} rank {rank or '-':>2} of {page.total:>2} "
                f"({len(expected)} expected)  top {top}: {shown}"
            )
    rate = hits / len(queries)
    print("\n" + "\n".join(lines) + f"\ntop-{top} hit rate: {hits}/{len(queries)} = {rate:.0%}")
    assert rate >= SPEC["min_hit_rate"], "\n".join(line for line in lines if line.startswith("MISS"))


def test_the_library_holds_fifty_varied_real_post_mortems(library: Library) -> None:
    count, seed = SPEC["library"]["count"], SPEC["library"]["seed"]
    assert count >= 50 and len(library.build.built) == count
    with open_store(library.settings) as store:
        pms = store.read(
            "MATCH (p:PostMortem) RETURN p.id AS id, p.campaign AS campaign, p.channels AS channels, "
            "p.categories AS categories, p.outcome AS outcome"
        )
        assert len(pms) == count and len({p["campaign"] for p in pms}) == count
        # Varied: every theme and mix, planted modes from none to three, many failure categories,
        # campaigns with and without paid social, more than one outcome.
        entries = library.build.entries
        assert {e.theme for e in entries} == {"webinar", "ebook", "launch", "trial", "event", "abm"}
        assert len({e.mix for e in entries}) == 5
        assert Counter(len(e.planted) for e in entries).keys() == {0, 1, 2, 3}
        categories = Counter(c for p in pms for c in p["categories"])
        assert len(categories) >= 5, categories
        assert Counter("paid_social" in p["channels"] for p in pms).keys() == {True, False}
        assert len({p["outcome"] for p in pms}) >= 2
        # Real post-mortems: findings, a diagnostic run logged to MLflow that used the snapshots.
        for p in pms:
            parts = store.linked(p["id"], Rel.PART_OF)
            assert any(label == "Finding" for label, _ in parts.values()), p["id"]
            runs = store.linked(p["id"], Rel.WAS_GENERATED_BY, incoming=False)
            (run_id, (label, run)), *_ = runs.items()
            assert label == "DiagnosticRun" and run.get("mlflow_run_id"), p["id"]
            entry = next(e for e in entries if e.campaign_id == p["campaign"])
            assert json.loads(run["overrides"]) == demo_library.overrides(variant(entry.index, seed))
            used = store.linked(run_id, Rel.USED, incoming=False)
            assert sum(label == "Snapshot" for label, _ in used.values()) >= 8, p["id"]


def test_building_again_adds_nothing(library: Library) -> None:
    with open_store(library.settings) as store:
        before = {label: store.count(label) for label in COUNTED}
    manifests = {p: p.stat().st_mtime_ns for p in library.directory.glob("*/manifest.json")}
    started = time.perf_counter()
    again = demo_library.build(
        library.settings, library.directory, count=SPEC["library"]["count"], seed=SPEC["library"]["seed"]
    )
    seconds = time.perf_counter() - started
    assert not again.built and len(again.skipped) == SPEC["library"]["count"]
    assert [e.postmortem_id for e in again.entries] == [e.postmortem_id for e in library.build.entries]
    with open_store(library.settings) as store:
        assert {label: store.count(label) for label in COUNTED} == before
    assert {p: p.stat().st_mtime_ns for p in library.directory.glob("*/manifest.json")} == manifests
    assert seconds < library.seconds / 10, f"a no-op rebuild took {seconds:.1f}s"


def test_the_cli_says_what_it_built_and_what_was_there(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from api.cli.main import app

    s = library.settings
    monkeypatch.setenv("WARRANT_HOME", str(s.home))
    monkeypatch.setenv("WARRANT_GRAPH_DATABASE", s.graph_database)
    monkeypatch.setenv("WARRANT_MLFLOW_STORE", str(s.mlflow_store))
    count = str(SPEC["library"]["count"])
    done = CliRunner().invoke(app, ["sample", "library", "--count", count, "--out", str(library.directory)])
    assert done.exit_code == 0, done.output
    assert f"0 post-mortem(s) built, {count} already in the library" in " ".join(done.stdout.split())
    assert "bootstrap_samples=100" in done.stdout
