"""The sample generator: exact export layouts, ids that join across files, and the planted faults.

Every planted failure mode is measured here straight from the raw files, with plain polars and none of
the generator's code, and the same quantity is measured on the baseline campaigns, where it must not be
degraded: a diagnostic that later finds the fault can then trust that the fault is in the data and
nowhere else.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from ingest.sample import SIZES, Manifest, generate
from ingest.sample_variants import Variant, variant
from ingest.schema import TABLES

SEED = 11
CURRENT = "cmp-2026q3"
BASELINES = ("cmp-2026q1", "cmp-2026q2")
PAID_MEDIUMS = ("cpc", "paid_social")

GOOGLE_HEADER = (
    "Day,Campaign,Campaign ID,Ad group,Ad group ID,Ad ID,Ad name,Final URL,Impr.,Clicks,Currency code,Cost,"
    "Conversions,Conv. value"
)
META_HEADER = (
    "Reporting starts,Reporting ends,Campaign name,Campaign ID,Ad set name,Ad set ID,Ad name,Ad ID,"
    "Impressions,Link clicks,Amount spent (USD),Results,Result indicator,Attribution setting"
)
LINKEDIN_HEADER = (
    "Start Date (in UTC)\tAccount Name\tCampaign Group Name\tCampaign Name\tCampaign ID\tCreative ID\t"
    "Creative Name\tAudience\tImpressions\tClicks\tTotal Spent\tCurrency\tConversions\tLeads"
)
FIVETRAN_HEADER = (
    "source_relation,date_day,platform,account_id,account_name,campaign_id,campaign_name,ad_group_id,"
    "ad_group_name,ad_id,ad_name,clicks,impressions,spend,conversions,conversions_value"
)
GA4_KEYS = [
    "event_date",
    "event_timestamp",
    "event_name",
    "user_pseudo_id",
    "user_id",
    "traffic_source_source",
    "traffic_source_medium",
    "campaign_id",
    "content",
    "page_location",
]
CONTACTS_HEADER = (
    "Record ID,Create Date,Lifecycle Stage,Original Source,Original Source Drill-Down 1,UTM Source,"
    "UTM Medium,UTM Campaign,UTM Content,Became a Marketing Qualified Lead Date,"
    "Became a Sales Qualified Lead Date,Became an Opportunity Date,Became a Customer Date,Contact owner,"
    "Industry,Company size,Country,Google Analytics Client ID"
)
DEALS_HEADER = (
    "Record ID,Deal Name,Deal Stage,Amount,Create Date,Close Date,Deal owner,Associated Contact IDs,Pipeline"
)
MAILCHIMP_HEADER = (
    "Unique Id,Title,Subject,List,Send Date,Send Weekday,Total Recipients,Successful Deliveries,Soft Bounces,"
    "Hard Bounces,Total Bounces,Unique Opens,Open Rate,Total Opens,Unique Clicks,Click Rate,Total Clicks,"
    "Unsubscribes,Abuse Complaints,Segment"
)
DEAL_STAGES = {
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
}
HUBSPOT_SOURCES = {
    "Paid Search",
    "Paid Social",
    "Organic Search",
    "Email Marketing",
    "Direct Traffic",
    "Referrals",
}
HUBSPOT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
PLANNED_METRICS = {
    "spend",
    "cpl",
    "cost_per_mql",
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "pipeline",
    "mql_rate",
    "mql_to_sql_rate",
    "ctr",
}


@dataclass
class Generated:
    out: Path
    manifest: Manifest
    seconds: float
    progress: list[tuple[str, float]]


def _generate(root: Path, seed: int) -> Generated:
    progress: list[tuple[str, float]] = []
    start = time.perf_counter()
    manifest = generate("S", seed, root, progress=lambda step, done: progress.append((step, done)))
    return Generated(root, manifest, time.perf_counter() - start, progress)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return _generate(tmp_path_factory.mktemp("sample") / "out", SEED)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return _generate(tmp_path_factory.mktemp("twin") / "out", SEED)


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return _generate(tmp_path_factory.mktemp("other") / "out", SEED + 1)


# --- reading the raw files, as a person with a CSV reader would -------------------------------------


def _files(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _google(root: Path) -> pl.DataFrame:
    lines = (root / "ads/google_ads.csv").read_text(encoding="utf-8").splitlines()
    rows = pl.read_csv(io.StringIO("\n".join(lines[2:])), infer_schema=False)
    return rows.filter(~pl.col("Day").str.starts_with("Total"))


def _linkedin_lines(root: Path) -> list[str]:
    return (root / "ads/linkedin_ads.csv").read_bytes().decode("utf-16").split("\n")


def _linkedin(root: Path) -> pl.DataFrame:
    body = "\n".join(_linkedin_lines(root)[5:])
    return pl.read_csv(io.StringIO(body), separator="\t", infer_schema=False)


def _us_date(col: str) -> pl.Expr:
    parts = pl.col(col).str.split("/")
    return pl.date(parts.list.get(2).cast(pl.Int32), parts.list.get(0).cast(pl.Int32), parts.list.get(1))


def _number(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all(",", "").cast(pl.Float64)


def _ga4(root: Path) -> pl.DataFrame:
    return pl.read_ndjson(root / "web/ga4_events.jsonl").with_columns(
        date=pl.col("event_date").str.strptime(pl.Date, "%Y%m%d")
    )


def _campaigns(root: Path) -> dict[str, dict[str, object]]:
    docs = json.loads((root / "campaigns.json").read_text(encoding="utf-8"))
    return {d["id"]: d for d in docs}


def _truth(root: Path) -> dict[str, dict[str, object]]:
    doc = json.loads((root / "ground_truth.json").read_text(encoding="utf-8"))
    return {m["id"]: m for m in doc["failure_modes"]}


def _start(root: Path, campaign: str) -> dt.date:
    return dt.date.fromisoformat(str(_campaigns(root)[campaign]["start"]))


def _campaign_of(root: Path, date: pl.Expr) -> pl.Expr:
    """The campaign whose run (plus a three-day tail for late events) contains the date."""
    expr = pl.lit(None, pl.Utf8)
    for cid, doc in _campaigns(root).items():
        start, end = dt.date.fromisoformat(str(doc["start"])), dt.date.fromisoformat(str(doc["end"]))
        expr = pl.when(date.is_between(start, end + dt.timedelta(days=3))).then(pl.lit(cid)).otherwise(expr)
    return expr


def _contacts(root: Path) -> pl.DataFrame:
    contacts = _csv(root / "crm/hubspot_contacts.csv")
    created = pl.col("Create Date").str.strptime(pl.Datetime, "%Y-%m-%d %H:%M").dt.date()
    return contacts.with_columns(created=created, campaign=_campaign_of(root, created)).with_columns(
        day=(
            pl.col("created") - pl.col("campaign").replace_strict(_starts(root), return_dtype=pl.Date)
        ).dt.total_days(),
        mql=pl.col("Became a Marketing Qualified Lead Date").is_not_null(),
        sql=pl.col("Became a Sales Qualified Lead Date").is_not_null(),
    )


def _starts(root: Path) -> dict[str, dt.date]:
    return {cid: _start(root, cid) for cid in _campaigns(root)}


def _rate(part: int | float, whole: int | float) -> float:
    return part / whole if whole else float("nan")


# --- determinism, manifest, sizes ---------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(sample: Generated, twin: Generated) -> None:
    ours = {p.relative_to(sample.out): _sha(p) for p in _files(sample.out)}
    theirs = {p.relative_to(twin.out): _sha(p) for p in _files(twin.out)}
    assert ours == theirs


def test_another_seed_gives_other_data(sample: Generated, other: Generated) -> None:
    # Annotations and benchmarks are what people wrote down: the same text whatever the seed.
    fixed = {"plan/annotations.csv", "plan/benchmarks.csv"}
    for entry in sample.manifest.files:
        same = _sha(sample.out / entry.file) == _sha(other.out / entry.file)
        assert same == (entry.file in fixed), entry.file


def test_manifest_lists_every_file_in_ingestion_order_with_its_rows(sample: Generated) -> None:
    root, manifest = sample.out, sample.manifest
    on_disk = {str(p.relative_to(root)) for p in _files(root)}
    listed = [f.file for f in manifest.files]
    assert on_disk == set(listed) | {"manifest.json", "campaigns.json", "ground_truth.json"}
    assert Manifest.model_validate_json((root / "manifest.json").read_text()) == manifest
    assert [(f.mapping, f.table) for f in manifest.files] == [
        ("google_ads", "ad_performance"),
        ("fivetran_ad_report", "ad_performance"),
        ("linkedin_ads", "ad_performance"),
        ("meta_ads", "ad_performance"),
        ("ga4_events", "touchpoints"),
        ("hubspot_contacts", "leads"),
        ("hubspot_deals", "opportunities"),
        ("mailchimp_campaigns", "email_sends"),
        ("warrant_plans", "plans"),
        ("warrant_annotations", "annotations"),
        ("warrant_benchmarks", "benchmarks"),
    ]
    counted = {
        "ads/google_ads.csv": _google(root).height,
        "ads/fivetran_ad_report.parquet": pq.read_metadata(root / "ads/fivetran_ad_report.parquet").num_rows,
        "ads/linkedin_ads.csv": _linkedin(root).height,
        "web/ga4_events.jsonl": sum(1 for _ in (root / "web/ga4_events.jsonl").open(encoding="utf-8")),
    }
    for entry in manifest.files:
        rows = counted.get(entry.file) or _csv(root / entry.file).height
        assert entry.rows == rows, entry.file
        assert entry.campaign_id == CURRENT
    assert manifest.size == "S" and manifest.seed == SEED
    assert [c.id for c in manifest.campaigns] == [*BASELINES, CURRENT]


def test_size_s_has_the_documented_volumes_and_is_fast(sample: Generated) -> None:
    rows = {f.mapping: f.rows for f in sample.manifest.files}
    assert 20_000 <= rows["ga4_events"] <= 40_000
    assert 2_000 <= rows["hubspot_contacts"] <= 4_000
    assert sample.seconds < 10, f"size S took {sample.seconds:.1f}s"
    assert SIZES["M"].scale == 10 * SIZES["S"].scale < SIZES["L"].scale


def test_progress_is_reported_up_to_done(sample: Generated) -> None:
    fractions = [done for _, done in sample.progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 5


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown sample size 'XL': choose one of S, M, L"):
        generate("XL", 1, tmp_path / "out")


def test_a_non_empty_output_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="exists and is not empty"):
        generate("S", 1, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_an_existing_empty_directory_is_used(tmp_path: Path) -> None:
    manifest = generate("S", 3, tmp_path)
    assert (tmp_path / "manifest.json").is_file() and manifest.files


# --- layouts, exactly as docs/exports.md says -----------------------------------------------------------


def test_google_ads_download_layout(sample: Generated) -> None:
    lines = (sample.out / "ads/google_ads.csv").read_text(encoding="utf-8").splitlines()
    title, date_range = (next(csv.reader([line])) for line in lines[:2])
    assert title == ["Ad report"]
    assert date_range == ["February 2, 2026 - October 12, 2026"]
    assert lines[2] == GOOGLE_HEADER
    assert lines[-1].startswith("Total: ")
    rows = _google(sample.out)
    assert rows["Day"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert rows["Cost"].str.contains(r"^\d{1,3}(,\d{3})*\.\d{2}$").all()
    total = next(csv.reader([lines[-1]]))
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", total[8]) and re.fullmatch(r"\d{1,3}(,\d{3})+\.\d{2}", total[11])
    assert rows["Campaign ID"].str.contains(r"^\d{11}$").all()
    utm = rows["Final URL"].str.extract(r"utm_campaign=(\d+)")
    assert (utm == rows["Campaign ID"]).all()
    assert (rows["Final URL"].str.extract(r"utm_content=(\d+)") == rows["Ad ID"]).all()


def test_linkedin_export_is_utf16_tab_separated_with_five_metadata_lines(sample: Generated) -> None:
    raw = (sample.out / "ads/linkedin_ads.csv").read_bytes()
    assert raw[:2] == b"\xff\xfe"
    lines = _linkedin_lines(sample.out)
    prefixes = ("Creative Performance Report (in UTC)", "Report Start: ", "Report End: ", "Date Generated: ")
    assert all(line.startswith(p) for line, p in zip(lines[:4], prefixes, strict=False))
    assert lines[4].startswith("Account: ")
    assert lines[5] == LINKEDIN_HEADER
    assert {len(line.split("\t")) for line in lines[5:] if line} == {14}
    rows = _linkedin(sample.out)
    assert rows["Start Date (in UTC)"].str.contains(r"^\d{1,2}/\d{1,2}/\d{4}$").all()
    assert rows["Start Date (in UTC)"].str.contains(r"^9/1/2026$").any(), "M/D/YYYY without zero padding"
    assert rows["Campaign ID"].str.contains(r"^\d{9}$").all()


def test_meta_export_layout(sample: Generated) -> None:
    path = sample.out / "ads/meta_ads.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == META_HEADER
    rows = _csv(path)
    assert (rows["Reporting starts"] == rows["Reporting ends"]).all()
    assert rows["Campaign ID"].str.contains(r"^\d{18}$").all()
    assert rows["Ad ID"].str.contains(r"^\d{18}$").all()
    assert "0" not in rows["Link clicks"].drop_nulls().to_list(), "empty, not 0, when there were no clicks"
    assert rows["Attribution setting"].unique().to_list() == ["7-day click or 1-day view"]


def test_fivetran_report_holds_microsoft_ads(sample: Generated) -> None:
    table = pq.read_table(sample.out / "ads/fivetran_ad_report.parquet")
    assert table.column_names == FIVETRAN_HEADER.split(",")
    assert str(table.schema.field("date_day").type) == "date32[day]"
    rows = pl.from_arrow(table)
    assert isinstance(rows, pl.DataFrame)
    assert rows["platform"].unique().to_list() == ["microsoft_ads"]
    assert rows["campaign_id"].str.contains(r"^\d{9}$").all()
    assert rows["ad_id"].str.contains(r"^\d+$").all()


def test_ga4_events_layout(sample: Generated) -> None:
    with (sample.out / "web/ga4_events.jsonl").open(encoding="utf-8") as lines:
        first = json.loads(next(lines))
    assert list(first) == GA4_KEYS
    events = _ga4(sample.out)
    assert set(events["event_name"].unique()) == {"session_start", "page_view", "generate_lead"}
    stamped = pl.from_epoch(events["event_timestamp"], time_unit="us").dt.strftime("%Y%m%d")
    assert (stamped == events["event_date"]).all()
    assert events["event_timestamp"].is_sorted()


def test_hubspot_layouts_and_deals_linked_to_contacts(sample: Generated) -> None:
    root = sample.out
    assert (root / "crm/hubspot_contacts.csv").read_text().splitlines()[0] == CONTACTS_HEADER
    assert (root / "crm/hubspot_deals.csv").read_text().splitlines()[0] == DEALS_HEADER
    contacts, deals = _csv(root / "crm/hubspot_contacts.csv"), _csv(root / "crm/hubspot_deals.csv")
    assert set(contacts["Original Source"].unique()) == HUBSPOT_SOURCES
    dates = [c for c in CONTACTS_HEADER.split(",") if c.endswith("Date")]
    for col in dates:
        assert contacts[col].drop_nulls().str.contains(HUBSPOT_TIME.pattern).all(), col
    assert contacts["Record ID"].is_unique().all()
    assert set(deals["Deal Stage"].unique()) <= DEAL_STAGES
    assert set(deals["Associated Contact IDs"]) <= set(contacts["Record ID"])
    assert (deals["Amount"].cast(pl.Float64) > 0).all()
    won = set(deals.filter(pl.col("Deal Stage") == "closedwon")["Associated Contact IDs"])
    customers = set(contacts.filter(pl.col("Lifecycle Stage") == "Customer")["Record ID"])
    assert won == customers and won


def test_funnel_stages_happen_in_order(sample: Generated) -> None:
    contacts = _csv(sample.out / "crm/hubspot_contacts.csv")
    stages = [
        "Create Date",
        "Became a Marketing Qualified Lead Date",
        "Became a Sales Qualified Lead Date",
        "Became an Opportunity Date",
        "Became a Customer Date",
    ]
    for earlier, later in pairwise(stages):
        reached = contacts.filter(pl.col(later).is_not_null())
        assert reached[earlier].is_not_null().all() and (reached[earlier] <= reached[later]).all(), later
    rates = [contacts[s].is_not_null().mean() for s in stages]
    assert rates == sorted(rates, reverse=True) and 0.2 < rates[1] < 0.6 and rates[4] > 0


def test_mailchimp_export_layout(sample: Generated) -> None:
    path = sample.out / "email/mailchimp_campaigns.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == MAILCHIMP_HEADER
    sends = _csv(path)
    assert sends["Send Date"].str.contains(r"^[A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} (am|pm)$").all()
    assert sends["Open Rate"].str.contains(r"^\d+\.\d{2}%$").all()
    assert sends["Title"].str.starts_with("Nurture: step ").any()
    per_week = sends.filter(pl.col("Title").str.starts_with("Nurture")).group_by("Segment").len()
    assert (per_week["len"] > 3 * 4).all(), "several nurture sends a week per segment"


def test_warrant_tables_have_exactly_the_unified_fields(sample: Generated) -> None:
    for name in ("plans", "annotations", "benchmarks"):
        frame = _csv(sample.out / f"plan/{name}.csv")
        assert frame.columns == list(TABLES[name].model_fields), name


def test_plans_cover_the_governed_metrics_and_were_written_before_launch(sample: Generated) -> None:
    plans = _csv(sample.out / "plan/plans.csv")
    for cid, doc in _campaigns(sample.out).items():
        mine = plans.filter(pl.col("campaign_id") == cid)
        assert set(mine["metric"]) >= PLANNED_METRICS, cid
        documented = mine["documented_at"].str.strptime(pl.Datetime, "%Y-%m-%dT%H:%M:%SZ").dt.date()
        assert (documented < dt.date.fromisoformat(str(doc["start"]))).all()
        assert (mine["target"].cast(pl.Float64) > 0).all()


def test_annotations_record_redesign_and_staffing_but_not_the_nurture_pause(sample: Generated) -> None:
    notes = _csv(sample.out / "plan/annotations.csv")
    kinds = set(notes["kind"])
    assert {"redesign", "staffing"} <= kinds
    assert notes["author"].is_not_null().all()
    assert not notes["description"].str.to_lowercase().str.contains("nurture").any()
    assert notes.filter(pl.col("kind") == "redesign")["start"].to_list() == ["2026-09-08T06:00:00Z"]
    benchmarks = _csv(sample.out / "plan/benchmarks.csv")
    assert {"cpl", "ctr", "mql_rate"} <= set(benchmarks["metric"])
    assert benchmarks["source"].str.len_chars().min() > 10


def test_campaigns_document_hypothesis_before_launch_and_budgets(sample: Generated) -> None:
    campaigns = _campaigns(sample.out)
    assert list(campaigns) == [*BASELINES, CURRENT]
    assert campaigns[CURRENT]["name"] == "2026 Q3 Pipeline Push"
    assert (campaigns[CURRENT]["start"], campaigns[CURRENT]["end"]) == ("2026-09-01", "2026-10-12")
    for doc in campaigns.values():
        assert str(doc["hypothesis_documented_at"])[:10] < str(doc["start"])
        assert set(doc["planned_budget"]) == {"paid_search", "paid_social"}  # type: ignore[arg-type]
        assert doc["hypothesis"] and doc["objective"]


# --- ids join across files --------------------------------------------------------------------------------


def _platform_campaign_ids(root: Path) -> dict[str, set[str]]:
    fivetran = pl.read_parquet(root / "ads/fivetran_ad_report.parquet")
    return {
        "google_ads": set(_google(root)["Campaign ID"]),
        "microsoft_ads": set(fivetran["campaign_id"]),
        "linkedin_ads": set(_linkedin(root)["Campaign ID"]),
        "meta_ads": set(_csv(root / "ads/meta_ads.csv")["Campaign ID"]),
    }


def test_ids_join_across_ad_platforms_web_and_crm(sample: Generated) -> None:
    root = sample.out
    by_platform = _platform_campaign_ids(root)
    every = set().union(*by_platform.values())
    assert len(every) == sum(len(ids) for ids in by_platform.values()), "platform campaign ids are unique"
    assert all(2 * 3 <= len(ids) <= 4 * 3 for ids in by_platform.values()), "2-4 per platform per campaign"
    events = _ga4(root)
    paid_events = events.filter(pl.col("traffic_source_medium").is_in(PAID_MEDIUMS))
    assert set(paid_events["campaign_id"]) == every
    contacts = _csv(root / "crm/hubspot_contacts.csv")
    paid_contacts = contacts.filter(pl.col("UTM Medium").is_in(PAID_MEDIUMS))
    assert paid_contacts.height > 500
    assert set(paid_contacts["UTM Campaign"]) <= every
    client_ids = set(contacts["Google Analytics Client ID"].drop_nulls())
    assert client_ids <= set(events["user_pseudo_id"])
    assert len(client_ids) > 0.85 * contacts.height, "most leads are known to GA4"


def test_paid_clicks_land_as_ga4_sessions(sample: Generated) -> None:
    root = sample.out
    fivetran = pl.read_parquet(root / "ads/fivetran_ad_report.parquet")
    by_source = {
        "google": _google(root).select(_number("Clicks").sum()).item(),
        "bing": fivetran["clicks"].sum(),
        "linkedin": _linkedin(root).select(_number("Clicks").sum()).item(),
        "facebook": _csv(root / "ads/meta_ads.csv").select(_number("Link clicks").sum()).item(),
    }
    sessions = _ga4(root).filter(pl.col("event_name") == "session_start")
    for source, total in by_source.items():
        landed = sessions.filter(pl.col("traffic_source_source") == source)
        landed = landed.filter(pl.col("traffic_source_medium").is_in(PAID_MEDIUMS)).height
        assert 0.85 <= landed / total <= 0.96, source


def test_spend_follows_weekday_seasonality(sample: Generated) -> None:
    daily = (
        _google(sample.out)
        .group_by("Day")
        .agg(_number("Cost").sum().alias("cost"))
        .with_columns(weekend=pl.col("Day").str.strptime(pl.Date, "%Y-%m-%d").dt.weekday() >= 6)
    )
    weekday, weekend = (daily.filter(pl.col("weekend") == flag)["cost"].mean() for flag in (False, True))
    assert weekend < 0.6 * weekday  # type: ignore[operator]


# --- the planted failure modes, measured from the raw files ----------------------------------------------


def _landing_cvr(root: Path) -> pl.DataFrame:
    """generate_lead / session_start on /lp/ pages per campaign, before and from campaign day 8."""
    events = _ga4(root).filter(pl.col("page_location").str.contains("/lp/"))
    events = events.with_columns(campaign=_campaign_of(root, pl.col("date")))
    day = pl.col("date") - pl.col("campaign").replace_strict(_starts(root), return_dtype=pl.Date)
    return (
        events.with_columns(after=day.dt.total_days() >= 7)
        .group_by("campaign", "after")
        .agg(
            leads=(pl.col("event_name") == "generate_lead").sum(),
            sessions=(pl.col("event_name") == "session_start").sum(),
        )
        .with_columns(cvr=pl.col("leads") / pl.col("sessions"))
    )


def test_landing_conversion_drops_after_the_redesign(sample: Generated) -> None:
    cvr = _landing_cvr(sample.out)

    def ratio(campaigns: tuple[str, ...]) -> float:
        rows = (
            cvr.filter(pl.col("campaign").is_in(campaigns)).group_by("after").agg(pl.sum("leads", "sessions"))
        )
        by = {r["after"]: r["leads"] / r["sessions"] for r in rows.iter_rows(named=True)}
        return by[True] / by[False]

    assert ratio((CURRENT,)) < 0.75
    assert ratio(BASELINES) > 0.8
    mode = _truth(sample.out)["landing_cvr_drop"]
    assert mode["parameters"]["from_date"] == "2026-09-08"  # type: ignore[index]
    assert mode["annotated"] is True


def test_nurture_sequence_paused_and_leads_created_then_stall(sample: Generated) -> None:
    root = sample.out
    sends = _csv(root / "email/mailchimp_campaigns.csv").with_columns(
        date=pl.col("Send Date").str.strptime(pl.Datetime, "%b %d, %Y %I:%M %p").dt.date(),
        nurture=pl.col("Title").str.starts_with("Nurture:"),
    )
    sends = sends.with_columns(campaign=_campaign_of(root, pl.col("date")))
    sends = sends.with_columns(
        day=(
            pl.col("date") - pl.col("campaign").replace_strict(_starts(root), return_dtype=pl.Date)
        ).dt.total_days()
    )
    window = sends.filter(pl.col("day").is_between(14, 23))
    assert window.filter((pl.col("campaign") == CURRENT) & pl.col("nurture")).height == 0
    assert window.filter((pl.col("campaign") == CURRENT) & ~pl.col("nurture")).height > 0, (
        "newsletter went on"
    )
    for baseline in BASELINES:
        assert window.filter((pl.col("campaign") == baseline) & pl.col("nurture")).height >= 9
    contacts = _contacts(root).with_columns(paused=pl.col("day").is_between(14, 23))

    def ratio(campaigns: tuple[str, ...]) -> float:
        rows = contacts.filter(pl.col("campaign").is_in(campaigns))
        inside, outside = (rows.filter(pl.col("paused") == flag)["mql"].mean() for flag in (True, False))
        return inside / outside  # type: ignore[operator]

    assert ratio((CURRENT,)) < 0.75
    assert ratio(BASELINES) > 0.8
    truth = _truth(root)["nurture_pause"]["parameters"]
    assert (truth["paused_from"], truth["paused_to"]) == ("2026-09-15", "2026-09-24")  # type: ignore[index]


def test_social_sourced_mqls_rarely_become_sqls(sample: Generated) -> None:
    mqls = _contacts(sample.out).filter(pl.col("mql"))

    def mql_to_sql(campaigns: tuple[str, ...], source: str) -> float:
        rows = mqls.filter(pl.col("campaign").is_in(campaigns) & (pl.col("Original Source") == source))
        return _rate(rows["sql"].sum(), rows.height)

    social, search = mql_to_sql((CURRENT,), "Paid Social"), mql_to_sql((CURRENT,), "Paid Search")
    assert social < 0.2 and social / search < 0.65
    social, search = mql_to_sql(BASELINES, "Paid Social"), mql_to_sql(BASELINES, "Paid Search")
    assert social > 0.22 and social / search > 0.7


def _ctr_ratio(root: Path, creatives: list[str]) -> tuple[float, float]:
    """CTR and impressions of week 6 against week 1 of the creatives' life, their rows pooled."""
    rows = _linkedin(root).filter(pl.col("Creative ID").is_in(creatives))
    rows = rows.with_columns(date=_us_date("Start Date (in UTC)"))
    age = (pl.col("date") - pl.col("date").min().over("Creative ID")).dt.total_days()
    totals = (_number("Clicks").sum(), _number("Impressions").sum())
    (clicks_1, impressions_1), (clicks_6, impressions_6) = (
        rows.filter(age.is_between(lo, lo + 6)).select(*totals).row(0) for lo in (0, 35)
    )
    return (clicks_6 / impressions_6) / (clicks_1 / impressions_1), impressions_6 / impressions_1


