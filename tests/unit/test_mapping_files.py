"""Mapping files are checked hard when they load: each mistake an analyst makes stops with a message
that names the file, the key and, where it can, the likely fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MappingError
from ingest.mapping import builtin_names, dimension_name, load_mapping, parse_mapping

GOOD = """\
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


def error(text: str, path: str = "mine.yaml") -> MappingError:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, path)
    return caught.value


def test_a_good_mapping_loads() -> None:
    mapping = parse_mapping(GOOD + "dimensions: [Device, Company size]\n", "mine.yaml")
    assert mapping.name == "test_ads"
    assert mapping.columns["campaign_id"].from_ == "Campaign"  # `field: Column` is short for from
    assert mapping.columns["platform"].const == "test"
    assert mapping.dimensions == {"device": "Device", "company_size": "Company size"}
    assert mapping.source_columns() == {"Day", "Campaign", "Impr", "Clicks", "Cost", "Device", "Company size"}
    assert mapping.csv.delimiter == "auto"
    assert mapping.timezone == "UTC"


def test_a_mapping_file_loads_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_mapping(path).name == "test_ads"
    assert load_mapping(str(path)).table == "ad_performance"


@pytest.mark.parametrize(
    ("column", "name"),
    [
        ("Company size", "company_size"),
        ("Approved_Conversion", "approved_conversion"),
        ("% CTR (all)", "ctr_all"),
    ],
)
def test_dimension_names(column: str, name: str) -> None:
    assert dimension_name(column) == name


# --- typos --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("columns:", "colums:"), "unknown key 'colums' (did you mean 'columns'?)"),
        (
            GOOD.replace("campaign_id: Campaign", "campaign_id: {frm: Campaign}"),
            "unknown key 'columns.campaign_id.frm' (did you mean 'from'?)",
        ),
        (GOOD + "csv: {skip_row: 2}\n", "unknown key 'csv.skip_row' (did you mean 'skip_rows'?)"),
        (GOOD.replace("kind:", "knd:"), "unknown key 'source.knd' (did you mean 'kind'?)"),
        (
            GOOD + "attribution_window: {click_day: 7}\n",
            "unknown key 'attribution_window.click_day' (did you mean 'click_days'?)",
        ),
        (GOOD + "dimension: [Device]\n", "unknown key 'dimension' (did you mean 'dimensions'?)"),
        (GOOD + "zzzz: 1\n", "unknown key 'zzzz'"),
    ],
)
def test_unknown_key_suggests_the_known_one(text: str, message: str) -> None:
    err = error(text)
    assert err.message == message
    assert err.file == "mine.yaml"
    assert str(err) == f"mine.yaml: {message}"


def test_unknown_field_with_suggestion() -> None:
    err = error(GOOD + "  campain_name: Name\n")
    assert (
        err.message
        == "columns: table ad_performance has no field 'campain_name' (did you mean 'campaign_name'?)"
    )


def test_unknown_field_without_a_close_match() -> None:
    assert error(GOOD + "  zzz: Name\n").message == "columns: table ad_performance has no field 'zzz'"


def test_required_field_not_filled() -> None:
    text = GOOD.replace("  spend: Cost\n", "").replace("  currency: {const: USD}\n", "")
    assert error(text).message == "columns: required field(s) of ad_performance not filled: spend, currency"


# --- YAML and structure -------------------------------------------------------------------------


def test_bad_yaml_names_the_line() -> None:
    # Line 12 is the bad one: a second "key:" inside a plain value.
    err = error(GOOD + "  spend: Cost: x\n")
    assert err.row == 12
    assert err.message == "not valid YAML: mapping values are not allowed here"
    assert str(err).startswith("mine.yaml:12: not valid YAML")


def test_unclosed_bracket_names_a_line() -> None:
    err = error("name: x\ntable: leads\ncolumns: [a, b\nsource: {name: X, kind: crm}\n")
    assert err.message.startswith("not valid YAML:")
    assert err.row == 4  # where the parser found the problem


def test_top_level_must_be_a_mapping() -> None:
    assert error("- a\n- b\n").message == "a mapping is a YAML mapping (key: value) at the top level"


