"""Monitoring after execution: realised against promised, and action items' expected effects.

`monitor` is run after new snapshots arrive (`warrant monitor`, and after every ingest). It reads
only snapshots ingested after the change it judges (so the promise is never held against the data
that made it), writes each verdict in one unit of work with its audit event, and is idempotent:
run twice on the same data it changes nothing the second time.

A shortfall (realised leads a day below the promised interval) becomes a `promise_shortfall`
Finding derived from the new snapshots and the decision, tells the proposer and approvers, and, if
the spend really moved as ordered, drafts the reverse reallocation in the proposer's name
(`rolls_back` the original), which goes through the same gates as any decision; executing it marks
the original rolled back. If the spend did not move, the finding fails its confounder check and no
rollback is drafted: the curves were never tested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from diagnostics import monitoring as judge_
from governance import audit
from governance import decisions as engine
from governance import policy as gates
from graph.errors import InvalidGraphInput, NotFound
from graph.model import Finding, Notification, Rel
from graph.store import GraphStore, Tx

TABLES = ("ad_performance", "leads")
FINAL = ("shortfall", "met", "exceeded")
Reader = Callable[[str], pl.DataFrame]


@dataclass
class Report:
    """What one monitoring pass found: a line per decision and action item it looked at."""

    decisions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    proposed: list[str] = field(default_factory=list)


def _day(stamp: str) -> dt.date:
    return dt.date.fromisoformat(stamp[:10])


def snapshots_after(store: GraphStore, since: str) -> dict[str, dict[str, Any]]:
    """The newest ad and lead snapshot per (table, mapping) ingested after `since`."""
    latest: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for node_id, (_, p) in store.nodes("Snapshot").items():
        if p.get("table") not in TABLES or p["created_at"] <= since:
            continue
        key = (p["table"], p.get("mapping", ""))
        if key not in latest or p["created_at"] > latest[key][1]["created_at"]:
            latest[key] = (node_id, p)
    return dict(latest.values())


def _platform_channels(store: GraphStore) -> dict[str, str]:
    """{ad platform: unified channel}, from every campaign's taxonomy."""
    out: dict[str, str] = {}
    for _, (_, p) in sorted(store.nodes("Campaign").items()):
        for platform in json.loads(p.get("taxonomy") or "[]"):
            out[platform["platform"]] = platform["channel"]
    return out


def _frames(store: GraphStore, snapshots: dict[str, dict[str, Any]], read: Reader) -> dict[str, pl.DataFrame]:
    parts: dict[str, list[pl.DataFrame]] = {}
    for snapshot_id, p in sorted(snapshots.items()):
        parts.setdefault(p["table"], []).append(read(snapshot_id))
    tables = {t: pl.concat(frames, how="diagonal_relaxed") for t, frames in parts.items()}
    if "ad_performance" in tables:
        tables["ad_performance"] = judge_.ad_channels(tables["ad_performance"], _platform_channels(store))
    return tables


def _confirmed_at(store: GraphStore, decision_id: str) -> str | None:
    for _, (label, p) in store.linked(decision_id, Rel.ABOUT).items():
        if label == "Execution" and p.get("status") == "confirmed":
            return str(p.get("updated_at") or p["created_at"])
    return None


def monitor(
    store: GraphStore,
    policies: gates.PolicySet,
    read: Reader,
    *,
    min_days: int = 7,
    threshold: int = 50_000,
) -> Report:
    """Judge every executed decision with a promise, and check every action item whose expected
    effect's date the new data covers."""
    report = Report()
    decisions = store.nodes("Decision")
    reversed_ = {p.get("rolls_back") for _, (_, p) in decisions.items()} - {None}
    for decision_id, (_, d) in sorted(decisions.items()):
        if d.get("state") not in ("executed", "verified") or not d.get("promise"):
            continue
        if d.get("monitor_status") not in FINAL:
            report.decisions.append(_judge_decision(store, decision_id, d, read, min_days))
        if decision_id not in reversed_:
            rollback = _rollback(store, policies, decision_id, threshold)
            if rollback:
                report.proposed.append(rollback)
    for item_id, (_, a) in sorted(store.nodes("ActionItem").items()):
        if a.get("expect") and a.get("outcome") not in ("achieved", "missed"):
            report.actions.append(_check_action(store, item_id, a, read))
    return report


