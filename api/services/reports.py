"""Use cases of reading stored post-mortems: one with its findings and action plan, the list, the
HTML report as logged, a finding, two runs compared, and an action item's status."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from governance import audit
from graph.connect import store_for
from graph.errors import InvalidGraphInput, NotFound
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore, Tx

ACTION_STATUSES = ("open", "in_progress", "done", "dropped")


class PostMortemView(BaseModel):
    id: str
    title: str
    status: str
    summary: str = ""
    campaign_id: str | None = None
    created_at: str
    run_id: str | None = None
    mlflow_run_id: str | None = None
    replay_of: str | None = None
    models: dict[str, Any] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(default_factory=dict)
    findings: list[dict[str, Any]] = Field(default_factory=list)
    action_items: list[dict[str, Any]] = Field(default_factory=list)


def _load(store: GraphStore, node_id: str, label: str) -> dict[str, Any]:
    found = store.properties_of([node_id]).get(node_id)
    if found is None or found[0] != label:
        raise NotFound(f"no {label} {node_id!r}")
    return {"id": node_id, **found[1]}


def show(store: GraphStore, postmortem_id: str) -> PostMortemView:
    pm = _load(store, postmortem_id, "PostMortem")
    parts = store.linked(postmortem_id, Rel.PART_OF)
    runs = {
        i: p
        for i, (label, p) in store.linked(postmortem_id, Rel.WAS_GENERATED_BY, incoming=False).items()
        if label == "DiagnosticRun"
    }
    about = store.linked(postmortem_id, Rel.ABOUT, incoming=False)
    replayed = store.linked(postmortem_id, Rel.REPLAY_OF, incoming=False)
    run_id, run = next(iter(sorted(runs.items())), (None, {}))
    return PostMortemView(
        id=postmortem_id,
        title=pm.get("title", ""),
        status=pm.get("status", "draft"),
        summary=pm.get("summary", ""),
        campaign_id=next((i for i, (label, _) in about.items() if label == "Campaign"), None),
        created_at=pm["created_at"],
        run_id=run_id,
        mlflow_run_id=run.get("mlflow_run_id"),
        replay_of=next(iter(replayed), None),
        models=json.loads(run.get("models") or "{}"),
        overrides=json.loads(run.get("overrides") or "{}"),
        findings=[{"id": i, **p} for i, (label, p) in sorted(parts.items()) if label == "Finding"],
        action_items=[{"id": i, **p} for i, (label, p) in sorted(parts.items()) if label == "ActionItem"],
    )


def list_postmortems(store: GraphStore, *, campaign_id: str | None = None) -> list[dict[str, Any]]:
    rows = [{"id": i, **p} for i, (_, p) in store.nodes("PostMortem").items()]
    if campaign_id:
        rows = [r for r in rows if r["id"].startswith(f"postmortem:{campaign_id}:")]
    keep = ("id", "title", "status", "summary", "created_at", "version")
    return [{k: r.get(k) for k in keep} for r in sorted(rows, key=lambda r: r["created_at"], reverse=True)]


def finding(store: GraphStore, finding_id: str) -> dict[str, Any]:
    return _load(store, finding_id, "Finding")


def report_html(settings: Settings, store: GraphStore, postmortem_id: str) -> str:
    """The HTML report exactly as the run logged it to MLflow."""
    from registry.runs import read_artifact
    from registry.tracking import registry

    view = show(store, postmortem_id)
    if not view.mlflow_run_id:
        raise NotFound(f"{postmortem_id} has no MLflow run to read its report from")
    with registry(settings) as reg:
        return read_artifact(reg, view.mlflow_run_id, "report.html")


def report_data(settings: Settings, store: GraphStore, postmortem_id: str) -> dict[str, Any]:
    """The numbers behind the report (tiles, funnel, tables, attribution, waterfall, findings, plan)
    as the run logged them, so a screen draws the same figures the HTML report shows."""
    from registry.runs import has_artifact, read_artifact
    from registry.tracking import registry

    view = show(store, postmortem_id)
    if not view.mlflow_run_id:
        raise NotFound(f"{postmortem_id} has no MLflow run to read its report data from")
    with registry(settings) as reg:
        if not has_artifact(reg, view.mlflow_run_id, "report_data.json"):
            raise NotFound(
                f"{postmortem_id} was logged before runs kept their report data; its HTML report has the "
                "same figures, or replay it to log them"
            )
        return dict(json.loads(read_artifact(reg, view.mlflow_run_id, "report_data.json")))


def set_action_status(
    settings: Settings, action_id: str, status: str, *, by: str, store: GraphStore | None = None
) -> dict[str, Any]:
    """Move an action item along open -> in_progress -> done (or dropped), audited."""
    if status not in ACTION_STATUSES:
        raise InvalidGraphInput(f"status must be one of {', '.join(ACTION_STATUSES)}, not {status!r}")
    with store_for(settings, store) as graph:

        def work(tx: Tx) -> dict[str, Any]:
            found = tx.fetch([action_id]).get(action_id)
            if found is None or found[0] != "ActionItem":
                raise NotFound(f"no action item {action_id!r}")
            if found[1].get("status") != status:
                tx.update(action_id, {"status": status}, found[1]["version"])
                audit.append(
                    tx, "action.status", action_id, {"by": by, "from": found[1].get("status"), "to": status}
                )
            return {"id": action_id, **tx.fetch([action_id])[action_id][1]}

        return graph.unit_of_work(work, by=by)
