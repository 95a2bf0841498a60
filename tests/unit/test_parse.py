"""Text to typed values (ingest.parse) against hand-computed values, edge cases included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
import pytest

from ingest import parse

UTC = dt.UTC


def run(fn: Callable[[pl.Expr], pl.Expr], values: list[str | None]) -> list[object]:
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    return frame.select(fn(pl.col("v")).alias("out"))["out"].to_list()


def one(fn: Callable[[pl.Expr], pl.Expr], value: str | None) -> object:
    return run(fn, [value])[0]


# --- text ---------------------------------------------------------------------------------------


def test_text_strips_and_reads_empty_as_null() -> None:
    assert run(parse.text, ["  a b  ", "", "   ", None, "x"]) == ["a b", None, None, None, "x"]


# --- number -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.56", 1234.56),
        ("USD 12,000.00", 12000.0),
        ("23.50%", 23.5),  # the percent sign is dropped, the value kept as written
        ("-42", -42.0),
        ("-1,234.5", -1234.5),
        ("+7", 7.0),
        ("$5", 5.0),
        ("$-5", -5.0),
        ("EUR -5", -5.0),
        ("£ 1,000", 1000.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("  17  ", 17.0),
        ("1 234.5", 1234.5),  # a space as thousands separator
        ("1'234.5", 1234.5),  # Swiss thousands separator
        ("0", 0.0),
    ],
)
def test_number(text: str, expected: float) -> None:
    assert one(parse.number, text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "   ", None, "abc", "12-34", "1.2.3", "(12.00)", "n/a", "-"])
def test_number_unreadable_or_empty_is_null(text: str | None) -> None:
    assert one(parse.number, text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", 1234.56),
        ("-1.234,5", -1234.5),
        ("12,5", 12.5),
        ("€1.234,56", 1234.56),
        ("3,75 %", 3.75),
        ("1.000.000", 1000000.0),
    ],
)
def test_number_with_decimal_comma_and_thousands_point(text: str, expected: float) -> None:
    assert one(lambda e: parse.number(e, thousands=".", decimal=","), text) == pytest.approx(expected)


def test_number_without_thousands_separator() -> None:
    assert run(lambda e: parse.number(e, thousands=""), ["1788253200123456", "1,5"]) == [
        1788253200123456.0,
        None,
    ]


def test_number_thousands_separator_must_group_three_digits() -> None:
    """'1,5' is a decimal comma read with the default options: unreadable, never fifteen."""
    values = ["1,5", "12,34", "1,2345", "1.234,56", "1,234", "12,345,678.9", "-1,000"]
    assert run(parse.number, values) == [None, None, None, None, 1234.0, 12345678.9, -1000.0]
    assert run(lambda e: parse.number(e, thousands=".", decimal=","), ["1.5", "1.234,5"]) == [None, 1234.5]


# --- boolean ------------------------------------------------------------------------------------


def test_boolean() -> None:
    values = ["true", "False", "YES", "no", "y", "N", "1", "0", " t ", "f", "", None, "maybe", "2"]
    expected = [True, False, True, False, True, False, True, False, True, False, None, None, None, None]
    assert run(parse.boolean, values) == expected


# --- date ---------------------------------------------------------------------------------------


def test_date_iso_by_default() -> None:
    assert run(parse.date, ["2026-09-03", "2026-13-45", "", None, "09/03/2026", "2026-02-29"]) == [
        dt.date(2026, 9, 3),
        None,  # month 13
        None,
        None,
        None,  # not ISO, and no format given
        None,  # 2026 is not a leap year
    ]


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("%m/%d/%Y", "9/3/2026", dt.date(2026, 9, 3)),  # US, no zero padding
        ("%m/%d/%Y", "12/31/2026", dt.date(2026, 12, 31)),
        ("%d/%m/%Y", "9/3/2026", dt.date(2026, 3, 9)),  # the same text, European order
        ("%d.%m.%Y", "03.09.2026", dt.date(2026, 9, 3)),
        ("%Y%m%d", "20260903", dt.date(2026, 9, 3)),  # GA4 event_date
        ("%b %d, %Y", "Sep 03, 2026", dt.date(2026, 9, 3)),
        ("%m/%d/%Y", "13/01/2026", None),
    ],
)
def test_date_with_format(fmt: str, text: str, expected: dt.date | None) -> None:
    assert one(lambda e: parse.date(e, fmt), text) == expected


# --- datetime -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-03T10:00:00Z", dt.datetime(2026, 9, 3, 10, tzinfo=UTC)),
        ("2026-09-03T10:00:00+02:00", dt.datetime(2026, 9, 3, 8, tzinfo=UTC)),
        ("2026-09-03T10:00:00-05:30", dt.datetime(2026, 9, 3, 15, 30, tzinfo=UTC)),
        ("2026-09-03T10:00:00+0200", dt.datetime(2026, 9, 3, 8, tzinfo=UTC)),
        ("2026-09-03T10:00:00.123456Z", dt.datetime(2026, 9, 3, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-09-03T23:30:00-01:00", dt.datetime(2026, 9, 4, 0, 30, tzinfo=UTC)),  # next day in UTC
        ("2026-09-03T10:00:00", dt.datetime(2026, 9, 3, 10, tzinfo=UTC)),  # naive: UTC
        ("2026-09-03 10:00:00", dt.datetime(2026, 9, 3, 10, tzinfo=UTC)),  # a space for the T
        ("2026-09-03T10:00", dt.datetime(2026, 9, 3, 10, tzinfo=UTC)),
        ("2026-09-03", dt.datetime(2026, 9, 3, tzinfo=UTC)),  # date only: midnight UTC
        ("2026-13-45", None),
        ("2026-09-03T25:00:00", None),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_datetime_iso(text: str | None, expected: dt.datetime | None) -> None:
    assert one(parse.datetime, text) == expected


def test_datetime_iso_minutes_with_offset() -> None:
    assert run(parse.datetime, ["2026-09-03T10:00Z", "2026-09-03T10:00+02:00"]) == [
        dt.datetime(2026, 9, 3, 10, tzinfo=UTC),
        dt.datetime(2026, 9, 3, 8, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("timezone", "text", "expected"),
    [
        # Berlin is UTC+2 in September (CEST)
        ("Europe/Berlin", "2026-09-03T10:00:00", dt.datetime(2026, 9, 3, 8, tzinfo=UTC)),
        ("Europe/Berlin", "2026-09-03", dt.datetime(2026, 9, 2, 22, tzinfo=UTC)),  # local midnight
        # ... and UTC+1 in January (CET)
        ("Europe/Berlin", "2026-01-15 10:00", dt.datetime(2026, 1, 15, 9, tzinfo=UTC)),
        # New York is UTC-4 in September (EDT)
        ("America/New_York", "2026-09-03 22:30:00", dt.datetime(2026, 9, 4, 2, 30, tzinfo=UTC)),
        # An explicit offset wins over the mapping's time zone.
        ("Europe/Berlin", "2026-09-03T10:00:00Z", dt.datetime(2026, 9, 3, 10, tzinfo=UTC)),
        ("America/New_York", "2026-09-03T10:00:00+01:00", dt.datetime(2026, 9, 3, 9, tzinfo=UTC)),
        # The hour repeated when summer time ends (Berlin, 25 Oct 2026): the earlier one, CEST.
        ("Europe/Berlin", "2026-10-25 02:30", dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_datetime_naive_in_a_mapping_time_zone(timezone: str, text: str, expected: dt.datetime) -> None:
    assert one(lambda e: parse.datetime(e, timezone=timezone), text) == expected


@pytest.mark.parametrize(
    ("fmt", "timezone", "text", "expected"),
    [
        ("%Y-%m-%d %H:%M", "UTC", "2026-09-03 10:05", dt.datetime(2026, 9, 3, 10, 5, tzinfo=UTC)),
        ("%m/%d/%Y", "UTC", "9/3/2026", dt.datetime(2026, 9, 3, tzinfo=UTC)),
        ("%b %d, %Y %I:%M %p", "UTC", "Sep 03, 2026 02:30 pm", dt.datetime(2026, 9, 3, 14, 30, tzinfo=UTC)),
        ("%b %d, %Y %I:%M %p", "UTC", "Sep 03, 2026 12:15 AM", dt.datetime(2026, 9, 3, 0, 15, tzinfo=UTC)),
        ("%d/%m/%Y %H:%M", "Europe/Paris", "03/09/2026 10:00", dt.datetime(2026, 9, 3, 8, tzinfo=UTC)),
        (
            "%Y-%m-%d %H:%M %z",
            "Europe/Paris",
            "2026-09-03 10:00 -0300",
            dt.datetime(2026, 9, 3, 13, tzinfo=UTC),
        ),
        ("%Y-%m-%d %H:%M", "UTC", "2026-09-03", None),
    ],
)
def test_datetime_with_format(fmt: str, timezone: str, text: str, expected: dt.datetime | None) -> None:
    assert one(lambda e: parse.datetime(e, fmt, timezone), text) == expected


def test_datetime_is_utc_typed() -> None:
    frame = pl.DataFrame({"v": ["2026-09-03T10:00:00+02:00"]})
    assert frame.select(parse.datetime(pl.col("v")).alias("t")).schema["t"] == pl.Datetime("us", "UTC")
