"""Bounded fuzzing of everything that reads user input on the way in: export files (CSV, and JSON
lines beside it), mapping YAML, the mapping expression language and the value parsers.

The property is the same everywhere: arbitrary input is either read, or refused with the project's
own typed error (`IngestError`, `MappingError` for mappings and expressions) whose message a user
can act on: not empty, naming the file where there is one, free of Python internals. Nothing else
may escape (no KeyError, TypeError, UnicodeError, RecursionError, polars error), and nothing may
hang (a per-example deadline, and pytest-timeout around each test).

Bounded for CI: `WARRANT_FUZZ_EXAMPLES` (default 20, as for the HTTP fuzzing) scales the examples
of every test (cheap tests run a multiple of it), `WARRANT_FUZZ_DEADLINE_MS` (default 5000) is the
per-example deadline. Hypothesis prints the falsifying example (and a reproduction blob) on
failure; the regressions it found are pinned below with `@example` and as plain tests.
"""

from __future__ import annotations

import ast
import codecs
import csv
import datetime as dt
import io
import os
import re
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ingest import parse
from ingest.errors import IngestError, MappingError
from ingest.expressions import FUNCTIONS, Expression
from ingest.mapping import BUILTIN_DIR, ColumnSpec, CsvOptions, Mapping, load_mapping, parse_mapping
from ingest.readers import ROW, Export, read_export
from ingest.schema import TABLES
from ingest.transform import to_unified

EXAMPLES = int(os.environ.get("WARRANT_FUZZ_EXAMPLES", "20"))
DEADLINE = dt.timedelta(milliseconds=int(os.environ.get("WARRANT_FUZZ_DEADLINE_MS", "5000")))
EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"

# The CSV built-ins and their hand-written fixture exports (tests/unit/test_builtin_mappings.py).
CSV_FIXTURES = {
    "fivetran_ad_report": "fivetran_ad_report.csv",
    "google_ads": "google_ads.csv",
    "meta_ads": "meta_ads.csv",
    "linkedin_ads": "linkedin_ads.csv",
    "hubspot_contacts": "hubspot_contacts.csv",
    "hubspot_deals": "hubspot_deals.csv",
    "salesforce_leads": "salesforce_leads.csv",
    "salesforce_opportunities": "salesforce_opportunities.csv",
    "mailchimp_campaigns": "mailchimp_campaigns.csv",
}
BUILTIN_YAML = {p.stem: p.read_text(encoding="utf-8") for p in sorted(BUILTIN_DIR.glob("*.yaml"))}

pytestmark = pytest.mark.timeout(300)


def fuzz(scale: float = 1.0) -> Callable[[Any], Any]:
    """Hypothesis settings for one fuzz test: `scale` x WARRANT_FUZZ_EXAMPLES examples. No example
    database (nothing written into the checkout); the seed and a blob are printed on failure."""
    return settings(
        max_examples=max(1, int(EXAMPLES * scale)),
        deadline=DEADLINE,
        database=None,
        print_blob=True,
        # Exports are built from several draws (headers, rows, encodings): large by design.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- what a user-facing error looks like --------------------------------------------------------

# Python and library internals that mean an exception was passed through instead of explained.
_JUNK = re.compile(
    r"Traceback \(most recent|object at 0x[0-9a-f]+|<class '|<built-in|\bpyo3\b|PanicException"
    r"|\b(?:Key|Index|Attribute|Type|Unicode\w*|Recursion|Overflow|Compute|Schema|InvalidOperation)Error\b"
    r"|ValidationError|pydantic|For further information visit"
)


def user_facing(error: IngestError, *, file: str | Path | None = None) -> None:
    """A typed error a user can act on: a message, the file when there is one, no internals."""
    assert isinstance(error, IngestError)
    assert isinstance(error.message, str) and error.message.strip(), repr(error)
    assert not _JUNK.search(error.message), error.message
    if file is not None:
        assert error.file == str(file), (error.file, str(file))
        assert str(error).startswith(str(file))
    if error.row is not None:
        assert isinstance(error.row, int) and error.row >= 1, error.row
    assert error.to_dict()["message"] == error.message


# --- exports on disk ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-exports")


def read_or_refuse(path: Path, data: bytes, options: CsvOptions, fmt: str | None = None) -> Export | None:
    """`read_export` on `data`: the export, or None after checking the refusal is user-facing."""
    path.write_bytes(data)
    try:
        return read_export(path, fmt=fmt, csv_options=options, max_bytes=10**8)
    except IngestError as error:
        user_facing(error, file=path)
        return None


def unify_or_refuse(export: Export, mapping: Mapping) -> pl.DataFrame | None:
    try:
        unified = to_unified(export, mapping)
    except IngestError as error:
        user_facing(error, file=export.path)
        return None
    assert list(unified.columns)[: len(mapping.model.model_fields)] == list(mapping.model.model_fields)
    assert unified[ROW].dtype == pl.Int64
    return unified


def check_frame(export: Export) -> None:
    """A read export: every column text (CSV), `_row` the increasing line numbers."""
    assert export.frame.columns[-1] == ROW
    rows = export.frame[ROW].to_list()
    assert rows == sorted(rows) and len(set(rows)) == len(rows) and all(r >= 1 for r in rows)
    assert all(export.frame[c].dtype == pl.String for c in export.columns)
    assert len(set(export.columns)) == len(export.columns)


# --- CSV: random bytes ----------------------------------------------------------------------------

ENCODINGS = ["auto", "utf-8", "utf-16", "latin-1", "cp1252"]


@st.composite
def csv_options(draw: st.DrawFn) -> CsvOptions:
    """Options a loaded mapping can carry; options the mapping itself refuses are the mapping
    fuzzing's business (test_mapping_yaml_*)."""
    kwargs = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "delimiter": st.sampled_from(["auto", ",", ";", "\t", "|", " ", '"', "\n", "ab", ""]),
                "encoding": st.sampled_from(
                    [*ENCODINGS, "utf-32", "ascii", "idna", "undefined", "rot13", "x\0"]
                ),
                "skip_rows": st.integers(0, 4),
                "quote": st.sampled_from(['"', "'", "", "ab", ",", "\n"]),
                "thousands": st.sampled_from([",", ".", " ", ""]),
                "decimal": st.sampled_from([".", ","]),
            },
        )
    )
    try:
        return CsvOptions(**kwargs)
    except ValidationError:
        assume(False)
        raise AssertionError("unreachable") from None


