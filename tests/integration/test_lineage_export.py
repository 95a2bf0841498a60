"""A finding of the sample's post-mortem, exported from the real graph as OpenLineage run events and as
PROV-JSON by `warrant lineage export` (a child process, as a user runs it), and a post-mortem's run
event appended to the OpenLineage file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import main
from api.services.postmortem import run_postmortem
from api.services.sample import generate, load
from graph.connect import open_store
from graph.lineage import trace
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore
from registry import openlineage as ol
from registry.prov import role
from tests.conftest import isolated_env, new_database
from tests.integration.test_cli import warrant
from tests.unit.test_openlineage import check_event
from tests.unit.test_prov import elements_by_warrant_id
from tests.unit.test_prov import load as load_prov


@dataclass
class Sampled:
    settings: Settings
    env: dict[str, str]
    run_id: str
    postmortem_id: str
    campaign_id: str
    finding_id: str
    snapshot_ids: list[str]


@pytest.fixture(scope="module")
def sampled(
    embedded_settings: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sampled]:
    """The sample loaded and its post-mortem run once, in a database of this module's own."""
    name = new_database(admin_store)
    settings = Settings(home=embedded_settings.home, actor="test", graph_database=name)
    directory = tmp_path_factory.mktemp("sample") / "S"
    generate("S", 7, directory)
    load(settings, directory)
    run, _ = run_postmortem(settings, "cmp-2026q3")
    with open_store(settings) as store:
        generated = store.linked(run.run_id, Rel.WAS_GENERATED_BY)
    finding_id = min(i for i, (label, _) in generated.items() if label == "Finding")
    yield Sampled(
        settings=settings,
        env=isolated_env(embedded_settings, WARRANT_GRAPH_DATABASE=name),
        run_id=run.run_id,
        postmortem_id=run.postmortem_id,
        campaign_id=run.campaign_id,
        finding_id=finding_id,
        snapshot_ids=run.snapshot_ids,
    )
    admin_store.dialect.server_command(f"drop database {name}")


def test_export_openlineage_draws_the_chain_from_a_finding_to_its_sources(sampled: Sampled) -> None:
    result = warrant("lineage", "export", sampled.finding_id, "--format", "openlineage", env=sampled.env)
    assert result.returncode == 0, result.stderr
    events = [check_event(e) for e in json.loads(result.stdout)]
    jobs = {e["job"]["name"]: e for e in events}
    assert {e["job"]["namespace"] for e in events} == {"warrant"}

    run = jobs.pop(f"diagnostic_run/{sampled.run_id}")
    assert run["run"]["runId"] == ol.run_uuid(sampled.run_id)
    with open_store(sampled.settings) as store:
        mlflow_run_id = store.properties_of([sampled.run_id])[sampled.run_id][1].get("mlflow_run_id")
    if mlflow_run_id:  # the MLflow run is named where the run was tracked
        assert run["run"]["facets"]["externalQuery"]["externalQueryId"] == mlflow_run_id
    assert [o["name"] for o in run["outputs"]] == [f"finding/{sampled.finding_id}"]
    with open_store(sampled.settings) as store:
        snapshots = store.properties_of(sampled.snapshot_ids)
    expected = {ol.snapshot_dataset(table=p["table"], sha256=p["sha256"]) for _, p in snapshots.values()}
    assert {i["name"] for i in run["inputs"]} == expected

    # One ingest job per snapshot (its extracts in, the snapshot out), one derive job per extract
    # (its source in): every input of the run traces back to a source dataset.
    ingests = {
        o["name"]: e for e in jobs.values() if e["job"]["name"].startswith("ingest/") for o in e["outputs"]
    }
    assert set(ingests) == expected
    extracts = {i["name"] for e in ingests.values() for i in e["inputs"]}
    assert extracts and all(name.startswith("extract/") for name in extracts)
    derived = {
        o["name"]: e for e in jobs.values() if e["job"]["name"].startswith("derive/") for o in e["outputs"]
    }
    assert set(derived) == extracts
    assert all(i["name"].startswith("source/") for e in derived.values() for i in e["inputs"])
    assert len(jobs) == len(ingests) + len(derived)


def test_export_prov_json_to_a_file(sampled: Sampled, tmp_path: Path) -> None:
    out = tmp_path / "trace.prov.json"
    result = warrant(
        "lineage", "export", sampled.finding_id, "--format", "prov-json", "--out", str(out), env=sampled.env
    )
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout and not result.stderr

    with open_store(sampled.settings) as store:
        lineage = trace(store, sampled.finding_id)
    document = load_prov(json.loads(out.read_text()))
    kinds = elements_by_warrant_id(document)
    assert {i: kinds[i] for i in lineage.nodes} == {i: [role(n["label"])] for i, n in lineage.nodes.items()}
    assert {"entity", "activity"} <= {role(n["label"]) for n in lineage.nodes.values()}
    assert kinds["test"] == ["agent"]  # created_by of everything the test loaded


def test_export_says_what_is_wrong(sampled: Sampled) -> None:
    missing = warrant("lineage", "export", "no-such-node", "--format", "prov-json", env=sampled.env)
    assert missing.returncode == 2 and "no node with id 'no-such-node'" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = CliRunner().invoke(main.app, ["lineage", "export", sampled.finding_id, "--format", "graphml"])
    assert bad.exit_code == 2 and "graphml" in bad.output


def test_a_postmortem_event_from_the_graph_is_appended_to_the_file(sampled: Sampled, tmp_path: Path) -> None:
    with open_store(sampled.settings) as store:
        snapshots = store.properties_of(sampled.snapshot_ids)
        findings = store.linked(sampled.run_id, Rel.WAS_GENERATED_BY)
    ended = datetime.now(UTC)
    event = ol.postmortem_event(
        namespace="warrant",
        run_id=sampled.run_id,
        postmortem_id=sampled.postmortem_id,
        campaign_id=sampled.campaign_id,
        snapshots=[
            {
                "id": i,
                "sha256": p["sha256"],
                "table": p["table"],
                "mapping": p["mapping"],
                "source": p["source"],
                "rows": p.get("row_count"),
            }
            for i, (_, p) in sorted(snapshots.items())
        ],
        findings=[
            {"id": i, "title": p["title"], "category": p.get("category", "")}
            for i, (label, p) in sorted(findings.items())
            if label == "Finding"
        ],
        started=ended - timedelta(seconds=5),
        ended=ended,
        mlflow_run_id=None,
    )
    target = tmp_path / "lineage.jsonl"
    target.write_text("")
    settings = Settings(home=sampled.settings.home, openlineage_file=target)
    assert ol.emit(settings, event) == f"appended to {target}"
    [line] = target.read_text().splitlines()
    doc = check_event(json.loads(line))
    assert doc["run"]["runId"] == ol.run_uuid(sampled.run_id)
    assert f"finding/{sampled.finding_id}" in {o["name"] for o in doc["outputs"]}
    assert len(doc["inputs"]) == len(sampled.snapshot_ids)
