"""Apply a mapping to an export: the export's rows as rows of a unified table, typed.

Two steps, both columnar: first each field's raw value (a source column, a constant, an
expression, a generated id, then the value map), then its conversion to the field's type. A value
that was there but could not be converted, or a required field left empty, stops the ingest with
the file, the line, the source column and the value, and how many more rows have the same problem.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from ingest import parse
from ingest.errors import IngestError
from ingest.expressions import Expression
from ingest.mapping import ColumnSpec, Mapping
from ingest.readers import ROW, Export
from ingest.schema import DIMENSION_PREFIX, field_type, required_fields

_TYPE_NAMES = {str: "text", int: "whole number", float: "number", bool: "true/false", dt.date: "date"}
_TYPE_NAMES[dt.datetime] = "date and time"


def to_unified(export: Export, mapping: Mapping) -> pl.DataFrame:
    """The unified table's columns (in schema order), `dim_*` columns, and `_row`."""
    _check_columns(export, mapping)
    try:
        return _unified(export, mapping)
    except pl.exceptions.PolarsError as exc:
        raise _not_computable(export, mapping, exc) from None


def _unified(export: Export, mapping: Mapping) -> pl.DataFrame:
    frame = export.frame
    if mapping.drop_rows:
        drop = Expression(mapping.drop_rows).expr.fill_null(False)
        frame = frame.filter(~drop)
    model = mapping.model
    present = set(frame.columns)
    raw = frame.select(
        pl.col(ROW),
        *[
            _raw(spec, export, present, mapping.timezone).alias(name)
            for name, spec in mapping.columns.items()
        ],
    )
    typed = raw.select(
        pl.col(ROW),
        *[_typed(name, field_type(model, name), raw.schema[name], mapping) for name in mapping.columns],
    )
    _check_conversions(export, mapping, raw, typed)
    _check_required(export, mapping, typed)
    columns = [
        pl.col(name) if name in mapping.columns else pl.lit(None, _dtype(field_type(model, name))).alias(name)
        for name in model.model_fields
    ]
    dims = frame.select(
        parse.text(pl.col(source)).alias(DIMENSION_PREFIX + name)
        for name, source in sorted(mapping.dimensions.items())
    )
    return pl.concat([typed.select(*columns, pl.col(ROW)), dims], how="horizontal")


