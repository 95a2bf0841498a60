"""Counterfactual budgets: per-channel response curves with diminishing returns, and the budget split
those curves favour.

Why a Hill curve, `y = ymax * s^k / (s^k + half^k)`: it saturates (each extra dollar buys less),
gives nothing at zero spend (what a channel yields without spend is not that spend's doing), and two
of its parameters are what a budget owner asks about: the ceiling `ymax` and the daily spend `half`
that reaches half of it. It is fitted by bounded least squares on daily (spend, outcome) pairs; a
seeded bootstrap over days refits it many times, so every prediction, and the lift of a
reallocation, carries a percentile interval.

Why the warnings: a curve only knows the spend levels it has seen. The optimiser does not hide the
best split when it leaves a channel's observed daily spend range, but the result names every such
channel and marks the lift as insufficient, so an extrapolation cannot back a budget change unseen.

Units: spend and outcome are per day; the reallocation moves the average daily budget (a flight's
totals are these times its days). Channels are independent: their bootstrap draws are paired by
index only to add them up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from scipy import optimize

from diagnostics.assumptions import Assumptions
from diagnostics.types import Estimate, Interval

_DEFAULTS = Assumptions()


class ResponseParameters(BaseModel):
    """Every knob of the fits and the optimiser; recorded with each result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float = Field(_DEFAULTS.confidence, gt=0, lt=1)
    bootstrap_samples: int = Field(_DEFAULTS.bootstrap_samples, ge=100)
    seed: int = _DEFAULTS.seed
    budget_bounds: float = Field(_DEFAULTS.budget_bounds, gt=0, lt=1)
    min_days: int = Field(14, ge=4, description="fewer days with data: no curve")
    min_spend_cv: float = Field(0.10, gt=0, description="spend varying less (std/mean): no curve")
    shape: float | None = Field(None, gt=0, description="a fixed Hill exponent k; None fits it")
    shape_bounds: tuple[float, float] = (0.5, 3.0)

    @classmethod
    def from_assumptions(cls, assumptions: Assumptions, **settings: object) -> ResponseParameters:
        # Explicit settings win over the assumption set.
        return cls(
            **{
                "confidence": assumptions.confidence,
                "bootstrap_samples": assumptions.bootstrap_samples,
                "seed": assumptions.seed,
                "budget_bounds": assumptions.budget_bounds,
                "min_days": assumptions.min_days_for_curve,
                **settings,
            }
        )


class HillCurve(BaseModel):
    model_config = ConfigDict(frozen=True)

    ymax: float = Field(ge=0)
    half: float = Field(gt=0)
    k: float = Field(gt=0)

    def __call__(self, spend: float | np.ndarray) -> np.ndarray:
        return _hill(np.asarray(spend, dtype=float), self.ymax, self.half, self.k)


class ChannelResponse(BaseModel):
    """One channel's fitted curve, its bootstrap refits and the spend range it has seen."""

    model_config = ConfigDict(frozen=True)

    channel: str
    status: Literal["fitted", "insufficient"]
    note: str | None = None
    n_days: int
    spend_min: float
    spend_max: float
    spend_mean: float
    curve: HillCurve | None = None
    draws: tuple[HillCurve, ...] = ()
    ymax: Estimate
    half: Estimate
    k: Estimate
    r_squared: Estimate
    parameters: ResponseParameters = ResponseParameters()

    def in_range(self, spend: float) -> bool:
        tolerance = 1e-9 * max(1.0, self.spend_max)
        return self.spend_min - tolerance <= spend <= self.spend_max + tolerance

    def predict(self, spend: float) -> Estimate:
        """Expected daily outcome at `spend`, with the bootstrap band; marked when extrapolated."""
        if self.curve is None:
            return Estimate(value=None, n=self.n_days, sufficient=False, note=self.note)
        value = float(self.curve(spend))
        interval = _percentile([float(d(spend)) for d in self.draws], self.parameters.confidence)
        if not self.in_range(spend):
            return Estimate(
                value=value,
                interval=interval,
                n=self.n_days,
                sufficient=False,
                note=f"extrapolated: {self.channel} spend {spend:.4g} outside the observed "
                f"{self.spend_min:.4g}-{self.spend_max:.4g}",
            )
        if interval is None:
            return Estimate.insufficient("no bootstrap draws", n=self.n_days, value=value)
        return Estimate(value=value, interval=interval, n=self.n_days)


class ChannelAllocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    current: float
    proposed: float
    lower: float
    upper: float
    spend_min: float
    spend_max: float
    extrapolated: bool
    expected_current: Estimate
    expected_proposed: Estimate


class HeldChannel(BaseModel):
    """A channel kept at its current spend because it has no usable curve."""

    model_config = ConfigDict(frozen=True)

    channel: str
    current: float
    reason: str


class Reallocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: float
    channels: tuple[ChannelAllocation, ...]
    held: tuple[HeldChannel, ...]
    expected_current: Estimate
    expected_proposed: Estimate
    lift: Estimate
    relative_lift: Estimate
    extrapolated: bool
    warnings: tuple[str, ...]
    parameters: ResponseParameters
    # The fitted curves behind the proposal, draws included: what a decision's promise is computed
    # from (`expected`), and what monitoring later holds the realised outcome against.
    curves: tuple[ChannelResponse, ...] = ()


def _hill(spend: np.ndarray, ymax: float, half: float, k: float) -> np.ndarray:
    ratio = np.power(np.maximum(spend, 0.0) / half, k)
    return ymax * ratio / (1.0 + ratio)


def _hill_jacobian(spend: np.ndarray, ymax: float, half: float, k: float) -> np.ndarray:
    """d/d(ymax, half, k) of the curve; zero spend contributes nothing (and no log of zero)."""
    positive = spend > 0
    safe = np.where(positive, spend, half)
    ratio = np.where(positive, np.power(safe / half, k), 0.0)
    share = ratio / (1.0 + ratio)
    slope = ymax * ratio / (1.0 + ratio) ** 2
    return np.column_stack([share, -slope * k / half, slope * np.log(safe / half)])


def _marginal(spend: np.ndarray, ymax: float, half: float, k: float) -> np.ndarray:
    safe = np.maximum(spend, 1e-12)
    ratio = np.power(safe / half, k)
    return ymax * k * ratio / (safe * (1.0 + ratio) ** 2)


def _percentile(values: Sequence[float] | np.ndarray, confidence: float) -> Interval | None:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2:
        return None
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return Interval(low=float(low), high=float(high), level=confidence, method="bootstrap")


def _least_squares(
    spend: np.ndarray, outcome: np.ndarray, start: tuple[float, float, float], p: ResponseParameters
) -> tuple[tuple[float, float, float], float] | None:
    """Bounded least squares from `start`; returns ((ymax, half, k), sum of squares) or None."""
    top = float(spend.max())
    fixed = p.shape
    low = [0.0, 1e-3 * top] + ([] if fixed else [p.shape_bounds[0]])
    high = [100.0 * max(float(outcome.max()), 1e-9), 10.0 * top] + ([] if fixed else [p.shape_bounds[1]])
    x0 = np.clip(np.array(start[: 2 if fixed else 3], dtype=float), low, high)

    def unpack(x: np.ndarray) -> tuple[float, float, float]:
        return float(x[0]), float(x[1]), float(fixed if fixed else x[2])

    def residuals(x: np.ndarray) -> np.ndarray:
        return _hill(spend, *unpack(x)) - outcome

    def jacobian(x: np.ndarray) -> np.ndarray:
        return _hill_jacobian(spend, *unpack(x))[:, : x.size]

    try:
        fit = optimize.least_squares(residuals, x0, jac=jacobian, bounds=(low, high), method="trf")
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not fit.success or not np.all(np.isfinite(fit.x)):
        return None
    return unpack(fit.x), float(2 * fit.cost)


def _point_fit(
    spend: np.ndarray, outcome: np.ndarray, p: ResponseParameters
) -> tuple[tuple[float, float, float], float] | None:
    """Several starting half-saturations (the surface has long flat valleys); keep the best fit."""
    centre = float(np.median(spend[spend > 0]))
    k0 = p.shape or 1.0
    fits = []
    for half in (0.5 * centre, centre, 2 * centre, 5 * centre):
        shape = _hill(spend, 1.0, half, k0)
        ymax = float(shape @ outcome / (shape @ shape)) if shape @ shape > 0 else 1.0
        fit = _least_squares(spend, outcome, (max(ymax, 1e-9), half, k0), p)
        if fit is not None:
            fits.append(fit)
    return min(fits, key=lambda f: f[1]) if fits else None


