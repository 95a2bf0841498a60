"""The `warrant` command as a user runs it: a child process with its environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.connect import open_store
from graph.embedded import EmbeddedServer
from graph.settings import Settings
from tests.conftest import isolated_env
from tests.graphs import build_audit_graph

WARRANT = str(Path(sys.executable).with_name("warrant"))


def warrant(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WARRANT, *args], env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


@pytest.fixture
def graph_env(embedded_settings: Settings, test_database: str) -> Iterator[dict[str, str]]:
    with open_store(embedded_settings, database=test_database) as store:
        build_audit_graph(store)
    yield isolated_env(embedded_settings, WARRANT_GRAPH_DATABASE=test_database)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["db"],
        ["db", "start"],
        ["db", "stop"],
        ["db", "status"],
        ["lineage"],
        ["lineage", "trace"],
        ["lineage", "impact"],
        ["lineage", "taint"],
        ["lineage", "export"],
        ["postmortem", "run"],
        ["postmortem", "replay"],
        ["models"],
        ["models", "list"],
        ["models", "sync"],
        ["models", "register"],
        ["models", "promote"],
        ["mlflow-ui"],
        ["policy", "check"],
        ["audit"],
        ["audit", "verify"],
        ["audit", "checkpoint"],
        ["audit", "report"],
        ["audit", "verify-report"],
        ["people", "add"],
        ["decision"],
        ["decision", "propose"],
        ["decision", "submit"],
        ["decision", "approve"],
        ["decision", "reject"],
        ["decision", "show"],
        ["decision", "list"],
        ["decision", "inbox"],
        ["decision", "execute"],
        ["decision", "verify"],
        ["decision", "rollback"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = warrant(*command, "--help", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_trace_impact_and_taint(graph_env: dict[str, str], embedded_settings: Settings) -> None:
    traced = warrant("lineage", "trace", "d1", "--json", env=graph_env)
    assert traced.returncode == 0, traced.stderr
    doc = json.loads(traced.stdout)
    assert {n["id"] for n in doc["nodes"]} == {
        "d1",
        "f1",
        "f2",
        "run1",
        "mv1",
        "snap1",
        "ex_meta",
        "ex_crm",
        "src_meta",
        "src_crm",
    }

    tree = warrant("lineage", "trace", "d1", env=graph_env)
    assert tree.returncode == 0, tree.stderr
    assert "Source src_meta" in tree.stdout and "Meta Ads" in tree.stdout and "(shown above)" in tree.stdout
    assert "10 nodes, 10 edges" in tree.stdout

    impacted = warrant("lineage", "impact", "src_crm", "--json", env=graph_env)
    assert {n["id"] for n in json.loads(impacted.stdout)["nodes"]} >= {"d1", "d2", "f1", "f2"}

    tainted = warrant(
        "lineage", "taint", "src_crm", "--reason", "double-counted deals", "--json", env=graph_env
    )
    assert tainted.returncode == 0, tainted.stderr
    result = json.loads(tainted.stdout)
    assert result["flagged"] == ["d1", "d2", "f1", "f2", "src_crm"] and result["by"] == "test"
    assert "TAINTED" in warrant("lineage", "trace", "d2", env=graph_env).stdout

    then = warrant(
        "lineage", "trace", "d2", "--as-of", result["at"].replace("Z", ""), "--json", env=graph_env
    )
    assert then.returncode == 0, then.stderr
    assert {n["id"]: n["key"]["tainted"] for n in json.loads(then.stdout)["nodes"]}["d2"] is True
    before = warrant("lineage", "trace", "d2", "--as-of", "2020-01-01T00:00:00Z", env=graph_env)
    assert before.returncode == 2 and "no node with id 'd2' at 2020-01-01" in before.stderr


def test_status_reports_the_address(graph_env: dict[str, str], embedded_settings: Settings) -> None:
    result = warrant("db", "status", "--json", env=graph_env)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    info = EmbeddedServer(embedded_settings).status()
    assert status["running"] and status["address"] == f"bolt://127.0.0.1:{info.bolt_port}"
    assert status["nodes"] == 17


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_neo4j(tmp_path: Path) -> None:
    uri = f"bolt://127.0.0.1:{_free_port()}"
    env = {**os.environ, "WARRANT_HOME": str(tmp_path), "WARRANT_GRAPH_URI": uri}
    _one_line_error(warrant("db", "status", env=env), "cannot reach", uri)


def test_wrong_password(embedded_settings: Settings, tmp_path: Path) -> None:
    info = EmbeddedServer(embedded_settings).status()
    env = {
        **os.environ,
        "WARRANT_HOME": str(tmp_path),
        "WARRANT_GRAPH_URI": info.bolt_uri,
        "WARRANT_GRAPH_USER": "root",
        "WARRANT_GRAPH_PASSWORD": "wrong-password",
    }
    _one_line_error(warrant("lineage", "trace", "d1", env=env), "refused the credentials", "'root'")


def test_port_already_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "WARRANT_HOME": str(tmp_path), "WARRANT_GRAPH_BOLT_PORT": str(port)}
        _one_line_error(warrant("db", "start", env=env), f"port {port}", "already in use")


def test_home_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {**os.environ, "WARRANT_HOME": str(blocker / "home")}
    _one_line_error(warrant("db", "start", env=env), "is not writable")


def test_server_failing_to_start_names_its_log(tmp_path: Path) -> None:
    env = {**os.environ, "WARRANT_HOME": str(tmp_path), "WARRANT_GRAPH_HEAP": "99999999g"}
    line = _one_line_error(warrant("db", "start", env=env), "exited with code", "log: ")
    log = Path(line.rsplit("log: ", 1)[1])
    assert log.exists() and "Could not reserve enough space" in log.read_text()
    assert EmbeddedServer(Settings(home=tmp_path)).status() is None


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("WARRANT_GRAPH_URI", "http://graph.example:7474", "WARRANT_GRAPH_URI"),
        ("WARRANT_GRAPH_HEAP", "lots", "WARRANT_GRAPH_HEAP"),
        ("WARRANT_GRAPH_BOLT_PORT", "70000", "WARRANT_GRAPH_BOLT_PORT"),
    ],
)
def test_bad_settings(tmp_path: Path, variable: str, value: str, needle: str) -> None:
    env = {**os.environ, "WARRANT_HOME": str(tmp_path), variable: value}
    _one_line_error(warrant("db", "status", env=env), needle)
