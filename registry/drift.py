"""Drift between successive snapshots of a source, and which model versions it touches.

A post-mortem compares each snapshot it reads with the previous snapshot of the same source (same
table and mapping: the weekly re-export of one ad account, say). A model whose input table drifted
beyond the assumption set's thresholds is marked, in the graph and on its MLflow version, and the
findings it produced carry the mark, so governance can refuse to rest a budget change on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from diagnostics.assumptions import Assumptions
from diagnostics.drift import DriftReport, snapshot_drift
from graph.model import Rel
from graph.store import GraphStore
from ingest.snapshot import SnapshotFiles

# The unified tables each model reads (through the engine's input builders).
MODEL_TABLES: dict[str, tuple[str, ...]] = {
    "attribution": ("touchpoints", "leads"),
    "drivers": ("leads",),
    "response": ("ad_performance", "leads"),
    "fatigue": ("ad_performance",),
    "scorecard": ("ad_performance", "leads", "opportunities", "plans"),
}


@dataclass(frozen=True)
class SnapshotDrift:
    snapshot: str
    previous: str
    table: str
    mapping: str
    report: DriftReport

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "previous": self.previous,
            "table": self.table,
            "mapping": self.mapping,
            "drifted": self.report.drifted,
            "report": self.report.model_dump(mode="json"),
        }


def previous_snapshots(
    store: GraphStore, snapshots: Mapping[str, Mapping[str, Any]], campaign_id: str
) -> dict[str, str]:
    """For each snapshot, the latest earlier snapshot of the same (table, mapping) of the same
    campaign, if any: another campaign's export of that source is another population, not drift."""
    everything = {
        i: props
        for i, (label, props) in store.linked(campaign_id, Rel.PART_OF).items()
        if label == "Snapshot"
    }
    out = {}
    for snapshot_id, props in snapshots.items():
        key = (props.get("table"), props.get("mapping"))
        earlier = [
            (other["created_at"], other_id)
            for other_id, other in everything.items()
            if other_id != snapshot_id
            and (other.get("table"), other.get("mapping")) == key
            and other["created_at"] < props["created_at"]
        ]
        if earlier:
            out[snapshot_id] = max(earlier)[1]
    return out


def check(
    store: GraphStore,
    files: SnapshotFiles,
    snapshots: Mapping[str, Mapping[str, Any]],
    campaign_id: str,
    assumptions: Assumptions,
) -> list[SnapshotDrift]:
    """Drift of every snapshot against its predecessor (snapshots without one are skipped)."""
    out = []
    for snapshot_id, previous in sorted(previous_snapshots(store, snapshots, campaign_id).items()):
        if not files.exists(previous):
            continue  # the predecessor's file was removed: nothing to compare with
        props = snapshots[snapshot_id]
        report = snapshot_drift(
            files.read(previous), files.read(snapshot_id), props["table"], assumptions=assumptions
        )
        out.append(SnapshotDrift(snapshot_id, previous, props["table"], props.get("mapping", ""), report))
    return out


def drifted_models(drifts: list[SnapshotDrift]) -> dict[str, str]:
    """{model name: why it is marked} for every model that reads a drifted table."""
    reasons: dict[str, list[str]] = {}
    for d in drifts:
        if not d.report.drifted:
            continue
        signals = ", ".join(s.signal for s in d.report.signals if s.drifted)
        text = f"{d.table} ({d.mapping}) drifted against snapshot {d.previous[:12]}: {signals}"
        for model, tables in MODEL_TABLES.items():
            if d.table in tables:
                reasons.setdefault(model, []).append(text)
    return {model: "; ".join(texts) for model, texts in reasons.items()}
