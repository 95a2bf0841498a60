"""The embedded server as a process: private, durable, shared, and cleaned up when stale."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from graph.connect import open_store
from graph.embedded import EmbeddedServer
from graph.model import Decision, Source
from graph.settings import Settings

WARRANT = [str(Path(sys.executable).with_name("warrant"))]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Settings]:
    """A home of its own, so killing its server cannot disturb the session's."""
    settings = Settings(home=tmp_path / "home", actor="test")
    yield settings
    EmbeddedServer(settings).stop()


def _listening(pid: int) -> set[tuple[str, int]]:
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process(pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


def test_server_is_private_and_an_acknowledged_write_survives_kill_9(home: Settings) -> None:
    server = EmbeddedServer(home)
    info, started = server.ensure_running()
    assert started

    # Private: the root password is owner-only and never in the state file; every listener is
    # on loopback, and only Bolt and HTTP listen (no other protocol plugin).
    assert stat.S_IMODE(os.stat(server.password_path).st_mode) == 0o600
    assert info.password and info.password not in server.state_path.read_text()
    listening = _listening(info.pid)
    assert {port for _, port in listening} == {info.bolt_port, info.http_port}
    assert {ip for ip, _ in listening} <= {"127.0.0.1", "::ffff:127.0.0.1"}

    with open_store(home) as store:
        store.merge([Source(id="s1", name="Meta"), Decision(id="d1", kind="pause", title="t")])
        store.update("d1", {"state": "approved"}, expected_version=1)  # acknowledged: returned

    os.kill(info.pid, signal.SIGKILL)
    psutil.Process(info.pid).wait(30) if psutil.pid_exists(info.pid) else None
    assert server.status() is None  # dead server detected, stale state cleaned
    assert not server.state_path.exists()

    with open_store(home) as store:  # starts on first use
        decision = store.get("d1")
        assert (decision.state, decision.version) == ("approved", 2)
        assert store.get("s1").name == "Meta"
        assert [r.version for r in store.revisions(["d1"])["d1"]] == [1]
    assert server.status().pid != info.pid


def test_processes_starting_at_once_share_one_server(home: Settings) -> None:
    env = {**os.environ, "WARRANT_HOME": str(home.home)}
    env.pop("WARRANT_GRAPH_URI", None)
    procs = [
        subprocess.Popen([*WARRANT, "db", "start"], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sorted(o.splitlines()[0] for o in outputs) == ["already running", "already running", "started"]
    info = EmbeddedServer(home).status()
    assert info is not None
    servers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "graph.embedded_main" in (p.info["cmdline"] or [])
        and str(home.graph_dir) in (p.info["cmdline"] or [])
    ]
    assert [p.pid for p in servers] == [info.pid]


def test_stale_state_is_detected_and_stop_is_clean(home: Settings) -> None:
    server = EmbeddedServer(home)
    server.dir.mkdir(parents=True)
    for pid in (os.getpid(), 4_000_000):  # alive but not our server; no such process
        server.state_path.write_text(json.dumps({"pid": pid, "bolt_port": 1, "http_port": 2}))
        assert server.status() is None
        assert not server.state_path.exists()
    server.state_path.write_text("{not json")
    assert server.status() is None

    info, started = server.ensure_running()
    assert started and server.stop()
    deadline = time.monotonic() + 30
    while psutil.pid_exists(info.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(info.pid)
    assert server.status() is None and server.stop() is False
