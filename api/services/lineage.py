"""Use cases of lineage: trace a node to its sources, its impact, and taint a bad source."""

from __future__ import annotations

from datetime import datetime

from graph import lineage
from graph.connect import open_store
from graph.settings import Settings


def trace(settings: Settings, node_id: str, as_of: datetime | None = None) -> lineage.Lineage:
    with open_store(settings) as store:
        return lineage.trace(store, node_id, as_of=as_of)


def impact(settings: Settings, node_id: str, as_of: datetime | None = None) -> lineage.Lineage:
    with open_store(settings) as store:
        return lineage.impact(store, node_id, as_of=as_of)


def taint(settings: Settings, node_id: str, reason: str, by: str | None = None) -> lineage.TaintResult:
    with open_store(settings) as store:
        return lineage.mark_tainted(store, node_id, reason, by=by or settings.actor)
