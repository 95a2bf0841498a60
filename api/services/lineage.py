"""Use cases of lineage: trace a node to its sources, its impact, and taint a bad source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from graph import lineage
from graph.connect import store_for
from graph.settings import Settings
from graph.store import GraphStore


def trace(
    settings: Settings, node_id: str, as_of: datetime | None = None, *, store: GraphStore | None = None
) -> lineage.Lineage:
    with store_for(settings, store) as graph:
        return lineage.trace(graph, node_id, as_of=as_of)


def impact(
    settings: Settings, node_id: str, as_of: datetime | None = None, *, store: GraphStore | None = None
) -> lineage.Lineage:
    with store_for(settings, store) as graph:
        return lineage.impact(graph, node_id, as_of=as_of)


def taint(
    settings: Settings,
    node_id: str,
    reason: str,
    by: str | None = None,
    *,
    store: GraphStore | None = None,
) -> lineage.TaintResult:
    """Flag what a bad source fed; in the same unit of work, audit it and reopen the approved
    decisions it reached (governance.decisions.after_taint)."""
    from governance.decisions import after_taint

    with store_for(settings, store) as graph:
        return lineage.mark_tainted(graph, node_id, reason, by=by or settings.actor, then=after_taint)


def export(settings: Settings, node_id: str, fmt: str, as_of: datetime | None = None) -> tuple[Any, str]:
    """`node_id`'s trace as OpenLineage run events or a PROV-JSON document, and what it holds."""
    graph = trace(settings, node_id, as_of)
    if fmt == "openlineage":
        from openlineage.client.serde import Serde

        from registry import openlineage

        events = openlineage.trace_events(graph, settings.openlineage_namespace)
        return [Serde.to_dict(e) for e in events], f"{len(events)} OpenLineage run events"
    from registry import prov

    return prov.prov_json(graph), f"a PROV-JSON document of {len(graph.nodes)} nodes"