def _not_computable(export: Export, mapping: Mapping, exc: pl.exceptions.PolarsError) -> IngestError:
    """The error for an expression whose types do not fit the file's values (`not Clicks` on text, a
    date from true/false): polars finds out only as it runs, with its own error. Each step is tried
    alone to name the field (or `drop_rows`) to fix."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    prefix = f"mapping {mapping.name!r}"
    frame, present = export.frame, set(export.frame.columns)
    if mapping.drop_rows:
        try:
            frame = frame.filter(~Expression(mapping.drop_rows).expr.fill_null(False))
        except pl.exceptions.PolarsError:
            message = f"{prefix}: drop_rows cannot be applied to this file's values ({reason})"
            return IngestError(message, file=export.path, column=mapping.drop_rows)
    for name, spec in mapping.columns.items():
        try:
            raw = frame.select(pl.col(ROW), _raw(spec, export, present, mapping.timezone).alias(name))
            raw.select(_typed(name, field_type(mapping.model, name), raw.schema[name], mapping))
        except pl.exceptions.PolarsError:
            return IngestError(
                f"{prefix}: field {name} cannot be computed from this file's values ({reason})",
                file=export.path,
                column=_column_of(name, spec),
            )
    return IngestError(f"{prefix} cannot be applied to this file ({reason})", file=export.path)


def _check_columns(export: Export, mapping: Mapping) -> None:
    present = set(export.columns)
    for column in sorted(mapping.source_columns()):
        if column not in present:
            hint = ""
            if len(present) == 1:
                only = next(iter(present))
                found = [d for d in ",;\t|" if d in only]
                if found:
                    hint = f"; the file reads as one column: wrong delimiter? (it contains {found[0]!r})"
            listed = ", ".join(sorted(present)[:25])
            raise IngestError(
                f"mapping {mapping.name!r} reads this column but the file has no such column "
                f"(columns: {listed}){hint}",
                file=export.path,
                column=column,
            )


def _raw(spec: ColumnSpec, export: Export, present: set[str], timezone: str) -> pl.Expr:
    if spec.from_ is not None:
        value = pl.col(spec.from_) if spec.from_ in present else pl.lit(None, pl.String)
    elif spec.expr is not None:
        value = Expression(spec.expr, timezone=timezone).expr
    elif spec.generate == "row_id":
        # Stable for the same file content: re-ingesting it yields the same ids.
        value = pl.lit(export.sha256[:12] + "-") + pl.col(ROW).cast(pl.String)
    else:
        value = pl.lit(spec.const)
    if spec.map is not None:
        keys = list(spec.map)
        text = parse.text(value)
        default: Any = pl.lit(spec.default) if spec.default is not None else text
        # An empty cell stays empty: the default is for values the map does not know, and a
        # missing value must stay visible to the completeness gate.
        value = (
            pl.when(text.is_null())
            .then(None)
            .when(text.is_in(keys))
            .then(text.replace(spec.map))
            .otherwise(default)
        )
    return value


def _dtype(kind: type) -> pl.DataType:
    return {
        str: pl.String(),
        int: pl.Int64(),
        float: pl.Float64(),
        bool: pl.Boolean(),
        dt.date: pl.Date(),
        dt.datetime: pl.Datetime("us", "UTC"),
    }[kind]


def _typed(name: str, kind: type, dtype: pl.DataType, mapping: Mapping) -> pl.Expr:
    value = pl.col(name)
    spec = mapping.columns[name]
    options = mapping.csv
    is_text = dtype == pl.String or dtype == pl.Null
    if kind is str:
        out = parse.text(value)
    elif kind in (int, float):
        number = value
        if is_text:
            number = parse.number(value, thousands=options.thousands, decimal=options.decimal)
        number = number.cast(pl.Float64, strict=False)
        whole = pl.when(number == number.round(0)).then(number)  # 2.5 clicks is an error, not 2
        out = whole.cast(pl.Int64, strict=False) if kind is int else number
    elif kind is bool:
        out = parse.boolean(value) if is_text else (value.cast(pl.Float64, strict=False) != 0)
    elif kind is dt.date:
        out = parse.date(value, spec.format) if is_text else value.cast(pl.Date, strict=False)
    elif isinstance(dtype, pl.Datetime):
        out = value.dt.replace_time_zone(mapping.timezone) if dtype.time_zone is None else value
        out = out.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC"))
    elif dtype == pl.Date:
        out = value.cast(pl.Datetime("us")).dt.replace_time_zone(mapping.timezone).dt.convert_time_zone("UTC")
    elif is_text:
        out = parse.datetime(value, spec.format, mapping.timezone)
    else:
        out = pl.lit(None, pl.Datetime("us", "UTC"))  # numbers: the mapping must say how (from_unix)
    return out.cast(_dtype(kind), strict=False).alias(name)


def _present(value: pl.Expr) -> pl.Expr:
    return parse.text(value).is_not_null()


def _check_conversions(export: Export, mapping: Mapping, raw: pl.DataFrame, typed: pl.DataFrame) -> None:
    names = list(mapping.columns)
    present = [
        (_present(pl.col(n)) if raw.schema[n] == pl.String else pl.col(n).is_not_null()).alias(n)
        for n in names
    ]
    checks = raw.select(pl.col(ROW), *present).with_columns(
        *[(pl.col(n) & typed[n].is_null()).alias(n) for n in names]
    )
    counts = checks.select(*[pl.col(n).sum() for n in names]).row(0)
    for name, count in zip(names, counts, strict=True):
        if not count:
            continue
        index = checks[name].arg_true()[0]
        spec = mapping.columns[name]
        kind = field_type(mapping.model, name)
        expected = _TYPE_NAMES[kind] + (f" in the format {spec.format!r}" if spec.format else "")
        if kind is dt.date and not spec.format:
            expected += " (YYYY-MM-DD; set `format:` in the mapping for another form)"
        if kind is dt.datetime and not spec.format and raw.schema[name] != pl.String:
            expected += " (numbers are not read as times: use from_unix() in the mapping)"
        more = f" ({count - 1} more rows like it)" if count > 1 else ""
        raise IngestError(
            f"{raw[name][index]!r} is not a {expected}, for field {name}{more}",
            file=export.path,
            row=int(raw[ROW][index]),
            column=_column_of(name, spec),
        )


def _check_required(export: Export, mapping: Mapping, typed: pl.DataFrame) -> None:
    for name in required_fields(mapping.model):
        missing = typed[name].is_null()
        count = int(missing.sum())
        if count:
            index = missing.arg_true()[0]
            more = f" ({count - 1} more rows like it)" if count > 1 else ""
            raise IngestError(
                f"required field {name} is empty{more}",
                file=export.path,
                row=int(typed[ROW][index]),
                column=_column_of(name, mapping.columns[name]),
            )


def _column_of(name: str, spec: ColumnSpec) -> str:
    if spec.from_:
        return spec.from_
    if spec.expr:
        return f"{name} = {spec.expr}"
    return name
