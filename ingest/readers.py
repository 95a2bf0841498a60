"""Connectors: an export file (CSV, Parquet, JSON lines) as a table of its own columns.

Every row keeps the line it came from (`_row`), so any later error can name the file, the line and
the column. CSV is read with Python's `csv` module rather than a faster reader because it reports
what users need to see: a row with a missing field, a quote left open, the exact line of each
record, where fast readers pad a short row with nulls and say nothing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import polars as pl

from ingest.errors import IngestError
from ingest.mapping import CsvOptions

ROW = "_row"
_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class Export:
    """One export file as read: its identity (sha256, size) and its rows."""

    path: Path
    sha256: str
    size: int
    format: str
    frame: pl.DataFrame
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != ROW]


def read_export(path: Path, *, fmt: str | None, csv_options: CsvOptions, max_bytes: int) -> Export:
    """Read one file after checking it exists, is not empty and is within the size limit."""
    if not path.is_file():
        raise IngestError("no such file", file=path)
    size = path.stat().st_size
    if size == 0:
        raise IngestError("the file is empty", file=path)
    if size > max_bytes:
        raise IngestError(
            f"the file is {_mb(size)}, over the limit of {_mb(max_bytes)} (WARRANT_INGEST_MAX_BYTES)",
            file=path,
        )
    fmt = fmt or _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            f"cannot tell the format from the extension {path.suffix!r}; set `format:` in the mapping "
            "(csv, parquet or jsonl)",
            file=path,
        )
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if fmt == "parquet":
        return Export(path, sha, size, fmt, _parquet(path, raw))
    if fmt == "jsonl":
        fast = _jsonl_fast(raw, csv_options.encoding)
        if fast is not None:
            return Export(path, sha, size, fmt, fast, "utf-8")
        text, encoding = _decode(path, raw, csv_options.encoding)
        return Export(path, sha, size, fmt, _jsonl(path, text), encoding)
    text, encoding = _decode(path, raw, csv_options.encoding)
    frame, delimiter = _csv(path, text, csv_options)
    return Export(path, sha, size, fmt, frame, encoding, delimiter)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def _detect(path: Path, raw: bytes) -> str:
    """A non-UTF-8 file's encoding. Single-byte Latin code pages are often equally plausible to a
    detector (cp1250 read "Crème" as "Crčme"); where Windows-1252, what Western tools export,
    fits the bytes, it wins."""
    matches = charset_normalizer.from_bytes(raw[:1_000_000])
    best = matches.best()
    if best is None:
        raise IngestError("not a text file: no text encoding fits its bytes (binary or corrupt?)", file=path)
    if best.encoding != "cp1252" and any(m.encoding == "cp1252" for m in matches):
        return "cp1252"
    if best.encoding.startswith(("cp125", "iso8859", "latin")):
        try:
            raw.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return best.encoding


def _decode(path: Path, raw: bytes, encoding: str) -> tuple[str, str]:
    """The file's text and the encoding it was read with (detected unless the mapping says)."""
    if encoding == "auto":
        encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), "")
        if not encoding:
            try:
                return _checked_text(path, raw.decode("utf-8")), "utf-8"
            except UnicodeDecodeError:
                encoding = _detect(path, raw)
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise IngestError(f"unknown encoding {encoding!r} in the mapping", file=path) from None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestError(
            f"not valid {encoding} at byte {exc.start}; set `csv: {{encoding: ...}}` in the mapping",
            file=path,
            row=line,
        ) from None
    except ValueError:
        # Not a decoding error at a byte: a NUL in the codec name, a codec that refuses any input
        # ("undefined") or fails without a position (UnicodeError).
        raise IngestError(
            f"cannot read the file with the encoding {encoding!r}; set `csv: {{encoding: ...}}` in the "
            "mapping to a text encoding such as utf-8 or cp1252",
            file=path,
        ) from None
    return _checked_text(path, text), encoding


def _checked_text(path: Path, text: str) -> str:
    text = text.removeprefix("\ufeff")
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if "\x00" in sample or controls > len(sample) / 100:
        raise IngestError("not a text file: it holds control characters (binary or corrupt?)", file=path)
    return text


