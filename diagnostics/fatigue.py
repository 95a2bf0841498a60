"""Creative fatigue: does a creative's click-through (or conversion) rate decay as it ages or as its
audience sees it again?

Per creative, a log-linear rate model is fitted to its daily rows: `successes ~ trials * exp(a + b x)`
where `x` is the ad's age in days since launch (its first day with delivery) or the impressions it
had served before that day. It is a quasi-Poisson GLM with `log(trials)` as offset: for rates of a
few percent it is the binomial GLM with a log link (for higher rates its variance is larger than the
binomial one, which only widens the interval), its slope `b` is directly a relative change
(`exp(7b) - 1` per week), days weigh by their volume, and the dispersion estimated from the
residuals widens the interval when days vary more than binomial noise allows (they always do).

A creative is flagged fatigued only when the decay is both significant after a Benjamini-Hochberg
correction across the creatives tested (twenty creatives at 5% would otherwise "find" one) and
material: a fitted drop over its flight of at least `materiality` (20% by default).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal, NamedTuple

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats as sps

from diagnostics.assumptions import Assumptions
from diagnostics.stats import benjamini_hochberg
from diagnostics.types import Estimate, Interval

_DEFAULTS = Assumptions()

Exposure = Literal["age", "cumulative"]


class FatigueParameters(BaseModel):
    """Every knob of the fatigue test; recorded with each report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float = Field(_DEFAULTS.confidence, gt=0, lt=1)
    false_discovery_rate: float = Field(_DEFAULTS.false_discovery_rate, gt=0, lt=1)
    materiality: float = Field(0.20, gt=0, lt=1, description="flag only drops at least this large")
    min_days: int = Field(7, ge=3, description="fewer days with delivery: not tested")
    min_successes: int = Field(30, ge=1, description="fewer clicks (or conversions): not tested")
    trials_unit: int = Field(100_000, ge=1, description="slope unit under cumulative exposure")

    @classmethod
    def from_assumptions(cls, assumptions: Assumptions, **settings: object) -> FatigueParameters:
        # Explicit settings win over the assumption set.
        return cls(
            **{
                "confidence": assumptions.confidence,
                "false_discovery_rate": assumptions.false_discovery_rate,
                "materiality": assumptions.fatigue_materiality,
                **settings,
            }
        )


class CreativeFatigue(BaseModel):
    model_config = ConfigDict(frozen=True)

    creative_id: str
    launch: dt.date
    last: dt.date
    n_days: int
    trials: float
    successes: float
    initial_rate: Estimate
    change_per_unit: Estimate
    change_over_flight: Estimate
    p_value: float | None = None
    q_value: float | None = None
    dispersion: float | None = None
    fatigued: bool = False


class FatigueReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    exposure: Exposure
    unit: str
    rate: str
    creatives: tuple[CreativeFatigue, ...]
    parameters: FatigueParameters

    @property
    def flagged(self) -> tuple[str, ...]:
        return tuple(c.creative_id for c in self.creatives if c.fatigued)


class _Fit(NamedTuple):
    intercept: float
    slope: float
    cov: np.ndarray
    dispersion: float
    df: int


