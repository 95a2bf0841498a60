"""The registry on the real parts: the embedded graph, a real MLflow SQLite store on disk, fresh
Python processes that use nothing but the stock MLflow client, and a real `mlflow server`.

One demo (sample S, seed 7) is loaded and its post-mortem run once per module; tests that change
the data (drift) or the registry's location (server, failures) get a database of their own."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services import models as model_service
from api.services.ingest import ingest
from api.services.postmortem import PostMortemRun, compare, replay, run_postmortem
from api.services.sample import generate, load
from diagnostics.postmortem import PostMortemResult
from graph.connect import open_store
from graph.lineage import trace
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore
from registry.runs import model_outputs
from registry.tracking import RegistryUnavailable
from tests.conftest import new_database

CAMPAIGN = "cmp-2026q3"
ATTRIBUTION_KINDS = {"attribution_window_mismatch", "attribution_bias"}


@dataclass
class Demo:
    settings: Settings
    directory: Path
    run: PostMortemRun
    result: PostMortemResult


def _settings(embedded: Settings, database: str, mlflow: Path) -> Settings:
    return Settings(home=embedded.home, actor="test", graph_database=database, mlflow_store=mlflow)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("registry-sample") / "S"
    generate("S", 7, directory)
    return directory


@pytest.fixture(scope="module")
def demo(
    embedded_settings: Settings,
    admin_store: GraphStore,
    sample_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Demo]:
    name = new_database(admin_store)
    settings = _settings(embedded_settings, name, tmp_path_factory.mktemp("mlflow") / "store")
    load(settings, sample_dir)
    report = tmp_path_factory.mktemp("report") / "postmortem.html"
    run, result = run_postmortem(settings, CAMPAIGN, report=report)
    yield Demo(settings, sample_dir, run, result)
    admin_store.dialect.server_command(f"drop database {name}")


@pytest.fixture
def fresh(
    embedded_settings: Settings, admin_store: GraphStore, sample_dir: Path, tmp_path: Path
) -> Iterator[Settings]:
    """The demo loaded into a database and an MLflow store of this test's own."""
    name = new_database(admin_store)
    settings = _settings(embedded_settings, name, tmp_path / "mlflow")
    load(settings, sample_dir)
    yield settings
    admin_store.dialect.server_command(f"drop database {name}")


def _stock_client(settings: Settings, script: str, *args: str) -> Any:
    """Run `script` in a fresh interpreter that imports only MLflow; it prints one JSON document."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARRANT_", "MLFLOW_"))}
    env["MLFLOW_TRACKING_URI"] = uri
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


LIST_RUNS = """
import json, sys
from mlflow import MlflowClient
client = MlflowClient()
experiment = client.get_experiment_by_name("warrant-postmortems")
out = []
for run in client.search_runs([experiment.experiment_id]):
    out.append({
        "id": run.info.run_id,
        "status": run.info.status,
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": {k: v for k, v in run.data.tags.items() if k.startswith("warrant.")},
        "datasets": [
            {"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source,
             "tags": {t.key: t.value for t in d.tags}}
            for d in run.inputs.dataset_inputs
        ],
        "artifacts": sorted(
            [a.path for a in client.list_artifacts(run.info.run_id)]
            + [a.path for a in client.list_artifacts(run.info.run_id, "outputs")]
        ),
    })
