"""The safe expression language of mapping files: every function against hand-computed values, and
every construct outside the language refused with a readable MappingError when the mapping loads."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ingest.errors import MappingError
from ingest.expressions import FUNCTIONS, Expression

UTC = dt.UTC

FRAME = pl.DataFrame(
    {
        "a": ["1,234.5", "", "-3", None],
        "b": ["x", "y", "", None],
        "Final URL": [
            "https://e.com/p?utm_source=google&utm_medium=cpc&utm_campaign=123#top",
            "https://e.com/p?x=1&utm_source=fb",
            "https://e.com/p",
            None,
        ],
        "secs": ["1788253200", "0", "", None],
        "src": ["google", "LinkedIn", "(direct)", None],
        "med": ["cpc", "paid_social", "(none)", None],
        "Name": ["  Acme Corp ", "globex", "", None],
    }
)


def ev(source: str, frame: pl.DataFrame = FRAME) -> list[object]:
    return frame.with_columns(Expression(source).expr.alias("out"))["out"].to_list()


# (expression, expected values over FRAME's four rows). The function names used here are checked
# against FUNCTIONS below, so a new function without a case fails.
CASES: list[tuple[str, list[object]]] = [
    ("number(a)", [1234.5, None, -3.0, None]),
    ("round(a)", [1234.0, None, -3.0, None]),  # 1234.5 -> 1234 (round half to even)
    ('round(number("2.345"), 2)', [2.35, 2.35, 2.35, 2.35]),
    ("abs(a)", [1234.5, None, 3.0, None]),
    ("lower(Name)", ["acme corp", "globex", None, None]),
    ("upper(Name)", ["ACME CORP", "GLOBEX", None, None]),
    ("strip(Name)", ["Acme Corp", "globex", None, None]),  # empty -> null
    ('replace(Name, "Corp", "Inc")', ["Acme Inc", "globex", None, None]),
    # 0-based: "google".split("o") = ["g", "", "gle"]; "LinkedIn" has no "o": index 1 is out of range
    ('split_part(src, "o", 1)', ["", None, None, None]),
    ('split_part(src, "o", 2)', ["gle", None, None, None]),
    (
        'split_part(col("Final URL"), "?", 1)',
        ["utm_source=google&utm_medium=cpc&utm_campaign=123#top", "x=1&utm_source=fb", None, None],
    ),
    ('starts_with(col("Final URL"), "https://e.com")', [True, True, True, None]),
    ('contains(col("Final URL"), "utm_")', [True, True, False, None]),
    ("is_empty(b)", [False, False, True, True]),
    ('coalesce(b, a, "none")', ["x", "y", "-3", "none"]),  # empty counts as missing
    ('concat(b, "-", src)', ["x-google", "y-LinkedIn", "-(direct)", "-"]),
    ('url_param(col("Final URL"), "utm_source")', ["google", "fb", None, None]),
    ('url_param(col("Final URL"), "utm_campaign")', ["123", None, None, None]),  # stops at '#'
    ('url_param(col("Final URL"), "x")', [None, "1", None, None]),
    ("channel_of(src, med)", ["paid_search", "paid_social", "direct", "direct"]),
    (
        'from_unix(secs, "s")',
        [dt.datetime(2026, 9, 1, 9, tzinfo=UTC), dt.datetime(1970, 1, 1, tzinfo=UTC), None, None],
    ),
    ('to_date("2026-09-03")', [dt.date(2026, 9, 3)] * 4),
    ('to_date("9/3/2026", "%m/%d/%Y")', [dt.date(2026, 9, 3)] * 4),
    ('to_datetime("2026-09-03T10:00:00+02:00")', [dt.datetime(2026, 9, 3, 8, tzinfo=UTC)] * 4),
    ('to_datetime("9/3/2026 10:05", "%m/%d/%Y %H:%M")', [dt.datetime(2026, 9, 3, 10, 5, tzinfo=UTC)] * 4),
]


@pytest.mark.parametrize(("source", "expected"), CASES, ids=[c[0] for c in CASES])
def test_function(source: str, expected: list[object]) -> None:
    assert ev(source) == expected


def test_every_function_has_a_case() -> None:
    used = {source.split("(")[0] for source, _ in CASES}
    assert used == set(FUNCTIONS)


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [
        ("s", "1788253200", dt.datetime(2026, 9, 1, 9, tzinfo=UTC)),
        ("ms", "1788253200123", dt.datetime(2026, 9, 1, 9, 0, 0, 123000, tzinfo=UTC)),
        ("us", "1788253200123456", dt.datetime(2026, 9, 1, 9, 0, 0, 123456, tzinfo=UTC)),
        ("s", "-86400", dt.datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_from_unix_units(unit: str, value: str, expected: dt.datetime) -> None:
    assert ev(f'from_unix(t, "{unit}")', pl.DataFrame({"t": [value]})) == [expected]


def test_from_unix_reads_integer_columns() -> None:
    frame = pl.DataFrame({"t": [1788253200123456, None]})
    assert ev('from_unix(t, "us")', frame) == [dt.datetime(2026, 9, 1, 9, 0, 0, 123456, tzinfo=UTC), None]


@pytest.mark.parametrize(
    ("source", "medium", "channel"),
    [
        ("mailchimp", "email", "email"),
        ("hubspot", "Newsletter", "email"),
        ("facebook", "cpc", "paid_social"),
        ("bing", "ppc", "paid_search"),
        ("google", "paid", "paid_search"),
        ("criteo", "display", "display"),
        ("google", "organic", "organic_search"),
        ("bing", None, "organic_search"),  # a search engine without a medium
        ("linkedin", "social", "organic_social"),
        ("t.co", "social", "organic_social"),
        ("partner.example.org", "referral", "referral"),
        ("(direct)", "(none)", "direct"),
        (None, None, "direct"),
        ("", "", "direct"),  # empty is missing
        ("newsletter-vendor", "affiliate", "other"),
    ],
)
def test_channel_of(source: str | None, medium: str | None, channel: str) -> None:
    frame = pl.DataFrame({"s": [source], "m": [medium]}, schema={"s": pl.String, "m": pl.String})
    assert ev("channel_of(s, m)", frame) == [channel]


# --- operators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a + 1", [1235.5, None, -2.0, None]),  # text columns are read as numbers in arithmetic
        ("a * 2", [2469.0, None, -6.0, None]),
        ("a - a", [0.0, None, 0.0, None]),
        ("-a", [-1234.5, None, 3.0, None]),
        ("number(a) / 2", [617.25, None, -1.5, None]),
        ("7 % 3", [1, 1, 1, 1]),
        ("7 // 2", [3, 3, 3, 3]),
        ('b + "!"', ["x!", "y!", "!", None]),  # + joins text when a side is a string
        ('b == "x"', [True, False, False, None]),
        ('b != "x"', [False, True, True, None]),
        ('b == "x" or b == "y"', [True, True, False, None]),
        ('b == "x" and src == "google"', [True, False, False, None]),
        ("not is_empty(b)", [True, True, False, False]),
        ('a if b == "x" else "no"', ["1,234.5", "no", "no", "no"]),
        ("number(a) >= 0", [True, None, False, None]),
        ('col("Final URL") == "https://e.com/p"', [False, False, True, None]),
        ("None", [None] * 4),
        ("True", [True] * 4),
    ],
)
def test_operators(source: str, expected: list[object]) -> None:
    assert ev(source) == expected


def test_columns_read_are_listed() -> None:
    expression = Expression('url_param(col("Final URL"), "utm_source") if is_empty(b) else concat(a, "x")')
    assert expression.columns == {"Final URL", "b", "a"}
    assert Expression('to_date("2026-09-03")').columns == set()


def test_comparison_with_a_number_reads_text_as_a_number() -> None:
    assert ev("a > 0") == [True, None, False, None]


# --- refused constructs -------------------------------------------------------------------------

NOT_ALLOWED = "is not allowed (use column names, literals"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a.upper()", "a.upper() " + NOT_ALLOWED),  # attribute access
        ("a.__class__", "a.__class__ " + NOT_ALLOWED),
        ('os.system("ls")', "os.system('ls') " + NOT_ALLOWED),
        ("lambda: 1", "lambda: 1 " + NOT_ALLOWED),
        ("a[0]", "a[0] " + NOT_ALLOWED),
        ("[x for x in a]", NOT_ALLOWED),
        ('f"{a}"', NOT_ALLOWED),
        ("(a := 1)", NOT_ALLOWED),
        ("2 ** 10", NOT_ALLOWED),
        ('{"k": 1}', NOT_ALLOWED),
        ('a in ("x",)', NOT_ALLOWED),
        ("a is None", NOT_ALLOWED),
        ("1 < a < 3", NOT_ALLOWED),  # chained comparison
        ('b"bytes"', "the literal b'bytes' " + NOT_ALLOWED),
        ("round(a, ndigits=1)", NOT_ALLOWED),  # keyword arguments
        ("col(a)", 'col() other than col("column name") ' + NOT_ALLOWED),
        ('col("x", "y")', 'col() other than col("column name") ' + NOT_ALLOWED),
        ("import os", "expression 'import os' is not valid: invalid syntax"),
        ("a +", "is not valid: invalid syntax"),
        ("", "is not valid"),
        ('__import__("os")', "unknown function __import__() (functions: col, abs, channel_of"),
        ('eval("1")', "unknown function eval()"),
        ('getattr(a, "x")', "unknown function getattr()"),
        ("foo(a)", "unknown function foo()"),
        ("to_date(a, b)", "argument b of to_date() must be a text literal"),
        ('split_part(a, ",", n)', "argument n of split_part() must be a whole-number literal"),
        ("url_param(a, b)", "argument b of url_param() must be a text literal"),
        ("lower(a, b)", "lower() takes 1 arguments"),
        ("number()", "number() takes 1 arguments"),
        ("to_date()", "to_date() takes 1 to 2 arguments"),
        ("from_unix(a)", "from_unix() takes 2 arguments"),
        ("concat()", "concat() takes 1 to any number of arguments"),
        ('from_unix(a, "ns")', "from_unix unit must be 's', 'ms' or 'us', not 'ns'"),
        ('round(a, "x")', "argument 'x' of round() must be a whole-number literal"),
    ],
)
def test_refused(source: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        Expression(source)
    assert message in str(caught.value)


def test_wrongly_typed_literal_is_refused_when_the_mapping_loads() -> None:
    with pytest.raises(MappingError):
        Expression('split_part(a, ",", "1")')
