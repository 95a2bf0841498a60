"""Use case: run a campaign's post-mortem on its snapshots, store what it found with provenance, and
write the report.

The run is identified by what it read and assumed: the snapshot ids, the assumption set and the
code version hash together into the run id, so running it again on the same inputs stores nothing
new, and a run under other assumptions is a separate run that can be compared finding by finding.
Everything is written in one unit of work: a PostMortem, its Findings and ActionItems, and the
DiagnosticRun that USED the snapshots, so an auditor's trace goes Finding -> run -> snapshot ->
extract -> source.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel

from diagnostics import postmortem as engine
from diagnostics.actions import ActionItem as ActionPlanItem
from diagnostics.actions import named_person, publish_problems
from diagnostics.assumptions import Assumptions
from diagnostics.postmortem import PostMortemResult, QualityNote
from diagnostics.report import render
from diagnostics.report_data import report_data
from graph.connect import store_for
from graph.errors import InvalidGraphInput, NotFound, WarrantError
from graph.model import ActionItem, DiagnosticRun, Finding, PostMortem, Rel
from graph.settings import Settings
from graph.store import GraphStore, Tx
from ingest.snapshot import SnapshotFiles


class PostMortemRun(BaseModel):
    postmortem_id: str
    run_id: str
    created: bool
    campaign_id: str
    baseline_ids: list[str]
    snapshot_ids: list[str]
    findings: list[dict[str, Any]]
    action_items: list[dict[str, Any]]
    seconds: dict[str, float]
    report: str | None = None


def run_postmortem(
    settings: Settings,
    campaign_id: str,
    *,
    assumptions: Assumptions | None = None,
    report: Path | None = None,
    icp: dict[str, list[str]] | None = None,
    store: GraphStore | None = None,
) -> tuple[PostMortemRun, PostMortemResult]:
    """Run the post-mortem of `campaign_id` against every campaign that ended before it started."""
    with store_for(settings, store) as graph:
        campaigns = _campaigns(graph)
        if campaign_id not in {c["id"] for c in campaigns}:
            known = ", ".join(sorted(c["id"] for c in campaigns)) or "none yet"
            raise NotFound(f"no campaign {campaign_id!r} (campaigns: {known})")
        snapshots = _snapshots(graph, campaign_id)
        if not snapshots:
            raise NotFound(f"campaign {campaign_id!r} has no snapshots yet: ingest its exports first")
        tables = _tables(SnapshotFiles(settings.snapshots_dir), snapshots)
        quality = _quality(graph, snapshots)
        a = assumptions or Assumptions()
        result = engine.run(tables, campaigns, campaign_id, quality=quality, assumptions=a, icp=icp)
        run_id = _run_id(sorted(snapshots), a, icp)
        pm_id = f"postmortem:{campaign_id}:{run_id[:12]}"
        created = not graph.properties_of([pm_id])
        if created:
            graph.unit_of_work(lambda tx: _record(tx, pm_id, run_id, result, sorted(snapshots), a))
        html = None
        if report is not None:
            html = str(report)
            report.write_text(render(report_data(result)), encoding="utf-8")
        return (
            PostMortemRun(
                postmortem_id=pm_id,
                run_id=f"run:{run_id}",
                created=created,
                campaign_id=campaign_id,
                baseline_ids=result.baseline_ids,
                snapshot_ids=sorted(snapshots),
                findings=[_finding_json(f) for f in result.findings],
                action_items=[i.model_dump(mode="json") for i in result.plan.items],
                seconds=result.seconds,
                report=html,
            ),
            result,
        )


def _campaigns(store: GraphStore) -> list[dict[str, Any]]:
    out = []
    for node_id, (_, props) in sorted(store.nodes("Campaign").items()):
        if not props.get("start") or not props.get("end"):
            continue  # a campaign without dates cannot be placed in time: not usable as a baseline
        out.append(
            {
                "id": node_id,
                "start": props["start"],
                "end": props["end"],
                "hypothesis": props.get("hypothesis"),
                "hypothesis_documented_at": props.get("hypothesis_documented_at"),
                "platforms": json.loads(props.get("taxonomy") or "[]"),
            }
        )
    return out


def _snapshots(store: GraphStore, campaign_id: str) -> dict[str, dict[str, Any]]:
    """The campaign's latest snapshot per (table, mapping): a re-export replaces, other sources add."""
    latest: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for node_id, (label, props) in store.linked(campaign_id, Rel.PART_OF).items():
        if label != "Snapshot":
            continue
        key = (props.get("table", ""), props.get("mapping", ""))
        if key not in latest or props["created_at"] > latest[key][1]["created_at"]:
            latest[key] = (node_id, props)
    return dict(latest.values())


def _tables(files: SnapshotFiles, snapshots: dict[str, dict[str, Any]]) -> dict[str, pl.DataFrame]:
    parts: dict[str, list[pl.DataFrame]] = {}
    for snapshot_id, props in sorted(snapshots.items()):
        if not files.exists(snapshot_id):
            raise NotFound(f"snapshot file {files.path(snapshot_id)} is missing; re-ingest its exports")
        parts.setdefault(props["table"], []).append(files.read(snapshot_id))
    return {table: pl.concat(frames, how="diagonal_relaxed") for table, frames in parts.items()}


