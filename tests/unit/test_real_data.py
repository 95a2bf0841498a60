"""The three public data sets of shared/data through their mappings (tests/fixtures/mappings).

The expected totals are computed here, independently of the ingest code, with the standard `csv`
module, so a mapping or a parser that loses, doubles or mis-reads values fails. The data stay in
`../shared/data` beside the repository (DATA.md: never copied into the project).
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from ingest.mapping import load_mapping
from ingest.readers import read_export
from ingest.schema import CHANNELS
from ingest.transform import to_unified

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data"
MAPPINGS = ROOT / "tests" / "fixtures" / "mappings"


def ingest(mapping_name: str, file_name: str) -> pl.DataFrame:
    mapping = load_mapping(MAPPINGS / f"{mapping_name}.yaml")
    export = read_export(DATA / file_name, fmt=mapping.format, csv_options=mapping.csv, max_bytes=10**9)
    return to_unified(export, mapping)


def records(file_name: str) -> list[dict[str, str]]:
    with (DATA / file_name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_data_is_beside_the_repository_not_in_it() -> None:
    assert DATA.resolve().is_dir()
    for name in ("kag_ads.csv", "bank-additional-full.csv", "ca_paths.csv"):
        assert (DATA / name).is_file()
        assert not list(ROOT.glob(f"tests/**/{name}"))


def test_kag_ads() -> None:
    df = ingest("kag_ads", "kag_ads.csv")
    rows = records("kag_ads.csv")
    assert df.height == len(rows) == 1143
    assert df["spend"].sum() == pytest.approx(sum(float(r["Spent"]) for r in rows))
    assert df["clicks"].sum() == sum(int(r["Clicks"]) for r in rows)
    assert df["impressions"].sum() == sum(int(r["Impressions"]) for r in rows)
    assert df["platform_conversions"].sum() == pytest.approx(sum(float(r["Total_Conversion"]) for r in rows))
    assert df["spend"].sum() == pytest.approx(58705.23, abs=0.01)  # as DATA.md's source reports it
    # Lifetime rows: no date, no period.
    assert df["date"].null_count() == df["period_start"].null_count() == df["period_end"].null_count() == 1143
    assert set(df["platform"]) == {"meta_ads"}
    assert set(df["currency"]) == {"USD"}
    assert set(df["campaign_id"]) == {r["xyz_campaign_id"] for r in rows} == {"916", "936", "1178"}
    assert df["ad_id"].to_list() == [r["ad_id"] for r in rows]
    assert df["ad_group_id"].to_list() == [r["fb_campaign_id"] for r in rows]
    # The first line: 708746,916,103916,30-34,M,15,7350,1,1.429999948,2,1
    first = df.row(0, named=True)
    assert first["audience"] == "30-34/M/15"
    assert (first["impressions"], first["clicks"]) == (7350, 1)
    assert first["spend"] == pytest.approx(1.429999948)
    assert (
        first["dim_age"],
        first["dim_gender"],
        first["dim_interest"],
        first["dim_approved_conversion"],
    ) == (
        "30-34",
        "M",
        "15",
        "1",
    )
    assert Counter(df["dim_gender"]) == Counter(r["gender"] for r in rows)
    assert sum(int(v) for v in df["dim_approved_conversion"]) == sum(
        int(r["Approved_Conversion"]) for r in rows
    )
    # The key of ad_performance is unique in this data.
    assert df.select("platform", "campaign_id", "ad_group_id", "ad_id").is_unique().all()


def test_bank_marketing() -> None:
    df = ingest("bank_marketing", "bank-additional-full.csv")
    rows = records("bank-additional-full.csv")
    assert df.height == len(rows) == 41188
    yes = sum(r["output"] == "yes" for r in rows)
    assert yes == 4640
    assert df["converted"].sum() == yes
    assert df["converted"].null_count() == 0
    assert set(df["channel"]) == {"other"}
    assert set(df["channel"]) <= set(CHANNELS)
    assert (
        Counter(df["source"])
        == Counter(r["contact"] for r in rows)
        == {"cellular": 26144, "telephone": 15044}
    )
    assert df["created_at"].null_count() == 41188
    # Generated ids: unique, and the sha256 prefix of the file with the line (header = line 1).
    sha = hashlib.sha256((DATA / "bank-additional-full.csv").read_bytes()).hexdigest()
    assert df["lead_id"].n_unique() == 41188
    assert df["lead_id"][0] == f"{sha[:12]}-2"
    assert df["lead_id"][-1] == f"{sha[:12]}-41189"
    assert sorted(c for c in df.columns if c.startswith("dim_")) == [
        "dim_age",
        "dim_contact",
        "dim_contacts_before",
        "dim_contacts_this_campaign",
        "dim_day_of_week",
        "dim_days_since_previous_contact",
        "dim_default",
        "dim_education",
        "dim_housing",
        "dim_job",
        "dim_loan",
        "dim_marital",
        "dim_month",
    ]
    assert Counter(df["dim_job"]) == Counter(r["job"] for r in rows)
    assert sum(int(v) for v in df["dim_contacts_this_campaign"]) == sum(int(r["campaign"]) for r in rows)
    assert sum(int(v) for v in df["dim_contacts_before"]) == sum(int(r["previous"]) for r in rows)
    never = sum(r["pdays"] == "999" for r in rows)
    assert (df["dim_days_since_previous_contact"] == "999").sum() == never
    # The first line: 56,housemaid,married,basic.4y,no,no,no,telephone,may,mon,261,1,999,0,no
    first = df.row(0, named=True)
    assert (first["dim_job"], first["dim_month"], first["dim_day_of_week"], first["converted"]) == (
        "housemaid",
        "may",
        "mon",
        False,
    )


def test_ca_paths() -> None:
    df = ingest("ca_paths", "ca_paths.csv")
    rows = records("ca_paths.csv")
    assert df.height == len(rows) == 10000
    assert df["conversions"].sum() == sum(int(r["total_conversions"]) for r in rows) == 19785
    assert df["nulls"].sum() == sum(int(r["total_null"]) for r in rows) == 68602
    assert df["value"].sum() == pytest.approx(sum(float(r["total_conversion_value"]) for r in rows))
    assert df["path"].to_list() == [r["path"] for r in rows]
    first = df.row(0, named=True)
    # The first line: eta > iota > alpha > eta,1,0.244,3
    assert (first["path"], first["conversions"], first["value"], first["nulls"]) == (
        "eta > iota > alpha > eta",
        1,
        pytest.approx(0.244),
        3,
    )
    assert df.schema["conversions"] == pl.Int64
    # A path repeats (10,000 rows, 5,408 distinct paths; "eta" alone on 637 rows): the rows are
    # not duplicates of the `paths` key but parts of one path, to be summed, not dropped.
    assert df["path"].n_unique() == len({r["path"] for r in rows}) == 5408
    eta = [r for r in rows if r["path"] == "eta"]
    assert len(eta) == 637
    assert df.filter(pl.col("path") == "eta")["conversions"].sum() == sum(
        int(r["total_conversions"]) for r in eta
    )
