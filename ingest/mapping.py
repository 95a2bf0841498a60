"""Mapping files: which unified table an export fills and how its columns become fields.

A mapping is YAML that analysts write, review and share, so it is checked hard when it loads: an
unknown key (a typo), a field the table does not have, a required field left unfilled or an
expression outside the small language of `ingest.expressions` each stop with a message that names
the mapping file and the key. Built-in mappings live beside this module (`ingest/mappings/`).

    name: google_ads
    table: ad_performance
    source: {name: Google Ads, kind: ad_platform}
    csv: {skip_rows: 2}
    attribution_window: {click_days: 30}
    columns:
      date: Day                                   # a source column
      platform: {const: google_ads}               # a constant
      spend: {from: Cost}                         # the same as `spend: Cost`
      utm_campaign: {expr: 'url_param(col("Final URL"), "utm_campaign")'}
      channel: {from: Network, map: {Search: paid_search}, default: other}
      touchpoint_id: {generate: row_id}           # stable per file and row
    dimensions: [Device]                          # kept as dim_device
    drop_rows: 'starts_with(Day, "Total")'        # footer totals
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingest import parse
from ingest.errors import MappingError
from ingest.expressions import Expression
from ingest.schema import TABLES, Row, field_type, required_fields

BUILTIN_DIR = Path(__file__).parent / "mappings"
_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CsvOptions(BaseModel):
    model_config = _STRICT

    delimiter: str = Field("auto", description="one character, or 'auto' to detect , ; tab |")
    encoding: str = Field("auto", description="a Python codec name, or 'auto' to detect (BOM, UTF-8, ...)")
    skip_rows: int = Field(0, ge=0, description="lines before the header (report titles, date ranges)")
    quote: str = '"'
    thousands: str = ","
    decimal: str = "."

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        value = {"\\t": "\t", "tab": "\t"}.get(value, value)
        if value != "auto" and len(value) != 1:
            raise ValueError("a delimiter is one character (or 'auto')")
        return value

    @field_validator("quote")
    @classmethod
    def _one_quote(cls, value: str) -> str:
        """Checked here: Python's csv reader refuses another quote with a TypeError as a file is read."""
        if len(value) != 1 or value in "\r\n":
            raise ValueError("a quote is one character (not a line break)")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> CsvOptions:
        if self.delimiter == self.quote or self.delimiter in ("\r", "\n"):
            raise ValueError("the delimiter must differ from the quote and not be a line break")
        return self


class AttributionWindow(BaseModel):
    """The conversion window the source counted with; mismatches across sources are a data-quality
    finding (DOMAIN.md)."""

    model_config = _STRICT

    click_days: int = Field(ge=0, le=365)
    view_days: int = Field(0, ge=0, le=365)

    def __str__(self) -> str:
        click = f"{self.click_days}-day click"
        return f"{click} or {self.view_days}-day view" if self.view_days else click


class SourceSpec(BaseModel):
    model_config = _STRICT

    name: str
    kind: Literal["ad_platform", "web_analytics", "crm", "email", "plan", "reference", "other"]


