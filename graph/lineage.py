"""Lineage: upstream to the sources (`trace`), downstream to what a node fed (`impact`).

Both read the graph as it is or as it stood at any past time: edges carry `valid_from` and
`valid_to`, and node properties come from their `Revision` at that time. That is how an auditor
sees exactly what an approver saw. `mark_tainted` walks `impact` and flags every downstream finding
and decision in one unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import networkx as nx

from graph.dialect import Direction, reachable_cypher
from graph.errors import NotFound
from graph.model import TAINTABLE, node_type, timestamp
from graph.store import GraphStore, Tx

_END_OF_TIME = "9999-12-31T23:59:59.999999Z"
_DOWNSTREAM = reachable_cypher("downstream")

# Key properties shown for each node in a lineage view (all properties stay in `properties`).
_KEY = ("name", "title", "file", "sha256", "kind", "state", "status", "tainted")


@dataclass
class Lineage:
    """A lineage subgraph: nodes by id (label and properties) and typed edges."""

    root: str
    direction: Direction
    as_of: str | None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def to_networkx(self) -> nx.DiGraph:
        graph = nx.DiGraph(root=self.root, direction=self.direction, as_of=self.as_of)
        for node_id, node in self.nodes.items():
            graph.add_node(node_id, label=node["label"], **node["properties"])
        for src, rel, dst in self.edges:
            graph.add_edge(src, dst, type=rel)
        return graph

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form: nodes with label and key properties, edges with type."""
        return {
            "root": self.root,
            "direction": self.direction,
            "as_of": self.as_of,
            "nodes": [
                {
                    "id": node_id,
                    "label": node["label"],
                    "key": {k: node["properties"][k] for k in _KEY if k in node["properties"]},
                    "properties": node["properties"],
                }
                for node_id, node in sorted(self.nodes.items())
            ],
            "edges": [{"source": s, "type": t, "target": d} for s, t, d in sorted(self.edges)],
        }


def _walk(store: GraphStore, node_id: str, direction: Direction, as_of: datetime | None) -> Lineage:
    at = timestamp(as_of) if as_of else _END_OF_TIME
    found, edges = store.reachable(node_id, direction, at)
    if as_of:
        found = store.rewind(found, at)
    if node_id not in found:
        when = f" at {at}" if as_of else ""
        raise NotFound(f"no node with id {node_id!r}{when}")
    nodes = {i: {"label": label, "properties": props} for i, (label, props) in found.items()}
    return Lineage(node_id, direction, at if as_of else None, nodes, edges)


def trace(store: GraphStore, node_id: str, *, as_of: datetime | None = None) -> Lineage:
    """Everything `node_id` rests on, back to the source exports."""
    return _walk(store, node_id, "upstream", as_of)


def impact(store: GraphStore, node_id: str, *, as_of: datetime | None = None) -> Lineage:
    """Everything that rests on `node_id`: what a bad source tainted."""
    return _walk(store, node_id, "downstream", as_of)


@dataclass(frozen=True)
class TaintResult:
    origin: str
    reason: str
    by: str
    at: str
    flagged: list[str]
    already_tainted: list[str]


def mark_tainted(
    store: GraphStore,
    node_id: str,
    reason: str,
    *,
    by: str | None = None,
    then: Callable[[Tx, TaintResult], None] | None = None,
) -> TaintResult:
    """Flag `node_id` and every downstream finding and decision, recording who did it and why.

    One unit of work: either every flag (with the revisions that keep the untainted past) is
    written, or none. Nodes flagged earlier are left as they are and reported. `then` runs in the
    same unit of work (governance audits the taint and reopens the decisions it touched there).
    """
    if not reason.strip():
        raise ValueError("a taint needs a reason")

    def work(tx: Tx) -> TaintResult:
        rows = tx.run(_DOWNSTREAM, id=node_id, at=_END_OF_TIME)
        downstream = {r["src"] for r in rows}
        current = tx.fetch(downstream | {node_id})
        if node_id not in current:
            raise NotFound(f"no node with id {node_id!r}")
        targets = {
            i: props
            for i, (label, props) in current.items()
            if label in TAINTABLE or (i == node_id and "tainted" in node_type(label).model_fields)
        }
        fresh = {i: p for i, p in targets.items() if not p.get("tainted")}
        marks = {
            "tainted": True,
            "tainted_reason": reason,
            "tainted_by": tx.by,
            "tainted_at": tx.now,
        }
        tx.revise(fresh, {i: {**marks, "taint_origin": node_id} for i in fresh})
        result = TaintResult(
            origin=node_id,
            reason=reason,
            by=tx.by,
            at=tx.now,
            flagged=sorted(fresh),
            already_tainted=sorted(set(targets) - set(fresh)),
        )
        if then is not None:
            then(tx, result)
        return result

    return store.unit_of_work(work, by=by)
