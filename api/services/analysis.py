"""Use cases for analysts working on a plain table outside any campaign: a scorecard, the drivers of
a rate, a dissection, an attribution. The table is a CSV, Parquet or JSON-lines file; nothing is
stored, so these run without the graph."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl

from diagnostics import attribution, drivers, scorecard
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


MODELS = ("last_touch", "first_touch", "linear", "time_decay", "position_based", "shapley", "markov")


def attribute_file(
    path: Path, model: str, *, order: int = 1, samples: int = 1000, half_life_days: float = 7.0
) -> attribution.AttributionResult:
    """Aggregated paths (a `path` column of channels joined by '>', with conversions, value and
    nulls, as ca_paths.csv) or touches (journey_id, channel, timestamp, converted; optional value)."""
    if model not in MODELS:
        raise IngestError(f"unknown model {model!r} (models: {', '.join(MODELS)})", file=path)
    table = read_table(path)
    journeys = _checked(lambda: _journeys(table), path)
    boot = attribution.Bootstrap(samples=samples)
    run = {
        "markov": lambda: attribution.markov(journeys, order, bootstrap=boot),
        "time_decay": lambda: attribution.time_decay(journeys, half_life_days, bootstrap=boot),
    }.get(model, lambda: getattr(attribution, model)(journeys, bootstrap=boot))
    return _checked(run, path)


def _journeys(table: pl.DataFrame) -> pl.DataFrame:
    if "path" in table.columns:
        return attribution.journeys_from_paths(table)
    needed = {"journey_id", "channel", "converted"}
    if not needed <= set(table.columns):
        raise ValueError(
            "give either a path column (aggregated paths) or journey_id, channel, converted columns (touches)"
        )
    order = ["journey_id", "timestamp"] if "timestamp" in table.columns else ["journey_id"]
    value = pl.col("value").fill_null(0).sum() if "value" in table.columns else pl.lit(0.0)
    grouped = table.sort(order, maintain_order=True).group_by("journey_id", maintain_order=True)
    journeys = grouped.agg(
        pl.col("channel").cast(pl.String).alias("path"),
        pl.col("converted").cast(pl.Boolean).any().alias("converted"),
        value.cast(pl.Float64).alias("value"),
        *([pl.col("timestamp").alias("times")] if "timestamp" in table.columns else []),
    )
    return journeys.select(
        "path",
        *(["times"] if "times" in journeys.columns else []),
        pl.col("converted").cast(pl.Float64).alias("conversions"),
        "value",
        (1 - pl.col("converted").cast(pl.Float64)).alias("nulls"),
    )