def _r_squared(outcome: np.ndarray, ssr: float) -> float:
    sst = float(((outcome - outcome.mean()) ** 2).sum())
    return 1.0 - ssr / sst if sst > 0 else float("nan")


def fit_response(
    spend: Sequence[float] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    *,
    channel: str,
    parameters: ResponseParameters | None = None,
) -> ChannelResponse:
    """A Hill curve through one channel's daily (spend, outcome) pairs, with bootstrap bands.

    Says "insufficient data" rather than fitting when there are fewer than `min_days` days or the
    spend barely varies: a curve through one spend level is any curve. When the bootstrap band of
    the half-saturation reaches above the highest observed spend, the data do not show where returns
    diminish: the curve still predicts inside the range, but `ymax` and `half` are marked
    unidentified.
    """
    p = parameters or ResponseParameters()
    s = np.asarray(spend, dtype=float)
    y = np.asarray(outcome, dtype=float)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError("spend and outcome must be one-dimensional and of equal length")
    if np.any(s < 0) or not np.all(np.isfinite(s)) or not np.all(np.isfinite(y)):
        raise ValueError("spend must be finite and non-negative, outcome finite")
    n = int(s.size)
    mean = float(s.mean()) if n else 0.0
    observed = {
        "channel": channel,
        "n_days": n,
        "spend_min": float(s.min()) if n else 0.0,
        "spend_max": float(s.max()) if n else 0.0,
        "spend_mean": mean,
        "parameters": p,
    }
    reason = None
    if n < p.min_days:
        reason = f"{n} days < {p.min_days} needed"
    elif mean <= 0 or float(s.std()) / mean < p.min_spend_cv:
        cv = float(s.std()) / mean if mean > 0 else 0.0
        reason = f"daily spend barely varies (cv {cv:.3f} < {p.min_spend_cv}): the curve is not identified"
    point = None if reason else _point_fit(s, y, p)
    if reason is None and point is None:
        reason = "the least-squares fit did not converge"
    if reason is not None or point is None:
        missing = Estimate.insufficient(reason or "no fit", n=n)
        return ChannelResponse(
            status="insufficient",
            note=f"insufficient data: {reason}",
            ymax=missing,
            half=missing,
            k=missing,
            r_squared=missing,
            **observed,
        )
    (ymax, half, k), ssr = point
    draws, r2_draws = _bootstrap(s, y, (ymax, half, k), p)
    band = _percentile([d.half for d in draws], p.confidence)
    saturated = band is not None and band.high <= float(s.max())
    unidentified = "insufficient data: the half-saturation band reaches above the observed spend"

    def estimate(value: float, values: list[float], identified: bool = True) -> Estimate:
        interval = _percentile(values, p.confidence)
        if not identified or interval is None:
            note = unidentified if not identified else "insufficient data: bootstrap refits failed"
            return Estimate(value=value, interval=interval, n=n, sufficient=False, note=note)
        return Estimate(value=value, interval=interval, n=n)

    return ChannelResponse(
        status="fitted",
        note=None if saturated else unidentified,
        curve=HillCurve(ymax=ymax, half=half, k=k),
        draws=tuple(draws),
        ymax=estimate(ymax, [d.ymax for d in draws], saturated),
        half=estimate(half, [d.half for d in draws], saturated),
        k=estimate(k, [d.k for d in draws]),
        r_squared=estimate(_r_squared(y, ssr), r2_draws),
        **observed,
    )


def _bootstrap(
    spend: np.ndarray, outcome: np.ndarray, start: tuple[float, float, float], p: ResponseParameters
) -> tuple[list[HillCurve], list[float]]:
    """Refit on days resampled with replacement (seeded, so a replay gives the same bands)."""
    rng = np.random.default_rng(p.seed)
    draws, r2 = [], []
    n = spend.size
    for _ in range(p.bootstrap_samples):
        index = rng.integers(0, n, n)
        s, y = spend[index], outcome[index]
        if s.max() <= 0:
            continue
        fit = _least_squares(s, y, start, p)
        if fit is not None:
            (ymax, half, k), ssr = fit
            draws.append(HillCurve(ymax=ymax, half=half, k=k))
            r2.append(_r_squared(y, ssr))
    return draws, r2


