"""Faults of the environment, each ending in a clear one-line error and a consistent state.

Real parts throughout: the session's embedded ArcadeDB server, an MLflow store on disk, the `warrant`
CLI as a child process. A fault home holds only what Warrant writes as files (snapshots, MLflow);
its `graph/` is a link to the session server's folder, so the server is found as usual and lives
outside the fault. The faults are real conditions: a store folder replaced by a file mid-run, a full
tmpfs, ports where no Bolt server answers, and a TCP proxy that drops the Bolt connections of a
running ingest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from governance import audit
from graph.connect import open_store
from graph.embedded import EmbeddedServer
from graph.embedded_main import PASSWORD_FILE, STATE_FILE
from graph.settings import Settings
from tests.conftest import isolated_env
from tests.tcp_proxy import TcpProxy

WARRANT = [str(Path(sys.executable).with_name("warrant"))]
CAMPAIGN = "cmp-2026q3"
# A CLI start costs up to ~20 s of imports on a busy machine; the hangs fixed here were 60 s more.
BOUND = 60.0


# -- helpers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from api.services import sample

    out = tmp_path_factory.mktemp("faults") / "sample"
    sample.generate("XS", 7, out)
    return out


def _linked_home(home: Path, server: Settings) -> None:
    """A home whose graph folder is the session server's: the server is shared, the files are not."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "graph").symlink_to(server.graph_dir, target_is_directory=True)


def _env(home: Path, database: str, **extra: str) -> dict[str, str]:
    return isolated_env(Settings(home=home), WARRANT_GRAPH_DATABASE=database, **extra)


