"""Monitoring on the real parts: the demo post-mortem (sample S, seed 7) logged to a real MLflow
store prices a budget reallocation; it is approved by the Cedar gates and executed on the simulated
platform; exports dated after the change are written as a Fivetran ad report and a Salesforce leads
report, ingested through the quality gates, and `monitor` holds the realised leads to the promise.

The expected figures are computed here from what the test wrote (leads a day, spend a day) and
from the Hill curves read back with the stock MLflow client, not from the monitoring code."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from mlflow import MlflowClient

from api.services import decisions as service
from api.services.ingest import ingest
from api.services.postmortem import PostMortemRun
from governance import audit
from graph.connect import open_store
from graph.errors import InvalidGraphInput
from graph.lineage import trace
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore
from tests.demo import CAMPAIGN, demo_database

PLATFORMS = {"paid_search": ("google_ads", "Brand - US"), "paid_social": ("facebook_ads", "Prospecting")}
AD_COLUMNS = [
    "source_relation",
    "date_day",
    "platform",
    "account_id",
    "account_name",
    "campaign_id",
    "campaign_name",
    "ad_group_id",
    "ad_group_name",
    "ad_id",
    "ad_name",
    "clicks",
    "impressions",
    "spend",
    "conversions",
    "conversions_value",
]
LEAD_COLUMNS = [
    "Lead ID",
    "Created Date",
    "Lead Source",
    "Lead Status",
    "Campaign ID",
    "UTM Source",
    "UTM Medium",
    "UTM Campaign",
    "MQL Date",
    "SQL Date",
    "Converted Date",
    "Lead Owner",
    "Industry",
    "Employees",
    "Country",
]
LEAD_SOURCES = {
    "paid_search": ("Paid Search", "google", "cpc"),
    "paid_social": ("Paid Social", "facebook", "cpm"),
}


@dataclass
class Demo:
    settings: Settings
    run: PostMortemRun
    tmp: pytest.TempPathFactory

    @property
    def key(self) -> str:
        return self.run.run_id.removeprefix("run:")[:12]

    @property
    def finding(self) -> str:
        return f"finding:{self.key}:funnel:{CAMPAIGN}:impressions->clicks"


@pytest.fixture(scope="module")
def demo(
    embedded_settings: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    with demo_database(embedded_settings, admin_store, tmp_path_factory, "monitoring") as (settings, run):
        service.add_person(settings, "ann", "Ann Analyst", ["analyst"])
        service.add_person(settings, "lee", "Lee Lead", ["governance_lead"])
        yield Demo(settings, run, tmp_path_factory)


@pytest.fixture
def store(demo: Demo) -> Iterator[GraphStore]:
    with open_store(demo.settings) as graph:
        yield graph


def _hill(curve: dict[str, float], spend: float) -> float:
    return curve["ymax"] * spend ** curve["k"] / (spend ** curve["k"] + curve["half"] ** curve["k"])


def _logged_response(demo: Demo, tmp: Path) -> dict[str, Any]:
    """The response model's output as logged, read back with nothing but the stock MLflow client."""
    client = MlflowClient(tracking_uri=f"sqlite:///{demo.settings.mlflow_dir / 'mlflow.db'}")
    return json.loads(
        Path(client.download_artifacts(demo.run.mlflow_run_id, "outputs/response.json", str(tmp))).read_text()
    )


def _executed(demo: Demo, title: str, source: str, target: str, amount: float) -> dict[str, Any]:
    d = service.propose(
        demo.settings,
        by="ann",
        kind="budget_reallocation",
        title=title,
        findings=[demo.finding],
        amount=amount,
        from_channel=source,
        to_channel=target,
    )
    service.act(demo.settings, d["id"], "submit", by="ann")
    service.act(demo.settings, d["id"], "approve", by="lee")
    return service.execute(demo.settings, d["id"], by="lee", adapter="simulated")


def _first_day(store: GraphStore, decision_id: str) -> dt.date:
    """The first full day on the new budget: the day after the platform confirmed the change."""
    [confirmed] = [
        p for _, (label, p) in store.linked(decision_id, Rel.ABOUT).items() if label == "Execution"
    ]
    return dt.date.fromisoformat(confirmed["updated_at"][:10]) + dt.timedelta(days=1)


