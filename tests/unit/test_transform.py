"""Applying a mapping: typed unified rows, and errors that name the file, the line, the source column
and the value a user has to fix."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from ingest.errors import IngestError
from ingest.mapping import Mapping, parse_mapping
from ingest.readers import ROW, Export, read_export
from ingest.schema import AdPerformance, arrow_schema
from ingest.transform import to_unified

UTC = dt.UTC

ADS = """\
name: test_ads
table: ad_performance
source: {name: Test, kind: ad_platform}
columns:
  date: Day
  platform: {const: test}
  campaign_id: Campaign
  impressions: Impr
  clicks: Clicks
  spend: Cost
  currency: {const: USD}
"""
HEADER = "Day,Campaign,Impr,Clicks,Cost\n"

LEADS = """\
name: test_leads
table: leads
source: {name: Test, kind: crm}
columns:
  lead_id: ID
"""


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def unify(path: Path, mapping_text: str) -> pl.DataFrame:
    mapping = parse_mapping(mapping_text, "test.yaml")
    return to_unified(read(path, mapping), mapping)


def read(path: Path, mapping: Mapping) -> Export:
    return read_export(path, fmt=mapping.format, csv_options=mapping.csv, max_bytes=10**9)


def fails(path: Path, mapping_text: str) -> IngestError:
    with pytest.raises(IngestError) as caught:
        unify(path, mapping_text)
    assert caught.value.file == str(path)
    return caught.value


# --- a good file --------------------------------------------------------------------------------


def test_columns_in_schema_order_then_row_then_dimensions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'Day,Campaign,Impr,Clicks,Cost,Device,Network\n2026-09-01,c1,"1,204",87,"1,020.15",Mobile,\n',
    )
    df = unify(path, ADS + "dimensions: [Network, Device]\n")
    assert df.columns == [*AdPerformance.model_fields, ROW, "dim_device", "dim_network"]
    schema = arrow_schema(AdPerformance, ["device", "network"])
    assert [c for c in df.columns if c != ROW] == schema.names
    assert df.row(0, named=True) == {
        **{name: None for name in AdPerformance.model_fields},
        "date": dt.date(2026, 9, 1),
        "platform": "test",
        "campaign_id": "c1",
        "impressions": 1204,
        "clicks": 87,
        "spend": 1020.15,
        "currency": "USD",
        ROW: 2,
        "dim_device": "Mobile",
        "dim_network": None,  # an empty cell is null, not ""
    }
    assert df.schema["impressions"] == pl.Int64
    assert df.schema["spend"] == pl.Float64
    assert df.schema["date"] == pl.Date


def test_decimal_comma_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'Day;Campaign;Impr;Clicks;Cost\n2026-09-01;c1;1.204;87;"1.020,15"\n2026-09-02;c1;3;0;-0,5\n'
    )
    df = unify(path, ADS + "csv: {delimiter: ';', thousands: '.', decimal: ','}\n")
    assert df["impressions"].to_list() == [1204, 3]
    assert df["spend"].to_list() == [1020.15, -0.5]


# --- conversion errors --------------------------------------------------------------------------


def test_text_in_a_number_column(tmp_path: Path) -> None:
    path = write(
        tmp_path, HEADER + "2026-09-01,c1,10,1,1.5\n2026-09-02,c1,10,abc,1\n2026-09-03,c1,10,n/a,1\n"
    )
    err = fails(path, ADS)
    assert (err.row, err.column) == (3, "Clicks")
    assert err.message == "'abc' is not a whole number, for field clicks (1 more rows like it)"
    assert (
        str(err)
        == f"{path}:3: column 'Clicks': 'abc' is not a whole number, for field clicks (1 more rows like it)"
    )


def test_impossible_date(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2026-09-01,c1,10,1,1.5\n2026-13-45,c1,10,2,1\n")
    err = fails(path, ADS)
    assert (err.row, err.column) == (3, "Day")
    assert err.message == (
        "'2026-13-45' is not a date (YYYY-MM-DD; set `format:` in the mapping for another form), "
        "for field date"
    )


def test_date_in_another_format_than_the_mapping_says(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "9/1/2026,c1,10,1,1.5\n2026-09-02,c1,10,2,1\n")
    err = fails(path, ADS.replace("date: Day", "date: {from: Day, format: '%m/%d/%Y'}"))
    assert (err.row, err.column) == (3, "Day")
    assert err.message == "'2026-09-02' is not a date in the format '%m/%d/%Y', for field date"


def test_fractional_clicks(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2026-09-01,c1,10,2.5,1.5\n")
    err = fails(path, ADS)
    assert (err.row, err.column) == (2, "Clicks")
    assert err.message == "'2.5' is not a whole number, for field clicks"


def test_whole_float_is_a_whole_number(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + '2026-09-01,c1,"1,000.00",3.0,1.5\n')
    assert unify(path, ADS).select("impressions", "clicks").row(0) == (1000, 3)


def test_bad_value_from_an_expression_names_the_expression(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2026-09-01,c1,10,1,1.5\n")
    mapping = ADS.replace("clicks: Clicks", "clicks: {expr: 'concat(Clicks, \"x\")'}")
    err = fails(path, mapping)
    assert (err.row, err.column) == (2, 'clicks = concat(Clicks, "x")')
    assert err.message == "'1x' is not a whole number, for field clicks"


def test_number_is_not_read_as_a_time(tmp_path: Path) -> None:
    path = write(tmp_path, '{"ID": "1", "created": 1788253200}\n', "leads.jsonl")
    err = fails(path, LEADS + "  created_at: created\n")
    assert (err.row, err.column) == (1, "created")
    assert err.message == (
        "1788253200 is not a date and time (numbers are not read as times: use from_unix() in the mapping), "
        "for field created_at"
    )


def test_not_a_boolean(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Converted\n1,yes\n2,perhaps\n")
    err = fails(path, LEADS + "  converted: Converted\n")
    assert (err.row, err.column) == (3, "Converted")
    assert err.message == "'perhaps' is not a true/false, for field converted"


# --- required fields ----------------------------------------------------------------------------


def test_required_field_empty_names_the_row_and_counts_the_others(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "2026-09-01,c1,10,1,1\n2026-09-02,,10,1,1\n2026-09-03, ,10,1,1\n2026-09-04,,10,1,1\n",
    )
    err = fails(path, ADS)
    assert (err.row, err.column) == (3, "Campaign")
    assert err.message == "required field campaign_id is empty (2 more rows like it)"


def test_required_field_empty_once(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2026-09-01,c1,10,,1\n")
    err = fails(path, ADS)
    assert (err.row, err.column, err.message) == (2, "Clicks", "required field clicks is empty")


def test_optional_fields_may_be_empty(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ",c1,10,1,1\n")
    assert unify(path, ADS)["date"].to_list() == [None]


# --- source columns -----------------------------------------------------------------------------


def test_unknown_source_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Day,Campaign,Impr,Clicks\n2026-09-01,c1,10,1\n")
    err = fails(path, ADS)
    assert err.column == "Cost"
    assert err.row is None
    assert err.message == (
        "mapping 'test_ads' reads this column but the file has no such column "
        "(columns: Campaign, Clicks, Day, Impr)"
    )


def test_one_column_file_hints_at_the_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "Day;Campaign;Impr;Clicks;Cost\n2026-09-01;c1;10;1;1.5\n")
    err = fails(path, ADS + "csv: {delimiter: ','}\n")
    assert err.column == "Campaign"  # the first missing column, by name
    assert err.message.endswith(
        "(columns: Day;Campaign;Impr;Clicks;Cost); "
        "the file reads as one column: wrong delimiter? (it contains ';')"
    )


def test_columns_read_by_expressions_dimensions_and_drop_rows_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2026-09-01,c1,10,1,1.5\n")
    for extra, column in [
        ("dimensions: [Device]\n", "Device"),
        ("drop_rows: 'is_empty(Status)'\n", "Status"),
    ]:
        assert fails(path, ADS + extra).column == column
    mapping = ADS.replace("currency: {const: USD}", "currency: {expr: 'upper(col(\"Currency code\"))'}")
    assert fails(path, mapping).column == "Currency code"


# --- value maps ---------------------------------------------------------------------------------

MAPPED = "ID,Source\n1,Paid Search\n2,Email\n3,Trade Show\n"


def test_value_map_without_default_keeps_unmapped_values(tmp_path: Path) -> None:
    path = write(tmp_path, MAPPED)
    df = unify(path, LEADS + "  channel: {from: Source, map: {Paid Search: paid_search, Email: email}}\n")
    assert df["channel"].to_list() == ["paid_search", "email", "Trade Show"]


def test_value_map_with_default(tmp_path: Path) -> None:
    path = write(tmp_path, MAPPED)
    mapping = (
        LEADS + "  channel: {from: Source, map: {Paid Search: paid_search, Email: email}, default: other}\n"
    )
    assert unify(path, mapping)["channel"].to_list() == ["paid_search", "email", "other"]


def test_value_map_to_booleans(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Stage\n1,Won\n2,Lost\n3,Won\n")
    df = unify(path, LEADS + "  converted: {from: Stage, map: {Won: true, Lost: false}}\n")
    assert df["converted"].to_list() == [True, False, True]


def test_value_map_keeps_empty_cells_empty_without_default(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Source\n1,Email\n2,\n")
    df = unify(path, LEADS + "  channel: {from: Source, map: {Email: email}}\n")
    assert df["channel"].to_list() == ["email", None]


def test_value_map_default_is_for_unmapped_values_not_for_empty_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Source\n1,Email\n2,\n3,Fax\n")
    df = unify(path, LEADS + "  channel: {from: Source, map: {Email: email}, default: other}\n")
    assert df["channel"].to_list() == ["email", None, "other"]


# --- optional source columns --------------------------------------------------------------------


def test_optional_column_absent_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Owner\n1,Ann\n")
    df = unify(
        path, LEADS + "  owner: {from: Owner, optional: true}\n  status: {from: Status, optional: true}\n"
    )
    assert df.select("lead_id", "owner", "status").rows() == [("1", "Ann", None)]


# --- drop_rows ----------------------------------------------------------------------------------


def test_drop_rows_removes_footers_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "2026-09-01,c1,10,1,1.5\n2026-09-02,c1,20,2,2.5\n"
        + "Total: Account,,30,3,4.0\nTotal: Campaigns,,30,3,4.0\n",
    )
    df = unify(path, ADS + "drop_rows: 'starts_with(Day, \"Total\")'\n")
    assert df[ROW].to_list() == [2, 3]
    assert df["spend"].sum() == pytest.approx(4.0)  # 1.5 + 2.5, the totals rows not counted again


def test_drop_rows_with_null_condition_keeps_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ",c1,10,1,1.5\n2026-09-02,c1,20,2,2.5\n")
    df = unify(path, ADS + "drop_rows: 'starts_with(Day, \"Total\")'\n")
    assert df[ROW].to_list() == [2, 3]  # an empty Day gives null, not "drop"


# --- generated ids ------------------------------------------------------------------------------


def test_generated_row_ids_are_stable(tmp_path: Path) -> None:
    text = "Name\nAnn\nBob\n"
    mapping = LEADS.replace("lead_id: ID", "lead_id: {generate: row_id}") + "  owner: Name\n"
    first = unify(write(tmp_path, text), mapping)["lead_id"].to_list()
    second = unify(write(tmp_path, text), mapping)["lead_id"].to_list()
    copy = tmp_path / "elsewhere.csv"
    shutil.copy(tmp_path / "export.csv", copy)
    third = unify(copy, mapping)["lead_id"].to_list()
    assert first == second == third
    assert len(set(first)) == 2
    assert [i.split("-")[1] for i in first] == ["2", "3"]
    changed = unify(write(tmp_path, text + "Cy\n", "other.csv"), mapping)["lead_id"].to_list()
    assert changed[0] != first[0]  # other content, other ids


# --- time zones ---------------------------------------------------------------------------------

OPPS = """\
name: test_opps
table: opportunities
source: {name: Test, kind: crm}
timezone: Europe/Berlin
columns:
  opportunity_id: ID
  created_at: Created