@fuzz(scale=3)
@given(data=st.binary(max_size=600), options=csv_options())
@example(data=b"a,b\n1,2\n", options=CsvOptions(encoding="undefined"))  # UnicodeError leaked
@example(data=b"a,b\n1,2\n", options=CsvOptions(encoding="utf-8\0"))  # ValueError leaked
@example(data=b"_row,b\nx,y\n", options=CsvOptions())  # the line numbers silently replaced `_row`
def test_csv_random_bytes(workdir: Path, data: bytes, options: CsvOptions) -> None:
    export = read_or_refuse(workdir / "random.csv", data, options)
    if export is not None:
        check_frame(export)


# --- CSV: structured, from random headers and rows -------------------------------------------------

# Text with what breaks CSV: delimiters, quotes, line breaks of every kind, NUL, BOMs, non-ASCII.
_TRICKY = st.sampled_from([*list(",;\t|\"'\r\n\x00\ufeff\x0b\x0c\x1c\x85\u2028 éß€漢🙂"), "\r\n", '""', "\\"])
FIELD = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(_TRICKY, st.text(string.ascii_letters + string.digits, max_size=3)), max_size=6).map(
        "".join
    ),
    st.sampled_from(["", " ", "1,234.56", "2026-09-01", "-0", "1e999", "NaN", "null", "Total: Account"]),
)
HEADER = st.one_of(FIELD, st.sampled_from(["", " ", "_row", "column_1", "a", "a ", "Day", "Cost"]))


@st.composite
def structured_csv(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(HEADER, min_size=1, max_size=6))
    width = len(header)
    ragged = draw(st.booleans())
    rows = draw(
        st.lists(
            st.lists(
                FIELD,
                min_size=max(0, width - 1) if ragged else width,
                max_size=width + 1 if ragged else width,
            ),
            max_size=6,
        )
    )
    if draw(st.integers(0, 9)) == 0 and rows:  # a field over csv's field size limit (131072)
        rows[0][0:1] = ["x" * draw(st.sampled_from([131_072, 131_073, 200_000]))]
    delimiter = draw(st.sampled_from(",;\t|"))
    quoting = draw(st.sampled_from(["minimal", "all", "none"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = io.StringIO()
    if quoting == "none":  # naive joins: delimiters and quotes inside values break the row, as in the wild
        out.write(newline.join(delimiter.join(r) for r in [header, *rows]))
        if draw(st.booleans()):
            out.write(newline)
    else:
        mode = csv.QUOTE_ALL if quoting == "all" else csv.QUOTE_MINIMAL
        csv.writer(out, delimiter=delimiter, quoting=mode, lineterminator=newline).writerows([header, *rows])
    preamble = draw(st.lists(st.text(max_size=20), max_size=2))
    text = "".join(p.replace("\n", " ") + newline for p in preamble) + out.getvalue()
    encoding = draw(
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252"])
    )
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 4)) == 0:  # a BOM that may not match the encoding
        data = draw(st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])) + data
    return data


@fuzz(scale=3)
@given(data=structured_csv(), options=csv_options())
def test_csv_structured(workdir: Path, data: bytes, options: CsvOptions) -> None:
    export = read_or_refuse(workdir / "structured.csv", data, options)
    if export is not None:
        check_frame(export)


