"""Audience misalignment: how much of the budget and of the leads fell outside the ideal customer
profile (ICP), and whether those leads convert worse than the ones inside.

The ICP is an input, a mapping of dimension -> allowed values (`{"dim_company_size": ["201-1000",
"1001-5000", "5000+"]}` for leads, `{"audience": [...]}` for ad rows). A row is inside when every
dimension holds an allowed value, outside when a known value is not allowed, and unknown when a
dimension is empty and nothing else already puts it outside: an empty CRM field is not evidence
either way. A dimension populated below `min_coverage` (60% by default, per DOMAIN.md) blocks the
inside/outside conclusions, which are then reported as insufficient; no analysis fixes bad inputs.

Rates carry Wilson intervals; the outside-minus-inside difference carries Newcombe's hybrid score
interval (built from the two Wilson intervals, well behaved at small counts); spend shares carry a
percentile bootstrap over days, the unit that was bought.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from diagnostics.assumptions import Assumptions
from diagnostics.stats import bootstrap, rate, two_proportion_p, wilson
from diagnostics.types import Estimate, Interval

_DEFAULTS = Assumptions()

Icp = Mapping[str, Iterable[str]]


class AudienceParameters(BaseModel):
    """Every knob of the ICP comparison; recorded with each result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float = Field(_DEFAULTS.confidence, gt=0, lt=1)
    min_segment_size: int = Field(_DEFAULTS.min_segment_size, ge=1)
    bootstrap_samples: int = Field(_DEFAULTS.bootstrap_samples, ge=100)
    seed: int = _DEFAULTS.seed
    min_coverage: float = Field(0.60, ge=0, le=1, description="a dimension filled below this blocks")

    @classmethod
    def from_assumptions(cls, assumptions: Assumptions, **settings: object) -> AudienceParameters:
        # Explicit settings win over the assumption set.
        return cls(
            **{
                "confidence": assumptions.confidence,
                "min_segment_size": assumptions.min_segment_size,
                "bootstrap_samples": assumptions.bootstrap_samples,
                "seed": assumptions.seed,
                "min_coverage": assumptions.icp_min_coverage,
                **settings,
            }
        )


class Segment(BaseModel):
    """One value of one ICP dimension: its volume and (for leads) its conversion."""

    model_config = ConfigDict(frozen=True)

    dimension: str
    value: str | None
    in_icp: bool | None
    rows: int
    conversions: int | None = None
    rate: Estimate | None = None
    spend: float | None = None


class LeadAlignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    icp: dict[str, tuple[str, ...]]
    outcome: str
    leads: int
    inside: int
    outside: int
    unknown: int
    coverage: dict[str, float]
    blocked_by: tuple[str, ...]
    outside_share: Estimate
    inside_rate: Estimate
    outside_rate: Estimate
    difference: Estimate
    p_value: float | None
    segments: tuple[Segment, ...]
    parameters: AudienceParameters


class SpendAlignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    icp: dict[str, tuple[str, ...]]
    spend: float
    days: int
    coverage: dict[str, float]
    blocked_by: tuple[str, ...]
    outside_share: Estimate
    unknown_share: Estimate
    segments: tuple[Segment, ...]
    parameters: AudienceParameters


def _normalise(icp: Icp, frame: pl.DataFrame) -> dict[str, tuple[str, ...]]:
    normal = {dimension: tuple(sorted({str(v) for v in values})) for dimension, values in icp.items()}
    if not normal:
        raise ValueError("the ICP names no dimension")
    missing = sorted(set(normal) - set(frame.columns))
    if missing:
        raise ValueError(f"ICP dimensions not in the data: {missing}")
    return normal


def _placement(icp: dict[str, tuple[str, ...]]) -> pl.Expr:
    """Outside if any known value is not allowed, else unknown if any value is empty, else inside."""
    outside = pl.any_horizontal(
        [pl.col(d).is_not_null() & ~pl.col(d).cast(pl.String).is_in(list(v)) for d, v in icp.items()]
    )
    unknown = pl.any_horizontal([pl.col(d).is_null() for d in icp])
    return (
        pl.when(outside)
        .then(pl.lit("outside"))
        .when(unknown)
        .then(pl.lit("unknown"))
        .otherwise(pl.lit("inside"))
    )