def fit_response_curves(
    daily: pl.DataFrame,
    *,
    channel: str = "channel",
    spend: str = "spend",
    outcome: str = "outcome",
    date: str = "date",
    parameters: ResponseParameters | None = None,
) -> tuple[ChannelResponse, ...]:
    """One curve per channel from rows of (channel, date, spend, outcome); rows of a day are summed."""
    per_day = (
        daily.group_by(channel, date)
        # summed in sorted order, so the float result does not depend on how threads split the rows
        .agg(pl.col(spend).fill_null(0).sort().sum(), pl.col(outcome).fill_null(0).sort().sum())
        .sort(channel, date)
    )
    return tuple(
        fit_response(
            group[spend].to_numpy(), group[outcome].to_numpy(), channel=str(key[0]), parameters=parameters
        )
        for key, group in per_day.group_by(channel, maintain_order=True)
    )


def _repair(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float) -> np.ndarray:
    """Clip to the bounds and spread any remainder over channels with room, so the total is exact."""
    x = np.clip(x, lower, upper)
    for _ in range(3):
        gap = total - x.sum()
        room = (upper - x) if gap > 0 else (x - lower)
        if abs(gap) <= 1e-12 * max(1.0, total) or room.sum() <= 0:
            break
        x = np.clip(x + np.sign(gap) * room * min(1.0, abs(gap) / room.sum()), lower, upper)
    return x