def _exports(
    directory: Path, start: dt.date, days: int, spend: dict[str, float], leads: dict[str, int]
) -> tuple[Path, Path]:
    """A Fivetran ad report (spend a day per channel) and a Salesforce leads report (leads a day
    per channel) for `days` days from `start`."""
    directory.mkdir(parents=True, exist_ok=True)
    ads, crm = directory / "ads.csv", directory / "leads.csv"
    with ads.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(AD_COLUMNS)
        for i in range(days):
            day = (start + dt.timedelta(days=i)).isoformat()
            for n, (channel, per_day) in enumerate(sorted(spend.items())):
                platform, campaign = PLATFORMS[channel]
                out.writerow(
                    [f"{platform}_source", day, platform, "1234567890", "Acme", f"99000{n}", campaign,
                     f"88000{n}", "group", f"77000{n}", "ad", 100, 4000, f"{per_day:.2f}", 1, "10.00"]
                )  # fmt: skip
    with crm.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(LEAD_COLUMNS)
        serial = 0
        for i in range(days):
            day = start + dt.timedelta(days=i)
            for channel, count in sorted(leads.items()):
                label, source, medium = LEAD_SOURCES[channel]
                for _ in range(count):
                    serial += 1
                    out.writerow(
                        [f"00Q{directory.name[:6]}{serial:07d}", f"{day.month}/{day.day}/{day.year}", label,
                         "Open", "", source, medium, "990000", "", "", "", "Dana Whitfield", "Software",
                         "120", "United States"]
                    )  # fmt: skip
    return ads, crm


def _ingest(demo: Demo, ads: Path, crm: Path) -> list[str]:
    return [
        ingest(demo.settings, [ads], "fivetran_ad_report").snapshot_id,
        ingest(demo.settings, [crm], "salesforce_leads").snapshot_id,
    ]


def test_a_reallocation_is_priced_on_the_curves_its_post_mortem_logged(demo: Demo, tmp_path: Path) -> None:
    d = service.propose(
        demo.settings,
        by="ann",
        kind="budget_reallocation",
        title="Price a move from social to search",
        findings=[demo.finding],
        amount=5_600,
        from_channel="paid_social",
        to_channel="paid_search",
    )
    promise = json.loads(d["promise"])
    logged = _logged_response(demo, tmp_path)
    curves = {c["channel"]: c["curve"] for c in logged["curves"]}
    now = {c["channel"]: c["current"] for c in logged["channels"]}
    after = {"paid_social": now["paid_social"] - 200, "paid_search": now["paid_search"] + 200}  # 5,600 / 28
    assert d["period_days"] == 28 and promise["daily_shift"] == pytest.approx(200)
    assert promise["spend_before"] == pytest.approx({c: now[c] for c in after})
    assert promise["spend_after"] == pytest.approx(after)
    assert promise["expected_before"]["value"] == pytest.approx(sum(_hill(curves[c], now[c]) for c in after))
    assert promise["expected_after"]["value"] == pytest.approx(sum(_hill(curves[c], after[c]) for c in after))
    band = promise["expected_after"]["interval"]
    assert band["low"] < promise["expected_after"]["value"] < band["high"]


def test_a_channel_without_a_curve_is_proposed_without_a_promise_and_says_why(demo: Demo) -> None:
    d = service.propose(
        demo.settings,
        by="ann",
        kind="budget_reallocation",
        title="Move budget to display",
        findings=[demo.finding],
        amount=1_000,
        from_channel="paid_social",
        to_channel="display",
    )
    assert d["promise"] == "" and "no response curve for display" in d["promise_note"]


def test_a_shortfall_raises_a_finding_notifies_and_drafts_a_rollback_once(
    demo: Demo, store: GraphStore, tmp_path: Path
) -> None:
    done = _executed(demo, "Move 5.6k from social to search", "paid_social", "paid_search", 5_600)
    decision_id = done["id"]
    promise = json.loads(done["promise"])
    waiting = service.monitor(demo.settings)
    assert [r["status"] for r in waiting.decisions if r["id"] == decision_id] == ["waiting"]

    start = _first_day(store, decision_id)
    ordered = promise["spend_after"]  # the platform really moved the spend
    snapshots = _ingest(
        demo, *_exports(tmp_path / "short", start, 14, ordered, {"paid_search": 2, "paid_social": 3})
    )
    report = service.monitor(demo.settings)

    [verdict] = [r for r in report.decisions if r["id"] == decision_id]
    assert verdict["status"] == "shortfall"
    stored = store.properties_of([decision_id])[decision_id][1]
    assert stored["monitor_status"] == "shortfall" and stored["state"] == "executed"
    [(finding_id, finding)] = [
        (i, p) for i, (label, p) in store.linked(decision_id, Rel.ABOUT).items() if label == "Finding"
    ]
    assert finding["kind"] == "promise_shortfall" and finding["confounders_ok"] is True
    assert finding["effect_size"] == pytest.approx(
        5.0 - promise["expected_after"]["value"]
    )  # 70 leads / 14 days
    lineage = trace(store, finding_id)
    assert set(snapshots) <= set(lineage.nodes)  # an auditor walks from the shortfall to the new exports
    assert {n["label"] for n in lineage.nodes.values()} >= {"Extract", "Source", "Decision"}
    for person in ("ann", "lee"):
        assert any(
            decision_id in n["message"] and "fell short" in n["message"]
            for n in service.inbox(demo.settings, person)
        )

    [rollback_id] = report.proposed
    rollback = store.properties_of([rollback_id])[rollback_id][1]
    assert (rollback["from_channel"], rollback["to_channel"], rollback["amount"]) == (
        "paid_search",
        "paid_social",
        5_600,
    )
    assert (
        rollback["rolls_back"] == decision_id
        and rollback["state"] == "draft"
        and rollback["proposer"] == "ann"
    )

    events = store.count("AuditEvent")
    again = service.monitor(demo.settings)
    assert again.proposed == [] and store.count("AuditEvent") == events  # judged once, drafted once

    service.act(demo.settings, rollback_id, "submit", by="ann")
    service.act(demo.settings, rollback_id, "approve", by="lee")
    service.execute(demo.settings, rollback_id, by="lee", adapter="simulated")
    assert store.properties_of([decision_id])[decision_id][1]["state"] == "rolled_back"
    assert audit.verify(store).ok