def _coverage(
    frame: pl.DataFrame, icp: dict[str, tuple[str, ...]], p: AudienceParameters
) -> tuple[dict[str, float], tuple[str, ...]]:
    coverage = {d: (1 - frame[d].null_count() / frame.height) if frame.height else 0.0 for d in icp}
    return coverage, tuple(d for d, c in coverage.items() if c < p.min_coverage)


def _blocked_note(blocked: tuple[str, ...], coverage: dict[str, float], p: AudienceParameters) -> str:
    filled = ", ".join(f"{d} {coverage[d]:.0%}" for d in blocked)
    return f"{filled} populated, below the {p.min_coverage:.0%} needed for segment conclusions"


def _converted(frame: pl.DataFrame, outcome: str) -> pl.Expr:
    """A boolean outcome column as is (empty: no); any other column: reached when filled (a stage date)."""
    column = pl.col(outcome)
    return column.fill_null(False) if frame.schema[outcome] == pl.Boolean else column.is_not_null()


def _newcombe(outside: tuple[int, int], inside: tuple[int, int], confidence: float) -> Interval | None:
    """Newcombe's hybrid score interval for p_outside - p_inside from the two Wilson intervals."""
    w_out, w_in = wilson(*outside, confidence), wilson(*inside, confidence)
    if w_out is None or w_in is None:
        return None
    p_out, p_in = outside[0] / outside[1], inside[0] / inside[1]
    d = p_out - p_in
    low = d - math.hypot(p_out - w_out.low, w_in.high - p_in)
    high = d + math.hypot(w_out.high - p_out, p_in - w_in.low)
    return Interval(low=low, high=high, level=confidence, method="newcombe")


def lead_alignment(
    leads: pl.DataFrame,
    icp: Icp,
    *,
    outcome: str = "mql_at",
    parameters: AudienceParameters | None = None,
) -> LeadAlignment:
    """Share of leads outside the ICP and their conversion (`outcome` reached) against those inside.

    `outcome` is a stage timestamp (`mql_at`, `sql_at`: reached when filled) or a boolean column.
    To compare among leads that reached an earlier stage (MQL -> SQL), filter `leads` first."""
    p = parameters or AudienceParameters()
    rules = _normalise(icp, leads)
    coverage, blocked = _coverage(leads, rules, p)
    frame = leads.select(
        *rules,
        _placement(rules).alias("placement"),
        _converted(leads, outcome).cast(pl.Int64).alias("converted"),
    )
    counts = {
        row["placement"]: (row["converted"], row["n"])
        for row in frame.group_by("placement")
        .agg(pl.col("converted").sum(), pl.len().alias("n"))
        .iter_rows(named=True)
    }
    conv_in, n_in = counts.get("inside", (0, 0))
    conv_out, n_out = counts.get("outside", (0, 0))
    n_unknown = counts.get("unknown", (0, 0))[1]
    inside_rate = rate(conv_in, n_in, minimum=p.min_segment_size, confidence=p.confidence)
    outside_rate = rate(conv_out, n_out, minimum=p.min_segment_size, confidence=p.confidence)
    share = rate(n_out, n_in + n_out, minimum=p.min_segment_size, confidence=p.confidence)
    difference = (
        Estimate(
            value=conv_out / n_out - conv_in / n_in,
            interval=_newcombe((conv_out, n_out), (conv_in, n_in), p.confidence),
            n=n_in + n_out,
        )
        if inside_rate.sufficient and outside_rate.sufficient
        else Estimate.insufficient(
            f"inside {n_in} or outside {n_out} leads < {p.min_segment_size} needed", n=n_in + n_out
        )
    )
    p_value = two_proportion_p(conv_out, n_out, conv_in, n_in) if difference.sufficient else None
    if blocked:
        reason = _blocked_note(blocked, coverage, p)
        share, inside_rate, outside_rate, difference = (
            Estimate.insufficient(reason, n=e.n, value=e.value)
            for e in (share, inside_rate, outside_rate, difference)
        )
        p_value = None
    return LeadAlignment(
        icp=rules,
        outcome=outcome,
        leads=leads.height,
        inside=n_in,
        outside=n_out,
        unknown=n_unknown,
        coverage=coverage,
        blocked_by=blocked,
        outside_share=share,
        inside_rate=inside_rate,
        outside_rate=outside_rate,
        difference=difference,
        p_value=p_value,
        segments=_segments(frame, rules, p),
        parameters=p,
    )


