"""Connectors: an export file as a table of its own columns, each row with the line it came from;
every unreadable file stops with the file, the line where it can, and what to do."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import random
from pathlib import Path

import polars as pl
import pytest

from ingest.errors import IngestError
from ingest.mapping import CsvOptions
from ingest.readers import ROW, Export, read_export

TEXT = "Name,City,Spend\nJosé,Zürich,1.5\nRenée,Köln,2\n"
ROWS = [("José", "Zürich", "1.5"), ("Renée", "Köln", "2")]


def read(
    path: Path,
    data: bytes | None = None,
    *,
    fmt: str | None = None,
    max_bytes: int = 10**9,
    **options: object,
) -> Export:
    if data is not None:
        path.write_bytes(data)
    return read_export(path, fmt=fmt, csv_options=CsvOptions(**options), max_bytes=max_bytes)


def fails(path: Path, data: bytes | None = None, **kwargs: object) -> IngestError:
    with pytest.raises(IngestError) as caught:
        read(path, data, **kwargs)
    assert caught.value.file == str(path)
    return caught.value


def values(export: Export) -> list[tuple[object, ...]]:
    return [row[:-1] for row in export.frame.rows()]


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),  # Python writes the BOM of the machine's order: LE here
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    ],
    ids=["utf-8", "utf-8 with BOM", "utf-16", "utf-16 LE with BOM", "utf-16 BE with BOM"],
)
def test_encoding_detection(tmp_path: Path, data: bytes, encoding: str) -> None:
    export = read(tmp_path / "x.csv", data)
    assert export.encoding == encoding
    assert export.columns == ["Name", "City", "Spend"]  # no BOM left in the first name
    assert values(export) == ROWS


def test_cp1252_text_with_accents(tmp_path: Path) -> None:
    """What Excel on a Western-European Windows writes. The accents of this text are the same in
    cp1252 and cp1250, so the guess between the two does not matter here."""
    export = read(tmp_path / "x.csv", TEXT.encode("cp1252"))
    assert export.encoding in ("cp1252", "cp1250", "windows-1252", "windows-1250")
    assert values(export) == ROWS


def test_cp1252_text_with_letters_that_differ_from_cp1250(tmp_path: Path) -> None:
    text = "Campaign,Note\nCrème brûlée,Ångström\nPeña,Straße\nNoël,Zoë\nGarçon,à la carte\n"
    export = read(tmp_path / "x.csv", text.encode("cp1252"))
    assert values(export) == [
        ("Crème brûlée", "Ångström"),
        ("Peña", "Straße"),
        ("Noël", "Zoë"),
        ("Garçon", "à la carte"),
    ]


def test_encoding_given_by_the_mapping(tmp_path: Path) -> None:
    export = read(tmp_path / "x.csv", TEXT.encode("latin-1"), encoding="latin-1")
    assert export.encoding == "latin-1"
    assert values(export) == ROWS


def test_wrong_encoding_given_names_the_line(tmp_path: Path) -> None:
    data = "a\nok\nJosé\n".encode("cp1252")
    err = fails(tmp_path / "x.csv", data, encoding="utf-8")
    assert err.row == 3
    assert err.message == "not valid utf-8 at byte 8; set `csv: {encoding: ...}` in the mapping"


def test_unknown_encoding(tmp_path: Path) -> None:
    assert (
        fails(tmp_path / "x.csv", b"a\n1\n", encoding="nope").message
        == "unknown encoding 'nope' in the mapping"
    )


# --- delimiters and layout ----------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_sniffing(tmp_path: Path, delimiter: str) -> None:
    d = delimiter
    export = read(tmp_path / "x.csv", f"a{d}b{d}c\n1{d}2{d}3\n4{d}5{d}6\n".encode())
    assert export.delimiter == delimiter
    assert export.columns == ["a", "b", "c"]
    assert values(export) == [("1", "2", "3"), ("4", "5", "6")]


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    export = read(tmp_path / "x.csv", b'Kosten;Klicks\n"1.234,56";12\n7,5;3\n')
    assert export.delimiter == ";"
    assert values(export) == [("1.234,56", "12"), ("7,5", "3")]


def test_delimiter_given_by_the_mapping(tmp_path: Path) -> None:
    export = read(tmp_path / "x.csv", b"a;b\n1;2\n", delimiter=",")
    assert export.delimiter == ","
    assert export.columns == ["a;b"]


def test_skip_rows_and_line_numbers(tmp_path: Path) -> None:
    data = (
        b'Ad report\n"September 1, 2026 - September 3, 2026"\nDay,Clicks\n2026-09-01,"1,204"\n2026-09-02,7\n'
    )
    export = read(tmp_path / "x.csv", data, skip_rows=2)
    assert export.columns == ["Day", "Clicks"]
    assert export.frame[ROW].to_list() == [4, 5]
    assert values(export) == [("2026-09-01", "1,204"), ("2026-09-02", "7")]


def test_line_numbers_count_quoted_newlines_and_skip_blank_lines(tmp_path: Path) -> None:
    export = read(tmp_path / "x.csv", b'a,b\n1,"two\nlines"\n\n3,4\n')
    assert values(export) == [("1", "two\nlines"), ("3", "4")]
    assert export.frame[ROW].to_list() == [2, 5]


def test_header_only_gives_no_rows(tmp_path: Path) -> None:
    export = read(tmp_path / "x.csv", b"a,b\n")
    assert export.columns == ["a", "b"]
    assert export.frame.height == 0


def test_every_value_is_text(tmp_path: Path) -> None:
    export = read(tmp_path / "x.csv", b"id,n\n007,1.50\n")
    assert export.frame.schema == pl.Schema({"id": pl.String, "n": pl.String, ROW: pl.Int64})
    assert values(export) == [("007", "1.50")]


def test_export_identity(tmp_path: Path) -> None:
    data = TEXT.encode()
    export = read(tmp_path / "x.csv", data)
    assert export.sha256 == hashlib.sha256(data).hexdigest()
    assert export.size == len(data)
    assert export.format == "csv"


# --- bad CSV ------------------------------------------------------------------------------------


def test_short_row_names_its_line(tmp_path: Path) -> None:
    err = fails(tmp_path / "x.csv", b"a,b,c\n1,2,3\n4,5\n7,8,9\n")
    assert err.row == 3
    assert err.message.startswith("expected 3 fields as in the header, found 2")


def test_long_row_names_its_line(tmp_path: Path) -> None:
    err = fails(tmp_path / "x.csv", b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n")
    assert err.row == 4
    assert "found 4" in err.message


def test_unterminated_quote_names_the_line_it_opens(tmp_path: Path) -> None:
    # Line 3 is a complete record over two lines; the quote opened on line 5 never closes.
    err = fails(tmp_path / "x.csv", b'a,b,c\n1,2,3\n4,"five\nlines",6\n7,"8,9\n10,11,12\n')
    assert err.row == 5
    assert err.message == "malformed CSV: unexpected end of data"
    assert str(err) == f"{tmp_path / 'x.csv'}:5: malformed CSV: unexpected end of data"


def test_skip_rows_beyond_the_file(tmp_path: Path) -> None:
    err = fails(tmp_path / "x.csv", b"Report\n", skip_rows=2)
    assert err.message == "the file has 1 lines, fewer than the header needs"


@pytest.mark.parametrize("header", [b"a,b,a\n1,2,3\n", b"a, a\n1,2\n"])
def test_duplicate_header_names(tmp_path: Path, header: bytes) -> None:
    err = fails(tmp_path / "x.csv", header)
    assert err.row == 1
    assert err.message == "the header repeats column(s) a"


def test_empty_header_cells_are_named(tmp_path: Path) -> None:
    export = read(tmp_path / "x.csv", b"a,,c\n1,2,3\n")
    assert export.columns == ["a", "column_2", "c"]


# --- not a readable file ------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert fails(tmp_path / "absent.csv").message == "no such file"


def test_empty_file(tmp_path: Path) -> None:
    assert fails(tmp_path / "x.csv", b"").message == "the file is empty"


@pytest.mark.parametrize(
    "data",
    [
        random.Random(7).randbytes(4096),
        bytes(range(256)) * 8,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
    ],
    ids=["random bytes", "every byte", "png header"],
)
def test_binary_garbage(tmp_path: Path, data: bytes) -> None:
    assert fails(tmp_path / "x.csv", data).message.startswith("not a text file")


def test_control_characters_in_utf8_are_not_text(tmp_path: Path) -> None:
    data = b"a,b\n" + b"\x01\x02\x03,\x04\x05\n" * 50
    assert (
        fails(tmp_path / "x.csv", data).message
        == "not a text file: it holds control characters (binary or corrupt?)"
    )


def test_size_over_the_limit(tmp_path: Path) -> None:
    data = b"a,b\n" + b"1,2\n" * 1_000_000  # 4,000,004 bytes
    err = fails(tmp_path / "x.csv", data, max_bytes=2_000_000)
    assert err.message == "the file is 4.0 MB, over the limit of 2.0 MB (WARRANT_INGEST_MAX_BYTES)"


def test_size_at_the_limit_is_read(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n"
    assert read(tmp_path / "x.csv", data, max_bytes=len(data)).frame.height == 1


def test_unknown_extension(tmp_path: Path) -> None:
    err = fails(tmp_path / "report.xlsx", b"a,b\n1,2\n")
    assert err.message == (
        "cannot tell the format from the extension '.xlsx'; "
        "set `format:` in the mapping (csv, parquet or jsonl)"
    )


def test_unknown_extension_with_a_format(tmp_path: Path) -> None:
    export = read(tmp_path / "report.dat", b"a,b\n1,2\n", fmt="csv")
    assert values(export) == [("1", "2")]


@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".tsv", "csv"), (".TXT", "csv"), (".ndjson", "jsonl"), (".json", "jsonl")]
)
def test_extensions(tmp_path: Path, suffix: str, fmt: str) -> None:
    data = b'{"a": 1}\n' if fmt == "jsonl" else b"a\tb\n1\t2\n"
    assert read(tmp_path / f"x{suffix}", data).format == fmt


# --- JSON lines ---------------------------------------------------------------------------------


def test_jsonl(tmp_path: Path) -> None:
    export = read(tmp_path / "x.jsonl", b'{"a": 1, "b": "x"}\n{"a": 2, "b": null}\n')
    assert export.frame.select("a", "b", ROW).rows() == [(1, "x", 1), (2, None, 2)]
    assert export.frame.schema["a"] == pl.Int64


def test_jsonl_with_blank_lines_keeps_line_numbers(tmp_path: Path) -> None:
    export = read(tmp_path / "x.jsonl", b'{"a": 1}\n\n{"a": 2}\n')
    assert export.frame.select("a", ROW).rows() == [(1, 1), (2, 3)]


def test_jsonl_bad_line_is_named(tmp_path: Path) -> None:
    err = fails(tmp_path / "x.jsonl", b'{"a": 1}\n{"a": 2}\n{"a": \n{"a": 4}\n')
    assert err.row == 3
    assert err.message == "not valid JSON: Expecting value (column 7)"


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    err = fails(tmp_path / "x.jsonl", b'{"a": 1}\n[1, 2]\n')
    assert err.row == 2
    assert err.message == "each line must be a JSON object"


# --- Parquet ------------------------------------------------------------------------------------


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "campaign_id": ["0012", "120210000000000001"],
            "clicks": [3, 4],
            "spend": [1.5, 2.25],
            "day": [dt.date(2026, 9, 1), dt.date(2026, 9, 2)],
        }
    )
    path = tmp_path / "x.parquet"
    frame.write_parquet(path)
    export = read(path)
    assert export.format == "parquet"
    assert export.encoding is None
    assert export.frame.drop(ROW).equals(frame)
    assert export.frame[ROW].to_list() == [1, 2]
    assert export.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupt_parquet(tmp_path: Path) -> None:
    err = fails(tmp_path / "x.parquet", b"PAR1" + b"garbage" * 10 + b"PAR1")
    assert err.message.startswith("not a readable Parquet file: ")


def test_truncated_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pl.DataFrame({"a": list(range(100))}).write_parquet(path)
    data = path.read_bytes()
    err = fails(path, data[: len(data) // 2])
    assert err.message.startswith("not a readable Parquet file: ")