def test_linkedin_creative_fatigues_while_impressions_hold(sample: Generated) -> None:
    params = _truth(sample.out)["creative_fatigue"]["parameters"]
    ctr, impressions = _ctr_ratio(sample.out, [params["creative_id"]])  # type: ignore[index]
    assert ctr < 0.6
    assert 0.8 < impressions < 1.25
    counterparts = [params["baseline_counterparts"][b] for b in BASELINES]  # type: ignore[index]
    assert _ctr_ratio(sample.out, counterparts)[0] > 0.75


def _spend(root: Path) -> pl.DataFrame:
    """Paid spend per ad and day from all four ad exports."""
    fivetran = pl.read_parquet(root / "ads/fivetran_ad_report.parquet")
    frames = [
        _google(root).select(
            date=pl.col("Day").str.strptime(pl.Date), ad=pl.col("Ad ID"), spend=_number("Cost")
        ),
        fivetran.select(date=pl.col("date_day"), ad=pl.col("ad_id"), spend=pl.col("spend")),
        _linkedin(root).select(
            date=_us_date("Start Date (in UTC)"), ad=pl.col("Creative ID"), spend=_number("Total Spent")
        ),
        _csv(root / "ads/meta_ads.csv").select(
            date=pl.col("Reporting starts").str.strptime(pl.Date),
            ad=pl.col("Ad ID"),
            spend=_number("Amount spent (USD)"),
        ),
    ]
    return pl.concat(frames).with_columns(campaign=_campaign_of(root, pl.col("date")))


