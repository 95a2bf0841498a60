"""`kill -9` of the embedded graph server in the middle of an ingest, a post-mortem and approvals.

Each case ends with a clear one-line error and a consistent state after the restart: no partial
snapshot, no half-written post-mortem, no lost acknowledged approval, a valid audit chain; and
doing it again succeeds.

Real parts throughout: an embedded ArcadeDB server of the test's own (`$WARRANT_HOME` under
tmp_path, so the session's server is never touched), an MLflow store on disk, the `warrant` CLI
as a child process. The kill is timed, not guessed: the product's own `before_commit` hook (what
the HTTP API uses to audit a request's key in the request's own transaction) holds the unit of
work after every one of its statements has run on the server and before it commits, and says how
many nodes that transaction has written so far. The test kills the server while the write is
held there, so the kill is always mid-write (never before the writes start, never after they
commit) and the test cannot pass without the fault having landed. The approval case adds a writer
that is not held at all, approving decision after decision when the kill comes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from api.services import ingest as ingest_service
from api.services import sample as sample_service
from governance import audit, decisions
from governance import policy as gates
from graph import audit as graph_audit
from graph import store as graph_store
from graph.connect import open_store
from graph.embedded import EmbeddedServer, ServerInfo
from graph.errors import GraphUnavailable
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore, Tx
from ingest.snapshot import SnapshotFiles
from tests.conftest import isolated_env
from tests.graphs import build_world

CAMPAIGN = "cmp-2026q3"
EXPORT, MAPPING = "ads/google_ads.csv", "google_ads"
# The post-mortem's bootstrap at the demo library's size (the default 1,000 is ten times the work and
# changes nothing here): the same assumption in the killed run and the re-run, so the same run id.
BOOTSTRAP = {"bootstrap_samples": 100}

# A `warrant` command whose first unit of work that creates a node of label argv[2] is held before
# it commits: the hook writes argv[1] (JSON: the nodes that transaction holds) and waits for
# argv[1] with the suffix `.go`. Everything else is the installed CLI, unchanged.
HELD_CLI = """
import json, sys, time
from pathlib import Path
from graph import store

marker, label = Path(sys.argv[1]), sys.argv[2]
held = []

def hold(tx):
    if held:
        return
    mine = "MATCH (n:`%s`) WHERE n.created_at = $now RETURN count(n) AS n"
    if not tx.run(mine % label, now=tx.now)[0]["n"]:
        return
    held.append(True)
    written = {}
    for row in tx.run("MATCH (n:Node) WHERE n.created_at = $now RETURN labels(n) AS labels", now=tx.now):
        for name in set(row["labels"]) - {"Node"}:
            written[name] = written.get(name, 0) + 1
    marker.with_suffix(".tmp").write_text(json.dumps(written))
    marker.with_suffix(".tmp").rename(marker)
    deadline = time.monotonic() + 240
    while not marker.with_suffix(".go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)

store.before_commit.set(hold)
sys.argv = ["warrant", *sys.argv[3:]]
from api.cli.main import run
run()
"""


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Settings]:
    """A home and a server of the test's own: killing it cannot disturb the session's."""
    settings = Settings(home=tmp_path / "home", actor="test")
    yield settings
    EmbeddedServer(settings).stop()


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """The commands a test started; one still running when the test ends (it failed) is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's sample (size S, seed 7), generated once for the module."""
    out = tmp_path_factory.mktemp("faults-crash") / "demo"
    sample_service.generate("S", 7, out)
    return out


# -- helpers ---------------------------------------------------------------------------------------


def _start_held(
    children: list[subprocess.Popen[str]], home: Settings, label: str, args: list[str], marker: Path
) -> subprocess.Popen[str]:
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HELD_CLI, str(marker), label, *args],
        env=isolated_env(home),
        cwd=marker.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children.append(proc)
    return proc


def _wait_held(proc: subprocess.Popen[str], marker: Path, timeout: float = 240) -> dict[str, int]:
    """The nodes the held transaction has written, once it is held."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the command ended (rc {proc.returncode}) before its write was held:\n{out}\n{err}")
        assert time.monotonic() < deadline, "the command never reached its write"
        time.sleep(0.05)
    return json.loads(marker.read_text())


def _kill(home: Settings) -> ServerInfo:
    """SIGKILL the home's server and wait until its process is gone."""
    info = EmbeddedServer(home).status()
    assert info is not None, "no server running to kill"
    os.kill(info.pid, signal.SIGKILL)
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(info.pid).wait(30)
    assert not info.alive()
    return info