def _judge_decision(
    store: GraphStore, decision_id: str, d: dict[str, Any], read: Reader, min_days: int
) -> dict[str, Any]:
    confirmed = _confirmed_at(store, decision_id)
    if confirmed is None:
        return {"id": decision_id, "status": "waiting", "message": "no confirmed execution"}
    snaps = snapshots_after(store, confirmed)
    tables = _frames(store, snaps, read)
    start = _day(confirmed) + dt.timedelta(days=1)  # the first full day on the new budget
    covered = judge_.coverage_end(tables.get("ad_performance"), tables.get("leads"))
    if "leads" not in tables or covered is None or covered < start:
        return {
            "id": decision_id,
            "status": "waiting",
            "message": f"no lead data from {start} on yet (ingest the exports after the change)",
        }
    promise = judge_.Promise.model_validate_json(d["promise"])
    realised = judge_.realised(tables.get("ad_performance"), tables["leads"], promise, start, covered)
    verdict = judge_.judge(promise, realised, min_days=min_days)
    if verdict.status == d.get("monitor_status") and verdict.message == d.get("monitor"):
        return {"id": decision_id, "status": verdict.status, "message": verdict.message}
    evidence = sorted(snaps)
    finding = _shortfall_finding(decision_id, d, verdict, evidence) if verdict.status == "shortfall" else None

    def work(tx: Tx) -> None:
        current = tx.fetch([decision_id])[decision_id][1]
        tx.update(
            decision_id, {"monitor_status": verdict.status, "monitor": verdict.message}, current["version"]
        )
        audit.append(
            tx,
            "decision.monitored",
            decision_id,
            {
                "status": verdict.status,
                "message": verdict.message,
                "snapshots": evidence,
                "realised": verdict.realised.leads_per_day.value,
                "promised": promise.expected_after.value,
                "spend_moved": verdict.spend_moved,
            },
        )
        if finding is None:
            return
        if not tx.fetch([finding.id]):
            tx.create([finding])
        tx.link(
            [(finding.id, Rel.WAS_DERIVED_FROM, s) for s in evidence]
            + [(finding.id, Rel.WAS_DERIVED_FROM, decision_id), (finding.id, Rel.ABOUT, decision_id)]
        )
        _notify(
            tx, current, decision_id, f"{decision_id} ({current.get('title')}) fell short: {verdict.message}"
        )

    store.unit_of_work(work, by="monitor")
    return {"id": decision_id, "status": verdict.status, "message": verdict.message}


def _shortfall_finding(
    decision_id: str, d: dict[str, Any], verdict: judge_.Judgement, evidence: list[str]
) -> Finding:
    key = hashlib.sha256("\0".join([decision_id, *evidence]).encode()).hexdigest()[:10]
    promised = verdict.promise.expected_after.value or 0.0
    seen = verdict.realised.leads_per_day.value or 0.0
    return Finding(
        id=f"finding:monitor:{decision_id.removeprefix('decision:')}:{key}",
        title=f"{d.get('title')}: fewer leads than promised",
        kind="promise_shortfall",
        category="channel_mix",
        statement=verdict.message,
        effect_size=seen - promised,
        sample_size_ok=True,  # `judge` says too early below `min_days`
        confounders_ok=verdict.spend_moved,
        actionable=True,
    )


def _notify(tx: Tx, decision: dict[str, Any], decision_id: str, message: str) -> None:
    people = dict.fromkeys([decision.get("proposer") or "", *(decision.get("approvers") or [])])
    notes = [
        Notification(
            id=f"notification:{decision_id.removeprefix('decision:')}:{person_id}:{tx.now}",
            person=person_id,
            subject_id=decision_id,
            message=message,
        )
        for person_id in filter(None, people)
    ]
    tx.create(notes)
    tx.link([(n.id, Rel.ABOUT, decision_id) for n in notes])


def _rollback(store: GraphStore, policies: gates.PolicySet, decision_id: str, threshold: int) -> str | None:
    """Draft the reverse reallocation of a decision that fell short with the spend moved as
    ordered (the caller has checked that none exists: one scan of the decisions per pass, not one
    per decision); a separate unit of work from the verdict, so it is retried by the next pass if
    it did not happen."""
    d = engine.load(store, decision_id)
    if d.get("monitor_status") != "shortfall":
        return None
    shortfalls = sorted(
        (i, p)
        for i, (label, p) in store.linked(decision_id, Rel.ABOUT).items()
        if label == "Finding" and p.get("kind") == "promise_shortfall" and p.get("confounders_ok")
    )
    if not shortfalls:
        return None
    finding_id = shortfalls[-1][0]
    node = engine.propose(
        store,
        policies,
        by=d["proposer"],
        kind="budget_reallocation",
        title=f"Roll back: {d['title']}",
        findings=[finding_id],
        amount=d.get("amount"),
        from_channel=d.get("to_channel"),
        to_channel=d.get("from_channel"),
        period_days=d.get("period_days"),
        rationale=f"Drafted by monitoring: {decision_id} fell short of its promise "
        f"({shortfalls[-1][1]['statement']})",
        rolls_back=decision_id,
        promise_note=f"a rollback restores the split before {decision_id}",
        threshold=threshold,
    )
    return node.id