def test_meta_video_takes_over_a_fifth_of_spend_with_a_weak_mql_rate(sample: Generated) -> None:
    root = sample.out
    params = _truth(root)["budget_hog"]["parameters"]
    videos = {CURRENT: params["ad_id"], **params["baseline_counterparts"]}  # type: ignore[index]
    spend, contacts = _spend(root), _contacts(root)

    def share(campaign: str) -> float:
        mine = spend.filter(pl.col("campaign") == campaign)
        return mine.filter(pl.col("ad") == videos[campaign])["spend"].sum() / mine["spend"].sum()

    def mql_ratio(campaigns: tuple[str, ...]) -> float:
        mine = contacts.filter(pl.col("campaign").is_in(campaigns))
        video = mine.filter(pl.col("UTM Content").is_in([videos[c] for c in campaigns]))
        return video["mql"].mean() / mine["mql"].mean()  # type: ignore[operator]

    assert share(CURRENT) > 0.2
    assert mql_ratio((CURRENT,)) < 0.75
    assert all(share(b) < 0.2 for b in BASELINES)
    assert mql_ratio(BASELINES) > 0.6


def test_utms_missing_on_contacts_that_had_a_tagged_session(sample: Generated) -> None:
    root = sample.out
    events = _ga4(root)
    tagged = set(
        events.filter((pl.col("event_name") == "generate_lead") & pl.col("campaign_id").is_not_null())[
            "user_pseudo_id"
        ]
    )
    sessions = set(events.filter(pl.col("event_name") == "session_start")["user_pseudo_id"])
    contacts = _contacts(root).filter(pl.col("Google Analytics Client ID").is_in(tagged))

    def missing(campaign: str) -> pl.DataFrame:
        return contacts.filter((pl.col("campaign") == campaign) & pl.col("UTM Campaign").is_null())

    share = missing(CURRENT).height / contacts.filter(pl.col("campaign") == CURRENT).height
    assert 0.12 <= share <= 0.25
    assert set(missing(CURRENT)["Google Analytics Client ID"]) <= sessions, "they do have a session"
    empty = missing(CURRENT).select("UTM Source", "UTM Medium", "UTM Content").null_count().row(0)
    assert empty == (missing(CURRENT).height,) * 3, "all UTM fields are empty together"
    for baseline in BASELINES:
        assert missing(baseline).height / contacts.filter(pl.col("campaign") == baseline).height < 0.05


