"""The audit hash chain on the real graph: appended in the unit of work of the change it records,
valid under concurrent writers, and broken, at the right link, by every kind of tampering done
directly in the graph. Reports verify off-line with the public key alone."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from governance import audit
from graph.model import Campaign
from graph.store import GraphStore


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