@fuzz(scale=2)
@given(
    header=st.lists(st.text(string.ascii_letters + " _-.()", min_size=1, max_size=8), min_size=1, max_size=5),
    cells=st.data(),
    delimiter=st.sampled_from(",;\t|"),
)
def test_csv_round_trip(workdir: Path, header: list[str], cells: st.DataObject, delimiter: str) -> None:
    """Well-formed CSV (unique names, every value quoted, printable text with delimiters, quotes and
    line breaks inside) reads back as exactly the values written, each row with its first line."""
    header = [h.strip() for h in header]
    assume(all(header) and len(set(header)) == len(header) and ROW not in header)
    value = st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from(",;\n\"'|")
    )
    rows = cells.draw(st.lists(st.lists(value, min_size=len(header), max_size=len(header)), max_size=5))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(
        [header, *rows]
    )
    path = workdir / "round_trip.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    export = read_export(path, fmt=None, csv_options=CsvOptions(delimiter=delimiter), max_bytes=10**8)
    assert export.columns == header
    assert [list(r[:-1]) for r in export.frame.rows()] == rows
    lines, line = [], 2
    for row in rows:
        lines.append(line)
        line += 1 + sum(v.count("\n") for v in row)
    assert export.frame[ROW].to_list() == lines


# --- CSV: a real export, mutated, then through its built-in mapping -------------------------------


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate", "swap"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "insert":
            piece = draw(
                st.one_of(st.binary(min_size=1, max_size=8), st.sampled_from([b",", b'"', b"\n", b"\0"]))
            )
            data[at:at] = piece
        elif op == "truncate":
            del data[at:]
        elif op == "duplicate":
            end = data.find(b"\n", at)
            data[at:at] = data[at : end + 1 if end >= 0 else len(data)]
        elif op == "swap" and data:
            other = draw(st.integers(0, len(data) - 1))
            data[at], data[other] = data[other], data[at]
    return bytes(data)


@st.composite
def mutated_export(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(CSV_FIXTURES)))
    return name, draw(mutated((EXPORTS / CSV_FIXTURES[name]).read_bytes()))


@fuzz(scale=3)
@given(case=mutated_export())
def test_real_export_mutated_then_unified(workdir: Path, case: tuple[str, bytes]) -> None:
    name, data = case
    mapping = load_mapping(name)
    export = read_or_refuse(workdir / f"{name}.csv", data, mapping.csv, mapping.format)
    if export is not None:
        check_frame(export)
        unify_or_refuse(export, mapping)


def test_unmutated_fixtures_unify(workdir: Path) -> None:
    """The starting points of the mutation fuzzing are valid (else it fuzzes only error paths)."""
    for name, fixture in CSV_FIXTURES.items():
        mapping = load_mapping(name)
        export = read_or_refuse(
            workdir / f"{name}.csv", (EXPORTS / fixture).read_bytes(), mapping.csv, mapping.format
        )
        assert export is not None and unify_or_refuse(export, mapping) is not None, name


# Values a source column might hold: well-formed ones, near misses and junk.
CELL = st.one_of(
    st.sampled_from(
        ["", " ", "0", "12", "1,234", "1,5", "2.5", "-3", "1e308", "1e999", "nan", "inf", "USD 5.00"]
    ),
    st.sampled_from(["2026-09-01", "2026-02-30", "9/3/2026", "2026-09-01 10:00", "2026-09-01T10:00:00Z"]),
    st.sampled_from(
        ["99999-01-01", "0000-00-00", "2026-09-01T25:61", "Sep 01, 2026 10:00 AM", "closedwon", "1"]
    ),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.strftime("%m/%d/%Y")),
    st.text(max_size=10),
)


@st.composite
def export_for_mapping(draw: st.DrawFn) -> tuple[str, bytes]:
    """A CSV for a built-in mapping: its columns (some dropped, some unknown added), random cells."""
    name = draw(st.sampled_from(sorted(CSV_FIXTURES)))
    mapping = load_mapping(name)
    columns = sorted(mapping.source_columns())
    if draw(st.integers(0, 4)) == 0 and columns:
        columns.remove(draw(st.sampled_from(columns)))
    columns += draw(
        st.lists(st.sampled_from(["Extra", "Notes", "Campaign", "Spend"]), max_size=2, unique=True)
    )
    columns = list(dict.fromkeys(columns))
    rows = draw(st.lists(st.lists(CELL, min_size=len(columns), max_size=len(columns)), max_size=5))
    out = io.StringIO()
    delimiter = mapping.csv.delimiter if mapping.csv.delimiter != "auto" else ","
    out.write("Report title\n" * mapping.csv.skip_rows)
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([columns, *rows])
    return name, out.getvalue().encode(mapping.csv.encoding if mapping.csv.encoding != "auto" else "utf-8")