def test_attribution_windows_differ_between_meta_and_the_other_sources(sample: Generated) -> None:
    meta = _csv(sample.out / "ads/meta_ads.csv")["Attribution setting"].unique().to_list()
    windows = {
        s["mapping"]: s["window"]
        for s in _truth(sample.out)["attribution_window_mismatch"]["parameters"]["sources"]  # type: ignore[index]
    }
    assert windows["meta_ads"] == meta[0] == "7-day click or 1-day view"
    assert windows["google_ads"] == windows["fivetran_ad_report"] == "30-day click"
    assert windows["linkedin_ads"].startswith("30-day click")
    assert windows["meta_ads"] != windows["google_ads"]


def test_ground_truth_names_where_each_mode_shows(sample: Generated) -> None:
    truth = _truth(sample.out)
    assert len(truth) == 7
    headers = {
        "web/ga4_events.jsonl": set(GA4_KEYS),
        "ads/linkedin_ads.csv": set(LINKEDIN_HEADER.split("\t")),
        "ads/google_ads.csv": set(GOOGLE_HEADER.split(",")),
    }
    for mode in truth.values():
        assert mode["campaign_id"] == CURRENT and mode["expected"]["direction"]  # type: ignore[index]
        for place in mode["where"]:  # type: ignore[attr-defined]
            path = sample.out / place["file"]
            columns = headers.get(place["file"]) or set(_csv(path).columns)
            assert set(place["columns"]) <= columns, (mode["id"], place["file"])
        if mode["id"] != "attribution_window_mismatch":
            assert mode["observed"][CURRENT], mode["id"]  # type: ignore[index]