def _optimise(
    curves: Sequence[HillCurve], current: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Maximise the summed curves at a fixed total within the bounds (SLSQP, several starts, since
    S-shaped curves (k > 1) can have more than one local optimum)."""
    total = float(current.sum())
    scale = np.where(current > 0, current, 1.0)

    def value(x: np.ndarray) -> float:
        return float(sum(c(v) for c, v in zip(curves, x, strict=True)))

    def objective(m: np.ndarray) -> float:
        return -value(m * scale)

    def gradient(m: np.ndarray) -> np.ndarray:
        s = m * scale
        return (
            -np.array([_marginal(s[i : i + 1], c.ymax, c.half, c.k)[0] for i, c in enumerate(curves)]) * scale
        )

    starts = [current]
    for i in range(current.size):  # tilt toward each channel in turn
        tilted = current.copy()
        tilted[i] = upper[i]
        starts.append(_repair(tilted - (upper[i] - current[i]) * current / total, lower, upper, total))
    best = current
    for start in starts:
        result = optimize.minimize(
            objective,
            start / scale,
            jac=gradient,
            method="SLSQP",
            bounds=list(zip(lower / scale, upper / scale, strict=True)),
            constraints=[
                {
                    "type": "eq",
                    "fun": lambda m: (m * scale).sum() / total - 1.0,
                    "jac": lambda m: scale / total,
                }
            ],
            options={"maxiter": 500, "ftol": 1e-12},
        )
        candidate = _repair(result.x * scale, lower, upper, total)
        if value(candidate) > value(best):
            best = candidate
    return best


def _band(
    point: float, samples: np.ndarray, p: ResponseParameters, n: int, flagged: Sequence[str]
) -> Estimate:
    """A point value with the percentile band of its bootstrap samples, marked when extrapolated."""
    interval = _percentile(samples, p.confidence)
    if flagged:
        note = "extrapolated: spend outside the observed range for " + ", ".join(flagged)
        return Estimate(value=point, interval=interval, n=n, sufficient=False, note=note)
    if interval is None:
        return Estimate.insufficient("no bootstrap draws", n=n, value=point)
    return Estimate(value=point, interval=interval, n=n)


def _totals(responses: Sequence[ChannelResponse], spend: np.ndarray) -> tuple[float, np.ndarray]:
    """Summed expected outcome at `spend`: under the fitted curves, and under each bootstrap draw."""
    point = float(sum(float(r.curve(x)) for r, x in zip(responses, spend, strict=True) if r.curve))
    n_draws = min((len(r.draws) for r in responses), default=0)
    draws = np.zeros(n_draws)
    for r, x in zip(responses, spend, strict=True):
        draws += np.array([float(d(x)) for d in r.draws[:n_draws]])
    return point, draws


def reallocate(
    responses: Sequence[ChannelResponse],
    current: Mapping[str, float] | None = None,
    *,
    parameters: ResponseParameters | None = None,
) -> Reallocation:
    """The daily budget split the curves favour: total fixed, each channel within +-`budget_bounds`
    of its current spend (default: its observed mean daily spend).

    Channels without a curve keep their spend (listed in `held`). Expected outcomes and the lift
    come with bootstrap intervals (the proposal fixed, each draw's curves evaluated at both splits);
    any channel whose proposed or current spend leaves its observed range is named in `warnings`
    and marks the outcomes and the lift insufficient.
    """
    p = parameters or ResponseParameters()
    unknown = set(current or {}) - {r.channel for r in responses}
    if unknown:
        raise ValueError(f"no response curve for {sorted(unknown)}")
    spend_now = {r.channel: float((current or {}).get(r.channel, r.spend_mean)) for r in responses}
    if any(v < 0 for v in spend_now.values()):
        raise ValueError("current spend must be non-negative")
    usable = [r for r in responses if r.curve is not None]
    held = tuple(
        HeldChannel(channel=r.channel, current=spend_now[r.channel], reason=r.note or "no curve")
        for r in responses
        if r.curve is None
    )
    cur = np.array([spend_now[r.channel] for r in usable], dtype=float)
    lower, upper = cur * (1 - p.budget_bounds), cur * (1 + p.budget_bounds)
    movable = len(usable) >= 2 and cur.sum() > 0
    proposed = _optimise([r.curve for r in usable if r.curve], cur, lower, upper) if movable else cur
    outside = [r.channel for r, x in zip(usable, proposed, strict=True) if not r.in_range(float(x))]
    outside_now = [r.channel for r, x in zip(usable, cur, strict=True) if not r.in_range(float(x))]
    flagged = sorted(set(outside) | set(outside_now))
    warnings = [
        f"{r.channel}: proposed {x:.4g}/day is outside the observed {r.spend_min:.4g}-{r.spend_max:.4g}/day;"
        " its expected outcome extrapolates the curve"
        for r, x in zip(usable, proposed, strict=True)
        if r.channel in outside
    ] + [f"{c}: current spend is outside its observed range" for c in outside_now]
    n = min((r.n_days for r in usable), default=0)
    now, draws_now = _totals(usable, cur)
    new, draws_new = _totals(usable, proposed)
    if movable:
        lift = _band(new - now, draws_new - draws_now, p, n, flagged)
        relative = (
            _band((new - now) / now, (draws_new - draws_now) / draws_now, p, n, flagged)
            if now > 0 and np.all(draws_now > 0)
            else Estimate.insufficient("no expected outcome at the current split", n=n)
        )
    else:
        warnings.append("fewer than two channels with a fitted curve and spend: nothing to reallocate")
        lift = relative = Estimate.insufficient("fewer than two channels with a fitted curve and spend", n=n)
    allocations = tuple(
        ChannelAllocation(
            channel=r.channel,
            current=float(c),
            proposed=float(x),
            lower=float(lo),
            upper=float(hi),
            spend_min=r.spend_min,
            spend_max=r.spend_max,
            extrapolated=r.channel in outside,
            expected_current=r.predict(float(c)),
            expected_proposed=r.predict(float(x)),
        )
        for r, c, x, lo, hi in zip(usable, cur, proposed, lower, upper, strict=True)
    )
    return Reallocation(
        total=float(cur.sum()),
        channels=allocations,
        held=held,
        expected_current=_band(now, draws_now, p, n, outside_now),
        expected_proposed=_band(new, draws_new, p, n, flagged),
        lift=lift,
        relative_lift=relative,
        extrapolated=bool(outside),
        warnings=tuple(warnings),
        parameters=p,
        curves=tuple(usable),
    )


def expected(responses: Sequence[ChannelResponse], spend: Mapping[str, float]) -> Estimate:
    """The summed expected daily outcome of the channels in `spend` at those daily spends, with
    the bootstrap band (draws paired by index), marked when any spend leaves its observed range."""
    if not spend:
        raise ValueError("no channel to price")
    by_channel = {r.channel: r for r in responses}
    missing = sorted(set(spend) - {c for c, r in by_channel.items() if r.curve is not None})
    if missing:
        raise ValueError(f"no fitted response curve for {', '.join(missing)}")
    chosen = [by_channel[c] for c in sorted(spend)]
    levels = np.array([float(spend[r.channel]) for r in chosen])
    point, draws = _totals(chosen, levels)
    outside = [r.channel for r, x in zip(chosen, levels, strict=True) if not r.in_range(float(x))]
    p = chosen[0].parameters
    return _band(point, draws, p, min(r.n_days for r in chosen), outside)