def test_a_shortfall_where_the_spend_never_moved_drafts_no_rollback(
    demo: Demo, store: GraphStore, tmp_path: Path
) -> None:
    done = _executed(demo, "Move 2.8k from search to social", "paid_search", "paid_social", 2_800)
    promise = json.loads(done["promise"])
    start = _first_day(store, done["id"])
    unchanged = promise["spend_before"]  # the platform never applied it
    _ingest(demo, *_exports(tmp_path / "still", start, 10, unchanged, {"paid_search": 1, "paid_social": 1}))
    report = service.monitor(demo.settings)
    [verdict] = [r for r in report.decisions if r["id"] == done["id"]]
    assert verdict["status"] == "shortfall" and "did not move as ordered" in verdict["message"]
    [finding] = [p for _, (label, p) in store.linked(done["id"], Rel.ABOUT).items() if label == "Finding"]
    assert finding["confounders_ok"] is False
    assert not [p for _, (_, p) in store.nodes("Decision").items() if p.get("rolls_back") == done["id"]]


def test_an_action_items_expected_effect_is_marked_once_data_covers_its_date(
    demo: Demo, store: GraphStore, tmp_path: Path
) -> None:
    item_id = f"action:{demo.key}:funnel:{CAMPAIGN}:impressions->clicks"
    today = dt.datetime.now(dt.UTC).date()
    wanted = {"metric": "cpl", "direction": "down", "size": 0.1, "by": today + dt.timedelta(days=8),
              "channels": ["paid_search"]}  # fmt: skip
    before = store.properties_of([item_id])[item_id][1]
    for bad, said in (
        ({**wanted, "by": today}, "must be after today"),
        ({**wanted, "metric": "roas"}, "unknown metric"),
    ):
        with pytest.raises(InvalidGraphInput, match=said):
            service.expect(demo.settings, item_id, bad, by="ann")
    assert store.properties_of([item_id])[item_id][1]["version"] == before["version"]  # nothing written

    item = service.expect(demo.settings, item_id, wanted, by="ann")
    assert item["expect_baseline"] == pytest.approx(_campaign_cpl(demo, store, "paid_search", "google_ads"))

    start = today + dt.timedelta(days=1)
    short = _exports(tmp_path / "early", start, 5, {"paid_search": 300.0}, {"paid_search": 3})
    _ingest(demo, *short)
    assert store.properties_of([item_id])[item_id][1].get("outcome") is None  # data ends before the date
    _ingest(demo, *_exports(tmp_path / "full", start, 8, {"paid_search": 300.0}, {"paid_search": 3}))
    service.monitor(demo.settings)
    checked = store.properties_of([item_id])[item_id][1]
    assert checked["outcome_value"] == pytest.approx(100.0)  # 300 a day for 3 leads a day
    expected = "achieved" if 0.9 * item["expect_baseline"] >= 100.0 else "missed"
    assert checked["outcome"] == expected and expected in checked["outcome_note"]


def _campaign_cpl(demo: Demo, store: GraphStore, channel: str, platform: str) -> float:
    """Cost per lead of the channel over the campaign's dates, read straight from the snapshots the
    post-mortem used: the baseline an expectation is measured against."""
    campaign = store.properties_of([CAMPAIGN])[CAMPAIGN][1]
    first, last = (dt.date.fromisoformat(campaign[k][:10]) for k in ("start", "end"))
    run = f"run:{demo.run.run_id.removeprefix('run:')}"
    used = {
        i: p for i, (label, p) in store.linked(run, Rel.USED, incoming=False).items() if label == "Snapshot"
    }
    root = demo.settings.snapshots_dir
    spend = leads = 0.0
    taxonomy = {p["platform"]: p["channel"] for p in json.loads(campaign["taxonomy"])}
    for snapshot_id, p in used.items():
        frame = pl.read_parquet(root / f"{snapshot_id}.parquet")
        if p["table"] == "ad_performance":
            rows = frame.filter(pl.col("date").is_between(first, last))
            spend += sum(
                rows.filter(pl.col("platform") == name)["spend"].sum()
                for name, ch in taxonomy.items()
                if ch == channel
            )
        elif p["table"] == "leads":
            leads += frame.filter(
                (pl.col("channel") == channel) & pl.col("created_at").dt.date().is_between(first, last)
            ).height
    assert platform in taxonomy and leads > 0
    return spend / leads