# --- scenarios: the default stays byte-identical, the demo library's variants differ --------------------

SEED_11_DIGEST = "175052e78bf774d93327b67a0a54e55e6dcc783b2db0f8c4122aa8b2464e8a1d"
"""Every file of the default sample at size S, seed 11, as generated before scenarios existed: tests
and `make run` stand on these bytes, so the scenario machinery must leave them alone."""


def test_the_default_scenario_writes_the_same_bytes_as_before(sample: Generated) -> None:
    digest = hashlib.sha256()
    for path in _files(sample.out):
        digest.update(path.relative_to(sample.out).as_posix().encode() + b"\0" + _sha(path).encode() + b"\n")
    assert digest.hexdigest() == SEED_11_DIGEST


def test_scenarios_refuse_what_cannot_be_simulated() -> None:
    from ingest.sample import CAMPAIGNS, Scenario

    with pytest.raises(ValueError, match="creative_fatigue is planted on linkedin_ads"):
        Scenario(
            campaigns=tuple(replace(c, budget={"google_ads": 1.0}) for c in CAMPAIGNS),
            platforms=("google_ads",),
        )
    with pytest.raises(ValueError, match="overlap"):
        Scenario(campaigns=(CAMPAIGNS[0], replace(CAMPAIGNS[2], start=CAMPAIGNS[0].start)))
    with pytest.raises(ValueError, match="unknown failure modes"):
        Scenario(planted=frozenset({"alien_abduction"}))


