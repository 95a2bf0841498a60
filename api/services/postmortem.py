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

import functools
import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel

from diagnostics import postmortem as engine
from diagnostics.actions import ActionItem as ActionPlanItem
from diagnostics.actions import named_person, publish_problems
from diagnostics.assumptions import Assumptions
from diagnostics.dissect import NONE
from diagnostics.metrics import CampaignMap
from diagnostics.models import FINDING_MODEL
from diagnostics.postmortem import PostMortemResult, QualityNote
from diagnostics.report import render
from diagnostics.report_data import report_data
from graph.connect import store_for
from graph.errors import InvalidGraphInput, NotFound, WarrantError
from graph.model import ActionItem, DiagnosticRun, Finding, ModelVersion, PostMortem, Rel
from graph.settings import Settings
from graph.store import GraphStore, Tx
from ingest.snapshot import SnapshotFiles
from registry.diff import ReplayDiff


class PostMortemRun(BaseModel):
    postmortem_id: str
    run_id: str
    created: bool
    campaign_id: str
    baseline_ids: list[str]
    snapshot_ids: list[str]
    mlflow_run_id: str | None = None
    models: dict[str, str] = {}
    drift: list[dict[str, Any]] = []
    replay_of: str | None = None
    findings: list[dict[str, Any]]
    action_items: list[dict[str, Any]]
    seconds: dict[str, float]
    report: str | None = None
    lineage_event: str | None = None


def run_postmortem(
    settings: Settings,
    campaign_id: str,
    *,
    assumptions: Assumptions | None = None,
    overrides: Mapping[str, Any] | None = None,
    models: Mapping[str, str] | None = None,
    report: Path | None = None,
    icp: dict[str, list[str]] | None = None,
    snapshot_ids: Sequence[str] | None = None,
    replay_of: str | None = None,
    store: GraphStore | None = None,
) -> tuple[PostMortemRun, PostMortemResult]:
    """Run the post-mortem of `campaign_id` against every campaign that ended before it started.

    The diagnostic models come from the registry (`models`: name -> alias or `v<N>`, default
    champion); the assumption set is the defaults, then the models' parameters, then `overrides`
    (or whatever `assumptions` changes from the defaults). `snapshot_ids` pins the inputs (a
    replay); by default the campaign's latest snapshot per source is read.
    """
    from registry import assumption_sets, runs
    from registry import drift as drift_check
    from registry import models as registered
    from registry.tracking import registry

    explicit = dict(overrides) if overrides is not None else assumption_sets.overrides_of(assumptions)
    spent: dict[str, float] = {}
    with store_for(settings, store) as graph, ExitStack() as stack:
        with _timed(spent, "registry"):
            reg = stack.enter_context(registry(settings))
        campaigns = _campaigns(graph)
        if campaign_id not in {c["id"] for c in campaigns}:
            known = ", ".join(sorted(c["id"] for c in campaigns)) or "none yet"
            raise NotFound(f"no campaign {campaign_id!r} (campaigns: {known})")
        snapshots = _snapshots(graph, campaign_id) if snapshot_ids is None else _pinned(graph, snapshot_ids)
        if not snapshots:
            raise NotFound(f"campaign {campaign_id!r} has no snapshots yet: ingest its exports first")
        with _timed(spent, "registry"):
            resolved = registered.resolve(reg, models)
        a = assumption_sets.layered([r.params for r in resolved.values()], explicit)
        try:
            engine.choose_baselines(CampaignMap.from_campaigns_json(campaigns), campaign_id, None, a)
        except (LookupError, ValueError) as exc:
            raise InvalidGraphInput(str(exc).strip("'\"")) from None
        files = SnapshotFiles(settings.snapshots_dir)
        tables = _tables(files, snapshots)
        quality = _quality(graph, snapshots)
        result = engine.run(
            tables,
            campaigns,
            campaign_id,
            quality=quality,
            windows=_windows(files, snapshots),
            assumptions=a,
            icp=icp,
            models=registered.engine_models(resolved),
        )
        versions = {name: r.version for name, r in resolved.items()}
        run_id = _run_id(sorted(snapshots), a, icp, versions)
        pm_id = f"postmortem:{campaign_id}:{run_id[:12]}"
        run_node = f"run:{run_id}"
        existing = graph.properties_of([pm_id, run_node])
        with _timed(spent, "drift"):
            drifts = drift_check.check(graph, files, snapshots, campaign_id, a)
            marked = drift_check.drifted_models(drifts)
        with _timed(spent, "report"):
            data = report_data(result)
            html = render(data)
        findings = [_finding_json(f) for f in result.findings]
        lineage_event = None
        if pm_id in existing:
            mlflow_run_id = existing.get(run_node, ("", {}))[1].get("mlflow_run_id")
        else:
            with _timed(spent, "registry"):
                mlflow_run_id = runs.log_postmortem(
                    reg,
                    postmortem_id=pm_id,
                    run_node=run_node,
                    result=result,
                    overrides=explicit,
                    resolved=resolved,
                    snapshots=_snapshot_inputs(graph, files, snapshots),
                    findings=findings,
                    report_html=html,
                    report_data=data.model_dump(mode="json"),
                    drift=[d.to_json() for d in drifts],
                    replay_of=replay_of,
                )
            record = _Record(
                pm_id, run_id, result, sorted(snapshots), explicit, icp, resolved, marked, replay_of
            )
            try:
                with _timed(spent, "graph write"):
                    graph.unit_of_work(lambda tx: _record(tx, record, mlflow_run_id))
            except Exception as exc:
                runs.fail(reg, mlflow_run_id, f"the graph refused the post-mortem: {exc}")
                raise
            with _timed(spent, "registry"):
                registered.mark_drift(reg, resolved, marked)
            with _timed(spent, "lineage event"):
                lineage_event = _emit_lineage(
                    settings, run_id, pm_id, campaign_id, snapshots, findings, mlflow_run_id
                )
        if report is not None:
            report.write_text(html, encoding="utf-8")
        return (
            PostMortemRun(
                postmortem_id=pm_id,
                run_id=run_node,
                created=pm_id not in existing,
                campaign_id=campaign_id,
                baseline_ids=result.baseline_ids,
                snapshot_ids=sorted(snapshots),
                mlflow_run_id=mlflow_run_id,
                models={
                    name: r.ref + ("" if r.alias is None else f" (v{r.version})")
                    for name, r in resolved.items()
                },
                drift=[d.to_json() for d in drifts],
                replay_of=replay_of,
                findings=findings,
                action_items=[i.model_dump(mode="json") for i in result.plan.items],
                seconds={**result.seconds, **{k: round(v, 3) for k, v in spent.items()}},
                report=str(report) if report is not None else None,
                lineage_event=lineage_event,
            ),
            result,
        )