def _campaign_window(store: GraphStore, postmortem_id: str) -> tuple[judge_.Window, list[str]]:
    campaigns = [
        p
        for _, (label, p) in store.linked(postmortem_id, Rel.ABOUT, incoming=False).items()
        if label == "Campaign"
    ]
    if not campaigns or not campaigns[0].get("start") or not campaigns[0].get("end"):
        raise InvalidGraphInput(f"{postmortem_id} has no campaign with dates to take a baseline from")
    runs = [
        i
        for i, (label, _) in store.linked(postmortem_id, Rel.WAS_GENERATED_BY, incoming=False).items()
        if label == "DiagnosticRun"
    ]
    snapshots = sorted(
        i
        for run in runs
        for i, (label, p) in store.linked(run, Rel.USED, incoming=False).items()
        if label == "Snapshot" and p.get("table") in TABLES
    )
    window = judge_.Window(start=_day(campaigns[0]["start"]), end=_day(campaigns[0]["end"]))
    return window, snapshots


def expect(
    store: GraphStore,
    item_id: str,
    expectation: judge_.Expectation,
    read: Reader,
    *,
    by: str,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Give an action item its expected effect; the baseline is the metric over the campaign's
    dates in the snapshots its post-mortem used."""
    engine.person(store, by)
    found = store.properties_of([item_id]).get(item_id)
    if found is None or found[0] != "ActionItem":
        raise NotFound(f"no action item {item_id!r}")
    today = today or dt.datetime.now(dt.UTC).date()
    if expectation.by <= today:
        raise InvalidGraphInput(
            f"the expected effect's date ({expectation.by}) must be after today ({today})"
        )
    postmortems = [
        i
        for i, (label, _) in store.linked(item_id, Rel.PART_OF, incoming=False).items()
        if label == "PostMortem"
    ]
    if not postmortems:
        raise NotFound(f"{item_id} belongs to no post-mortem")
    window, snapshots = _campaign_window(store, postmortems[0])
    props = store.properties_of(snapshots)
    tables = _frames(store, {s: props[s][1] for s in snapshots}, read)
    baseline = judge_.metric_value(
        expectation.metric, tables.get("ad_performance"), tables.get("leads"), expectation.channels, window
    )
    if baseline is None:
        raise InvalidGraphInput(
            f"{expectation.metric} has no value in the post-mortem's data over {window.start}..{window.end}"
            f"{' for ' + ', '.join(expectation.channels) if expectation.channels else ''}: "
            "nothing to measure against"
        )

    def work(tx: Tx) -> dict[str, Any]:
        current = tx.fetch([item_id])[item_id][1]
        changes = {
            "expect": expectation.model_dump_json(),
            "expect_set_at": tx.now,
            "expect_baseline": baseline,
            "outcome": None,
            "outcome_value": None,
            "outcome_note": "",
        }
        tx.update(item_id, changes, current["version"])
        audit.append(
            tx, "action.expected", item_id, {"by": by, "expect": expectation.sentence(), "baseline": baseline}
        )
        return tx.fetch([item_id])[item_id][1]

    return store.unit_of_work(work, by=by)


def _check_action(store: GraphStore, item_id: str, a: dict[str, Any], read: Reader) -> dict[str, Any]:
    expectation = judge_.Expectation.model_validate_json(a["expect"])
    snaps = snapshots_after(store, a["expect_set_at"])
    tables = _frames(store, snaps, read)
    covered = judge_.coverage_end(tables.get("ad_performance"), tables.get("leads"))
    if covered is None or covered < expectation.by:
        return {
            "id": item_id,
            "outcome": "waiting",
            "message": f"{expectation.sentence()}: data covers {covered or 'nothing'} so far",
        }
    window = judge_.Window(start=_day(a["expect_set_at"]) + dt.timedelta(days=1), end=expectation.by)
    value = judge_.metric_value(
        expectation.metric, tables.get("ad_performance"), tables.get("leads"), expectation.channels, window
    )
    result = judge_.check(expectation, a.get("expect_baseline"), value)
    if result.outcome == a.get("outcome") and result.message == a.get("outcome_note"):
        return {"id": item_id, "outcome": result.outcome, "message": result.message}

    def work(tx: Tx) -> None:
        current = tx.fetch([item_id])[item_id][1]
        tx.update(
            item_id,
            {"outcome": result.outcome, "outcome_value": value, "outcome_note": result.message},
            current["version"],
        )
        audit.append(
            tx,
            f"action.{result.outcome}",
            item_id,
            {"message": result.message, "snapshots": sorted(snaps), "value": value},
        )

    store.unit_of_work(work, by="monitor")
    return {"id": item_id, "outcome": result.outcome, "message": result.message}


def summary(report: Report) -> str:
    """The pass in a few lines, for the CLI."""
    lines = [f"{r['id']}: {r['status']}: {r['message']}" for r in report.decisions]
    lines += [f"{r['id']}: {r['outcome']}: {r['message']}" for r in report.actions]
    lines += [f"drafted rollback {i} (submit it for approval)" for i in report.proposed]
    return (
        "\n".join(lines)
        or "nothing to monitor: no executed decision with a promise, no action item with an expected effect"
    )