class ColumnSpec(BaseModel):
    """How one unified field is filled: exactly one of `from`, `const`, `expr`, `generate`."""

    model_config = _STRICT

    from_: str | None = Field(None, alias="from")
    const: str | int | float | bool | None = None
    expr: str | None = None
    generate: Literal["row_id"] | None = None
    map: dict[str, str | int | float | bool | None] | None = None
    default: str | int | float | bool | None = None
    format: str | None = None
    optional: bool = Field(False, description="with `from`: no such column in a file = an empty field")

    @model_validator(mode="after")
    def _exactly_one_origin(self) -> ColumnSpec:
        given = [k for k in ("from_", "const", "expr", "generate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of from, const, expr, generate")
        if self.optional and self.from_ is None:
            raise ValueError("'optional' applies to 'from' columns only")
        return self


class Mapping(BaseModel):
    model_config = _STRICT

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = ""
    table: str
    source: SourceSpec
    format: Literal["csv", "parquet", "jsonl"] | None = None
    csv: CsvOptions = CsvOptions()
    timezone: str = "UTC"
    attribution_window: AttributionWindow | None = None
    columns: dict[str, ColumnSpec]
    dimensions: dict[str, str] = Field(default_factory=dict)
    drop_rows: str | None = None
    gates: dict[str, dict[str, float]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        """An unknown zone is refused here, not by polars in the middle of an ingest."""
        return parse.time_zone(value)

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`field: Column` is short for `field: {from: Column}`."""
        if isinstance(value, dict):
            return {k: {"from": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("dimensions", mode="before")
    @classmethod
    def _dimension_names(cls, value: Any) -> Any:
        """A list of source columns names each dimension after its column (`Company size` ->
        `company_size`); a dict gives the names."""
        if isinstance(value, list):
            # A ValueError (reported as a mapping error), not the AttributeError of `1.lower()`.
            if not all(isinstance(column, str) for column in value):
                raise ValueError("a list of dimensions names source columns (text)")
            return {dimension_name(column): column for column in value}
        return value

    @model_validator(mode="after")
    def _fits_the_table(self) -> Mapping:
        if self.table not in TABLES:
            raise ValueError(f"unknown table {self.table!r} (tables: {', '.join(sorted(TABLES))})")
        model = TABLES[self.table]
        for name in self.columns:
            if name not in model.model_fields:
                raise ValueError(f"columns: table {self.table} has no field {name!r}{_suggest(name, model)}")
        missing = [f for f in required_fields(model) if f not in self.columns]
        if missing:
            raise ValueError(f"columns: required field(s) of {self.table} not filled: {', '.join(missing)}")
        for name, spec in self.columns.items():
            if spec.format and field_type(model, name).__name__ not in ("date", "datetime"):
                raise ValueError(f"columns.{name}: 'format' applies to date and time fields only")
            if spec.format:
                kind = pl.Date if field_type(model, name).__name__ == "date" else pl.Datetime("us")
                try:
                    parse.checked_format(spec.format, kind)
                except ValueError as exc:
                    raise ValueError(f"columns.{name}: {exc}") from None
            try:
                Expression(spec.expr, timezone=self.timezone) if spec.expr else None
            except MappingError as exc:
                raise ValueError(f"columns.{name}: {exc.message}") from None
        for name in self.dimensions:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"dimensions: {name!r} is not a valid dimension name (a-z, 0-9, _)")
        if self.drop_rows:
            try:
                Expression(self.drop_rows)
            except MappingError as exc:
                raise ValueError(f"drop_rows: {exc.message}") from None
        return self

    @property
    def model(self) -> type[Row]:
        return TABLES[self.table]

    def source_columns(self) -> set[str]:
        """Every column the export must have for this mapping."""
        needed = set(self.dimensions.values())
        for spec in self.columns.values():
            if spec.from_ and not spec.optional:
                needed.add(spec.from_)
            elif spec.expr:
                needed |= Expression(spec.expr).columns
        if self.drop_rows:
            needed |= Expression(self.drop_rows).columns
        return needed


def dimension_name(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_") or "dimension"


NATIVE_PREFIX = "warrant_"


def builtin_names() -> list[str]:
    native = [NATIVE_PREFIX + table for table in TABLES]
    return sorted([p.stem for p in BUILTIN_DIR.glob("*.yaml")] + native)


def native_mapping(table: str) -> Mapping:
    """`warrant_<table>`: a file whose columns are the table's own fields (any format)."""
    model = TABLES[table]
    return Mapping(
        name=NATIVE_PREFIX + table,
        title=f"Warrant's own {table} layout: one column per field (`warrant schema show {table}`)",
        table=table,
        source=SourceSpec(name=f"Warrant {table}", kind=_NATIVE_KIND.get(table, "other")),
        columns={
            name: ColumnSpec(from_=name, optional=not info.is_required())
            for name, info in model.model_fields.items()
        },
    )


_NATIVE_KIND: dict[str, Any] = {
    "ad_performance": "ad_platform",
    "touchpoints": "web_analytics",
    "leads": "crm",
    "opportunities": "crm",
    "email_sends": "email",
    "plans": "plan",
    "annotations": "plan",
    "benchmarks": "reference",
    "paths": "web_analytics",
}


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A built-in mapping by name, or a mapping file by path."""
    path = Path(name_or_path)
    if str(name_or_path).startswith(NATIVE_PREFIX) and str(name_or_path)[len(NATIVE_PREFIX) :] in TABLES:
        return native_mapping(str(name_or_path)[len(NATIVE_PREFIX) :])
    if path.suffix not in (".yaml", ".yml"):
        path = BUILTIN_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise MappingError(
                f"no built-in mapping {str(name_or_path)!r} (built-in: {', '.join(builtin_names())}; "
                "or give a path to a .yaml file)"
            )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"cannot read mapping: {exc}", file=path) from None
    return parse_mapping(text, path)


def parse_mapping(text: str, path: Path | str = "<mapping>") -> Mapping:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark else None
        raise MappingError(f"not valid YAML: {problem}", file=path, row=line) from None
    except ValueError as exc:
        # PyYAML builds some scalars with int() and datetime.date() unguarded: `2001-13-45`, an
        # integer of more than 4300 digits.
        reason = str(exc).split(";")[0]
        raise MappingError(f"not valid YAML: a value cannot be read ({reason})", file=path) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise MappingError("not valid YAML: collections nested too deeply", file=path) from None
    if not isinstance(data, dict):
        raise MappingError("a mapping is a YAML mapping (key: value) at the top level", file=path)
    try:
        return Mapping.model_validate(data)
    except MappingError as exc:
        raise MappingError(exc.message, file=path) from None
    except ValidationError as exc:
        raise MappingError(_explain(exc), file=path) from None


def _explain(exc: ValidationError) -> str:
    errors = exc.errors()
    # A typo shows twice (an unknown key, and the key it should have been as missing): name the typo.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(p) for p in err["loc"] if p != "from_")
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        known = _keys_at(err["loc"][:-1])
        hint = difflib.get_close_matches(key, known, n=1)
        return f"unknown key {where!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    message = err["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where an unknown key was found, for a did-you-mean hint."""
    nested: dict[str, type[BaseModel]] = {
        "csv": CsvOptions,
        "source": SourceSpec,
        "attribution_window": AttributionWindow,
        "columns": ColumnSpec,
    }
    model = nested.get(str(loc[0]), Mapping) if loc else Mapping
    return ["from" if key == "from_" else key for key in model.model_fields]


def _suggest(name: str, model: type[Row]) -> str:
    hint = difflib.get_close_matches(name, list(model.model_fields), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""