def _csv(path: Path, text: str, options: CsvOptions) -> tuple[pl.DataFrame, str]:
    lines = text.splitlines(keepends=True)
    if len(lines) <= options.skip_rows:
        raise IngestError(f"the file has {len(lines)} lines, fewer than the header needs", file=path)
    body = lines[options.skip_rows :]
    delimiter = options.delimiter if options.delimiter != "auto" else _sniff(body[:50])
    reader = csv.reader(io.StringIO("".join(body)), delimiter=delimiter, quotechar=options.quote, strict=True)
    first_line = options.skip_rows + 1
    try:
        header = next(reader)
    except StopIteration:
        raise IngestError("no header row", file=path, row=first_line) from None
    except csv.Error as exc:
        raise IngestError(f"unreadable header: {exc}", file=path, row=first_line) from None
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    _no_row_column(path, header, first_line)
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise IngestError(f"the header repeats column(s) {', '.join(duplicated)}", file=path, row=first_line)
    rows: list[list[str]] = []
    starts: list[int] = []
    start = first_line + 1
    try:
        for record in reader:
            if record:  # a blank line is not a row
                if len(record) != len(header):
                    raise IngestError(
                        f"expected {len(header)} fields as in the header, found {len(record)} "
                        "(a truncated row, or a delimiter inside an unquoted value?)",
                        file=path,
                        row=start,
                    )
                rows.append(record)
                starts.append(start)
            start = first_line + reader.line_num
    except csv.Error as exc:
        raise IngestError(f"malformed CSV: {exc}", file=path, row=start) from None
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    frame = pl.DataFrame(
        {name: pl.Series(name, values, dtype=pl.String) for name, values in zip(header, columns, strict=True)}
    )
    return frame.with_columns(pl.Series(ROW, starts, dtype=pl.Int64)), delimiter


def _sniff(lines: list[str]) -> str:
    """The delimiter that splits the header and the first rows into the same number of fields."""
    sample = "".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _jsonl_fast(raw: bytes, encoding: str) -> pl.DataFrame | None:
    """polars' reader straight on UTF-8 bytes, when it reads one record per line (so record i is
    line i); None when it cannot (another encoding, blank lines, an error to locate)."""
    if encoding not in ("auto", "utf-8", "utf8") or raw.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        return None
    raw = raw.removeprefix(codecs.BOM_UTF8)
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    try:
        frame = pl.read_ndjson(io.BytesIO(raw))
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if frame.height != lines or ROW in frame.columns:  # the slow read names the problem
        return None
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _jsonl(path: Path, text: str) -> pl.DataFrame:
    """The exact, slower line-by-line read: blank lines allowed, and a bad line named."""
    records = []
    starts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"not valid JSON: {exc.msg} (column {exc.colno})"
            raise IngestError(message, file=path, row=number) from None
        except RecursionError:  # json's decoder recurses into each nested array and object
            raise IngestError(
                "not valid JSON: arrays or objects nested too deeply", file=path, row=number
            ) from None
        if not isinstance(record, dict):
            raise IngestError("each line must be a JSON object", file=path, row=number)
        if ROW in record:
            _no_row_column(path, [ROW], number)
        records.append(record)
        starts.append(number)
    if not records:
        raise IngestError("no JSON records in the file", file=path)
    try:
        frame = pl.from_dicts(records, infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise IngestError(f"records do not share one shape: {str(exc).splitlines()[0]}", file=path) from None
    return frame.with_columns(pl.Series(ROW, starts, dtype=pl.Int64))


def _parquet(path: Path, raw: bytes) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(raw))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IngestError(f"not a readable Parquet file: {str(exc).splitlines()[0]}", file=path) from None
    _no_row_column(path, frame.columns, None)
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _no_row_column(path: Path, columns: list[str], row: int | None) -> None:
    """Refuse a source column named `_row`: the line numbers would overwrite it (CSV) or clash
    with it (polars' DuplicateError for JSON lines and Parquet)."""
    if ROW in columns:
        raise IngestError(
            f"the file has a column named {ROW!r}, a name Warrant keeps for line numbers; rename it",
            file=path,
            row=row,
        )
