"""The audit hash chain on the real graph: appended in the unit of work of the change it records,
valid under concurrent writers, and broken, at the right link, by every kind of tampering done
directly in the graph. Reports verify off-line with the public key alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from governance import audit
from graph.connect import open_store
from graph.model import Campaign
from graph.settings import Settings
from graph.store import GraphStore
from tests.conftest import isolated_env


def _append(graph: GraphStore, n: int) -> None:
    for i in range(n):
        graph.unit_of_work(lambda tx, i=i: audit.append(tx, "test.event", f"subject:{i}", {"i": i}))


def test_events_chain_and_verify(graph: GraphStore) -> None:
    _append(graph, 5)
    result = audit.verify(graph)
    assert result.ok and result.events == 5, result.line()
    assert "audit chain valid: 5 events" in result.line()


def test_an_event_commits_only_with_its_change(graph: GraphStore) -> None:
    def change_then_fail(tx):  # type: ignore[no-untyped-def]
        tx.merge([Campaign(id="c1", name="one")])
        audit.append(tx, "campaign.created", "c1")
        raise RuntimeError("the change fails after its event was appended")

    with pytest.raises(RuntimeError):
        graph.unit_of_work(change_then_fail)
    assert audit.verify(graph).events == 0 and not graph.properties_of(["c1"])


def test_concurrent_writers_never_fork_the_chain(graph: GraphStore) -> None:
    # ArcadeDB creates a label's type on its first CREATE, and two first CREATEs racing fail with
    # "type already exists" (a generic Bolt error): the first event comes alone, as in any real
    # database, where the chain's first event is written long before any race.
    _append(graph, 1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: graph.unit_of_work(lambda tx: audit.append(tx, "race", f"s{i}")), range(24)))
    result = audit.verify(graph)
    assert result.ok and result.events == 25, result.line()


@pytest.mark.parametrize(
    ("tamper", "seq", "words"),
    [
        ("MATCH (e:AuditEvent {seq: 3}) SET e.payload = '{\"i\":99}'", 3, "was modified"),
        ("MATCH (e:AuditEvent {seq: 3}) SET e.actor = 'someone else'", 3, "was modified"),
        ("MATCH (e:AuditEvent {seq: 3}) DETACH DELETE e", 3, "was deleted"),
        ("MATCH (e:AuditEvent {seq: 5}) DETACH DELETE e", None, None),  # the head: see below
        (
            "MATCH (e:AuditEvent {seq: 2}) CREATE (f:Node:AuditEvent) SET f = properties(e), "
            "f.id = 'audit:forged', f.action = 'approval.granted'",
            2,
            "inserted",
        ),
        (
            "MATCH (a:AuditEvent {seq: 2}), (b:AuditEvent {seq: 4}) "
            "SET a.seq = 4, b.seq = 2, a.id = 'audit:000000000004x', b.id = 'audit:000000000002'",
            2,
            "",
        ),
    ],
)
def test_tampering_in_the_graph_is_found_at_its_link(
    graph: GraphStore, tamper: str, seq: int | None, words: str | None
) -> None:
    _append(graph, 5)
    graph.read(tamper)
    result = audit.verify(graph)
    if seq is None:
        # Deleting the newest event leaves a valid but shorter chain: only a signed checkpoint
        # of the head shows it, which is what `audit checkpoint` is for.
        assert result.ok and result.events == 4
        return
    assert not result.ok and result.seq == seq, result.line()
    assert words in (result.problem or "")


def test_a_report_verifies_offline_and_fails_when_touched(graph: GraphStore, tmp_path: Path) -> None:
    _append(graph, 4)
    key = audit.load_or_create_key(tmp_path / "keys" / "audit.pem")
    assert oct((tmp_path / "keys" / "audit.pem").stat().st_mode & 0o777) == "0o600"
    doc = audit.report(graph, key, "0000", "9999")
    round_trip = json.loads(json.dumps(doc))
    assert audit.verify_report(round_trip).ok
    assert audit.verify_report(round_trip, audit.public_pem(key)).ok
    edited = json.loads(json.dumps(doc))
    edited["events"][1]["payload"] = '{"i":7}'
    assert "was modified" in (audit.verify_report(edited).problem or "")
    other = audit.load_or_create_key(tmp_path / "other.pem")
    assert "signature does not verify" in (
        audit.verify_report(round_trip, audit.public_pem(other)).problem or ""
    )
    dropped = json.loads(json.dumps(doc))
    dropped["events"] = dropped["events"][:-1]
    assert not audit.verify_report(dropped).ok


def _warrant(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    warrant = str(Path(sys.executable).with_name("warrant"))
    return subprocess.run(
        [warrant, *args], env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


def test_the_cli_verifies_checkpoints_and_reports(
    embedded_settings: Settings, test_database: str, tmp_path: Path
) -> None:
    env = isolated_env(embedded_settings, WARRANT_GRAPH_DATABASE=test_database)
    env["WARRANT_HOME"] = str(embedded_settings.home)
    key = tmp_path / "audit.pem"
    with open_store(embedded_settings, database=test_database) as store:
        _append(store, 4)
    ok = _warrant("audit", "verify", "--key", str(key), env=env)
    assert ok.returncode == 0 and "audit chain valid: 4 events" in ok.stdout, ok.stderr
    signed = _warrant("audit", "checkpoint", "--key", str(key), env=env)
    assert signed.returncode == 0 and "signed seq 4" in signed.stdout, signed.stderr
    report = tmp_path / "report.json"
    wrote = _warrant(
        "audit", "report", "--from", "0000", "--to", "9999", "--out", str(report), "--key", str(key), env=env
    )
    assert wrote.returncode == 0, wrote.stderr
    public = tmp_path / "public.pem"
    public.write_text(audit.public_pem(audit.load_or_create_key(key)))
    offline = _warrant("audit", "verify-report", str(report), "--public-key", str(public), env=env)
    assert offline.returncode == 0 and "valid: 4 events" in offline.stdout
    # Removing the newest event leaves a valid chain, but not the signed head.
    with open_store(embedded_settings, database=test_database) as store:
        store.read("MATCH (e:AuditEvent {seq: 4}) DETACH DELETE e")
    broken = _warrant("audit", "verify", "--key", str(key), env=env)
    assert broken.returncode == 1
    assert "signed seq 4, which is gone: events were removed" in broken.stderr


def test_policy_check_prints_the_set_or_the_file_and_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARRANT_")}
    good = _warrant("policy", "check", env=env)
    assert good.returncode == 0 and "no-self-approval" in good.stdout and "valid: 17 policies" in good.stdout
    folder = tmp_path / "policies"
    shutil.copytree(Path(__file__).resolve().parents[2] / "policies", folder)
    (folder / "approvals.cedar").write_text(
        (folder / "approvals.cedar").read_text()
        + '\n@id("x")\n@reason("y")\npermit (principal, action, resource) when { 1 + };\n'
    )
    bad = _warrant("policy", "check", "--dir", str(folder), env=env)
    lines = len((folder / "approvals.cedar").read_text().splitlines())
    assert bad.returncode == 2
    assert bad.stderr.startswith(f"error: {folder / 'approvals.cedar'}:{lines - 2}:"), bad.stderr