def _run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*WARRANT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _one_line_error(proc: subprocess.CompletedProcess | tuple[int, str], *words: str) -> str:
    code, stderr = proc if isinstance(proc, tuple) else (proc.returncode, proc.stderr)
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, stderr)
    for word in words:
        assert word in lines[0], (word, lines[0])
    print(lines[0])  # what the user sees (shown with -s)
    return lines[0]


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _wait_for_change(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    """Until the child writes `path` (sqlite: its journal appears or the file changes)."""

    def seen() -> tuple[int, int] | None:
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            return (st.st_mtime_ns, st.st_size)
        return None

    journal = path.with_name(path.name + "-journal")
    before = seen()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() or seen() != before:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it wrote to {path}: {proc.communicate()}")
        time.sleep(0.001)
    pytest.fail(f"the run did not write to {path} within {timeout} s")


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at `where`, always unmounted after; mounting needs root, said plainly if not."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"cannot mount a tmpfs at {where} (needs root or CAP_SYS_ADMIN; running as uid {os.getuid()}): "
            f"{done.stderr.strip()}"
        )
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def _fill(root: Path) -> Path:
    """Write one file until the file system says it is full (ENOSPC)."""
    filler = root / "filler"
    block = os.urandom(1 << 16)
    with open(filler, "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(block)
    with contextlib.suppress(OSError), open(filler, "ab", buffering=0) as handle:
        while True:  # the last partial block
            handle.write(b"x" * 512)
    return filler


# -- 1. MLflow store unavailable mid-run ------------------------------------------------------------


def test_mlflow_store_gone_mid_run_stores_nothing_and_a_rerun_succeeds(
    embedded_settings: Settings, test_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    from api.services import models, sample

    home = tmp_path / "home"
    _linked_home(home, embedded_settings)
    settings = Settings(home=home, actor="test", graph_database=test_database)
    sample.load(settings, sample_dir)
    models.sync(settings, promote=True)
    store_dir = settings.mlflow_dir
    env = _env(home, test_database)

    # The post-mortem's first write to the store (its experiment or run) is the signal: the child
    # is frozen there, the store's folder is replaced by a file, and the child resumes.
    proc = subprocess.Popen(
        [*WARRANT, "postmortem", "run", "--campaign", CAMPAIGN],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    moved = store_dir.with_name("mlflow.moved")
    try:
        _wait_for_change(store_dir / "mlflow.db", proc, timeout=150)
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            store_dir.rename(moved)
            store_dir.write_text("not a folder: the MLflow store is unavailable\n")
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        started = time.monotonic()
        _, stderr = proc.communicate(timeout=120)
        assert time.monotonic() - started < BOUND
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if moved.exists():
            store_dir.unlink(missing_ok=True)
            moved.rename(store_dir)
    line = _one_line_error((proc.returncode, stderr), "MLflow registry at sqlite:///", "is unavailable")

    # Consistent: the logging comes before the graph write, so nothing reached the graph, and the
    # store holds no finished post-mortem run.
    with open_store(settings) as graph:
        assert graph.count("PostMortem") == 0 and graph.count("DiagnosticRun") == 0
    with sqlite3.connect(store_dir / "mlflow.db") as db:
        finished = db.execute(
            "SELECT count(*) FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
            "WHERE e.name = 'warrant-postmortems' AND r.status = 'FINISHED'"
        ).fetchone()[0]
    assert finished == 0, line

    # With the store back, the same command succeeds and the graph points at a finished run.
    done = _run(["postmortem", "run", "--campaign", CAMPAIGN, "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    stored = json.loads(done.stdout)
    run_id = stored["mlflow_run_id"]
    assert stored["created"] and run_id
    with open_store(settings) as graph:
        runs = graph.nodes("DiagnosticRun")
        assert [p["mlflow_run_id"] for _, p in runs.values()] == [stored["mlflow_run_id"]]
        assert graph.count("PostMortem") == 1
    with sqlite3.connect(store_dir / "mlflow.db") as db:
        status = db.execute(
            "SELECT status FROM runs WHERE run_uuid = ?", (stored["mlflow_run_id"],)
        ).fetchone()
    assert status == ("FINISHED",)
    assert list(
        store_dir.glob(f"artifacts/warrant-postmortems/{stored['mlflow_run_id']}/artifacts/report.html")
    )


# -- 2. Disk full under $WARRANT_HOME ---------------------------------------------------------------


def test_disk_full_ingest_says_so_leaves_nothing_and_succeeds_after_space_is_freed(
    embedded_settings: Settings, test_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    from api.services import ingest

    home = tmp_path / "home"
    with _tmpfs(home, "8m"):
        _linked_home(home, embedded_settings)
        settings = Settings(home=home, actor="test", graph_database=test_database)
        for name, mapping in (
            ("plan/annotations.csv", "warrant_annotations"),
            ("plan/plans.csv", "warrant_plans"),
        ):
            ingest.ingest(settings, [sample_dir / name], mapping)
        snapshots = settings.snapshots_dir
        before = _tree_hashes(snapshots)
        assert len(before) == 2
        with open_store(settings) as graph:
            stored_before = set(graph.nodes("Snapshot"))
        filler = _fill(home)
        env = _env(home, test_database)
        command = ["ingest", str(sample_dir / "email/mailchimp_campaigns.csv"), "-m", "mailchimp_campaigns"]

        started = time.monotonic()
        failed = _run(command, env, tmp_path)
        assert time.monotonic() - started < BOUND
        _one_line_error(failed, "cannot write the snapshot under", str(snapshots), "No space left", "ENOSPC")

        assert _tree_hashes(snapshots) == before  # nothing new, no temporary file, the old ones intact
        assert not list(snapshots.glob(".*"))
        with open_store(settings) as graph:
            assert set(graph.nodes("Snapshot")) == stored_before
            assert graph.count("Extract") == 2

        filler.unlink()
        done = _run([*command, "--json"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["created"]
        after = _tree_hashes(snapshots)
        assert {k: v for k, v in after.items() if k in before} == before
        assert set(after) - set(before) == {f"{report['snapshot_id']}.parquet"}
        with open_store(settings) as graph:
            assert set(graph.nodes("Snapshot")) == stored_before | {report["snapshot_id"]}


# -- 3. Graph unreachable at start ------------------------------------------------------------------


def _answer_http(listener: socket.socket) -> None:
    """What a web server does with bytes that are not HTTP: a 400 response, then close."""
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:  # closed
            return
        with conn, contextlib.suppress(OSError):
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@contextlib.contextmanager
def _not_bolt() -> Iterator[tuple[int, int, int]]:
    """Three ports: nothing listening, a web server, and a listener that never says a word."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    web = socket.create_server(("127.0.0.1", 0))
    web.settimeout(0.2)
    threading.Thread(target=_answer_http, args=(web,), daemon=True).start()
    silent = socket.create_server(("127.0.0.1", 0), backlog=64)  # the kernel accepts; no one answers
    try:
        yield closed, web.getsockname()[1], silent.getsockname()[1]
    finally:
        web.close()
        silent.close()


def test_unreachable_graph_at_start_fails_fast_in_one_line_and_writes_nothing(
    sample_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    ingest_plans = ["ingest", str(sample_dir / "plan/plans.csv"), "-m", "warrant_plans"]
    commands = {
        "db status": ["db", "status"],
        "ingest": ingest_plans,
        "postmortem run": ["postmortem", "run", "--campaign", CAMPAIGN],
        "serve": ["serve", "--no-ui", "--port", "0"],
    }
    results = []
    with _not_bolt() as (closed, web, silent):
        cases = [
            (closed, "db status"),
            (closed, "ingest"),
            (closed, "postmortem run"),
            (closed, "serve"),
            (web, "db status"),
            (silent, "db status"),
        ]
        # Two at a time (this machine has two cores), so a CLI's start-up is not what is measured.
        for batch in (cases[i : i + 2] for i in range(0, len(cases), 2)):
            procs = []
            try:
                for port, name in batch:
                    env = isolated_env(Settings(home=home), WARRANT_GRAPH_URI=f"bolt://127.0.0.1:{port}")
                    proc = subprocess.Popen(
                        [*WARRANT, *commands[name]],
                        env=env,
                        cwd=tmp_path,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    procs.append((port, name, proc, time.monotonic()))
                for port, name, proc, started in procs:
                    _, stderr = proc.communicate(timeout=120)
                    results.append((port, name, proc.returncode, stderr, time.monotonic() - started))
            finally:
                for *_, proc, _ in procs:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
    for port, name, code, stderr, seconds in results:
        uri = f"bolt://127.0.0.1:{port}"
        assert seconds < BOUND, (name, uri, seconds)
        line = _one_line_error((code, stderr), f"cannot reach {uri}: ")
        reason = {closed: "Connection refused", web: "looks like HTTP", silent: "handshake"}[port]
        assert reason in line, (name, line)
    assert list(home.iterdir()) == []  # no snapshot folder, no MLflow store, nothing


# -- 4. Graph unreachable mid-run -------------------------------------------------------------------


def _home_through(home: Path, server: Settings, proxy_port: int) -> None:
    """A home whose embedded-server state names the proxy as the Bolt port.

    `WARRANT_GRAPH_URI` is for Neo4j and refuses an ArcadeDB (graph/connect.py), and the embedded
    dialect has no setting for another Bolt address: it reads the port from the state file the
    server publishes. This home's state file is the session server's, with the proxy's port.
    """
    info = EmbeddedServer(server).status()
    assert info is not None
    graph_dir = home / "graph"
    graph_dir.mkdir(parents=True)
    state = json.loads((server.graph_dir / STATE_FILE).read_text())
    (graph_dir / STATE_FILE).write_text(json.dumps({**state, "bolt_port": proxy_port}))
    password = graph_dir / PASSWORD_FILE
    password.write_text(info.password)
    password.chmod(0o600)


def test_graph_cut_mid_ingest_leaves_nothing_half_written_and_a_rerun_succeeds(
    embedded_settings: Settings, test_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    info = EmbeddedServer(embedded_settings).status()
    assert info is not None
    home = tmp_path / "home"
    command = ["ingest", str(sample_dir / "crm/hubspot_deals.csv"), "-m", "hubspot_deals", "--json"]
    with TcpProxy(info.bolt_port) as proxy:
        _home_through(home, embedded_settings, proxy.port)
        env = _env(home, test_database)
        # The unit of work's first CREATE is forwarded, then every connection drops: the server is
        # inside an open transaction when its client goes.
        proxy.cut_when_client_sends(b"UNWIND $rows AS row CREATE (n:Node:")
        started = time.monotonic()
        failed = _run(command, env, tmp_path)
        seconds = time.monotonic() - started
        assert proxy.cut_event.is_set(), failed.stderr
        assert seconds < 90, seconds  # the driver retries a dropped write for up to 30 s, then stops
        _one_line_error(failed, "graph server unreachable")
        proxy.restore()

        snapshots = home / "snapshots"
        assert not [p for p in snapshots.glob("*") if p.is_file()]  # the file written first is gone
        settings = Settings(home=home, actor="test", graph_database=test_database)
        with open_store(settings) as graph:
            for label in ("Snapshot", "Extract", "Source", "QualityCheck"):
                assert graph.count(label) == 0, label
            assert audit.verify(graph).ok

        done = _run(command, env, tmp_path)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["created"]
        assert sorted(p.name for p in snapshots.iterdir()) == [f"{report['snapshot_id']}.parquet"]
        with open_store(settings) as graph:
            assert set(graph.nodes("Snapshot")) == {report["snapshot_id"]}
            assert graph.count("Extract") == 1
            assert audit.verify(graph).ok
    assert psutil.pid_exists(info.pid) and EmbeddedServer(embedded_settings).status().pid == info.pid
