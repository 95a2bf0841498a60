"""Lineage contract: trace, impact, the graph as it stood at a time, and taint."""

from __future__ import annotations

import random
from datetime import datetime

import networkx as nx
import pytest

from graph.dialect import Neo4jDialect
from graph.errors import NotFound
from graph.lineage import impact, mark_tainted, trace
from graph.model import Decision, DiagnosticRun, Extract, Finding, Rel, Snapshot, Source, timestamp
from graph.store import GraphStore, Tx
from tests.conftest import Clock
from tests.graphs import EDGES, build_audit_graph

CHAIN_1 = {"src_meta", "src_crm", "ex_meta", "ex_crm", "snap1", "mv1", "run1", "f1", "f2", "d1", "d2"}


def _edges_among(ids: set[str]) -> list[tuple[str, str, str]]:
    return sorted((s, r.value, d) for s, r, d in EDGES if s in ids and d in ids)


def test_trace_reaches_every_source_and_nothing_else(store: GraphStore) -> None:
    build_audit_graph(store)
    lineage = trace(store, "d1")
    expected = CHAIN_1 - {"d2"}
    assert set(lineage.nodes) == expected
    assert lineage.edges == _edges_among(expected)
    assert {i for i, n in lineage.nodes.items() if n["label"] == "Source"} == {"src_meta", "src_crm"}

    graph = lineage.to_networkx()
    assert nx.descendants(graph, "d1") == expected - {"d1"}
    assert graph.nodes["src_meta"]["label"] == "Source" and graph.edges["d1", "f1"]["type"] == "JUSTIFIED_BY"

    doc = lineage.to_json()
    assert doc["root"] == "d1" and doc["direction"] == "upstream" and doc["as_of"] is None
    by_id = {n["id"]: n for n in doc["nodes"]}
    assert by_id["ex_meta"]["key"] == {"file": "meta.csv", "sha256": "a" * 64, "tainted": False}
    assert {"source": "d1", "type": "JUSTIFIED_BY", "target": "f2"} in doc["edges"]


def test_impact_of_a_source_reaches_every_decision_it_fed(store: GraphStore) -> None:
    build_audit_graph(store)
    lineage = impact(store, "src_crm")
    expected = {"src_crm", "ex_crm", "snap1", "run1", "f1", "f2", "d1", "d2"}
    assert set(lineage.nodes) == expected
    assert lineage.edges == _edges_among(expected)
    assert nx.ancestors(lineage.to_networkx(), "src_crm") == expected - {"src_crm"}
    assert set(impact(store, "d3").nodes) == {"d3"}


def test_unknown_node_is_not_found(store: GraphStore) -> None:
    with pytest.raises(NotFound, match="nope"):
        trace(store, "nope")


def test_trace_as_of_returns_exactly_the_graph_of_that_time(store: GraphStore, clock: Clock) -> None:
    """Several edits at known times; each earlier time must come back exactly as it was."""
    build_audit_graph(store)
    t_built = clock.now
    snapshots: dict[str, dict] = {}

    def remember(name: str) -> datetime:
        at = clock.now
        snapshots[name] = trace(store, "d1").to_json()
        return at

    remember("built")
    clock.advance(hours=1)
    store.update("d1", {"state": "pending_approval"}, expected_version=1)
    t_pending = remember("pending")

    clock.advance(hours=1)  # a later finding joins the evidence
    store.merge([Finding(id="f4", title="Week 3 creative fatigue")])
    store.link([("f4", Rel.WAS_GENERATED_BY, "run1"), ("d1", Rel.JUSTIFIED_BY, "f4")])
    t_more = remember("more evidence")

    clock.advance(hours=1)  # an approver works from this state
    store.update("d1", {"state": "approved", "amount": 25000.0}, expected_version=2)
    t_approved = remember("approved")

    clock.advance(hours=1)
    mark_tainted(store, "src_meta", "UTMs broken since the redesign", by="auditor")
    t_tainted = remember("tainted")

    clock.advance(hours=1)  # f2 is withdrawn from the evidence: the edge closes
    store.unlink("d1", Rel.JUSTIFIED_BY, "f2")
    remember("withdrawn")

    for name, at in [
        ("built", t_built),
        ("pending", t_pending),
        ("more evidence", t_more),
        ("approved", t_approved),
        ("tainted", t_tainted),
    ]:
        then = trace(store, "d1", as_of=at).to_json()
        assert then["as_of"] == timestamp(at)
        assert then["nodes"] == snapshots[name]["nodes"], name
        assert then["edges"] == snapshots[name]["edges"], name

    # Spot checks that the recorded states differ the way the story says.
    approved = {n["id"]: n for n in trace(store, "d1", as_of=t_approved).to_json()["nodes"]}
    assert approved["d1"]["properties"]["state"] == "approved"
    assert approved["d1"]["properties"]["tainted"] is False and "f4" in approved
    assert "f4" not in trace(store, "d1", as_of=t_pending).nodes
    now = trace(store, "d1")
    assert "f2" not in now.nodes and now.nodes["d1"]["properties"]["tainted"] is True
    assert "f2" in trace(store, "d1", as_of=t_tainted).nodes
    # Between two edits the earlier state holds.
    between = trace(store, "d1", as_of=datetime.fromisoformat("2026-03-01T10:30:00+00:00"))
    assert between.nodes["d1"]["properties"]["state"] == "pending_approval"
    with pytest.raises(NotFound, match="at 2026-03-01T08"):
        trace(store, "d1", as_of=datetime.fromisoformat("2026-03-01T08:00:00+00:00"))