@contextmanager
def _timed(spent: dict[str, float], key: str) -> Iterator[None]:
    """Add the block's wall time to `spent[key]` (the registry's share is what its benchmark reads)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - started


def _emit_lineage(
    settings: Settings,
    run_id: str,
    pm_id: str,
    campaign_id: str,
    snapshots: Mapping[str, Mapping[str, Any]],
    findings: list[dict[str, Any]],
    mlflow_run_id: str | None,
) -> str | None:
    """The OpenLineage run event, when a target is configured. The post-mortem is already stored:
    a lineage endpoint that is down is reported, not a reason to lose the run."""
    if not settings.openlineage_url and settings.openlineage_file is None:
        return None
    from registry import openlineage

    now = datetime.now(UTC)
    event = openlineage.postmortem_event(
        namespace=settings.openlineage_namespace,
        run_id=run_id,
        postmortem_id=pm_id,
        campaign_id=campaign_id,
        snapshots=[
            {
                "id": sid,
                "sha256": sid,
                "table": p.get("table", ""),
                "mapping": p.get("mapping", ""),
                "source": p.get("source", ""),
                "rows": p.get("rows"),
            }
            for sid, p in sorted(snapshots.items())
        ],
        findings=[
            {"id": f"finding:{run_id[:12]}:{f['id']}", "title": f["title"], "category": f["category"]}
            for f in findings
        ],
        started=now,
        ended=now,
        mlflow_run_id=mlflow_run_id,
    )
    try:
        return openlineage.emit(settings, event)
    except WarrantError as exc:
        return f"not sent: {exc}"


def _windows(files: SnapshotFiles, snapshots: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """{platform (as in ad rows): the attribution window its export reported conversions with}."""
    out = {}
    for snapshot_id, p in sorted(snapshots.items()):
        if p.get("attribution_window") and p.get("table") == "ad_performance":
            platforms = pl.read_parquet(files.path(snapshot_id), columns=["platform"])["platform"]
            out.update(dict.fromkeys(platforms.drop_nulls().unique().to_list(), str(p["attribution_window"])))
    return out


def _pinned(store: GraphStore, snapshot_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found = store.properties_of(snapshot_ids)
    missing = [s for s in snapshot_ids if s not in found or found[s][0] != "Snapshot"]
    if missing:
        raise NotFound(f"no snapshot {missing[0]!r}")
    return {s: found[s][1] for s in snapshot_ids}


def _snapshot_inputs(
    store: GraphStore, files: SnapshotFiles, snapshots: Mapping[str, Mapping[str, Any]]
) -> list[Any]:
    from registry.runs import SnapshotInput

    out = []
    for snapshot_id, props in sorted(snapshots.items()):
        extracts = [
            {"id": extract_id, "path": extract.get("path") or str(files.path(snapshot_id))}
            for extract_id, (label, extract) in sorted(
                store.linked(snapshot_id, Rel.WAS_DERIVED_FROM, incoming=False).items()
            )
            if label == "Extract"
        ]
        out.append(
            SnapshotInput(
                id=snapshot_id,
                table=props.get("table", ""),
                mapping=props.get("mapping", ""),
                rows=props.get("rows"),
                extracts=extracts or [{"id": snapshot_id, "path": str(files.path(snapshot_id))}],
            )
        )
    return out


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


@functools.cache
def _code_version() -> str:
    """The package version and a hash of the engine's source: a changed rule is a different run."""
    try:
        version = metadata.version("warrant")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256()
    for path in sorted(Path(engine.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{version}+{digest.hexdigest()[:12]}"


def _run_id(
    snapshot_ids: list[str],
    assumptions: Assumptions,
    icp: dict[str, list[str]] | None,
    models: dict[str, str],
) -> str:
    """Same snapshots, assumptions, ICP, model versions and code: the same run."""
    inputs = {
        "snapshots": snapshot_ids,
        "assumptions": assumptions.model_dump(mode="json"),
        "icp": icp or {},
        "models": models,
        "code": _code_version(),
    }
    text = json.dumps(inputs, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _finding_json(finding: Any) -> dict[str, Any]:
    data = finding.model_dump(mode="json", exclude={"evidence"})
    data["label"] = finding.label
    return data


@dataclass(frozen=True)
class _Record:
    pm_id: str
    run_id: str
    result: PostMortemResult
    snapshot_ids: list[str]
    overrides: dict[str, Any]
    icp: dict[str, list[str]] | None
    resolved: Mapping[str, Any]  # name -> registry.models.Resolved
    drifted: dict[str, str]  # model name -> why its inputs drifted
    replay_of: str | None


_SEVERITY = ("AHEAD", "ON TRACK", "OVER PLAN", "NEAR FLAG", "FLAGGED")
_MONEY_OUTCOMES = ("pipeline", "revenue", "romi")
_SEARCH_TEXT_MAX = 20_000


def _library_fields(result: PostMortemResult, campaign: Mapping[str, Any]) -> dict[str, Any]:
    """What the library filters, counts and searches on, copied onto the PostMortem as it is recorded:
    a search then reads PostMortem nodes only, not each hit's findings, action items and campaign."""
    channels = {s.key[0] for s in result.dissection.by.get("channel", ()) if s.key and s.key[0] != NONE}
    channels |= {f.subject["channel"] for f in result.findings if f.subject.get("channel")}
    statuses = [row.status for row in result.scorecard.rows if row.metric in _MONEY_OUTCOMES and row.status]
    texts = [
        result.campaign_id,
        campaign.get("name") or "",
        *(text for f in result.findings for text in (f.title, f.statement)),
        *(item.title for item in result.plan.items),
        # The events that confound a finding ("site (2026-08-10, ...): Landing page redesign"), once
        # each: an analyst looks for "the redesign" by the event's name, which no finding repeats.
        *dict.fromkeys(c for f in result.findings if f.checks for c in f.checks.confounders),
    ]
    return {
        "campaign": result.campaign_id,
        "period_start": _day(campaign.get("start")),
        "period_end": _day(campaign.get("end")),
        "channels": sorted(channels),
        "categories": sorted({f.category for f in result.findings}),
        "tags": [],  # an editor's to set (store.update); the engine has none to give
        # The worst status the scorecard gave the money outcomes; "unknown" when it judged none.
        "outcome": max(statuses, key=_SEVERITY.index).lower().replace(" ", "_") if statuses else "unknown",
        "search_text": "\n".join(t for t in texts if t)[:_SEARCH_TEXT_MAX],
    }


def _day(value: Any) -> str | None:
    """An ISO date from a campaign's start or end; None when it has none (or not a date)."""
    try:
        return date.fromisoformat(str(value)[:10]).isoformat() if value else None
    except ValueError:
        return None


def _record(tx: Tx, r: _Record, mlflow_run_id: str | None) -> None:
    run = f"run:{r.run_id}"
    result = r.result
    campaign = tx.fetch([result.campaign_id]).get(result.campaign_id, ("", {}))[1]
    nodes: list[Any] = [
        DiagnosticRun(
            id=run,
            mlflow_run_id=mlflow_run_id,
            assumption_set=json.dumps(result.assumptions.model_dump(mode="json"), sort_keys=True),
            code_version=_code_version(),
            icp=json.dumps(r.icp or {}, sort_keys=True),
            models=json.dumps({n: m.version for n, m in r.resolved.items()}, sort_keys=True),
            overrides=json.dumps(r.overrides, sort_keys=True),
        ),
        PostMortem(
            id=r.pm_id,
            title=f"Post-mortem of {result.campaign_id}",
            summary=" ".join(f.statement for f in result.findings[:5]),
            **_library_fields(result, campaign),
        ),
    ]
    edges = [(run, Rel.USED, s) for s in r.snapshot_ids]
    edges += [(r.pm_id, Rel.WAS_GENERATED_BY, run), (r.pm_id, Rel.ABOUT, result.campaign_id)]
    if r.replay_of:
        edges.append((r.pm_id, Rel.REPLAY_OF, r.replay_of))
    versions = {m.node_id: m for m in r.resolved.values()}
    stored = tx.fetch(versions)
    drift_reason: dict[str, str] = {}
    marks: dict[str, dict[str, Any]] = {}
    for name, m in r.resolved.items():
        props = stored.get(m.node_id, ("", {}))[1]
        if m.node_id not in stored:
            nodes.append(
                ModelVersion(
                    id=m.node_id,
                    name=m.registered,
                    model_version=m.version,
                    alias=m.alias,
                    code_version=m.code_version,
                    params=json.dumps(m.params, sort_keys=True),
                    drifted=name in r.drifted,
                    drift_reason=r.drifted.get(name),
                    drift_at=tx.now if name in r.drifted else None,
                )
            )
        if name in r.drifted:
            drift_reason[name] = f"{m.ref}: {r.drifted[name]}"
            if props.get("drifted") is not True and m.node_id in stored:
                marks[m.node_id] = {"drifted": True, "drift_reason": r.drifted[name], "drift_at": tx.now}
        elif props.get("drifted"):
            drift_reason[name] = f"{m.ref}: {props.get('drift_reason')}"
        edges.append((run, Rel.USED, m.node_id))
    for f in result.findings:
        node_id = f"finding:{r.run_id[:12]}:{f.id}"
        checks = f.checks
        model = FINDING_MODEL.get(f.kind)
        reason = drift_reason.get(model) if model else None
        nodes.append(
            Finding(
                id=node_id,
                title=f.title,
                kind=f.kind,
                category=f.category,
                statement=f.statement,
                effect_size=f.effect.value if f.effect else None,
                sample_size_ok=checks.sample_size_ok if checks else None,
                confounders_ok=checks.confounders_ok if checks else None,
                actionable=checks.actionable if checks else None,
                drifted=reason is not None,
                drift_reason=reason,
                drift_at=tx.now if reason else None,
            )
        )
        edges += [(node_id, Rel.WAS_GENERATED_BY, run), (node_id, Rel.PART_OF, r.pm_id)]
    for item in result.plan.items:
        node_id = f"action:{r.run_id[:12]}:{item.finding_id}"
        nodes.append(ActionItem(id=node_id, title=item.title))
        edges += [
            (node_id, Rel.JUSTIFIED_BY, f"finding:{r.run_id[:12]}:{item.finding_id}"),
            (node_id, Rel.PART_OF, r.pm_id),
        ]
    tx.merge(nodes)
    tx.revise({i: stored[i][1] for i in marks}, marks)
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


class Replay(BaseModel):
    run: PostMortemRun
    diff: ReplayDiff


def replay(
    settings: Settings,
    postmortem_id: str,
    *,
    sets: Sequence[str] = (),
    models: Sequence[str] = (),
    report: Path | None = None,
    store: GraphStore | None = None,
) -> Replay:
    """Run a stored post-mortem again on the same snapshots under other assumptions (`sets`:
    KEY=VALUE) or model versions (`models`: NAME@ALIAS or NAME/VERSION), link it REPLAY_OF the
    original, and diff the two finding by finding."""
    from registry import assumption_sets
    from registry import models as registered

    changes = assumption_sets.parse_sets(sets)
    refs = dict(registered.parse_ref(m) for m in models)
    with store_for(settings, store) as graph:
        original = _stored_run(graph, postmortem_id)
        pinned = {name: f"v{version}" for name, version in original["models"].items()}
        stored, _ = run_postmortem(
            settings,
            original["campaign"],
            overrides=assumption_sets.deep_merge(original["overrides"], changes),
            models={**pinned, **refs},
            report=report,
            icp=original["icp"] or None,
            snapshot_ids=original["snapshots"],
            replay_of=postmortem_id,
            store=graph,
        )
        return Replay(run=stored, diff=compare(settings, postmortem_id, stored.postmortem_id, store=graph))


def compare(settings: Settings, original: str, other: str, *, store: GraphStore | None = None) -> ReplayDiff:
    """Two stored post-mortems compared finding by finding (a replay and its original, or any two
    runs of one campaign): what was added, removed or changed, and which assumption or model
    change explains it; the scorecards from both runs' MLflow metrics."""
    from registry import diff
    from registry.tracking import registry

    with store_for(settings, store) as graph:
        before, after = _stored_run(graph, original), _stored_run(graph, other)
        if before["campaign"] != after["campaign"]:
            raise InvalidGraphInput(
                f"{original} is about {before['campaign']} and {other} about {after['campaign']}: "
                "only post-mortems of one campaign compare finding by finding"
            )
        with registry(settings) as reg:
            card_before = _scorecard_metrics(reg, before["mlflow_run_id"])
            card_after = _scorecard_metrics(reg, after["mlflow_run_id"])
        return diff.diff(
            original=original,
            replay=other,
            before=before["findings"],
            after=after["findings"],
            assumptions_before=before["assumptions"],
            assumptions_after=after["assumptions"],
            models_before=before["models"],
            models_after=after["models"],
            scorecard_before=card_before,
            scorecard_after=card_after,
        )


def _stored_run(store: GraphStore, postmortem_id: str) -> dict[str, Any]:
    """A stored post-mortem's run as the replay needs it: campaign, snapshots, models, assumptions,
    overrides, ICP and findings by logical id."""
    found = store.properties_of([postmortem_id]).get(postmortem_id)
    if found is None or found[0] != "PostMortem":
        raise NotFound(f"no post-mortem {postmortem_id!r}")
    runs = [
        (i, p)
        for i, (label, p) in store.linked(postmortem_id, Rel.WAS_GENERATED_BY, incoming=False).items()
        if label == "DiagnosticRun"
    ]
    if not runs:
        raise NotFound(f"{postmortem_id} has no diagnostic run to replay")
    run_id, run = runs[0]
    used = store.linked(run_id, Rel.USED, incoming=False)
    campaign = [
        i
        for i, (label, _) in store.linked(postmortem_id, Rel.ABOUT, incoming=False).items()
        if label == "Campaign"
    ]
    prefix = f"finding:{run_id.removeprefix('run:')[:12]}:"
    findings = {
        i.removeprefix(prefix): p
        for i, (label, p) in store.linked(postmortem_id, Rel.PART_OF).items()
        if label == "Finding"
    }
    return {
        "campaign": campaign[0] if campaign else "",
        "snapshots": sorted(i for i, (label, _) in used.items() if label == "Snapshot"),
        "models": json.loads(run.get("models") or "{}"),
        "assumptions": json.loads(run.get("assumption_set") or "{}"),
        "overrides": json.loads(run.get("overrides") or "{}"),
        "icp": json.loads(run.get("icp") or "{}"),
        "mlflow_run_id": run.get("mlflow_run_id"),
        "findings": findings,
    }


def _scorecard_metrics(reg: Any, mlflow_run_id: str | None) -> dict[str, float] | None:
    if not mlflow_run_id:
        return None
    try:
        data = reg.client.get_run(mlflow_run_id).data.metrics
    except Exception:
        return None
    return {k: v for k, v in data.items() if k.startswith("scorecard.")}