def _segments(
    frame: pl.DataFrame, icp: dict[str, tuple[str, ...]], p: AudienceParameters
) -> tuple[Segment, ...]:
    """Each value of each ICP dimension with its rows, and its conversions or its spend when known."""
    sums = [pl.col(c).sum() for c in ("converted", "_spend") if c in frame.columns]
    segments = []
    for dimension, allowed in icp.items():
        values = frame.group_by(pl.col(dimension).cast(pl.String).alias("value")).agg(
            *sums, pl.len().alias("n")
        )
        for row in values.sort("value", nulls_last=True).iter_rows(named=True):
            conversions = row.get("converted")
            segments.append(
                Segment(
                    dimension=dimension,
                    value=row["value"],
                    in_icp=None if row["value"] is None else row["value"] in allowed,
                    rows=row["n"],
                    conversions=conversions,
                    rate=None
                    if conversions is None
                    else rate(conversions, row["n"], minimum=p.min_segment_size, confidence=p.confidence),
                    spend=row.get("_spend"),
                )
            )
    return tuple(segments)


def spend_alignment(
    ads: pl.DataFrame,
    icp: Icp,
    *,
    spend: str = "spend",
    date: str = "date",
    parameters: AudienceParameters | None = None,
) -> SpendAlignment:
    """Share of spend outside the ICP (and on rows whose dimension is empty), from ad rows such as
    `ad_performance` with an ICP over `audience`; the interval resamples days."""
    p = parameters or AudienceParameters()
    rules = _normalise(icp, ads)
    coverage, blocked = _coverage(ads, rules, p)
    frame = ads.with_columns(
        _placement(rules).alias("placement"), pl.col(spend).fill_null(0.0).alias("_spend")
    )
    per_day = (
        frame.group_by(date)
        .agg(
            *(
                pl.col("_spend").filter(pl.col("placement") == k).sum().alias(k)
                for k in ("inside", "outside", "unknown")
            )
        )
        .sort(date)
    )
    outside, unknown = per_day["outside"].to_numpy(), per_day["unknown"].to_numpy()
    total = per_day["inside"].to_numpy() + outside + unknown
    days = per_day.height

    def share(part: np.ndarray, reason: str | None) -> Estimate:
        value = float(part.sum() / total.sum()) if total.sum() > 0 else None
        if reason or value is None:
            return Estimate.insufficient(reason or "no spend", n=days, value=value)
        interval = bootstrap(
            lambda i: float(part[i].sum() / total[i].sum()) if total[i].sum() > 0 else float("nan"),
            days,
            samples=p.bootstrap_samples,
            confidence=p.confidence,
            seed=p.seed,
        )
        if interval is None:
            return Estimate.insufficient(f"{days} days: too few to resample", n=days, value=value)
        return Estimate(value=value, interval=interval, n=days)

    reason = _blocked_note(blocked, coverage, p) if blocked else None
    return SpendAlignment(
        icp=rules,
        spend=float(total.sum()),
        days=days,
        coverage=coverage,
        blocked_by=blocked,
        outside_share=share(outside, reason),
        unknown_share=share(unknown, None),
        segments=_segments(frame, rules, p),
        parameters=p,
    )