print(json.dumps(out))
"""


def _runs(settings: Settings) -> dict[str, Any]:
    return {r["id"]: r for r in _stock_client(settings, LIST_RUNS)}


def test_the_stock_client_in_another_process_lists_the_run_with_everything(demo: Demo) -> None:
    runs = _runs(demo.settings)
    run = runs[demo.run.mlflow_run_id]
    assert run["status"] == "FINISHED"
    # params: the whole assumption set and the model versions
    assert run["params"]["attribution_window_days"] == "30"
    assert run["params"]["scorecard.flag"] == "0.15"
    assert run["params"]["model.attribution"].startswith("warrant-attribution/")
    # metrics: the scorecard's values, exactly as the post-mortem computed them
    for row in demo.result.scorecard.rows:
        if row.actual.value is not None:
            assert run["metrics"][f"scorecard.{row.metric}.actual"] == pytest.approx(row.actual.value)
    assert run["metrics"]["findings"] == len(demo.result.findings)
    # dataset inputs: one per snapshot, digest from its sha256, source the extract it came from
    assert sorted(d["tags"]["warrant.snapshot"] for d in run["datasets"]) == demo.run.snapshot_ids
    for d in run["datasets"]:
        assert d["digest"] == d["tags"]["warrant.snapshot"][:36]
        assert d["tags"]["warrant.extracts"]
        assert json.loads(d["source"])  # the extract's file as a dataset source
    for name in ("report.html", "findings.json", "assumptions.json", "outputs/attribution.json"):
        assert name in run["artifacts"]
    # tags point back into the graph
    assert run["tags"]["warrant.postmortem_id"] == demo.run.postmortem_id
    assert run["tags"]["warrant.diagnostic_run"] == demo.run.run_id


def test_the_graph_run_holds_the_mlflow_run_and_the_model_versions(demo: Demo) -> None:
    with open_store(demo.settings) as store:
        run = store.properties_of([demo.run.run_id])[demo.run.run_id][1]
        assert run["mlflow_run_id"] == demo.run.mlflow_run_id
        used = store.linked(demo.run.run_id, Rel.USED, incoming=False)
        versions = {i: p for i, (label, p) in used.items() if label == "ModelVersion"}
        assert {p["name"] for p in versions.values()} == {
            f"warrant-{n}" for n in ("attribution", "drivers", "response", "fatigue", "scorecard")
        }
        assert all(p["code_version"] and p["params"] for p in versions.values())
        finding = next(f for f in demo.run.findings if f["kind"] == "attribution_window_mismatch")
        finding_id = f"finding:{demo.run.run_id.removeprefix('run:')[:12]}:{finding['id']}"
        lineage = trace(store, finding_id)
    labels = {node["label"] for node in lineage.nodes.values()}
    assert {"Finding", "DiagnosticRun", "ModelVersion", "Snapshot", "Extract", "Source"} <= labels


def test_the_same_postmortem_twice_gives_the_same_findings_and_no_new_run(demo: Demo) -> None:
    before = _runs(demo.settings)
    again, result = run_postmortem(demo.settings, CAMPAIGN)
    assert not again.created
    assert again.postmortem_id == demo.run.postmortem_id
    assert again.mlflow_run_id == demo.run.mlflow_run_id
    assert again.findings == demo.run.findings
    assert [f.model_dump() for f in result.findings] == [f.model_dump() for f in demo.result.findings]
    assert result.scorecard == demo.result.scorecard
    assert model_outputs(result) == model_outputs(demo.result)  # every model's output, to the last bit
    assert set(_runs(demo.settings)) == set(before)


def test_replay_with_another_window_changes_attribution_findings_not_the_scorecard(demo: Demo) -> None:
    done = replay(demo.settings, demo.run.postmortem_id, sets=["attribution_window_days=7"])
    diff = done.diff
    print("\n" + "\n".join(diff.lines()))
    assert done.run.created and done.run.replay_of == demo.run.postmortem_id
    assert diff.assumptions_changed == {"attribution_window_days": (30, 7)}
    assert diff.findings, "a 7-day window must change the attribution findings"
    assert {c.kind for c in diff.findings} <= ATTRIBUTION_KINDS
    assert all(any("attribution_window_days" in cause for cause in c.causes) for c in diff.findings)
    assert diff.scorecard_compared and diff.scorecard_changed == {}
    assert diff.unchanged == len(demo.run.findings) - sum(c.change != "added" for c in diff.findings)
    with open_store(demo.settings) as store:
        linked = store.linked(done.run.postmortem_id, Rel.REPLAY_OF, incoming=False)
    assert list(linked) == [demo.run.postmortem_id]
    assert _runs(demo.settings)[done.run.mlflow_run_id]["tags"]["warrant.replay_of"] == demo.run.postmortem_id
    stored = compare(demo.settings, demo.run.postmortem_id, done.run.postmortem_id)  # the API's diff
    assert stored.model_dump() == diff.model_dump()


def test_replay_under_a_challenger_model_names_the_model_as_the_cause(demo: Demo) -> None:
    version = model_service.register(demo.settings, "attribution", ["markov_order=2"], "challenger")
    done = replay(demo.settings, demo.run.postmortem_id, models=["attribution@challenger"])
    original = json.loads(json.dumps(demo.run.models))
    assert done.diff.models_changed["attribution"][1] == version
    assert set(done.diff.models_changed) == {"attribution"}, original
    assert done.diff.assumptions_changed == {"markov_order": (1, 2)}
    assert done.diff.scorecard_changed == {}
    with open_store(demo.settings) as store:
        used = store.linked(done.run.run_id, Rel.USED, incoming=False)
        run = store.properties_of([done.run.run_id])[done.run.run_id][1]
    assert f"model:warrant-attribution:{version}" in used
    assert json.loads(run["assumption_set"])["markov_order"] == 2


PREDICT = """
import json, sys
import mlflow.pyfunc
import polars as pl
from mlflow import MlflowClient
from diagnostics.postmortem import model_inputs
from registry.models import scorecard_input