def _quality(store: GraphStore, snapshots: dict[str, dict[str, Any]]) -> list[QualityNote]:
    notes = []
    for snapshot_id, props in sorted(snapshots.items()):
        for _, (label, check) in sorted(store.linked(snapshot_id, Rel.ABOUT).items()):
            if label == "QualityCheck":
                notes.append(
                    QualityNote(
                        source=props.get("source") or props.get("mapping", snapshot_id),
                        gate=check["name"],
                        status=check["result"],
                        message=check.get("message", ""),
                        value=check.get("value"),
                        blocks=check.get("blocks") or [],
                    )
                )
    return notes


def _code_version() -> str:
    try:
        return metadata.version("warrant")
    except metadata.PackageNotFoundError:
        return "unknown"


def _run_id(snapshot_ids: list[str], assumptions: Assumptions, icp: dict[str, list[str]] | None) -> str:
    """Same snapshots, assumptions, ICP and code: the same run."""
    inputs = {
        "snapshots": snapshot_ids,
        "assumptions": assumptions.model_dump(mode="json"),
        "icp": icp or {},
        "code": _code_version(),
    }
    text = json.dumps(inputs, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _finding_json(finding: Any) -> dict[str, Any]:
    data = finding.model_dump(mode="json", exclude={"evidence"})
    data["label"] = finding.label
    return data


def _record(
    tx: Tx, pm_id: str, run_id: str, result: PostMortemResult, snapshot_ids: list[str], a: Assumptions
) -> None:
    run = f"run:{run_id}"
    nodes: list[Any] = [
        DiagnosticRun(
            id=run,
            assumption_set=json.dumps(a.model_dump(mode="json"), sort_keys=True),
            code_version=_code_version(),
        ),
        PostMortem(
            id=pm_id,
            title=f"Post-mortem of {result.campaign_id}",
            summary=" ".join(f.statement for f in result.findings[:5]),
        ),
    ]
    edges = [(run, Rel.USED, s) for s in snapshot_ids]
    edges += [(pm_id, Rel.WAS_GENERATED_BY, run), (pm_id, Rel.ABOUT, result.campaign_id)]
    for f in result.findings:
        node_id = f"finding:{run_id[:12]}:{f.id}"
        checks = f.checks
        nodes.append(
            Finding(
                id=node_id,
                title=f.title,
                category=f.category,
                statement=f.statement,
                effect_size=f.effect.value if f.effect else None,
                sample_size_ok=checks.sample_size_ok if checks else None,
                confounders_ok=checks.confounders_ok if checks else None,
                actionable=checks.actionable if checks else None,
            )
        )
        edges += [(node_id, Rel.WAS_GENERATED_BY, run), (node_id, Rel.PART_OF, pm_id)]
    for item in result.plan.items:
        node_id = f"action:{run_id[:12]}:{item.finding_id}"
        nodes.append(ActionItem(id=node_id, title=item.title))
        edges += [
            (node_id, Rel.JUSTIFIED_BY, f"finding:{run_id[:12]}:{item.finding_id}"),
            (node_id, Rel.PART_OF, pm_id),
        ]
    tx.merge(nodes)
    tx.link(edges)


class NotPublishable(WarrantError):
    """A post-mortem whose action items are not all owned by a named person with a due date."""


def assign_action(
    settings: Settings, action_id: str, owner: str, due: date, *, store: GraphStore | None = None
) -> ActionItem:
    """Name the person who owns an action item and when it is due (a person, never 'the team')."""
    if not named_person(owner):
        raise InvalidGraphInput(
            f"owner {owner!r} is not a named person: an action needs someone who will do it"
        )
    with store_for(settings, store) as graph:
        found = graph.properties_of([action_id]).get(action_id)
        if found is None or found[0] != "ActionItem":
            raise NotFound(f"no action item {action_id!r}")
        node = graph.update(action_id, {"owner": owner.strip(), "due": due.isoformat()}, found[1]["version"])
        assert isinstance(node, ActionItem)
        return node


def publish(settings: Settings, postmortem_id: str, *, store: GraphStore | None = None) -> PostMortem:
    """Publish once every action item has a named owner and a due date; otherwise say what is missing."""
    with store_for(settings, store) as graph:
        found = graph.properties_of([postmortem_id]).get(postmortem_id)
        if found is None or found[0] != "PostMortem":
            raise NotFound(f"no post-mortem {postmortem_id!r}")
        items = [
            ActionPlanItem(
                id=item_id,
                title=props["title"],
                finding_id="",
                owner=props.get("owner"),
                due=date.fromisoformat(props["due"]) if props.get("due") else None,
            )
            for item_id, (label, props) in sorted(graph.linked(postmortem_id, Rel.PART_OF).items())
            if label == "ActionItem"
        ]
        problems = publish_problems(items)
        if problems:
            raise NotPublishable(
                f"{postmortem_id} cannot be published: "
                + "; ".join(problems)
                + " (warrant postmortem assign ACTION_ID --owner NAME --due DATE)"
            )
        if found[1].get("status") == "published":
            return PostMortem.model_validate(found[1])
        node = graph.update(postmortem_id, {"status": "published"}, found[1]["version"])
        assert isinstance(node, PostMortem)
        return node