def test_library_variants_are_stable_varied_and_never_overlap() -> None:
    from ingest.sample import CAMPAIGNS
    from ingest.sample_variants import MAX_VARIANTS, THEMES, variants

    fifty = variants(50)
    assert variants(60)[:50] == fifty  # a bigger library is the smaller one and more
    assert {v.theme.key for v in fifty} == {t.key for t in THEMES} and len({v.mix for v in fifty}) == 5
    assert sum(not v.planted for v in fifty) == 5 and max(len(v.planted) for v in fifty) == 3
    assert {v.severity for v in fifty} == {"none", "mild", "strong"}
    flights = sorted(
        [(c.start, c.end, c.id) for v in variants(MAX_VARIANTS) for c in v.scenario().campaigns]
        + [(c.start, c.end, c.id) for c in CAMPAIGNS]
    )
    assert len({f[2] for f in flights}) == len(flights)
    for (_, end, first), (start, _, second) in pairwise(flights):
        assert end < start, f"{first} overlaps {second}"
    with pytest.raises(ValueError, match="1 to 80 variants"):
        variants(MAX_VARIANTS + 1)


@pytest.fixture(scope="module")
def variant_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Variant]:
    """A library variant without Microsoft Ads or Meta: a summit with a paused nurture and lost UTMs."""
    v = variant(22)
    assert (v.theme.key, v.mix, v.planted) == ("event", "search_linkedin", ("nurture_pause", "missing_utms"))
    out = tmp_path_factory.mktemp("variant") / "out"
    generate("XS", v.seed, out, scenario=v.scenario())
    return out, v


