"""Quality gates: what is checked before a snapshot exists, with a result per gate.

DOMAIN.md: no analysis fixes bad inputs, so data quality comes first. A blocking gate that fails
(duplicate ids, impossible values, mixed currencies) stops the snapshot with a report that names
the file, line and column; any other gate that falls short warns, is stored with the snapshot as
a `QualityCheck`, and later becomes a finding (and may block conclusions, as a CRM industry field
populated below 60% blocks segment conclusions). Thresholds are defaults that a mapping overrides
(`gates: {completeness: {min_share: 0.8}}`); every result carries the threshold it used.

Pure functions over the unified rows (`_file`, `_row` say where each came from) and a context of
what the same campaign already holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, Field

from ingest.mapping import Mapping
from ingest.readers import ROW
from ingest.schema import DIMENSION_PREFIX, field_type

FILE = "_file"
Status = Literal["pass", "warn", "fail", "skipped"]

DEFAULTS: dict[str, dict[str, float]] = {
    "completeness": {"min_share": 0.6},
    "utm_integrity": {"min_share": 0.9},
    "tagging_coverage": {"min_share": 0.9},
    "attribution_windows": {},
    "duplicates": {},
    "date_coverage": {"min_share": 0.95},
    "impossible_values": {},
    "currency_consistency": {},
}
BLOCKING = frozenset({"duplicates", "impossible_values", "currency_consistency"})


class Location(BaseModel):
    file: str
    row: int
    column: str


class GateResult(BaseModel):
    """One gate's verdict on one snapshot."""

    name: str
    status: Status
    blocking: bool
    message: str
    value: float | None = None
    threshold: float | None = None
    blocks: list[str] = Field(default_factory=list)
    location: Location | None = None
    details: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Context:
    """What the gates compare with: the same campaign's other snapshots, by table, and the
    attribution window each source declared."""

    campaign_id: str | None = None
    others: dict[str, pl.DataFrame] = field(default_factory=dict)
    windows: dict[str, str] = field(default_factory=dict)
    period: tuple[dt.date, dt.date] | None = None
    """The campaign's flight: an export that also covers other flights has gaps between them
    that are not missing data, so day coverage is measured within it."""


def thresholds(mapping: Mapping) -> dict[str, dict[str, float]]:
    unknown = set(mapping.gates) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown gate(s) in mapping {mapping.name}: {', '.join(sorted(unknown))}")
    return {name: {**params, **mapping.gates.get(name, {})} for name, params in DEFAULTS.items()}


def run_gates(rows: pl.DataFrame, mapping: Mapping, context: Context) -> list[GateResult]:
    """Every gate, in a fixed order, on the rows of one ingest."""
    limits = thresholds(mapping)
    gates: list[tuple[str, Callable[..., GateResult]]] = [
        ("duplicates", _duplicates),
        ("impossible_values", _impossible_values),
        ("currency_consistency", _currency_consistency),
        ("completeness", _completeness),
        ("utm_integrity", _utm_integrity),
        ("tagging_coverage", _tagging_coverage),
        ("attribution_windows", _attribution_windows),
        ("date_coverage", _date_coverage),
    ]
    return [gate(rows, mapping, context, limits[name]) for name, gate in gates]


def blocking_failures(results: list[GateResult]) -> list[GateResult]:
    return [r for r in results if r.blocking and r.status == "fail"]


# -- helpers ------------------------------------------------------------------------------------


def _result(name: str, status: Status, message: str, **extra: Any) -> GateResult:
    return GateResult(name=name, status=status, blocking=name in BLOCKING, message=message, **extra)


def _at(rows: pl.DataFrame, mask: pl.Series, column: str) -> Location:
    index = int(mask.arg_true()[0])
    return Location(file=str(rows[FILE][index]), row=int(rows[ROW][index]), column=column)


def _mapped(mapping: Mapping, name: str) -> bool:
    return name in mapping.columns


def _source_column(mapping: Mapping, name: str) -> str:
    spec = mapping.columns.get(name)
    return spec.from_ if spec is not None and spec.from_ else name