@fuzz(scale=3)
@given(case=export_for_mapping())
def test_random_values_through_builtin_mappings(workdir: Path, case: tuple[str, bytes]) -> None:
    name, data = case
    mapping = load_mapping(name)
    export = read_or_refuse(workdir / f"values-{name}.csv", data, mapping.csv, mapping.format)
    if export is not None:
        unify_or_refuse(export, mapping)


# --- JSON lines, the other text format read_export takes -------------------------------------------

JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def jsonl(draw: st.DrawFn) -> bytes:
    import json

    records = draw(
        st.lists(
            st.dictionaries(
                st.sampled_from(["a", "b", "_row", "", "event_timestamp"]), JSON_VALUE, max_size=3
            )
            | JSON_VALUE,
            max_size=5,
        )
    )
    lines = [json.dumps(r) for r in records]
    if draw(st.booleans()):
        lines.insert(
            draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "{", "[" * 5000, '{"a":' * 3000]))
        )
    return "\n".join(lines).encode(draw(st.sampled_from(["utf-8", "utf-16"])))


@fuzz(scale=2)
@given(data=jsonl() | st.binary(max_size=300))
@example(data=b'{"_row": 1}\n')  # polars DuplicateError leaked
@example(data=b"[" * 100_000 + b"\n")  # RecursionError leaked from json.loads
def test_jsonl(workdir: Path, data: bytes) -> None:
    export = read_or_refuse(workdir / "random.jsonl", data, CsvOptions())
    if export is not None:
        assert export.frame.columns.count(ROW) == 1


# --- mapping YAML -----------------------------------------------------------------------------------

_IDENTIFIER = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_DUNDERS = [
    "__import__",
    "__class__",
    "__builtins__",
    "__globals__",
    "__subclasses__",
    "__dict__",
    "__code__",
]
_CALLABLES = [*FUNCTIONS, "col", *_DUNDERS, "eval", "exec", "open", "getattr", "print", "compile", "type"]


def _expressions(*, huge: bool) -> st.SearchStrategy[str]:
    """Python-ish expression text, most of it outside the mapping language."""
    atom = st.one_of(
        _IDENTIFIER,
        st.sampled_from([*_DUNDERS, "True", "False", "None", "...", "1j", "b'x'", "1e309", "0x10", "1_000"]),
        st.text(max_size=8).map(lambda s: f"col({s!r})"),
        st.integers(-(10**40), 10**40).map(str),
        st.floats().map(repr),
        st.text(max_size=8).map(repr),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binop = st.sampled_from(["+", "-", "*", "/", "%", "//", "**", "@", "<<", "&", "|", "^", "and", "or"])
        cmp = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "is", "in", "not in"])
        return st.one_of(
            st.tuples(inner, binop, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(inner, cmp, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(st.sampled_from(["-", "+", "~", "not "]), inner).map("".join),
            st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
            st.tuples(st.sampled_from(_CALLABLES), st.lists(inner, max_size=4)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"
            ),
            st.tuples(inner, st.sampled_from([*_DUNDERS, "lower", "str", "alias", "x"])).map(
                lambda t: f"({t[0]}).{t[1]}"
            ),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            inner.map(lambda s: f"lambda: {s}"),
            inner.map(lambda s: f"({s})"),
            inner.map(lambda s: f"[{s}]"),
            inner.map(lambda s: f"[x for x in {s}]"),
            inner.map(lambda s: f"f'{{{s}}}'"),
            inner.map(lambda s: f"concat(*{s})"),
            inner.map(lambda s: f"lower(a={s})"),
            inner.map(lambda s: f"(x := {s})"),
        )

    nested = st.tuples(
        st.sampled_from(["(", "-", "not ", "lower(", "-(", "[", "f("]), st.integers(1, 3000), atom
    ).map(
        lambda t: (
            t[0] * t[1]
            + t[2]
            + {"(": ")", "-(": ")", "lower(": ")", "[": "]", "f(": ")"}.get(t[0], "") * t[1]
        )
    )
    chained = st.tuples(atom, st.sampled_from(["+", " and ", "-", " or ", "=="]), st.integers(2, 6_000)).map(
        lambda t: t[1].join([t[0]] * t[2])
    )
    small = st.one_of(st.recursive(atom, extend, max_leaves=12), st.text(max_size=40))
    return st.one_of(small, nested, chained) if huge else small


EXPRESSION = _expressions(huge=True)
SMALL_EXPRESSION = _expressions(huge=False)  # inside mapping documents: keeps them quick to read

# Values for any key: right types, wrong types, YAML-awkward scalars.
ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**25), 10**25)
    | st.floats()
    | st.text(max_size=10)
    | st.dates()
    | st.sampled_from(["auto", "UTC", "Europe/Berlin", "Nowhere/Land", "csv", "row_id", "ad_platform"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def column_spec(draw: st.DrawFn) -> Any:
    keys = ["from", "const", "expr", "generate", "map", "default", "format", "optional", "frm"]
    if draw(st.integers(0, 3)) == 0:
        return draw(st.text(max_size=10) | ANY_VALUE)
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True))
    spec: dict[str, Any] = {}
    for key in chosen:
        spec[key] = draw(
            {
                "from": st.text(max_size=10),
                "const": st.one_of(st.text(max_size=6), st.integers(), st.floats(), st.booleans()),
                "expr": SMALL_EXPRESSION,
                "generate": st.sampled_from(["row_id", "uuid"]),
                "map": st.dictionaries(st.text(max_size=5), st.text(max_size=5) | st.none(), max_size=3),
                "default": st.text(max_size=5),
                "format": st.sampled_from(["%Y-%m-%d", "%m/%d/%Y", "%Q", "%", "%Y-%m-%d %H:%M %z", "%s", ""])
                | st.text(max_size=6),
                "optional": st.booleans(),
                "frm": st.text(max_size=5),
            }[key]
            | (ANY_VALUE if draw(st.integers(0, 5)) == 0 else st.nothing())
        )
    return spec