def test_a_variant_writes_its_own_campaigns_mix_and_truth(variant_sample: tuple[Path, Variant]) -> None:
    out, v = variant_sample
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert [c.id for c in manifest.campaigns] == [v.baseline_id, v.campaign_id]
    assert {f.mapping for f in manifest.files if f.table == "ad_performance"} == {
        "google_ads",
        "linkedin_ads",
    }
    assert {f.campaign_id for f in manifest.files} == {v.campaign_id}
    doc = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    assert [m["id"] for m in doc["failure_modes"]] == [
        "nurture_pause",
        "missing_utms",
        "attribution_window_mismatch",  # LinkedIn's window differs from Google's: follows from the mix
    ]
    assert doc["variant"]["theme"] == "event" and doc["variant"]["severity"] == "strong"
    assert doc["confounders"] == []  # no redesign planted, no SDR dip
    campaign = _campaigns(out)[v.campaign_id]
    assert campaign["name"] == v.name and campaign["objective"] == v.theme.objective
    names = {c["name"] for p in campaign["platforms"] for c in p["campaigns"]}  # type: ignore[attr-defined]
    assert names and all("Data Governance Summit" in n for n in names)


def test_a_variant_plants_only_its_modes(variant_sample: tuple[Path, Variant]) -> None:
    out, v = variant_sample
    truth = _truth(out)
    nurture = truth["nurture_pause"]["parameters"]
    first, last = (dt.date.fromisoformat(nurture[k]) for k in ("paused_from", "paused_to"))  # type: ignore[index]
    sends = _csv(out / "email/mailchimp_campaigns.csv").with_columns(
        day=pl.col("Send Date").str.strptime(pl.Datetime, "%b %d, %Y %I:%M %p").dt.date(),
        nurture=pl.col("Title").str.starts_with("Nurture:"),
    )
    flight = sends.filter(pl.col("day") >= _start(out, v.campaign_id))
    assert flight.filter(pl.col("day").is_between(first, last) & pl.col("nurture")).is_empty()
    assert flight.filter(~pl.col("day").is_between(first, last) & pl.col("nurture")).height >= 9
    utms = truth["missing_utms"]["observed"]
    assert utms[v.campaign_id]["share"] > 0.2 > utms[v.baseline_id]["share"]  # type: ignore[index]
    # Not planted: no redesign annotation, so the only event recorded is the theme's, on the baseline.
    annotations = _csv(out / "plan/annotations.csv")
    assert annotations["kind"].to_list() == ["event"]
    assert annotations["start"][0] < _start(out, v.campaign_id).isoformat()