def _rate_fit(x: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> _Fit | None:
    """Quasi-Poisson GLM with log(trials) offset by iteratively reweighted least squares."""
    design = np.column_stack([np.ones_like(x), x])
    offset = np.log(trials)
    beta = np.array([math.log(successes.sum() / trials.sum()), 0.0])
    for _ in range(100):
        mu = np.exp(design @ beta + offset)
        z = design @ beta + (successes - mu) / mu
        information = design.T @ (mu[:, None] * design)
        try:
            updated = np.linalg.solve(information, design.T @ (mu * z))
        except np.linalg.LinAlgError:
            return None
        converged = np.max(np.abs(updated - beta)) < 1e-10
        beta = updated
        if converged:
            break
    else:
        return None
    mu = np.exp(design @ beta + offset)
    df = x.size - 2
    dispersion = max(1.0, float(((successes - mu) ** 2 / mu).sum()) / df)
    cov = dispersion * np.linalg.inv(design.T @ (mu[:, None] * design))
    return _Fit(float(beta[0]), float(beta[1]), cov, dispersion, df)


def _relative(slope: float, se: float, span: float, t: float, level: float, n: int) -> Estimate:
    """exp(slope * span) - 1 with its interval: the relative change over `span` units of exposure."""
    interval = Interval(
        low=math.expm1((slope - t * se) * span),
        high=math.expm1((slope + t * se) * span),
        level=level,
        method="glm",
    )
    return Estimate(value=math.expm1(slope * span), interval=interval, n=n)


def _creative(
    creative_id: str, rows: pl.DataFrame, exposure: Exposure, p: FatigueParameters
) -> tuple[CreativeFatigue, float | None]:
    """One creative's fit; the p-value of its slope is returned apart for the correction."""
    days = rows["date"].to_list()
    trials = rows["trials"].to_numpy().astype(float)
    successes = rows["successes"].to_numpy().astype(float)
    n = len(days)
    observed = {
        "creative_id": creative_id,
        "launch": days[0],
        "last": days[-1],
        "n_days": n,
        "trials": float(trials.sum()),
        "successes": float(successes.sum()),
    }
    reason = None
    if n < p.min_days:
        reason = f"{n} days with delivery < {p.min_days} needed"
    elif successes.sum() < p.min_successes:
        reason = f"{successes.sum():.0f} successes < {p.min_successes} needed"
    if exposure == "age":
        x = np.array([(d - days[0]).days for d in days], dtype=float)
        unit = 7.0
    else:
        x = (np.cumsum(trials) - trials) / p.trials_unit
        unit = 1.0
    fit = None if reason else _rate_fit(x, successes, trials)
    if fit is None:
        missing = Estimate.insufficient(reason or "the rate model did not converge", n=n)
        return CreativeFatigue(
            initial_rate=missing, change_per_unit=missing, change_over_flight=missing, **observed
        ), None
    se = math.sqrt(fit.cov[1, 1])
    t = float(sps.t.ppf(0.5 + p.confidence / 2, fit.df))
    p_value = float(2 * sps.t.sf(abs(fit.slope / se), fit.df))
    se0 = math.sqrt(fit.cov[0, 0])
    initial = Estimate(
        value=math.exp(fit.intercept),
        interval=Interval(
            low=math.exp(fit.intercept - t * se0),
            high=math.exp(fit.intercept + t * se0),
            level=p.confidence,
            method="glm",
        ),
        n=n,
    )
    return CreativeFatigue(
        initial_rate=initial,
        change_per_unit=_relative(fit.slope, se, unit, t, p.confidence, n),
        change_over_flight=_relative(fit.slope, se, float(x[-1] - x[0]), t, p.confidence, n),
        p_value=p_value,
        dispersion=fit.dispersion,
        **observed,
    ), p_value


def creative_fatigue(
    frame: pl.DataFrame,
    *,
    exposure: Exposure = "age",
    creative: str = "creative_id",
    date: str = "date",
    successes: str = "clicks",
    trials: str = "impressions",
    parameters: FatigueParameters | None = None,
) -> FatigueReport:
    """Decay of `successes / trials` (CTR by default; pass conversions and clicks for a conversion
    rate) with each creative's age or cumulative delivery, from daily rows such as `ad_performance`
    filtered to one campaign. Rows of a creative on one day are summed; days without delivery are
    left out, and a creative's launch is its first day with delivery."""
    p = parameters or FatigueParameters()
    day = pl.col(date).dt.date() if isinstance(frame.schema[date], pl.Datetime) else pl.col(date)
    daily = (
        frame.filter(pl.col(creative).is_not_null())
        .group_by(pl.col(creative).cast(pl.String).alias("creative"), day.alias("date"))
        .agg(
            pl.col(successes).fill_null(0).sum().cast(pl.Float64).alias("successes"),
            pl.col(trials).fill_null(0).sum().cast(pl.Float64).alias("trials"),
        )
        .filter(pl.col("trials") > 0)
        .sort("creative", "date")
    )
    fitted = [
        _creative(str(key[0]), rows, exposure, p)
        for key, rows in daily.group_by("creative", maintain_order=True)
    ]
    tested = [i for i, (_, pv) in enumerate(fitted) if pv is not None]
    q_values = dict(zip(tested, benjamini_hochberg([fitted[i][1] or 1.0 for i in tested]), strict=True))
    creatives = []
    for i, (result, _) in enumerate(fitted):
        q = q_values.get(i)
        drop = result.change_over_flight.value
        fatigued = (
            q is not None and q < p.false_discovery_rate and drop is not None and drop <= -p.materiality
        )
        creatives.append(result.model_copy(update={"q_value": q, "fatigued": fatigued}))
    return FatigueReport(
        exposure=exposure,
        unit="week of age" if exposure == "age" else f"{p.trials_unit:,} {trials}",
        rate=f"{successes}/{trials}",
        creatives=tuple(creatives),
        parameters=p,
    )
