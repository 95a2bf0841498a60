"""Use cases for analysts working on a plain table outside any campaign: a scorecard, the drivers of
a rate, a dissection, an attribution. The table is a CSV, Parquet or JSON-lines file; nothing is
stored, so these run without the graph."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl

from diagnostics import drivers, scorecard
from diagnostics.assumptions import Assumptions
from diagnostics.dissect import TableDissection, dissect_table
from ingest.errors import IngestError

T = TypeVar("T")


def read_table(path: Path) -> pl.DataFrame:
    """A file as a table, types inferred; any problem is one error naming the file."""
    if not path.is_file():
        raise IngestError("no such file", file=path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pl.read_parquet(path)
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path)
        return pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read it as a table: {str(exc).splitlines()[0]}", file=path) from None


def _checked(call: Callable[[], T], path: Path) -> T:
    """Run an analysis; a table that does not fit it (a missing column, a bad split) is one error."""
    try:
        return call()
    except (ValueError, KeyError, pl.exceptions.ColumnNotFoundError) as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        raise IngestError(message.splitlines()[0], file=path) from None


def scorecard_file(path: Path, assumptions: Assumptions | None = None) -> scorecard.Scorecard:
    table = read_table(path)
    return _checked(
        lambda: scorecard.scorecard_from_table(table, assumptions=assumptions or Assumptions()), path
    )


def drivers_file(
    path: Path,
    outcome: str,
    dims: list[str],
    *,
    split: str | None = None,
    target: float | None = None,
    among: str | None = None,
    assumptions: Assumptions | None = None,
) -> drivers.Explanation:
    """`among`: only rows where that column is set (true, non-zero, not empty), e.g. MQLs for MQL->SQL."""
    table = read_table(path)
    if among is not None:
        if among not in table.columns:
            raise IngestError(
                f"--among names no column of the file (columns: {', '.join(table.columns)})", file=path
            )
        column = pl.col(among)
        kept = (
            column.cast(pl.Boolean, strict=False)
            if table.schema[among] != pl.String
            else column.is_not_null()
        )
        table = table.filter(kept.fill_null(False))
    return _checked(
        lambda: drivers.explain(table, outcome, dims, split=split, target=target, assumptions=assumptions),
        path,
    )


def dissect_file(
    path: Path, spend: str, conversions: str, by: list[str], *, value: str | None = None
) -> TableDissection:
    table = read_table(path)
    return _checked(lambda: dissect_table(table, spend, conversions, by, value=value), path)