def _finish(proc: subprocess.Popen[str], marker: Path) -> subprocess.CompletedProcess[str]:
    marker.with_suffix(".go").write_text("")
    started = time.monotonic()
    out, err = proc.communicate(timeout=120)
    # Once the server is gone the command stops at once, not after the driver's 30 s of retries.
    assert time.monotonic() - started < 20, err
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """Exit 2, no traceback, exactly one `error:` line, and it names the graph server."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert done.stderr.rstrip().splitlines()[-1] == errors[0], done.stderr
    assert "graph server stopped" in errors[0], errors[0]
    assert done.stderr.count("will be retried") <= 1, done.stderr  # not 30 s of the driver's retries
    return errors[0]


def _restarting(pool: ThreadPoolExecutor, home: Settings, killed: ServerInfo) -> Future[ServerInfo]:
    """Start the server again (as the next command would) while the test checks what needs no graph:
    the failed command cannot reconnect to it, its resolver knows the old process is gone."""

    def restart() -> ServerInfo:
        info, started = EmbeddedServer(home).ensure_running()
        assert started and info.pid != killed.pid
        return info

    return pool.submit(restart)


def _count(graph: GraphStore, label: str) -> int:
    if label == "Node":
        return int(graph.read("MATCH (n:Node) RETURN count(n) AS n")[0]["n"])
    return graph.count(label)


# -- 1. ingest -------------------------------------------------------------------------------------


def test_kill_9_mid_ingest_leaves_no_partial_snapshot_and_a_rerun_completes_it(
    home: Settings, sample_dir: Path, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    export = sample_dir / EXPORT
    marker = tmp_path / "ingest.json"
    proc = _start_held(
        children, home, "Snapshot", ["ingest", str(export), "-m", MAPPING, "-c", CAMPAIGN, "--json"], marker
    )
    EmbeddedServer(home).ensure_running()  # while the command starts up and reads the export
    held = _wait_held(proc, marker)

    # Mid-write: the transaction holds the snapshot's Source, Extract, Snapshot, quality checks and
    # Campaign; the Parquet file is already under its final name (it is written first); nothing of
    # it is committed, so another reader sees none of it.
    assert held["Snapshot"] == 1 and held["Extract"] == 1 and held.get("QualityCheck", 0) >= 1, held
    files = sorted(home.snapshots_dir.glob("*.parquet"))
    assert len(files) == 1
    sha = files[0].stem
    with open_store(home, setup=False) as graph:
        assert _count(graph, "Node") == 0

    killed = _kill(home)
    with ThreadPoolExecutor(1) as pool:
        restarted = _restarting(pool, home, killed)
        done = _finish(proc, marker)
        _one_line_error(done)
        # The command removed the file it had written: no snapshot on disk without its graph nodes.
        assert [p.name for p in home.snapshots_dir.iterdir()] == []
        restarted.result()

    with open_store(home) as graph:
        for label in ("Node", "Snapshot", "Extract", "Source", "QualityCheck", "Campaign"):
            assert _count(graph, label) == 0, label  # nothing of the killed unit of work survived
        assert audit.verify(graph).ok

        report = ingest_service.ingest(home, [export], MAPPING, campaign_id=CAMPAIGN, store=graph)
        assert report.created and report.snapshot_id == sha  # content-addressed: the same snapshot
        # The whole snapshot, exactly as the killed transaction held it, and its file.
        counts = {label: _count(graph, label) for label in held}
        assert counts == held, (counts, held)
        assert _count(graph, "Node") == sum(held.values())
        stored = graph.properties_of([sha])[sha][1]
        assert stored["row_count"] == report.rows > 0
        assert set(graph.linked(sha, Rel.WAS_DERIVED_FROM, incoming=False)) == {report.files[0].extract_id}
        assert CAMPAIGN in graph.linked(sha, Rel.PART_OF, incoming=False)
        checks = [i for i, (label, _) in graph.linked(sha, Rel.ABOUT).items() if label == "QualityCheck"]
        assert len(checks) == len(report.gates) == held["QualityCheck"]
        assert audit.verify(graph).ok
    assert [p.name for p in home.snapshots_dir.iterdir()] == [f"{sha}.parquet"]
    assert SnapshotFiles(home.snapshots_dir).read(sha).height == report.rows


# -- 2. post-mortem --------------------------------------------------------------------------------


def _postmortem_runs(home: Settings) -> list[Any]:
    from registry.tracking import POSTMORTEM_EXPERIMENT, registry

    with registry(home) as reg:
        experiment = reg.client.get_experiment_by_name(POSTMORTEM_EXPERIMENT)
        return [] if experiment is None else list(reg.client.search_runs([experiment.experiment_id]))


def test_kill_9_mid_postmortem_leaves_no_half_written_postmortem_and_a_rerun_stores_it(
    home: Settings, sample_dir: Path, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    from api.services import models as models_service
    from api.services import postmortem as postmortem_service

    def load() -> tuple[dict[str, int], list[dict[str, Any]]]:
        with open_store(home) as graph:  # starts the server
            sample_service.load(home, sample_dir, store=graph)
            decisions.add_person(graph, "ann", "Ann Analyst", ["analyst"])  # an audit event to keep
            return (
                {label: _count(graph, label) for label in ("Node", "Snapshot", "Campaign")},
                graph_audit.events(graph),
            )

    with ThreadPoolExecutor(1) as pool:  # `make run`'s set-up: the graph and MLflow side by side
        loading = pool.submit(load)
        models_service.sync(home, promote=True)
        before, events = loading.result()

    marker = tmp_path / "postmortem.json"
    proc = _start_held(
        children,
        home,
        "PostMortem",
        ["postmortem", "run", "-c", CAMPAIGN, "--set", "bootstrap_samples=100", "--json"],
        marker,
    )
    held = _wait_held(proc, marker)
    # Mid-write: the run, the post-mortem, every finding and action item, the model versions.
    assert held["PostMortem"] == 1 and held["DiagnosticRun"] == 1 and held["Finding"] >= 3, held
    assert held.get("ActionItem", 0) >= 1, held

    killed = _kill(home)
    with ThreadPoolExecutor(1) as pool:
        restarted = _restarting(pool, home, killed)
        done = _finish(proc, marker)
        _one_line_error(done)
        # MLflow logged the run before the graph write; the failed write marked it FAILED, with why.
        [failed] = _postmortem_runs(home)
        assert failed.info.status == "FAILED"
        assert "graph server stopped" in failed.data.tags["warrant.failure"]
        pm_id = failed.data.tags["warrant.postmortem_id"]
        restarted.result()

    with open_store(home) as graph:
        for label in ("PostMortem", "DiagnosticRun", "Finding", "ActionItem", "ModelVersion"):
            assert _count(graph, label) == 0, label  # no half-written post-mortem
        assert {label: _count(graph, label) for label in before} == before
        assert graph_audit.events(graph) == events
        assert audit.verify(graph).ok

        stored, _ = postmortem_service.run_postmortem(home, CAMPAIGN, overrides=BOOTSTRAP, store=graph)
        assert stored.created and stored.postmortem_id == pm_id  # the same inputs: the same run id
        assert stored.mlflow_run_id != failed.info.run_id
        # Whole: the same nodes the killed transaction held, every finding and action item linked.
        assert {label: _count(graph, label) for label in held} == held
        assert _count(graph, "Node") == before["Node"] + sum(held.values())
        parts = graph.linked(pm_id, Rel.PART_OF)
        assert (
            sum(label == "Finding" for label, _ in parts.values()) == len(stored.findings) == held["Finding"]
        )
        assert sum(label == "ActionItem" for label, _ in parts.values()) == len(stored.action_items)
        [(run_id, (_, run))] = graph.linked(pm_id, Rel.WAS_GENERATED_BY, incoming=False).items()
        assert run_id == stored.run_id and run["mlflow_run_id"] == stored.mlflow_run_id
        assert audit.verify(graph).ok
    statuses = {r.info.run_id: r.info.status for r in _postmortem_runs(home)}
    assert statuses == {failed.info.run_id: "FAILED", stored.mlflow_run_id: "FINISHED"}


# -- 3. approvals ----------------------------------------------------------------------------------


def _approve(graph: GraphStore, policies: gates.PolicySet, decision_id: str, by: str) -> dict[str, Any]:
    current = decisions.load(graph, decision_id)
    done = decisions.act(graph, policies, decision_id, "approve", by=by, expected_version=current["version"])
    assert done.approval is not None
    return {
        "id": decision_id,
        "from": current["version"],
        "decision": done.decision,
        "approval": done.approval.id,
    }


def _approval_events(graph: GraphStore) -> dict[tuple[str, int], dict[str, Any]]:
    """(decision, version approved at) -> the audit event that recorded it."""
    out = {}
    for event in graph_audit.events(graph):
        if event["action"] == "decision.approve":
            payload = json.loads(event["payload"])
            out[(event["subject_id"], payload["version"])] = payload
    return out


def test_kill_9_during_approvals_keeps_every_acknowledged_one_and_the_chain(home: Settings) -> None:
    policies = gates.load()
    graph = open_store(home)  # starts the server
    build_world(graph)
    ids = []
    for i in range(25):
        d = decisions.propose(
            graph, policies, by="ann", kind="pause", title=f"Pause ad set {i}", findings=["f-ok"]
        )
        decisions.act(graph, policies, d.id, "submit", by="ann")
        ids.append(d.id)
    held_id, stream = ids[0], ids[1:]

    acknowledged: list[dict[str, Any]] = []  # approvals whose call returned
    failures: dict[str, BaseException] = {}
    in_flight: dict[str, str] = {}
    held, release = threading.Event(), threading.Event()

    def streaming() -> None:
        """kim approves one decision after another, as fast as the graph takes them."""
        for decision_id in stream:
            in_flight["kim"] = decision_id
            try:
                acknowledged.append(_approve(graph, policies, decision_id, "kim"))
            except BaseException as exc:  # reported below
                failures["kim"] = exc
                return
        in_flight.pop("kim")

    def holding() -> None:
        """lee approves one decision; its unit of work is held, written but not committed."""

        def hold(tx: Tx) -> None:
            if not held.is_set():
                held.set()
                release.wait(60)

        graph_store.before_commit.set(hold)
        in_flight["lee"] = held_id
        try:
            acknowledged.append(_approve(graph, policies, held_id, "lee"))
        except BaseException as exc:  # reported below
            failures["lee"] = exc

    kim = threading.Thread(target=streaming)
    kim.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 3 and kim.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    lee = threading.Thread(target=holding)
    lee.start()
    assert held.wait(60), "lee's approval never reached its commit"
    assert kim.is_alive() and len(acknowledged) >= 3, (len(acknowledged), failures)
    killed = _kill(home)  # lee's approval held mid-write; kim's somewhere in its stream
    with ThreadPoolExecutor(1) as pool:
        restarted = _restarting(pool, home, killed)
        release.set()
        lee.join(60)
        kim.join(60)
        graph.close()
        restarted.result()

    # Both writers were stopped by the kill, each with the clear error, none with a raw driver error.
    assert set(failures) == {"kim", "lee"}, (failures, len(acknowledged))
    for exc in failures.values():
        # (a kill that lands inside kim's COMMIT is "unreachable" rather than "stopped": either way, one line)
        assert isinstance(exc, GraphUnavailable) and "graph server" in str(exc), repr(exc)
    assert all(a["approval"].split(":")[-2] == "kim" for a in acknowledged)

    with open_store(home) as graph:
        events = _approval_events(graph)
        # Every acknowledged approval is there, at the state and version the call returned.
        for ack in acknowledged:
            now = decisions.load(graph, ack["id"])
            assert (
                (now["state"], now["version"], now["approvers"])
                == (
                    ack["decision"]["state"],
                    ack["decision"]["version"],
                    ack["decision"]["approvers"],
                )
                == ("approved", ack["from"] + 1, ["kim"])
            )
            assert ack["approval"] in graph.linked(ack["id"], Rel.APPROVED_BY, incoming=False)
            assert (ack["id"], ack["from"]) in events

        # The unacknowledged ones are wholly there or wholly absent: the decision's state, its
        # Approval and the audit event move together. lee's was killed before its commit: absent.
        def whole_or_none(decision_id: str, by: str) -> bool:
            now = decisions.load(graph, decision_id)
            approval = f"approval:{decision_id.removeprefix('decision:')}:{by}:2"
            there = [
                now["state"] == "approved" and now["version"] == 3 and now.get("approvers") == [by],
                approval in graph.properties_of([approval]),
                approval in graph.linked(decision_id, Rel.APPROVED_BY, incoming=False),
                (decision_id, 2) in events,
            ]
            absent = [now["state"] == "pending_approval" and now["version"] == 2 and not now.get("approvers")]
            assert all(there) or (not any(there) and all(absent)), (decision_id, now, there)
            return all(there)

        assert not whole_or_none(held_id, "lee")
        kim_last = whole_or_none(in_flight["kim"], "kim")
        approved = {d for d, (_, p) in graph.nodes("Decision").items() if p["state"] == "approved"}
        assert approved == {a["id"] for a in acknowledged} | ({in_flight["kim"]} if kim_last else set())
        assert {d for d, _ in events} == approved
        chain = audit.verify(graph)
        assert chain.ok, chain.line()

        # The approval the kill stopped can be given again, and the chain stays whole.
        again = _approve(graph, policies, held_id, "lee")
        assert again["decision"]["state"] == "approved"
        assert audit.verify(graph).ok