"""


def test_naive_times_are_read_in_the_mapping_time_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Created\n1,2026-09-03 10:00\n2,2026-09-03T10:00:00Z\n3,2026-01-15\n")
    df = unify(path, OPPS)
    assert df["created_at"].to_list() == [
        dt.datetime(2026, 9, 3, 8, tzinfo=UTC),  # CEST, UTC+2
        dt.datetime(2026, 9, 3, 10, tzinfo=UTC),  # the offset wins
        dt.datetime(2026, 1, 14, 23, tzinfo=UTC),  # CET midnight, UTC+1
    ]


def test_parquet_timestamps_and_dates_in_the_mapping_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "opps.parquet"
    pl.DataFrame(
        {
            "ID": ["1"],
            "Created": [dt.datetime(2026, 9, 3, 10, 0)],  # naive: Berlin time
            "Closed": [dt.date(2026, 9, 30)],  # a date: Berlin midnight
        }
    ).write_parquet(path)
    df = unify(path, OPPS + "  closed_at: Closed\n")
    assert df.select("created_at", "closed_at").row(0) == (
        dt.datetime(2026, 9, 3, 8, tzinfo=UTC),
        dt.datetime(2026, 9, 29, 22, tzinfo=UTC),
    )


def test_parquet_aware_timestamps_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "opps.parquet"
    pl.DataFrame({"ID": ["1"], "Created": [dt.datetime(2026, 9, 3, 10, 0, tzinfo=UTC)]}).write_parquet(path)
    assert unify(path, OPPS)["created_at"].to_list() == [dt.datetime(2026, 9, 3, 10, tzinfo=UTC)]


def test_to_datetime_in_an_expression_uses_the_mapping_time_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Created,Closed\n1,2026-09-03 10:00,2026-09-03 10:00\n")
    df = unify(path, OPPS + "  closed_at: {expr: 'to_datetime(Closed)'}\n")
    assert df["closed_at"][0] == df["created_at"][0] == dt.datetime(2026, 9, 3, 8, tzinfo=UTC)


def test_time_in_the_summer_time_gap_is_a_located_error(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Created\n1,2026-03-29 01:30\n2,2026-03-29 02:30\n")
    err = fails(path, OPPS)
    assert (err.row, err.column) == (3, "Created")
