"""Timing: does a rate (CTR, lead rate, MQL rate) differ by day of week or by week of the flight?

Each day of week and each week gets its rate with a Wilson interval. Whether they differ at all is a
heterogeneity test on the groups' successes and failures: Pearson's chi-square, but scaled by the
overdispersion between days of the same group. Daily rates vary more than binomial noise allows
(auctions, audiences, news); with millions of impressions a plain chi-square calls that noise a
weekday effect. When days within a group vary more than binomially (dispersion phi > 1), the test is
the quasi-binomial F: (X2 / (groups - 1)) / phi on (groups - 1, days - groups) degrees of freedom.

The two tests (day of week, week) are corrected together (Benjamini-Hochberg); an effect is flagged
only when significant, and a rate built on fewer than `min_conversions_per_week` successes a week is
said to be low-volume.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats as sps

from diagnostics.assumptions import Assumptions
from diagnostics.stats import benjamini_hochberg, rate
from diagnostics.types import Estimate

_DEFAULTS = Assumptions()
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TimingParameters(BaseModel):
    """Every knob of the timing tests; recorded with each report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float = Field(_DEFAULTS.confidence, gt=0, lt=1)
    false_discovery_rate: float = Field(_DEFAULTS.false_discovery_rate, gt=0, lt=1)
    min_segment_size: int = Field(_DEFAULTS.min_segment_size, ge=1, description="trials for a cell's rate")
    min_conversions_per_week: int = Field(_DEFAULTS.min_conversions_per_week, ge=1)

    @classmethod
    def from_assumptions(cls, assumptions: Assumptions) -> TimingParameters:
        return cls(
            confidence=assumptions.confidence,
            false_discovery_rate=assumptions.false_discovery_rate,
            min_segment_size=assumptions.min_segment_size,
            min_conversions_per_week=assumptions.min_conversions_per_week,
        )


