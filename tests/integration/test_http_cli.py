"""`warrant keys` and `warrant serve` as a user runs them: a key is printed once and stored as a
hash, listed without its secret, revoked; the server refuses to start on a bad policy file (file and
line) and, started, answers the key it was given."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from graph.connect import open_store
from graph.settings import Settings
from tests.conftest import isolated_env
from tests.http_server import free_port

WARRANT = str(Path(sys.executable).with_name("warrant"))


def _warrant(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WARRANT, *args], env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


def test_a_key_is_shown_once_stored_as_a_hash_listed_and_revoked(graph_settings: Settings) -> None:
    env = isolated_env(graph_settings, WARRANT_GRAPH_DATABASE=graph_settings.graph_database)
    assert (
        _warrant("people", "add", "priya", "--name", "Priya Raman", "--role", "analyst", env=env).returncode
        == 0
    )
    refused = _warrant("keys", "create", "--person", "priya", "--role", "auditor", env=env)
    assert refused.returncode == 2 and "does not hold the role 'auditor'" in refused.stderr
    made = _warrant("keys", "create", "--person", "priya", "--role", "analyst", "--name", "UI", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("wk_")
    with open_store(graph_settings) as store:
        [(key_id, (_, stored))] = store.nodes("ApiKey").items()
    assert stored["secret_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored)
    listed = _warrant("keys", "list", env=env)
    assert key_id in listed.stdout and token not in listed.stdout and "secret" not in listed.stdout
    revoked = _warrant("keys", "revoke", key_id, env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout


def test_serve_stops_on_a_bad_policy_file_and_answers_its_keys(
    graph_settings: Settings, tmp_path: Path
) -> None:
    env = isolated_env(graph_settings, WARRANT_GRAPH_DATABASE=graph_settings.graph_database)
    folder = tmp_path / "policies"
    shutil.copytree(Path(__file__).resolve().parents[2] / "policies", folder)
    (folder / "approvals.cedar").write_text(
        (folder / "approvals.cedar").read_text() + "\npermit (principal;\n"
    )
    port = free_port()
    bad = _warrant("serve", "--port", str(port), env={**env, "WARRANT_POLICIES_DIR": str(folder)})
    assert bad.returncode != 0
    assert f"{folder / 'approvals.cedar'}:" in bad.stdout + bad.stderr

    _warrant("people", "add", "lee", "--name", "Lee Park", "--role", "governance_lead", env=env)
    token = _warrant(
        "keys", "create", "--person", "lee", "--role", "governance_lead", env=env
    ).stdout.split()[-1]
    ui_port = free_port()
    server = subprocess.Popen(
        [WARRANT, "serve", "--port", str(port), "--ui-port", str(ui_port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert f"http://127.0.0.1:{port}" in server.stdout.readline()  # the addresses are printed
        assert f"UI on http://127.0.0.1:{ui_port}" in server.stdout.readline()
        answer = _until_up(f"http://127.0.0.1:{port}/v1/ready", server, {"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["status"] == "ready"
        assert httpx.get(f"http://127.0.0.1:{port}/v1/ready").status_code == 401
        ui = _until_up(f"http://127.0.0.1:{ui_port}/_stcore/health", server, {})
        assert ui.status_code == 200 and ui.text == "ok"
    finally:
        server.terminate()
        server.wait(timeout=30)
    with pytest.raises(httpx.ConnectError):  # stopping the server stops the UI it started
        httpx.get(f"http://127.0.0.1:{ui_port}/_stcore/health")


def _until_up(url: str, server: subprocess.Popen[str], headers: dict[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 90
    while True:
        try:
            return httpx.get(url, headers=headers)
        except httpx.ConnectError:
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.2)