@st.composite
def mapping_document(draw: st.DrawFn) -> dict[str, Any]:
    """A mapping document from the schema's keys: mostly right, with wrong types, unknown keys,
    missing required keys, bad expressions and bad options mixed in."""
    table = draw(st.sampled_from([*sorted(TABLES), "nope"]))
    fields = list(TABLES[table].model_fields) if table in TABLES else ["date"]
    columns = draw(
        st.dictionaries(
            st.sampled_from([*fields, "nope", "Date"]) | st.text(max_size=5), column_spec(), max_size=6
        )
    )
    doc: dict[str, Any] = {
        "name": draw(st.sampled_from(["fuzz", "fuzz_2", "Fuzz", "", "9x"]) | st.text(max_size=6)),
        "table": table,
        "source": draw(
            st.fixed_dictionaries(
                {"name": st.text(max_size=5), "kind": st.sampled_from(["crm", "ad_platform", "nope"])},
                optional={"extra": ANY_VALUE},
            )
            | ANY_VALUE
        ),
        "columns": columns,
    }
    optional = {
        "title": st.text(max_size=10),
        "format": st.sampled_from(["csv", "parquet", "jsonl", "xlsx"]),
        "csv": st.fixed_dictionaries(
            {},
            optional={
                "delimiter": st.sampled_from(["auto", ",", "tab", "\\t", ";;", "", "\n", '"']),
                "encoding": st.sampled_from(["auto", "utf-8", "latin-1", "nope", "undefined", "utf-8\0"]),
                "skip_rows": st.integers(-2, 5),
                "quote": st.sampled_from(['"', "'", "", "ab", ",", "\n"]),
                "thousands": st.sampled_from([",", ".", "", " "]),
                "decimal": st.sampled_from([".", ",", ""]),
                "quoting": ANY_VALUE,
            },
        ),
        "timezone": st.sampled_from(
            ["UTC", "Europe/Berlin", "America/New_York", "+02:00", "Nowhere/Land", "", "utc"]
        ),
        "attribution_window": st.fixed_dictionaries(
            {"click_days": st.integers(-5, 400)}, optional={"view_days": st.integers(-5, 400)}
        ),
        "dimensions": st.lists(st.text(max_size=6) | ANY_VALUE, max_size=3)
        | st.dictionaries(st.text(max_size=6), st.text(max_size=6) | ANY_VALUE, max_size=3),
        "drop_rows": SMALL_EXPRESSION,
        "gates": st.dictionaries(
            st.text(max_size=5), st.dictionaries(st.text(max_size=5), ANY_VALUE, max_size=2)
        ),
        "colums": ANY_VALUE,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=4, unique=True)):
        doc[key] = draw(optional[key] | (ANY_VALUE if draw(st.integers(0, 5)) == 0 else st.nothing()))
    for key in draw(st.lists(st.sampled_from(sorted(doc)), max_size=2, unique=True)):
        if draw(st.integers(0, 3)) == 0:
            del doc[key]  # a required key missing
    return doc


def parse_or_refuse(text: str, path: str = "fuzz/mapping.yaml") -> Mapping | None:
    try:
        mapping = parse_mapping(text, path)
    except MappingError as error:
        user_facing(error, file=path)
        return None
    assert isinstance(mapping, Mapping)
    return mapping


def use(mapping: Mapping, workdir: Path, cells: list[str]) -> None:
    """A mapping that loads is usable: reading a file with its CSV options and applying it to an
    export with the columns it reads never fails with anything but a typed error."""
    columns = sorted(mapping.source_columns())
    header = columns or ["x"]
    delimiter = mapping.csv.delimiter if mapping.csv.delimiter != "auto" else ","
    out = io.StringIO()
    out.write("title\n" * mapping.csv.skip_rows)
    csv.writer(out, delimiter=delimiter, quotechar=mapping.csv.quote, lineterminator="\n").writerows(
        [header, [cells[i % len(cells)] for i in range(len(header))]]
    )
    export = read_or_refuse(workdir / "mapped.csv", out.getvalue().encode("utf-8"), mapping.csv, "csv")
    frame = pl.DataFrame(
        [pl.Series(c, [cells[i % len(cells)]], dtype=pl.String) for i, c in enumerate(columns)]
        + [pl.Series(ROW, [2], dtype=pl.Int64)]
    )
    unify_or_refuse(Export(workdir / "mapped.csv", "0" * 64, 1, "csv", frame), mapping)
    if export is not None:
        unify_or_refuse(export, mapping)


