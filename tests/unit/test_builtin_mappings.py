"""Every built-in mapping against a small hand-written export in the exact layout of docs/exports.md.

Each fixture's values were chosen so that totals can be added up by hand; the expected values below
are literals with the arithmetic beside them, so a mapping that reads the wrong column, drops a row
or mis-parses a number fails here.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest

from ingest.mapping import BUILTIN_DIR, NATIVE_PREFIX, builtin_names, load_mapping
from ingest.readers import read_export
from ingest.schema import CHANNELS, TABLES
from ingest.transform import to_unified

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
UTC = dt.UTC

# Built-in mapping -> its fixture. A new built-in YAML without an entry here fails
# test_every_builtin_yaml_has_a_fixture_and_a_test.
FIXTURES = {
    "fivetran_ad_report": "fivetran_ad_report.csv",
    "google_ads": "google_ads.csv",
    "meta_ads": "meta_ads.csv",
    "linkedin_ads": "linkedin_ads.csv",
    "ga4_events": "ga4_events.jsonl",
    "hubspot_contacts": "hubspot_contacts.csv",
    "hubspot_deals": "hubspot_deals.csv",
    "salesforce_leads": "salesforce_leads.csv",
    "salesforce_opportunities": "salesforce_opportunities.csv",
    "mailchimp_campaigns": "mailchimp_campaigns.csv",
}


def ingest(name: str, path: Path | None = None) -> pl.DataFrame:
    mapping = load_mapping(name)
    export = read_export(
        path or EXPORTS / FIXTURES[name], fmt=mapping.format, csv_options=mapping.csv, max_bytes=10**9
    )
    return to_unified(export, mapping)


def dims(frame: pl.DataFrame) -> list[str]:
    return sorted(c for c in frame.columns if c.startswith("dim_"))


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the set of built-ins ----------------------------------------------------------------------


def test_every_builtin_name_loads() -> None:
    names = builtin_names()
    assert {NATIVE_PREFIX + table for table in TABLES} <= set(names)
    for name in names:
        mapping = load_mapping(name)
        assert mapping.name == name
        assert mapping.table in TABLES


def test_every_builtin_yaml_has_a_fixture_and_a_test() -> None:
    yamls = {p.stem for p in BUILTIN_DIR.glob("*.yaml")}
    assert yamls == set(FIXTURES)
    for name in yamls:
        assert (EXPORTS / FIXTURES[name]).is_file(), name
        assert callable(globals().get(f"test_{name}")), f"no test_{name} in this module"


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_builtin_yaml_opens_with_a_comment_naming_the_export(name: str) -> None:
    text = (BUILTIN_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# ")
    assert load_mapping(name).title


def test_attribution_windows() -> None:
    windows = {name: load_mapping(name).attribution_window for name in FIXTURES}
    assert {name: str(w) if w else None for name, w in windows.items()} == {
        "fivetran_ad_report": "30-day click",
        "google_ads": "30-day click",
        "meta_ads": "7-day click or 1-day view",
        "linkedin_ads": "30-day click or 7-day view",
        "ga4_events": None,
        "hubspot_contacts": None,
        "hubspot_deals": None,
        "salesforce_leads": None,
        "salesforce_opportunities": None,
        "mailchimp_campaigns": None,
    }


# --- ad platforms -------------------------------------------------------------------------------


def test_google_ads() -> None:
    df = ingest("google_ads")
    # Lines 1-2 are the title and the date range, line 3 the header, 4-9 the rows; line 10 is the
    # "Total: Account" row, dropped.
    assert df["_row"].to_list() == [4, 5, 6, 7, 8, 9]
    # The fixture's own totals row: 312.40 + 1,020.15 + 330.05 + 1,101.90 + 301.00 + 1,045.70
    assert df["spend"].sum() == pytest.approx(4111.20)
    assert df["impressions"].sum() == 15659  # 1,204 + 3,880 + 1,310 + 4,102 + 1,188 + 3,975
    assert df["clicks"].sum() == 456  # 87 + 61 + 92 + 70 + 80 + 66
    assert df["platform_conversions"].sum() == pytest.approx(17.0)  # 4 + 2 + 5 + 1 + 3 + 2
    first = df.row(0, named=True)
    assert first["date"] == dt.date(2026, 9, 1)
    assert first["platform"] == "google_ads"
    assert first["campaign_id"] == "21034567001"
    assert first["ad_group_id"] == "150000000001"
    assert first["audience"] == "Brand exact"
    assert first["impressions"] == 1204
    assert first["spend"] == pytest.approx(312.40)
    assert first["currency"] == "USD"
    assert (first["utm_source"], first["utm_medium"], first["utm_campaign"], first["utm_content"]) == (
        "google",
        "cpc",
        "21034567001",
        "690000000001",
    )
    assert first["utm_term"] is None
    assert df.schema["date"] == pl.Date
    assert dims(df) == []


def test_fivetran_ad_report() -> None:
    df = ingest("fivetran_ad_report")
    assert df.height == 8
    assert df["platform"].to_list() == [
        "google_ads",
        "google_ads",
        "microsoft_ads",
        "microsoft_ads",
        "linkedin_ads",
        "linkedin_ads",
        "meta_ads",  # facebook_ads in the file
        "meta_ads",
    ]
    assert df["clicks"].sum() == 437  # 100 + 120 + 40 + 35 + 12 + 15 + 60 + 55
    assert df["impressions"].sum() == 22500  # 2000 + 2500 + 900 + 800 + 3000 + 3500 + 5000 + 4800
    # 250.50 + 300.25 + 80.10 + 70.15 + 150.00 + 175.00 + 90.00 + 85.00
    assert df["spend"].sum() == pytest.approx(1201.00)
    assert df["platform_conversions"].sum() == pytest.approx(20.0)  # 5 + 6 + 2 + 1 + 1 + 0 + 3 + 2
    # 1000 + 1200 + 400 + (empty) + 0 + 0 + 150 + 100; the empty cell stays null, not 0
    assert df["conversion_value"].sum() == pytest.approx(2850.0)
    assert df["conversion_value"].null_count() == 1
    assert df["conversion_value"][3] is None
    assert set(df["currency"]) == {"USD"}
    assert df["date"].to_list() == [dt.date(2026, 9, 1), dt.date(2026, 9, 2)] * 4
    # Ids are text: a leading zero and 18 digits survive.
    assert df["account_id"][2] == "0151234567"
    assert df["campaign_id"][6] == "120210000000000001"
    assert df["ad_group_id"][4] is None  # LinkedIn rows have no ad group in the model
    assert df["creative_name"][0] == "RSA brand 1"
    assert dims(df) == ["dim_account_name", "dim_source_relation"]
    assert df["dim_source_relation"][7] == "facebook_ads_source"


def test_fivetran_ad_report_parquet_reads_like_the_csv(tmp_path: Path) -> None:
    """The dbt model is as often downloaded as Parquet, with typed numbers and dates."""
    mapping = load_mapping("fivetran_ad_report")
    export = read_export(
        EXPORTS / "fivetran_ad_report.csv", fmt=None, csv_options=mapping.csv, max_bytes=10**9
    )
    typed = export.frame.drop("_row").with_columns(
        pl.col("date_day").str.to_date(),
        pl.col("clicks", "impressions").cast(pl.Int64),
        pl.col("spend", "conversions", "conversions_value").replace("", None).cast(pl.Float64),
    )
    parquet = tmp_path / "ad_report.parquet"
    typed.write_parquet(parquet)
    from_csv = ingest("fivetran_ad_report")
    from_parquet = ingest("fivetran_ad_report", parquet)
    assert from_parquet["_row"].to_list() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert from_parquet.drop("_row").equals(from_csv.drop("_row"))


def test_meta_ads() -> None:
    df = ingest("meta_ads")
    assert df.height == 6
    assert df["impressions"].sum() == 16500  # 4000 + 1500 + 4200 + 1600 + 3800 + 1400
    # "Link clicks" is empty when zero: 32 + 0 + 35 + 5 + 30 + 0
    assert df["clicks"].to_list() == [32, 0, 35, 5, 30, 0]
    assert df["clicks"].sum() == 102
    assert df["spend"].sum() == pytest.approx(175.00)  # 45.60 + 12.40 + 48.00 + 13.10 + 44.20 + 11.70
    # Results empty when none: 2 + 3 + 1 + 1, two nulls
    assert df["platform_conversions"].sum() == pytest.approx(7.0)
    assert df["platform_conversions"].null_count() == 2
    days = [dt.date(2026, 9, 1)] * 2 + [dt.date(2026, 9, 2)] * 2 + [dt.date(2026, 9, 3)] * 2
    assert df["date"].to_list() == days
    assert df["period_start"].to_list() == days
    assert df["period_end"].to_list() == days
    assert set(df["platform"]) == {"meta_ads"}
    assert set(df["currency"]) == {"USD"}
    row = df.row(1, named=True)
    assert row["audience"] == "Retargeting - site visitors, 30 days"  # the ad set name, quoted comma
    assert row["ad_group_id"] == "120210000000000102"
    assert row["ad_id"] == "120210000000001002"
    assert row["creative_name"] == "Carousel A"
    assert dims(df) == ["dim_attribution_setting", "dim_result_indicator"]
    assert row["dim_attribution_setting"] == "7-day click or 1-day view"


def test_linkedin_ads() -> None:
    raw = (EXPORTS / "linkedin_ads.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)  # the fixture is what LinkedIn writes
    assert raw.decode("utf-16").splitlines()[0] == "Creative Performance Report (in UTC)"
    mapping = load_mapping("linkedin_ads")
    export = read_export(
        EXPORTS / "linkedin_ads.csv", fmt=mapping.format, csv_options=mapping.csv, max_bytes=10**9
    )
    assert (export.encoding, export.delimiter) == ("utf-16", "\t")
    df = to_unified(export, mapping)
    assert df["_row"].to_list() == [7, 8, 9, 10, 11, 12]  # five metadata lines, the header on line 6
    # M/D/YYYY without zero padding, across a month end
    assert df["date"].to_list() == [
        dt.date(2026, 9, 30),
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 2),
        dt.date(2026, 10, 2),
    ]
    assert df["impressions"].sum() == 11500  # 2100 + 1900 + 2300 + 1700 + 2000 + 1500
    assert df["clicks"].sum() == 65  # 14 + 9 + 16 + 8 + 12 + 6
    assert df["spend"].sum() == pytest.approx(1000.00)  # 180.50 + 160.25 + 190.00 + 150.75 + 175.25 + 143.25
    assert df["platform_conversions"].sum() == pytest.approx(8.0)  # 2 + 1 + 3 + 0 + 1 + 1
    assert set(df["platform"]) == {"linkedin_ads"}
    assert set(df["currency"]) == {"USD"}
    assert set(df["campaign_id"]) == {"512340001"}
    assert df["creative_id"].to_list()[:2] == ["987650001", "987650002"]
    assert df["audience"][0] == "Data leaders, US, 500+ employees"
    assert dims(df) == ["dim_account_name", "dim_campaign_group_name", "dim_leads"]
    assert df["dim_campaign_group_name"][0] == "Q4 Pipeline"
    assert df["dim_leads"].to_list() == ["1", "0", "2", "0", "1", "0"]


# --- web analytics ------------------------------------------------------------------------------


def test_ga4_events() -> None:
    df = ingest("ga4_events")
    assert df.height == 10
    assert df["_row"].to_list() == list(range(1, 11))
    assert df.schema["timestamp"] == pl.Datetime("us", "UTC")
    # event_timestamp is microseconds since the epoch: 1788253200123456 = 2026-09-01T09:00:00.123456Z
    assert df["timestamp"][0] == dt.datetime(2026, 9, 1, 9, 0, 0, 123456, tzinfo=UTC)
    assert df["timestamp"][1] == dt.datetime(2026, 9, 1, 9, 0, 1, 623456, tzinfo=UTC)  # + 1.5 s
    assert df["timestamp"][9] == ts("2026-09-03T10:10:00")
    assert df["channel"].to_list() == [
        "paid_search",  # google / cpc
        "paid_search",
        "paid_search",
        "paid_social",  # facebook / cpc
        "direct",  # (direct) / (none)
        "direct",
        "email",  # mailchimp / email
        "organic_search",  # google / organic
        "referral",  # partner.example.org / referral
        "paid_social",  # linkedin / cpc
    ]
    assert set(df["channel"]) <= set(CHANNELS)
    assert df["event_type"].to_list().count("session_start") == 6
    assert df["event_type"].to_list().count("generate_lead") == 2
    assert df["user_id"].n_unique() == 3
    assert df["user_id"][3] == "987654321.1700000002"
    first = df.row(0, named=True)
    assert (first["utm_source"], first["utm_medium"], first["utm_campaign"], first["utm_content"]) == (
        "google",
        "cpc",
        "21034567001",
        "690000000001",
    )
    assert first["utm_term"] == "data+governance"  # url_param keeps the URL's encoding
    assert first["campaign_id"] == "21034567001"
    assert first["creative_id"] == "690000000001"
    assert first["page"].startswith("https://example.com/demo?")
    assert df["campaign_id"][4] is None  # direct: no campaign
    assert df["dim_ga_user_id"].to_list()[:4] == [None, None, "crm-51001", None]
    # Generated ids: the first 12 hex digits of the file's sha256, then the line.
    sha = hashlib.sha256((EXPORTS / "ga4_events.jsonl").read_bytes()).hexdigest()
    assert df["touchpoint_id"].to_list() == [f"{sha[:12]}-{line}" for line in range(1, 11)]


# --- CRM ----------------------------------------------------------------------------------------


def test_hubspot_contacts() -> None:
    df = ingest("hubspot_contacts")
    assert df.height == 7
    assert df["lead_id"].to_list() == ["51001", "51002", "51003", "51004", "51005", "51006", "51007"]
    assert df["channel"].to_list() == [
        "paid_search",  # Paid Search
        "direct",  # Direct Traffic
        "email",  # Email Marketing
        "referral",  # Referrals
        "paid_social",  # Paid Social
        "organic_search",  # Organic Search
        "other",  # Offline Sources
    ]
    assert df["source"][1] == "Direct Traffic"
    first = df.row(0, named=True)
    assert first["created_at"] == ts("2026-09-01T09:03")
    assert first["mql_at"] == ts("2026-09-02T10:00")
    assert first["sql_at"] == ts("2026-09-05T14:30")
    assert first["opportunity_at"] == ts("2026-09-08T11:00")
    assert first["won_at"] == ts("2026-10-01T16:45")
    assert first["user_id"] == "1234567890.1700000001"
    assert first["owner"] == "Dana Whitfield"
    assert first["status"] == "Customer"
    assert (first["utm_source"], first["utm_medium"], first["utm_campaign"], first["utm_content"]) == (
        "google",
        "cpc",
        "21034567001",
        "690000000001",
    )
    assert first["campaign_id"] == "21034567001"
    # Stages reached: MQL rows 1, 2, 3, 5; SQL 1, 2, 5; opportunity 1, 2; customer 1.
    assert [df[c].is_not_null().sum() for c in ("mql_at", "sql_at", "opportunity_at", "won_at")] == [
        4,
        3,
        2,
        1,
    ]
    assert df.schema["created_at"] == pl.Datetime("us", "UTC")
    assert dims(df) == ["dim_company_size", "dim_country", "dim_industry", "dim_source_drill_down"]
    assert df["dim_company_size"][1] == "1,001-5,000"  # quoted, thousands separators kept as text
    assert df["dim_industry"][5] is None  # empty cell
    assert df["owner"][5] is None
    assert df["dim_country"][6] == "Spain"


def test_hubspot_deals() -> None:
    df = ingest("hubspot_deals")
    assert df.height == 6
    assert df["won"].to_list() == [True, False, False, True, False, False]
    # Pipeline: 24000 + 12500.50 + 8000 + 15000 + (empty) + 6000
    assert df["amount"].sum() == pytest.approx(65500.50)
    assert df["amount"][4] is None
    # Revenue only for closedwon: 24000 + 15000
    assert df["revenue"].to_list() == [24000.0, None, None, 15000.0, None, None]
    # Close Date kept for closedwon / closedlost only; the open deals' expected dates are dropped.
    assert df["closed_at"].to_list() == [
        ts("2026-10-01T16:45"),
        None,
        ts("2026-10-05T10:30"),
        ts("2026-10-10T09:15"),
        None,
        None,
    ]
    assert df["created_at"][0] == ts("2026-09-08T11:00")
    assert df["lead_id"].to_list() == ["51001", "51002", "51005", "51003", "51004", "51007"]
    assert df["stage"][2] == "closedlost"
    assert df["owner"][1] == "Sam Ortega"
    assert dims(df) == ["dim_deal_name", "dim_pipeline"]
    assert df["dim_pipeline"][5] == "Renewals"


def test_salesforce_leads() -> None:
    df = ingest("salesforce_leads")
    assert df.height == 7
    assert df["lead_id"][0] == "00Q5f000001AAAAEA1"
    # US dates M/D/YYYY, read as midnight UTC
    assert df["created_at"].to_list() == [
        ts("2026-09-01"),
        ts("2026-09-02"),
        ts("2026-09-02"),
        ts("2026-09-03"),
        ts("2026-09-10"),
        ts("2026-09-28"),
        ts("2026-10-02"),
    ]
    assert df["channel"].to_list() == [
        "paid_search",  # Paid Search
        "paid_social",  # Paid Social
        "events",  # Webinar
        "events",  # Trade Show
        "direct",  # Web
        "other",  # Purchased List (not in the map: the default)
        "referral",  # Employee Referral
    ]
    assert df["converted"].to_list() == [True, False, False, False, False, False, True]
    assert [df[c].is_not_null().sum() for c in ("mql_at", "sql_at", "opportunity_at")] == [4, 3, 2]
    assert df["opportunity_at"][6] == ts("2026-10-12")
    assert df["campaign_id"][1] == "7015f000000AbCeAAK"
    assert df["utm_campaign"][1] == "512340001"
    assert df["status"][4] == "Disqualified"
    assert dims(df) == ["dim_country", "dim_employees", "dim_industry"]
    assert df["dim_employees"][1] == "2,500"
    assert df["dim_industry"][5] is None


def test_salesforce_opportunities() -> None:
    df = ingest("salesforce_opportunities")
    assert df.height == 6
    # "USD 24,000.00" + "USD 12,500.50" + "USD 8,000.00" + "USD 15,000.00" + (empty) + "USD 950.00"
    assert df["amount"].to_list() == [24000.0, 12500.5, 8000.0, 15000.0, None, 950.0]
    assert df["amount"].sum() == pytest.approx(60450.50)
    assert df["won"].to_list() == [True, False, False, True, False, False]
    assert df["revenue"].sum() == pytest.approx(39000.0)  # 24,000 + 15,000
    assert df["revenue"].null_count() == 4
    # Close Date only where Closed = 1 (rows 1, 3, 4)
    assert df["closed_at"].to_list() == [
        ts("2026-10-01"),
        None,
        ts("2026-10-05"),
        ts("2026-10-30"),
        None,
        None,
    ]
    assert df["created_at"][3] == ts("2026-10-12")
    assert df["lead_id"][3] == "00Q5f000001AAAAEA7"
    assert df["lead_id"][2] is None
    assert df["campaign_id"][0] == "7015f000000AbCdAAK"
    assert df["stage"][1] == "Negotiation/Review"
    assert dims(df) == ["dim_opportunity_name"]


# --- email --------------------------------------------------------------------------------------


def test_mailchimp_campaigns() -> None:
    df = ingest("mailchimp_campaigns")
    assert df.height == 6
    assert df["recipients"].sum() == 7450  # 1,200 + 1,200 + 1,150 + 800 + 2,000 + 1,100
    assert df["delivered"].sum() == 7370  # 1,180 + 1,190 + 1,140 + 790 + 1,980 + 1,090
    assert df["bounces"].sum() == 80  # 20 + 10 + 10 + 10 + 20 + 10 = 7450 - 7370
    assert df["opens"].sum() == 2503  # 413 + 476 + 456 + 237 + 594 + 327
    assert df["clicks"].sum() == 340  # 59 + 71 + 57 + 0 + 99 + 54
    assert df["unsubscribes"].sum() == 21  # 4 + 1 + 3 + 2 + 6 + 5
    assert df["sent_at"].to_list() == [
        ts("2026-09-01T10:00"),  # Sep 01, 2026 10:00 am
        ts("2026-09-01T10:00"),
        ts("2026-09-08T14:30"),  # Sep 08, 2026 02:30 pm
        ts("2026-09-08T14:30"),
        ts("2026-09-15T09:15"),
        ts("2026-09-15T11:45"),
    ]
    assert df["sequence"].to_list()[:3] == ["Nurture: step 1", "Nurture: step 1", "Nurture: step 2"]
    assert df["subject_variant"][5] == "Budget moves, with evidence"
    assert df["list_source"][3] == "Content downloads"
    assert df["segment"].to_list() == [
        "Mid-market",
        "Enterprise",
        "Mid-market",
        "Enterprise",
        None,
        "Mid-market",
    ]
    assert df["send_id"][0] == "a1b2c3d4e5"
    assert df["replies"].null_count() == 6  # Mailchimp has no replies
    assert dims(df) == ["dim_abuse_complaints", "dim_send_weekday"]
    assert set(df["dim_send_weekday"]) == {"Tuesday"}