spec = json.loads(sys.argv[1])
tables = {
    table: pl.concat([pl.read_parquet(p) for p in paths], how="diagonal_relaxed")
    for table, paths in spec["tables"].items()
}
inputs = model_inputs(tables, spec["campaigns"], spec["campaign"])
inputs["scorecard"] = scorecard_input(tables, spec["campaigns"], spec["campaign"])
client = MlflowClient()
out = {}
for name, frame in inputs.items():
    model = mlflow.pyfunc.load_model(f"models:/warrant-{name}@champion")
    predicted = model.predict(frame)["output"][0]
    logged = client.download_artifacts(spec["run"], f"outputs/{name}.json")
    out[name] = {"same": predicted == open(logged).read(), "chars": len(predicted)}
print(json.dumps(out))
"""


def test_a_registered_model_loaded_in_a_fresh_process_gives_the_same_output(demo: Demo) -> None:
    with open_store(demo.settings) as store:
        snapshots = store.properties_of(demo.run.snapshot_ids)
        campaigns = [
            {**p, "id": i, "platforms": json.loads(p.get("taxonomy") or "[]")}
            for i, (_, p) in store.nodes("Campaign").items()
        ]
    files = demo.settings.snapshots_dir
    tables: dict[str, list[str]] = {}
    for snapshot_id, (_, props) in sorted(snapshots.items()):
        tables.setdefault(props["table"], []).append(str(files / f"{snapshot_id}.parquet"))
    spec = {
        "tables": tables,
        "campaigns": [
            {
                k: c.get(k)
                for k in ("id", "start", "end", "hypothesis", "hypothesis_documented_at", "platforms")
            }
            for c in campaigns
        ],
        "campaign": CAMPAIGN,
        "run": demo.run.mlflow_run_id,
    }
    result = _stock_client(demo.settings, PREDICT, json.dumps(spec))
    print(result)
    assert set(result) == {"attribution", "drivers", "response", "fatigue", "scorecard"}
    assert all(r["same"] for r in result.values()), result
    assert all(r["chars"] > 100 for r in result.values())  # real outputs, not "null"


def test_drifted_inputs_mark_the_model_version_and_its_findings(
    fresh: Settings, sample_dir: Path, tmp_path: Path
) -> None:
    # A re-export of Meta Ads in which link clicks collapsed: CTR drifts against the first export.
    source = sample_dir / "ads" / "meta_ads.csv"
    changed = tmp_path / "meta_ads_reexport.csv"
    with (
        source.open(newline="", encoding="utf-8") as src,
        changed.open("w", newline="", encoding="utf-8") as dst,
    ):
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            if row["Link clicks"]:
                row["Link clicks"] = str(int(row["Link clicks"]) // 4)
            writer.writerow(row)
    ingest(fresh, [changed], "meta_ads", campaign_id=CAMPAIGN)
    run, _ = run_postmortem(fresh, CAMPAIGN)
    drifted = [d for d in run.drift if d["drifted"]]
    assert [d["table"] for d in drifted] == ["ad_performance"], run.drift
    assert "ctr" in {s["signal"] for s in drifted[0]["report"]["signals"] if s["drifted"]}
    with open_store(fresh) as store:
        used = store.linked(run.run_id, Rel.USED, incoming=False)
        marks = {p["name"]: p.get("drifted") for label, p in used.values() if label == "ModelVersion"}
        findings = {
            p["kind"]: p
            for _, (label, p) in store.linked(run.postmortem_id, Rel.PART_OF).items()
            if label == "Finding"
        }
    # ad_performance feeds the response, fatigue and scorecard models; not attribution or drivers.
    assert marks == {
        "warrant-response": True,
        "warrant-fatigue": True,
        "warrant-scorecard": True,
        "warrant-attribution": False,
        "warrant-drivers": False,
    }
    assert findings["creative_fatigue"]["drifted"] is True
    assert "ctr" in findings["creative_fatigue"]["drift_reason"]
    assert not findings["funnel_stage_drop"].get("drifted")
    rows = {r.name: r for r in model_service.list_models(fresh)}
    assert rows["warrant-fatigue"].drift and not rows["warrant-attribution"].drift


def _count(settings: Settings, label: str) -> int:
    with open_store(settings) as store:
        return len(store.nodes(label))


def test_mlflow_unreachable_is_a_clear_error_and_writes_nothing(
    fresh: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    with pytest.raises(RegistryUnavailable, match=f"127.0.0.1:{port}.*tracking server"):
        run_postmortem(fresh, CAMPAIGN)
    assert _count(fresh, "PostMortem") == 0 and _count(fresh, "DiagnosticRun") == 0


def test_a_locked_store_is_a_clear_error_and_writes_nothing(fresh: Settings) -> None:
    run_postmortem(fresh, CAMPAIGN, overrides={"seed": 1})  # creates the store
    before = _count(fresh, "PostMortem")
    holder = sqlite3.connect(fresh.mlflow_dir / "mlflow.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RegistryUnavailable, match=r"locked.*retry"):
            run_postmortem(fresh, CAMPAIGN, overrides={"seed": 2})
    finally:
        holder.rollback()
        holder.close()
    assert _count(fresh, "PostMortem") == before
    run, _ = run_postmortem(fresh, CAMPAIGN, overrides={"seed": 2})  # the lock gone, it runs
    assert run.created


def test_mlflow_failing_mid_run_leaves_no_postmortem_and_a_failed_run(fresh: Settings) -> None:
    # The artifact store breaks after the run started (params and metrics are in): the experiment's
    # artifact directory is a file.
    artifacts = fresh.mlflow_dir / "artifacts" / "warrant-postmortems"
    artifacts.parent.mkdir(parents=True, exist_ok=True)
    artifacts.write_text("not a directory")
    with pytest.raises(RegistryUnavailable, match="unavailable"):
        run_postmortem(fresh, CAMPAIGN)
    assert _count(fresh, "PostMortem") == 0 and _count(fresh, "Finding") == 0
    statuses = [r["status"] for r in _runs(fresh).values()]
    assert statuses == ["FAILED"]


def _stop_group(process: subprocess.Popen[Any]) -> None:
    """Stop a server and every process it started (MLflow's uvicorn workers): its whole session."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """`mlflow server` as a separate process, on loopback, with its own store and artifacts."""
    port = _free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        },
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited: {(tmp_path / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        _stop_group(process)
        pytest.fail(f"mlflow server did not answer in 120 s: {(tmp_path / 'server.log').read_text()[-2000:]}")
    yield url
    _stop_group(process)
    log.close()


def test_a_postmortem_through_a_real_tracking_server(
    fresh: Settings, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    run, _ = run_postmortem(fresh, CAMPAIGN)
    assert run.created and run.mlflow_run_id
    assert not (fresh.mlflow_dir / "mlflow.db").exists()  # nothing went to the embedded store
    logged = _runs(fresh)[run.mlflow_run_id]
    assert logged["status"] == "FINISHED"
    assert "report.html" in logged["artifacts"] and "outputs/attribution.json" in logged["artifacts"]
    assert len(logged["datasets"]) == len(run.snapshot_ids)
    rows = model_service.list_models(fresh)
    assert {r.name for r in rows if "champion" in r.aliases} == {
        f"warrant-{n}" for n in ("attribution", "drivers", "response", "fatigue", "scorecard")
    }


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARRANT_", "MLFLOW_"))}
    env.update(
        WARRANT_HOME=str(settings.home),
        WARRANT_ACTOR="test",
        WARRANT_GRAPH_DATABASE=settings.graph_database,
        WARRANT_MLFLOW_STORE=str(settings.mlflow_dir),
    )
    warrant = str(Path(sys.executable).with_name("warrant"))
    return subprocess.run(
        [warrant, *args], env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )


def test_the_cli_replays_under_another_baseline_and_refuses_bad_assumptions(demo: Demo) -> None:
    done = _cli(
        demo.settings,
        "postmortem",
        "replay",
        demo.run.postmortem_id,
        "--set",
        "baseline_campaigns=[cmp-2026q2]",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["run"]["baseline_ids"] == ["cmp-2026q2"]
    assert out["diff"]["assumptions_changed"] == {"baseline_campaigns": [[], ["cmp-2026q2"]]}
    text = _cli(
        demo.settings,
        "postmortem",
        "replay",
        demo.run.postmortem_id,
        "--set",
        "baseline_campaigns=[cmp-2026q2]",
    )
    assert "assumption baseline_campaigns: [] -> ['cmp-2026q2']" in text.stdout, text.stdout
    bad = _cli(demo.settings, "postmortem", "replay", demo.run.postmortem_id, "--set", "window=7")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: --set window: no such assumption") and "Traceback" not in bad.stderr
    future = _cli(
        demo.settings,
        "postmortem",
        "replay",
        demo.run.postmortem_id,
        "--set",
        "baseline_campaigns=[cmp-2026q3]",
    )
    assert future.returncode == 2 and "had not ended" in future.stderr
    listed = _cli(demo.settings, "models", "list")
    assert listed.returncode == 0 and "warrant-attribution" in listed.stdout and "champion" in listed.stdout
    rows = json.loads(_cli(demo.settings, "models", "list", "--json").stdout)
    champions = {r["name"] for r in rows if "champion" in r["aliases"] and r["installed_code"]}
    assert champions == {
        f"warrant-{n}" for n in ("attribution", "drivers", "response", "fatigue", "scorecard")
    }


def test_each_postmortem_emits_an_openlineage_event_when_configured(demo: Demo, tmp_path: Path) -> None:
    from openlineage.client.event_v2 import RunEvent  # noqa: F401  (the client's own model of the event)

    events = tmp_path / "lineage.jsonl"
    settings = demo.settings.model_copy(update={"openlineage_file": events})
    run, _ = run_postmortem(settings, CAMPAIGN, overrides={"seed": 99})
    assert run.created and run.lineage_event and str(events) in run.lineage_event
    lines = events.read_text().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["eventType"] == "COMPLETE"
    assert sorted(d["name"].rsplit("/", 1)[-1] for d in event["inputs"]) == run.snapshot_ids
    assert len(event["outputs"]) >= len(run.findings)


def test_mlflow_ui_serves_the_stock_ui_on_the_store(demo: Demo) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARRANT_", "MLFLOW_"))}
    env.update(WARRANT_HOME=str(demo.settings.home), WARRANT_MLFLOW_STORE=str(demo.settings.mlflow_dir))
    warrant = str(Path(sys.executable).with_name("warrant"))
    process = subprocess.Popen(
        [warrant, "mlflow-ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                found = httpx.get(
                    f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name",
                    params={"experiment_name": "warrant-postmortems"},
                    timeout=2,
                )
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search",
                    json={
                        "experiment_ids": [found.json()["experiment"]["experiment_id"]],
                        "max_results": 100,
                    },
                    timeout=2,
                )
                if answer.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("warrant mlflow-ui did not answer in 120 s")
        ids = {r["info"]["run_id"] for r in answer.json().get("runs", [])}
        assert demo.run.mlflow_run_id in ids
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        _stop_group(process)