_CELLS = st.lists(CELL, min_size=1, max_size=3)


@fuzz(scale=4)
@given(doc=mapping_document(), cells=_CELLS)
@example(  # AttributeError leaked from the dimension-name shorthand
    doc={
        "name": "fuzz",
        "table": "annotations",
        "source": {"name": "x", "kind": "plan"},
        "columns": {},
        "dimensions": [1],
    },
    cells=["x"],
)
def test_mapping_yaml_from_schema_keys(workdir: Path, doc: dict[str, Any], cells: list[str]) -> None:
    mapping = parse_or_refuse(yaml.safe_dump(doc, allow_unicode=True))
    if mapping is not None:
        use(mapping, workdir, cells)


@st.composite
def mutated_builtin_yaml(draw: st.DrawFn) -> str:
    text = BUILTIN_YAML[draw(st.sampled_from(sorted(BUILTIN_YAML)))]
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines)))
        op = draw(st.sampled_from(["delete", "insert", "edit", "indent"]))
        if op == "delete" and at < len(lines):
            del lines[at]
        elif op == "insert":
            lines.insert(at, draw(YAML_SNIPPET) + "\n")
        elif op == "edit" and at < len(lines):
            line = lines[at]
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.text(max_size=4) | YAML_SNIPPET) + line[cut:]
        elif op == "indent" and at < len(lines):
            lines[at] = draw(st.sampled_from([" ", "\t", "  - "])) + lines[at]
    return "".join(lines)


# YAML that PyYAML builds into awkward Python values, or cannot build at all.
YAML_SNIPPET = st.sampled_from(
    [
        "a: " + "1" * 5000,  # int() over Python's 4300-digit limit: ValueError in PyYAML
        "a: 2001-13-45",  # a timestamp that is not a date: ValueError in PyYAML
        "a: 2001-01-01 00:00:00 +99:00",
        "timezone: 2001-02-30",
        "a: " + "[" * 600 + "]" * 600,  # RecursionError in PyYAML's composer
        "a: &x [*x]",
        "a: !!python/object/apply:os.system [ls]",
        "a: !!binary ===",
        "a: !!float x",
        "a: !!int 0x",
        "? [a, b]\n: c",
        "a: *undefined",
        "<<: 1",
        "%TAG ! tag:x,2000:\n---",
        "columns: {date: {expr: '" + "(" * 300 + "a" + ")" * 300 + "'}}",
        "dimensions: [1, [2], {a: b}]",
        "timezone: Nowhere/Land",
        "csv: {quote: ab}",
        "csv: {encoding: undefined}",
        "\t",
        "\0",
        "\ufeff",
        "---\n---",
        "...",
    ]
)


@fuzz(scale=4)
@given(text=st.one_of(st.text(max_size=200), mutated_builtin_yaml(), YAML_SNIPPET), cells=_CELLS)
@example(text="a: " + "1" * 5000, cells=["x"])  # ValueError leaked from PyYAML's int()
@example(text="a: 2001-13-45", cells=["x"])  # ValueError leaked from PyYAML's timestamp
@example(text="a: " + "[" * 600 + "]" * 600, cells=["x"])  # RecursionError leaked from PyYAML
@example(text=BUILTIN_YAML["hubspot_deals"] + "timezone: Nowhere/Land\n", cells=["2026-09-01 10:00"])
@example(text=BUILTIN_YAML["meta_ads"].replace('delimiter: ","', "quote: ab"), cells=["x"])
def test_mapping_yaml_random_text(workdir: Path, text: str, cells: list[str]) -> None:
    mapping = parse_or_refuse(text)
    if mapping is not None:
        use(mapping, workdir, cells)


def test_every_builtin_mapping_parses_and_fuzzing_starts_from_valid_text() -> None:
    for name, text in BUILTIN_YAML.items():
        assert parse_or_refuse(text, f"{name}.yaml") is not None, name


# --- expressions -------------------------------------------------------------------------------------

_ALLOWED_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    *[type(op) for op in (ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.Mod(), ast.FloorDiv())],
    *[type(op) for op in (ast.Eq(), ast.NotEq(), ast.Lt(), ast.LtE(), ast.Gt(), ast.GtE())],
    ast.USub,
    ast.Not,
    ast.And,
    ast.Or,
)