def test_format_on_a_non_date_field() -> None:
    err = error(GOOD.replace("clicks: Clicks", "clicks: {from: Clicks, format: '%d'}"))
    assert err.message == "columns.clicks: 'format' applies to date and time fields only"


def test_format_on_a_date_field_is_fine() -> None:
    mapping = parse_mapping(GOOD.replace("date: Day", "date: {from: Day, format: '%m/%d/%Y'}"))
    assert mapping.columns["date"].format == "%m/%d/%Y"


def test_unknown_table() -> None:
    err = error(GOOD.replace("table: ad_performance", "table: ad_perf"))
    assert err.message == (
        "unknown table 'ad_perf' (tables: ad_performance, annotations, benchmarks, email_sends, leads, "
        "opportunities, paths, plans, touchpoints)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("platform: {const: test}", "platform: {const: test, from: P}"),
            "columns.platform: give exactly one of from, const, expr, generate",
        ),
        (
            GOOD.replace("platform: {const: test}", "platform: {map: {a: b}}"),
            "columns.platform: give exactly one of from, const, expr, generate",
        ),
        (
            GOOD.replace("platform: {const: test}", "platform: {const: test, optional: true}"),
            "columns.platform: 'optional' applies to 'from' columns only",
        ),
        (GOOD + "csv: {delimiter: ';;'}\n", "csv.delimiter: a delimiter is one character (or 'auto')"),
        (
            GOOD + "dimensions: {Bad Name: x}\n",
            "dimensions: 'Bad Name' is not a valid dimension name (a-z, 0-9, _)",
        ),
        (
            GOOD.replace("name: test_ads", "name: Test-Ads"),
            "name: String should match pattern '^[a-z][a-z0-9_]*$'",
        ),
        (
            GOOD + "attribution_window: {click_days: 400}\n",
            "attribution_window.click_days: Input should be less",
        ),
        (GOOD + "csv: {skip_rows: -1}\n", "csv.skip_rows: Input should be greater than or equal to 0"),
        (GOOD + "drop_rows: 'foo(Day)'\n", "drop_rows: expression 'foo(Day)': unknown function foo()"),
        (
            GOOD.replace("platform: {const: test}", "platform: {expr: 'x.y'}"),
            "columns.platform: expression 'x.y': x.y is not allowed",
        ),
        (
            GOOD.replace("platform: {const: test}", "platform: {generate: uuid}"),
            "columns.platform.generate: Input should be 'row_id'",
        ),
    ],
)
def test_invalid_mapping(text: str, message: str) -> None:
    assert error(text).message.startswith(message)


def test_delimiter_spelled_as_tab() -> None:
    assert parse_mapping(GOOD + "csv: {delimiter: tab}\n").csv.delimiter == "\t"
    assert parse_mapping(GOOD + "csv: {delimiter: '\\t'}\n").csv.delimiter == "\t"


def test_a_bad_expression_names_its_key() -> None:
    err = error(GOOD.replace("platform: {const: test}", "platform: {expr: 'x.y'}"))
    assert "columns.platform" in err.message


# --- built-in names -----------------------------------------------------------------------------


def test_unknown_builtin_lists_the_builtins() -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping("google_adz")
    message = caught.value.message
    assert message.startswith("no built-in mapping 'google_adz' (built-in: ")
    for name in builtin_names():
        assert name in message
    assert message.endswith("or give a path to a .yaml file)")


def test_unknown_native_table_is_an_unknown_builtin() -> None:
    with pytest.raises(MappingError, match="no built-in mapping 'warrant_nope'"):
        load_mapping("warrant_nope")


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(tmp_path / "absent.yaml")
    assert caught.value.message.startswith("cannot read mapping:")
    assert caught.value.file == str(tmp_path / "absent.yaml")


def test_native_mapping_makes_optional_fields_optional() -> None:
    mapping = load_mapping("warrant_paths")
    assert mapping.table == "paths"
    assert {name: spec.from_ for name, spec in mapping.columns.items()} == {
        "path": "path",
        "conversions": "conversions",
        "value": "value",
        "nulls": "nulls",
    }
    leads = load_mapping("warrant_leads")
    assert leads.columns["lead_id"].optional is False
    assert leads.columns["created_at"].optional is True