def test_mark_tainted_flags_downstream_findings_and_decisions_once(store: GraphStore, clock: Clock) -> None:
    build_audit_graph(store)
    clock.advance(days=1)
    result = mark_tainted(store, "src_crm", "CRM export double-counted deals", by="auditor")
    assert result.flagged == ["d1", "d2", "f1", "f2", "src_crm"]
    assert result.already_tainted == []
    assert (result.by, result.at) == ("auditor", timestamp(clock.now))

    d1 = store.get("d1")
    assert isinstance(d1, Decision)
    assert (d1.tainted, d1.tainted_reason, d1.tainted_by, d1.taint_origin) == (
        True,
        "CRM export double-counted deals",
        "auditor",
        "src_crm",
    )
    # Intermediate entities and the unrelated chain are untouched.
    assert not store.get("snap1").tainted and not store.get("f3").tainted and not store.get("d3").tainted
    assert store.get("src_meta").tainted is False

    again = mark_tainted(store, "src_meta", "second source also bad", by="auditor")
    assert again.flagged == ["src_meta"]
    assert again.already_tainted == ["d1", "d2", "f1", "f2"]
    assert store.get("f1").tainted_reason == "CRM export double-counted deals"


def test_mark_tainted_is_all_or_nothing(store: GraphStore) -> None:
    build_audit_graph(store)

    def taint_then_fail(tx: Tx) -> None:
        tx.revise({"f1": tx.fetch(["f1"])["f1"][1]}, {"f1": {"tainted": True}})
        raise RuntimeError("crash before the decisions were flagged")

    with pytest.raises(RuntimeError):
        store.unit_of_work(taint_then_fail)
    assert store.get("f1").tainted is False and store.get("f1").version == 1
    assert store.revisions(["f1"]) == {}
    with pytest.raises(NotFound):
        mark_tainted(store, "ghost", "no such node")
    with pytest.raises(ValueError, match="reason"):
        mark_tainted(store, "src_crm", "  ")


def test_native_reachability_agrees_with_the_portable_cypher(store: GraphStore, clock: Clock) -> None:
    """The dialect's fast path (SQL TRAVERSE on ArcadeDB) must answer what the portable Cypher of
    the Neo4j dialect does, run on the same server: the same edges at every time, across closed and
    reopened edges and diamonds, and the same node properties, with their types, as a Bolt read."""
    rng = random.Random(7)
    layers = [
        [Source(id=f"s{i}", name=f"source '{i}'\nline two", kind="crm") for i in range(3)],
        [Extract(id=f"e{i}", file=f"e{i}.csv", sha256=f"{i:064d}", rows=i * 10) for i in range(5)],
        [Snapshot(id=f"p{i}", sha256=f"{i + 50:064d}", schema_version="1") for i in range(4)],
        [DiagnosticRun(id=f"r{i}", code_version="`MATCH` (n)") for i in range(4)],
        [Finding(id=f"f{i}", title=f'CPL "{i}" up', category="channel_mix") for i in range(8)],
        [Decision(id=f"d{i}", kind="pause", title=f"d{i}", amount=1000.5 * i) for i in range(6)],
    ]
    rels = [Rel.WAS_DERIVED_FROM, Rel.WAS_DERIVED_FROM, Rel.USED, Rel.WAS_GENERATED_BY, Rel.JUSTIFIED_BY]
    store.merge([node for layer in layers for node in layer])
    times = [clock.now]
    edges: list[tuple[str, Rel, str]] = []
    for upper, lower, rel in zip(layers[1:], layers[:-1], rels, strict=True):
        for node in upper:
            for target in rng.sample(lower, k=min(2, len(lower))):
                edges.append((node.id, rel, target.id))
    store.link(edges)
    for _ in range(6):  # close some edges and reopen some, at known times
        clock.advance(minutes=10)
        src, rel, dst = rng.choice(edges)
        if store.unlink(src, rel, dst) == 0:
            store.link([(src, rel, dst)])
        times.append(clock.now)
    clock.advance(minutes=10)
    store.update("d1", {"state": "approved"}, expected_version=1)

    all_ids = [node.id for layer in layers for node in layer]
    for at in [timestamp(t) for t in times] + ["9999-12-31T23:59:59.999999Z"]:
        for direction, roots in (("upstream", all_ids[-14:]), ("downstream", all_ids[:12])):
            for root in roots:
                found = store.reachable(root, direction, at)
                portable = Neo4jDialect().reachable(store.driver, store.database, root, direction, at)
                assert found == portable, (root, direction, at)
    assert store.reachable("no such node", "upstream", "9999")[0] == {}