def _share(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 1.0


# -- blocking gates -----------------------------------------------------------------------------


def _duplicates(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    key = [k for k in mapping.model.key if k in rows.columns]
    if not key:
        return _result(
            "duplicates", "skipped", f"{mapping.table} rows have no key: repeats are partial counts"
        )
    # The first occurrence is the row a user keeps; point at the first repeat.
    repeats = ~rows.select(pl.struct(key).is_first_distinct().alias("first"))["first"]
    count = int(repeats.sum())
    if not count:
        return _result("duplicates", "pass", f"every row has its own {', '.join(key)}", value=0)
    index = int(repeats.arg_true()[0])
    shown = ", ".join(f"{k}={v}" for k, v in rows.select(key).row(index, named=True).items() if v is not None)
    identifying = next((k for k in key if _mapped(mapping, k)), key[0])
    return _result(
        "duplicates",
        "fail",
        f"{count} rows repeat the key of an earlier row (first: {shown})",
        value=count,
        location=_at(rows, repeats, _source_column(mapping, identifying)),
        details={"key": key},
    )


_NON_NEGATIVE = (
    "impressions",
    "clicks",
    "spend",
    "platform_conversions",
    "conversion_value",
    "recipients",
    "delivered",
    "bounces",
    "opens",
    "replies",
    "unsubscribes",
    "opportunity_amount",
    "revenue",
    "amount",
    "conversions",
    "value",
    "nulls",
)
_NOT_ABOVE = (("clicks", "impressions"), ("delivered", "recipients"), ("opens", "delivered"))
_ORDERED = (("period_start", "period_end"), ("start", "end"))


def _impossible_values(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    checks: list[tuple[str, pl.Series, str]] = []
    for name in _NON_NEGATIVE:
        if _mapped(mapping, name) and name in rows.columns:
            checks.append((name, rows[name] < 0, f"negative {name}"))
    for small, large in _NOT_ABOVE:
        if _mapped(mapping, small) and _mapped(mapping, large) and small in mapping.model.model_fields:
            checks.append((small, rows[small] > rows[large], f"{small} above {large}"))
    for early, late in _ORDERED:
        if _mapped(mapping, early) and _mapped(mapping, late):
            checks.append((late, rows[late] < rows[early], f"{late} before {early}"))
    for name, mask, what in checks:
        mask = mask.fill_null(False)
        count = int(mask.sum())
        if count:
            location = _at(rows, mask, _source_column(mapping, name))
            value = rows[name][int(mask.arg_true()[0])]
            return _result(
                "impossible_values",
                "fail",
                f"{what}: {value!r} ({count} rows)",
                value=count,
                location=location,
            )
    return _result("impossible_values", "pass", f"{len(checks)} checks, no impossible values", value=0)


def _currency_consistency(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    if "currency" not in rows.columns or not _mapped(mapping, "currency"):
        return _result("currency_consistency", "skipped", "no currency in this table")
    counts = rows["currency"].drop_nulls().value_counts(sort=True)
    currencies = counts["currency"].to_list()
    if len(currencies) > 1:
        main = currencies[0]
        mask = (rows["currency"] != main).fill_null(False)
        listed = ", ".join(f"{c} ({n} rows)" for c, n in counts.iter_rows())
        return _result(
            "currency_consistency",
            "fail",
            f"mixed currencies: {listed}; convert to one currency before ingesting",
            value=len(currencies),
            location=_at(rows, mask, _source_column(mapping, "currency")),
            details={"currencies": dict(counts.iter_rows())},
        )
    other = context.others.get(mapping.table)
    if currencies and other is not None and "currency" in other.columns:
        theirs = sorted(set(other["currency"].drop_nulls().to_list()) - set(currencies))
        if theirs:
            return _result(
                "currency_consistency",
                "warn",
                f"this export is in {currencies[0]}; the campaign's other {mapping.table} data is in "
                f"{', '.join(theirs)}",
                value=2,
            )
    return _result("currency_consistency", "pass", f"one currency: {currencies[0] if currencies else 'none'}")


# -- warning gates ------------------------------------------------------------------------------


def _completeness(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    minimum = limits["min_share"]
    # Fields read straight from a column, and dimensions: an expression that finds nothing (no
    # utm_term in a URL) is not an empty column.
    optional = [
        n
        for n, info in mapping.model.model_fields.items()
        if not info.is_required()
        and n in mapping.columns
        and mapping.columns[n].from_
        and n not in mapping.model.sparse
    ]
    columns = optional + [c for c in rows.columns if c.startswith(DIMENSION_PREFIX)]
    if not columns or rows.is_empty():
        return _result("completeness", "skipped", "no optional fields or dimensions mapped")
    shares = {c: round(1 - rows[c].null_count() / rows.height, 4) for c in columns}
    low = {c: s for c, s in shares.items() if s < minimum}
    worst = min(shares.values())
    if low:
        blocked = [f"conclusions by {c.removeprefix(DIMENSION_PREFIX)}" for c in sorted(low)]
        listed = ", ".join(f"{c} {s:.0%}" for c, s in sorted(low.items(), key=lambda kv: kv[1]))
        return _result(
            "completeness",
            "warn",
            f"populated below {minimum:.0%}: {listed}",
            value=worst,
            threshold=minimum,
            blocks=blocked,
            details={"shares": shares},
        )
    return _result(
        "completeness",
        "pass",
        f"every mapped field at least {minimum:.0%} populated",
        value=worst,
        threshold=minimum,
        details={"shares": shares},
    )


def _campaign_keys(frame: pl.DataFrame) -> pl.Series:
    """The campaign id a row joins on: its campaign_id, else its utm_campaign."""
    columns = [c for c in ("campaign_id", "utm_campaign") if c in frame.columns]
    return frame.select(pl.coalesce([pl.col(c) for c in columns]).alias("key"))["key"]


def _utm_integrity(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    minimum = limits["min_share"]
    if mapping.table == "leads":
        keys = _campaign_keys(rows)
        ads = context.others.get("ad_performance")
        if ads is None:
            share = _share(keys.drop_nulls().len(), rows.height)
            what = "of leads carry a campaign id (no ad data in this campaign yet to join with)"
        else:
            known = set(ads["campaign_id"].drop_nulls().to_list())
            share = _share(keys.is_in(list(known)).sum(), rows.height)
            what = "of leads carry a campaign id that joins to the ad platforms' campaigns"
    elif mapping.table == "ad_performance":
        leads = context.others.get("leads")
        if leads is None:
            return _result("utm_integrity", "skipped", "no CRM leads in this campaign yet to join with")
        known = set(_campaign_keys(leads).drop_nulls().to_list())
        joined = rows.filter(pl.col("campaign_id").is_in(list(known)))["spend"].sum()
        share = _share(joined, rows["spend"].sum())
        what = "of spend is on campaigns whose id appears on CRM leads"
    else:
        return _result("utm_integrity", "skipped", f"not applicable to {mapping.table}")
    status: Status = "pass" if share >= minimum else "warn"
    blocks = ["channel and campaign attribution of leads"] if status == "warn" else []
    return _result(
        "utm_integrity",
        status,
        f"{share:.1%} {what}",
        value=round(share, 4),
        threshold=minimum,
        blocks=blocks,
    )


def _tagging_coverage(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    minimum = limits["min_share"]
    if mapping.table != "ad_performance" or rows.is_empty():
        return _result("tagging_coverage", "skipped", f"not applicable to {mapping.table}")
    tags = [t for t in ("creative_id", "audience", "placement") if _mapped(mapping, t)]
    total = rows["spend"].sum()
    shares = {t: round(_share(rows.filter(pl.col(t).is_not_null())["spend"].sum(), total), 4) for t in tags}
    missing = [t for t in ("creative_id", "audience", "placement") if t not in tags]
    low = {t: s for t, s in shares.items() if s < minimum}
    value = min(shares.values()) if shares else 0.0
    note = f"; not in this export: {', '.join(missing)}" if missing else ""
    if low:
        listed = ", ".join(f"{t} {s:.0%}" for t, s in low.items())
        return _result(
            "tagging_coverage",
            "warn",
            f"share of spend tagged below {minimum:.0%}: {listed}{note}",
            value=value,
            threshold=minimum,
            blocks=[f"{t} conclusions" for t in low],
            details={"shares": shares},
        )
    return _result(
        "tagging_coverage",
        "pass",
        f"spend tagged with {', '.join(tags) or 'nothing'}{note}",
        value=value,
        threshold=minimum,
        details={"shares": shares, "missing": missing},
    )


def _attribution_windows(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    mine = str(mapping.attribution_window) if mapping.attribution_window else None
    if mine is None:
        return _result("attribution_windows", "skipped", "this export declares no attribution window")
    others = {source: window for source, window in context.windows.items() if source != mapping.source.name}
    differing = {source: window for source, window in others.items() if window != mine}
    if differing:
        listed = "; ".join(f"{source}: {window}" for source, window in sorted(differing.items()))
        return _result(
            "attribution_windows",
            "warn",
            f"{mapping.source.name} counts conversions with {mine}, other sources of this campaign differ "
            f"({listed}); conversions are not comparable across them",
            blocks=["cross-source conversion comparisons"],
            details={"this": mine, "others": differing},
        )
    if not others:
        return _result("attribution_windows", "pass", f"{mine}; no other source in this campaign yet")
    return _result("attribution_windows", "pass", f"{mine}, as every other source of this campaign")


_DATE_FIELDS = {
    "ad_performance": "date",
    "touchpoints": "timestamp",
    "leads": "created_at",
    "opportunities": "created_at",
    "email_sends": "sent_at",
    "annotations": "start",
    "plans": "documented_at",
}


def _date_coverage(rows: pl.DataFrame, mapping: Mapping, context: Context, limits: dict) -> GateResult:
    minimum = limits["min_share"]
    name = _DATE_FIELDS.get(mapping.table)
    if name is None or rows.is_empty():
        return _result("date_coverage", "skipped", f"{mapping.table} has no date to cover")
    if mapping.table == "ad_performance" and not rows["date"].is_not_null().any():
        name = "period_start"
    values = rows[name]
    dated = _share(values.drop_nulls().len(), rows.height)
    if dated == 0:
        return _result(
            "date_coverage",
            "warn",
            f"no row has a {name}",
            value=0.0,
            threshold=minimum,
            blocks=["time-based conclusions (trends, before/after, fatigue)"],
        )
    days = values.drop_nulls()
    if field_type(mapping.model, name) is dt.datetime:
        days = days.dt.date()
    within = ""
    daily = mapping.table in ("ad_performance", "touchpoints")  # activity on every day of a flight
    period = context.period if daily else None
    if period is not None:
        start, end = period
        days = days.filter(days.is_between(start, end))
        within = f" within the campaign ({start} to {end})"
        if days.is_empty():
            return _result(
                "date_coverage",
                "warn",
                f"no row falls within the campaign's dates ({start} to {end})",
                value=0.0,
                threshold=minimum,
                blocks=["time-based conclusions (trends, before/after, fatigue)"],
            )
    first, last = period if period is not None else (days.min(), days.max())
    span = (last - first).days + 1
    covered = days.n_unique()
    gaps = span - covered
    share = min(dated, covered / span) if daily else dated
    status: Status = "pass" if share >= minimum else "warn"
    message = f"{first} to {last}: {covered} of {span} days have rows{within}, {dated:.1%} of rows dated"
    blocks = ["time-based conclusions (trends, before/after, fatigue)"] if status == "warn" else []
    return _result(
        "date_coverage",
        status,
        message,
        value=round(share, 4),
        threshold=minimum,
        blocks=blocks,
        details={"first": str(first), "last": str(last), "missing_days": gaps},
    )