def accepted_is_safe(source: str, expression: Expression) -> None:
    """What the language accepted stays inside it: no attribute access, subscripts, lambdas,
    comprehensions, keywords or calls outside `col` and FUNCTIONS; only plain literals."""
    tree = ast.parse(source.strip(), mode="eval")
    for node in ast.walk(tree):
        assert isinstance(node, _ALLOWED_NODES), (source, type(node).__name__)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) and node.func.id in {"col", *FUNCTIONS}, source
            assert not node.keywords, source
        if isinstance(node, ast.Constant):
            assert type(node.value) in (str, int, float, bool, type(None)), source
    assert isinstance(expression.expr, pl.Expr)
    assert all(isinstance(c, str) for c in expression.columns)
    assert "__import__" not in str(expression.expr) or "__import__" in expression.columns


def compile_or_refuse(source: str) -> Expression | None:
    try:
        expression = Expression(source)
    except MappingError as error:
        user_facing(error)
        assert "expression" in error.message
        return None
    accepted_is_safe(source, expression)
    return expression


def evaluate_or_refuse(expression: Expression, cells: list[str]) -> None:
    """An accepted expression applied to text columns (as CSV gives) through a mapping: values, or a
    typed error naming the field."""
    mapping = Mapping(
        name="fuzz",
        table="annotations",
        source={"name": "x", "kind": "plan"},
        columns={
            "start": ColumnSpec(const="2026-09-01"),
            "kind": ColumnSpec(const="fuzz"),
            "description": ColumnSpec(expr=expression.source),
            "author": ColumnSpec(const="fuzz"),
        },
    )
    columns = sorted(expression.columns)
    frame = pl.DataFrame({c: pl.Series(c, cells, dtype=pl.String) for c in columns}) if columns else None
    rows = pl.Series(ROW, list(range(2, 2 + len(cells))), dtype=pl.Int64)
    frame = frame.with_columns(rows) if frame is not None else rows.to_frame()
    unify_or_refuse(Export(Path("fuzz.csv"), "0" * 64, 1, "csv", frame), mapping)


@fuzz(scale=6)
@given(source=EXPRESSION, cells=st.lists(CELL, min_size=1, max_size=3))
@example(source="-" * 100_000 + "1", cells=["1"])  # MemoryError leaked from the parser
@example(source="a+" * 50_000 + "a", cells=["1"])  # RecursionError leaked from ast.parse
@example(source="-" * 600 + "a", cells=["1"])  # RecursionError leaked from _build
@example(source="round(a, 100000000000000000000000000000)", cells=["1"])  # OverflowError leaked
@example(source="to_datetime(a, '%Y', 'Nowhere/Land')", cells=["1"])  # polars ComputeError leaked
@example(source="not a", cells=["x"])  # polars InvalidOperationError when applied to text
@example(source="-'x'", cells=["x"])
@example(source="__import__('os').system('true')", cells=["x"])
@example(source="col('a').__class__", cells=["x"])
def test_expressions(source: str, cells: list[str]) -> None:
    expression = compile_or_refuse(source)
    if expression is not None:
        evaluate_or_refuse(expression, cells)


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "eval('1')",
        "open('x')",
        "a.__class__",
        "col('a').__class__.__bases__",
        "lower.__globals__",
        "(lambda: 1)()",
        "[c for c in ().__class__.__subclasses__()]",
        "getattr(a, '__class__')",
        "lower(a=1)",
        "concat(*a)",
        "a[0]",
        "f'{a}'",
        "(x := 1)",
        "2 ** 10",
        "b'x'",
    ],
)
def test_expression_escapes_are_refused(source: str) -> None:
    with pytest.raises(MappingError) as caught:
        Expression(source)
    user_facing(caught.value)


# --- value parsers -----------------------------------------------------------------------------------

TEXT_CELLS = st.lists(st.none() | CELL | st.text(max_size=12), max_size=8)
FORMATS = st.one_of(
    st.none(),
    st.sampled_from(
        ["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M", "%b %d, %Y %I:%M %p", "%Y-%m-%dT%H:%M:%S%z"]
    ),
    st.lists(
        st.sampled_from(["%Y", "%m", "%d", "%H", "%M", "%S", "%z", "%Q", "%", "-", " ", ":", "%%"]),
        max_size=5,
    ).map("".join),
    st.text(max_size=6),
)


def parse_series(build: Callable[[pl.Expr], pl.Expr], cells: list[str | None]) -> pl.Series:
    series = pl.Series("v", cells, dtype=pl.String)
    out = pl.DataFrame([series]).select(build(pl.col("v")).alias("out"))["out"]
    assert out.len() == len(cells)
    return out


def parse_values(build: Callable[[pl.Expr], pl.Expr], cells: list[str | None]) -> list[Any]:
    return parse_series(build, cells).to_list()


