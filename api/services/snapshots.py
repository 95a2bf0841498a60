"""Use cases of reading snapshots: the list, and one with its quality checks and extracts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from graph.errors import NotFound
from graph.model import Rel
from graph.store import GraphStore


class CheckView(BaseModel):
    name: str
    result: str
    blocking: bool = False
    message: str = ""
    value: float | None = None
    threshold: float | None = None
    blocks: list[str] = Field(default_factory=list)


class SnapshotView(BaseModel):
    id: str
    table: str
    mapping: str
    source: str
    row_count: int
    created_at: str
    quality_passed: bool | None = None
    tainted: bool = False
    checks: list[CheckView] = Field(default_factory=list)
    extracts: list[dict[str, Any]] = Field(default_factory=list)
    campaigns: list[str] = Field(default_factory=list)


def _view(store: GraphStore, snapshot_id: str, props: dict[str, Any], *, detail: bool) -> SnapshotView:
    checks: list[CheckView] = []
    extracts: list[dict[str, Any]] = []
    campaigns: list[str] = []
    if detail:
        checks = [
            CheckView(**{k: v for k, v in p.items() if k in CheckView.model_fields})
            for _, (label, p) in sorted(store.linked(snapshot_id, Rel.ABOUT).items())
            if label == "QualityCheck"
        ]
        extracts = [
            {"id": i, "file": p.get("file"), "sha256": p.get("sha256"), "rows": p.get("rows")}
            for i, (label, p) in sorted(
                store.linked(snapshot_id, Rel.WAS_DERIVED_FROM, incoming=False).items()
            )
            if label == "Extract"
        ]
        campaigns = sorted(
            i
            for i, (label, _) in store.linked(snapshot_id, Rel.PART_OF, incoming=False).items()
            if label == "Campaign"
        )
    return SnapshotView(
        id=snapshot_id,
        table=props.get("table", ""),
        mapping=props.get("mapping", ""),
        source=props.get("source", ""),
        row_count=int(props.get("row_count") or 0),
        created_at=props["created_at"],
        quality_passed=props.get("quality_passed"),
        tainted=bool(props.get("tainted")),
        checks=checks,
        extracts=extracts,
        campaigns=campaigns,
    )


def list_snapshots(
    store: GraphStore, *, table: str | None = None, campaign_id: str | None = None
) -> list[SnapshotView]:
    if campaign_id:
        rows = {
            i: p for i, (label, p) in store.linked(campaign_id, Rel.PART_OF).items() if label == "Snapshot"
        }
    else:
        rows = {i: p for i, (_, p) in store.nodes("Snapshot").items()}
    chosen = [(i, p) for i, p in rows.items() if table is None or p.get("table") == table]
    chosen.sort(key=lambda item: (item[1]["created_at"], item[0]), reverse=True)
    return [_view(store, i, p, detail=False) for i, p in chosen]


def get_snapshot(store: GraphStore, snapshot_id: str) -> SnapshotView:
    found = store.properties_of([snapshot_id]).get(snapshot_id)
    if found is None or found[0] != "Snapshot":
        raise NotFound(f"no snapshot {snapshot_id!r}")
    return _view(store, snapshot_id, found[1], detail=True)