class RateCell(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    start: dt.date | None = None
    days: int
    successes: int
    trials: int
    rate: Estimate


class Heterogeneity(BaseModel):
    model_config = ConfigDict(frozen=True)

    method: Literal["pearson chi-square", "quasi-binomial F"]
    chi_square: float
    dof: int
    dispersion: float
    p_value: float
    q_value: float | None = None


class TimingEffect(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["day_of_week", "week"]
    cells: tuple[RateCell, ...]
    test: Heterogeneity | None
    significant: bool = False
    lowest: str | None = None
    highest: str | None = None
    note: str | None = None


class TimingReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    rate: str
    first_day: dt.date | None
    days: int
    successes_per_week: float
    low_volume: bool
    day_of_week: TimingEffect
    week: TimingEffect
    parameters: TimingParameters


def _heterogeneity(per_day: pl.DataFrame, group: str) -> Heterogeneity | None:
    """Pearson chi-square across groups, scaled by the between-day dispersion within groups."""
    cells = per_day.group_by(group).agg(pl.col("s").sum(), pl.col("t").sum())
    k, n_days = cells.height, per_day.height
    total_s, total_t = float(cells["s"].sum()), float(cells["t"].sum())
    overall = total_s / total_t if total_t else 0.0
    if k < 2 or not 0 < overall < 1:
        return None
    s, t = cells["s"].to_numpy().astype(float), cells["t"].to_numpy().astype(float)
    chi_square = float((t * (s / t - overall) ** 2).sum() / (overall * (1 - overall)))
    days = per_day.join(cells.rename({"s": "gs", "t": "gt"}), on=group)
    group_rate = (days["gs"] / days["gt"]).to_numpy()
    day_rate = (days["s"] / days["t"]).to_numpy()
    variance = group_rate * (1 - group_rate)
    safe = np.where(variance > 0, variance, 1.0)  # a group at 0% or 100% has no spread to measure
    spread = np.where(variance > 0, days["t"].to_numpy() * (day_rate - group_rate) ** 2 / safe, 0.0)
    dispersion = float(spread.sum() / (n_days - k)) if n_days > k else 1.0
    if dispersion > 1:
        statistic = chi_square / (k - 1) / dispersion
        p_value = float(sps.f.sf(statistic, k - 1, n_days - k))
        method: Literal["pearson chi-square", "quasi-binomial F"] = "quasi-binomial F"
    else:
        p_value = float(sps.chi2.sf(chi_square, k - 1))
        method = "pearson chi-square"
    return Heterogeneity(
        method=method, chi_square=chi_square, dof=k - 1, dispersion=dispersion, p_value=p_value
    )


def _cells(per_day: pl.DataFrame, group: str, label: pl.Expr, p: TimingParameters) -> tuple[RateCell, ...]:
    cells = (
        per_day.group_by(group)
        .agg(
            pl.col("s").sum(), pl.col("t").sum(), pl.col("date").min().alias("start"), pl.len().alias("days")
        )
        .sort(group)
        .with_columns(label.alias("label"))
    )
    return tuple(
        RateCell(
            label=row["label"],
            start=row["start"] if group == "week" else None,
            days=row["days"],
            successes=round(row["s"]),
            trials=round(row["t"]),
            rate=rate(round(row["s"]), round(row["t"]), minimum=p.min_segment_size, confidence=p.confidence),
        )
        for row in cells.iter_rows(named=True)
    )


def timing_effects(
    frame: pl.DataFrame,
    *,
    date: str = "date",
    successes: str = "clicks",
    trials: str = "impressions",
    parameters: TimingParameters | None = None,
) -> TimingReport:
    """Day-of-week and week-of-flight effects on `successes / trials`, from rows with a date or a
    timestamp (daily ad rows with clicks and impressions, or one row per lead with a 0/1 outcome
    and a trial of 1). Weeks count from the first day in `frame`."""
    p = parameters or TimingParameters()
    day = pl.col(date).dt.date() if isinstance(frame.schema[date], pl.Datetime) else pl.col(date)
    per_day = (
        frame.filter(pl.col(date).is_not_null())
        .group_by(day.alias("date"))
        .agg(
            pl.col(successes).cast(pl.Float64).fill_null(0).sum().alias("s"),
            pl.col(trials).cast(pl.Float64).fill_null(0).sum().alias("t"),
        )
        .filter(pl.col("t") > 0)
        .sort("date")
    )
    if per_day.height and (per_day["s"] > per_day["t"]).any():
        raise ValueError(f"{successes} exceeds {trials} on some day")
    first = per_day["date"].min() if per_day.height else None
    per_day = per_day.with_columns(
        pl.col("date").dt.weekday().alias("weekday"),
        ((pl.col("date") - pl.lit(first)).dt.total_days() // 7 + 1).alias("week")
        if first
        else pl.lit(1).alias("week"),
    )
    span_days = (per_day["date"].max() - first).days + 1 if first else 0
    per_week = float(per_day["s"].sum()) / (span_days / 7) if span_days else 0.0
    weekday_label = pl.col("weekday").replace_strict(
        dict(enumerate(WEEKDAYS, start=1)), return_dtype=pl.String
    )
    week_label = pl.format("week {}", pl.col("week"))
    effects = {
        "day_of_week": (_cells(per_day, "weekday", weekday_label, p), _heterogeneity(per_day, "weekday")),
        "week": (_cells(per_day, "week", week_label, p), _heterogeneity(per_day, "week")),
    }
    tests = {kind: test for kind, (_, test) in effects.items() if test is not None}
    q_values = dict(zip(tests, benjamini_hochberg([t.p_value for t in tests.values()]), strict=True))
    return TimingReport(
        rate=f"{successes}/{trials}",
        first_day=first,
        days=per_day.height,
        successes_per_week=per_week,
        low_volume=per_week < p.min_conversions_per_week,
        day_of_week=_effect("day_of_week", *effects["day_of_week"], q_values.get("day_of_week"), p),
        week=_effect("week", *effects["week"], q_values.get("week"), p),
        parameters=p,
    )


def _effect(
    kind: Literal["day_of_week", "week"],
    cells: tuple[RateCell, ...],
    test: Heterogeneity | None,
    q_value: float | None,
    p: TimingParameters,
) -> TimingEffect:
    if test is None:
        return TimingEffect(
            kind=kind, cells=cells, test=None, note="insufficient data: fewer than two groups or no variation"
        )
    test = test.model_copy(update={"q_value": q_value})
    significant = q_value is not None and q_value < p.false_discovery_rate
    ranked = sorted((c for c in cells if c.rate.sufficient), key=lambda c: c.rate.value or 0.0)
    return TimingEffect(
        kind=kind,
        cells=cells,
        test=test,
        significant=significant,
        lowest=ranked[0].label if significant and ranked else None,
        highest=ranked[-1].label if significant and ranked else None,
    )