@fuzz(scale=5)
@given(
    cells=TEXT_CELLS,
    thousands=st.sampled_from([",", ".", " ", "'", ""]),
    decimal=st.sampled_from([".", ","]),
)
def test_number_parser(cells: list[str | None], thousands: str, decimal: str) -> None:
    assume(thousands != decimal)
    values = parse_values(lambda e: parse.number(e, thousands=thousands, decimal=decimal), cells)
    for cell, value in zip(cells, values, strict=True):
        assert value is None or isinstance(value, float)
        if cell is None or not cell.strip():
            assert value is None


@fuzz(scale=3)
@given(number=st.integers(-(10**15), 10**15), cents=st.integers(0, 99))
def test_number_parser_reads_what_exports_write(number: int, cents: int) -> None:
    value = number + (cents / 100 if number >= 0 else -cents / 100)
    cells = [str(number), f"{number:,}", f"{value:,.2f}", f"USD {value:,.2f}", f"{number}%"]
    assert parse_values(parse.number, cells) == pytest.approx([number, number, value, value, number])


@fuzz(scale=5)
@given(
    cells=TEXT_CELLS,
    fmt=FORMATS,
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "+02:00"]),
)
def test_date_and_time_parsers(cells: list[str | None], fmt: str | None, timezone: str) -> None:
    """A date or time that cannot be read is null; a format polars cannot use is a ValueError as the
    parser is built (a mapping error when the mapping loads), never a polars error as it runs."""
    try:
        dates = parse_series(lambda e: parse.date(e, fmt), cells)
        times = parse_series(lambda e: parse.datetime(e, fmt, timezone), cells)
    except ValueError as error:
        assert fmt is not None and repr(fmt) in str(error)
        return
    assert dates.dtype == pl.Date
    assert times.dtype == pl.Datetime("us", "UTC")
    for value in parse_values(parse.boolean, cells):
        assert value in (None, True, False)


@fuzz(scale=3)
@given(day=st.dates(min_value=dt.date(1, 1, 1)), moment=st.datetimes(timezones=st.just(dt.UTC)))
def test_date_and_time_parsers_read_iso_8601(day: dt.date, moment: dt.datetime) -> None:
    assert parse_values(parse.date, [day.isoformat()]) == [day]
    assert parse_values(parse.datetime, [moment.isoformat()]) == [moment]


# --- regressions found by the fuzzing above, as plain tests ------------------------------------------


def iter_leaks() -> Iterator[tuple[str, Callable[[], object]]]:
    yield "yaml int over 4300 digits", lambda: parse_mapping("a: " + "1" * 5000)
    yield "yaml impossible date", lambda: parse_mapping("a: 2001-13-45")
    yield "yaml nesting", lambda: parse_mapping("a: " + "[" * 600 + "]" * 600)
    yield (
        "dimension not text",
        lambda: parse_mapping(
            "name: x\ntable: annotations\nsource: {name: x, kind: plan}\ncolumns: {}\ndimensions: [1]\n"
        ),
    )
    yield (
        "unknown timezone",
        lambda: parse_mapping(BUILTIN_YAML["hubspot_deals"] + "timezone: Nowhere/Land\n"),
    )
    yield (
        "two-character quote",
        lambda: parse_mapping(BUILTIN_YAML["meta_ads"].replace('delimiter: ","', "quote: ab")),
    )
    yield "deep expression", lambda: Expression("-" * 600 + "a")
    yield "parser stack", lambda: Expression("-" * 100_000 + "1")
    yield "long chain", lambda: Expression("a+" * 50_000 + "a")
    yield "huge round()", lambda: Expression("round(a, 100000000000000000000000000000)")
    yield "expression timezone", lambda: Expression("to_datetime(a, '%Y', 'Nowhere/Land')")


@pytest.mark.parametrize(("what", "call"), list(iter_leaks()), ids=[w for w, _ in iter_leaks()])
def test_found_leaks_are_typed_errors(what: str, call: Callable[[], object]) -> None:
    with pytest.raises(MappingError) as caught:
        call()
    user_facing(caught.value)


@pytest.mark.parametrize(
    ("data", "options", "suffix"),
    [
        (b"a,b\n1,2\n", CsvOptions(encoding="undefined"), ".csv"),
        (b"a,b\n1,2\n", CsvOptions(encoding="utf-8\0"), ".csv"),
        (b"_row,b\nx,y\n", CsvOptions(), ".csv"),
        (b'{"_row": 1}\n', CsvOptions(), ".jsonl"),
        (b"[" * 100_000 + b"\n", CsvOptions(), ".jsonl"),
    ],
    ids=["undefined codec", "NUL in codec name", "csv _row column", "jsonl _row key", "jsonl nesting"],
)
def test_found_reader_leaks_are_typed_errors(
    workdir: Path, data: bytes, options: CsvOptions, suffix: str
) -> None:
    path = workdir / f"regression{suffix}"
    path.write_bytes(data)
    with pytest.raises(IngestError) as caught:
        read_export(path, fmt=None, csv_options=options, max_bytes=10**8)
    user_facing(caught.value, file=path)
