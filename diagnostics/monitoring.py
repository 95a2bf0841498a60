"""After the change: did it do what it promised? (DOMAIN.md, "close the loop".)

Two questions, both answered from snapshots ingested after the fact, never from the platform's
own report of success:

- **A budget reallocation's promise.** When it is proposed, the response curves of the post-mortem
  that justified it say how many leads a day the two channels should yield once `amount` moves
  from one to the other over `period_days` (`promise`: the expected level with its bootstrap
  interval). Once it has run and new data covers at least `min_days` of that period, the realised
  leads a day (with Garwood's exact Poisson interval) are held against the promise (`judge`):
  below the interval is a shortfall; the verdict also says whether the spend really moved as
  ordered, because a shortfall on a change the platform never applied is not the curves' fault.
- **An action item's expected effect** (metric, direction, relative size, by date, channels):
  once a snapshot covers the date, the metric over the days since the post-mortem's data against
  its value in the post-mortem's data, the same formula on both sides (`metric_value`, `check`).

Channel level on purpose: a reallocation moves a channel's budget, and the campaign it came from has
usually ended, so "the channel's leads after the change" is what was promised.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from diagnostics import response
from diagnostics.stats import poisson_rate
from diagnostics.types import Estimate

METRICS: dict[str, str] = {
    "leads_per_day": "leads a day",
    "spend_per_day": "spend a day",
    "clicks_per_day": "clicks a day",
    "cpl": "cost per lead (spend / leads)",
    "cpc": "cost per click (spend / clicks)",
    "ctr": "click-through rate (clicks / impressions)",
}
"""What an expected effect can name: each computable from ad rows and leads of some channels over
some days, so the baseline and the outcome use one formula."""

# A spend within this share of the ordered level counts as "moved as ordered".
SPEND_TOLERANCE = 0.15


class NoPromise(ValueError):
    """The post-mortem's curves cannot price this change (no curve, or more moved than spent)."""


class Promise(BaseModel):
    """What a budget reallocation was expected to yield, per day, in the two channels it touches."""

    model_config = ConfigDict(frozen=True)

    from_channel: str
    to_channel: str
    period_days: int = Field(ge=1)
    daily_shift: float = Field(gt=0)
    spend_before: dict[str, float]
    spend_after: dict[str, float]
    expected_before: Estimate
    expected_after: Estimate
    confidence: float


def promise(
    realloc: response.Reallocation, from_channel: str, to_channel: str, amount: float, period_days: int
) -> Promise:
    """Move `amount` over `period_days` (so `amount / period_days` a day) from one channel to the
    other, starting from the observed mean daily spends, and price both splits on the curves."""
    if from_channel == to_channel:
        raise NoPromise("from and to are the same channel")
    if amount <= 0 or period_days < 1:
        raise NoPromise("the amount must be positive and the period at least one day")
    fitted = {c.channel: c for c in realloc.curves if c.curve is not None}
    held = {h.channel: h.reason for h in realloc.held}
    for channel in (from_channel, to_channel):
        if channel not in fitted:
            why = held.get(channel, "the post-mortem saw no spend in it")
            raise NoPromise(f"no response curve for {channel}: {why}")
    current = {c.channel: c.current for c in realloc.channels}
    before = {c: current.get(c, fitted[c].spend_mean) for c in (from_channel, to_channel)}
    shift = amount / period_days
    if shift > before[from_channel]:
        raise NoPromise(
            f"{from_channel} spent {before[from_channel]:,.2f} a day; "
            f"{shift:,.2f} a day cannot move out of it"
        )
    after = {from_channel: before[from_channel] - shift, to_channel: before[to_channel] + shift}
    curves = list(fitted.values())
    return Promise(
        from_channel=from_channel,
        to_channel=to_channel,
        period_days=period_days,
        daily_shift=shift,
        spend_before=before,
        spend_after=after,
        expected_before=response.expected(curves, before),
        expected_after=response.expected(curves, after),
        confidence=realloc.parameters.confidence,
    )


class Window(BaseModel):
    """Days `start`..`end` inclusive that the data covers."""

    model_config = ConfigDict(frozen=True)

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return max(0, (self.end - self.start).days + 1)


def ad_channels(ads: pl.DataFrame, platform_channels: dict[str, str]) -> pl.DataFrame:
    """Ad rows carry a platform, not a channel: give them the unified channel the campaigns'
    taxonomy names for their platform ("other" when none does), and a `date` for rows reported by
    period (their first day)."""
    if "channel" not in ads.columns:
        ads = ads.with_columns(
            channel=pl.col("platform").replace_strict(
                platform_channels, default="other", return_dtype=pl.String
            )
        )
    if "period_start" in ads.columns:
        ads = ads.with_columns(date=pl.coalesce("date", "period_start"))
    return ads


def coverage_end(ads: pl.DataFrame | None, leads: pl.DataFrame | None) -> dt.date | None:
    """The last day the new data reports: the ad rows' last date (spend is reported daily even on
    a day without a lead), else the last lead's day."""
    if ads is not None and "date" in ads.columns and ads["date"].drop_nulls().len():
        return ads["date"].max()  # type: ignore[return-value]
    if leads is not None and "created_at" in leads.columns and leads["created_at"].drop_nulls().len():
        return leads["created_at"].max().date()  # type: ignore[union-attr]
    return None


def _in(frame: pl.DataFrame | None, column: str, channels: Sequence[str], window: Window) -> pl.DataFrame:
    if frame is None or frame.is_empty() or column not in frame.columns:
        return pl.DataFrame()
    day = pl.col(column).dt.date() if frame.schema[column] == pl.Datetime else pl.col(column)
    chosen = frame.filter(day.is_between(window.start, window.end))
    return chosen.filter(pl.col("channel").is_in(list(channels))) if channels else chosen


def _sums(
    ads: pl.DataFrame | None, leads: pl.DataFrame | None, channels: Sequence[str], window: Window
) -> dict[str, float]:
    rows = _in(ads, "date", channels, window)
    out = {
        name: float(rows[name].sum()) if name in rows.columns else 0.0
        for name in ("spend", "clicks", "impressions")
    }
    out["leads"] = float(_in(leads, "created_at", channels, window).height)
    return out


def metric_value(
    metric: str,
    ads: pl.DataFrame | None,
    leads: pl.DataFrame | None,
    channels: Sequence[str],
    window: Window,
) -> float | None:
    """`metric` over `window` for `channels` (all channels when empty); None when undefined
    (no days, or a ratio over nothing)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r} (metrics: {', '.join(METRICS)})")
    if window.days == 0:
        return None
    s = _sums(ads, leads, channels, window)
    per_day = {"leads_per_day": "leads", "spend_per_day": "spend", "clicks_per_day": "clicks"}
    if metric in per_day:
        return s[per_day[metric]] / window.days
    numerator, denominator = {
        "cpl": ("spend", "leads"),
        "cpc": ("spend", "clicks"),
        "ctr": ("clicks", "impressions"),
    }[metric]
    return s[numerator] / s[denominator] if s[denominator] > 0 else None


class Realised(BaseModel):
    model_config = ConfigDict(frozen=True)

    window: Window
    leads: int
    leads_per_day: Estimate
    spend_per_day: dict[str, float]


def realised(
    ads: pl.DataFrame | None,
    leads: pl.DataFrame | None,
    p: Promise,
    start: dt.date,
    covered_to: dt.date,
) -> Realised:
    """The two channels' leads a day from `start` to the end of the promise's period or of the
    data, whichever comes first, and each channel's spend a day."""
    end = min(start + dt.timedelta(days=p.period_days - 1), covered_to)
    window = Window(start=start, end=end)
    channels = (p.from_channel, p.to_channel)
    count = _in(leads, "created_at", channels, window).height
    days = window.days
    rate = (
        Estimate(value=count / days, interval=poisson_rate(count, days, p.confidence), n=days)
        if days
        else Estimate.insufficient("no day of data after the change", n=0)
    )
    spend = {c: (_sums(ads, None, [c], window)["spend"] / days if days else 0.0) for c in channels}
    return Realised(window=window, leads=count, leads_per_day=rate, spend_per_day=spend)


Status = Literal["too_early", "shortfall", "met", "exceeded"]


class Judgement(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    spend_moved: bool
    message: str
    promise: Promise
    realised: Realised


def judge(p: Promise, r: Realised, *, min_days: int = 7) -> Judgement:
    """Realised leads a day against the promised interval. Fewer than `min_days` days of data after
    the change: too early to say. `spend_moved` is whether each channel's realised daily spend came
    within `SPEND_TOLERANCE` of the ordered level."""
    moved = all(
        abs(r.spend_per_day[c] - p.spend_after[c]) <= SPEND_TOLERANCE * max(p.spend_after[c], 1e-9)
        for c in (p.from_channel, p.to_channel)
    )
    promised = p.expected_after
    band = promised.interval
    seen = r.leads_per_day
    head = (
        f"{p.from_channel} -> {p.to_channel}: {seen.format('.1f')} leads a day over {r.window.days} days "
        f"from {r.window.start} against {promised.format('.1f')} promised"
    )
    spend = ", ".join(
        f"{c} {r.spend_per_day[c]:,.0f}/day (ordered {p.spend_after[c]:,.0f})"
        for c in (p.from_channel, p.to_channel)
    )
    if r.window.days < min_days or seen.value is None or band is None:
        status: Status = "too_early"
        message = f"{head}: too early to judge ({r.window.days} of {min_days} days needed)"
    elif seen.value < band.low:
        status = "shortfall"
        message = f"{head}: a shortfall below the promised interval"
    elif seen.value > band.high:
        status = "exceeded"
        message = f"{head}: above the promised interval"
    else:
        status = "met"
        message = f"{head}: within the promised interval"
    if status != "too_early" and not promised.sufficient:
        message += f"; the promise itself was marked: {promised.note}"
    if status != "too_early" and not moved:
        message += f"; but the spend did not move as ordered ({spend}), so the curves were not tested"
    return Judgement(status=status, spend_moved=moved, message=message, promise=p, realised=r)


class Expectation(BaseModel):
    """An action item's expected effect: `metric` moves `direction` by at least `size` (relative
    to its value in the post-mortem's data) by `by`, in `channels` (all when empty)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    direction: Literal["up", "down"]
    size: float = Field(gt=0, le=10)
    by: dt.date
    channels: tuple[str, ...] = ()

    def model_post_init(self, _context: object) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r} (metrics: {', '.join(METRICS)})")

    def sentence(self) -> str:
        where = f" in {', '.join(self.channels)}" if self.channels else ""
        return f"{self.metric} {self.direction} {self.size:.0%}{where} by {self.by}"


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Literal["achieved", "missed", "undetermined"]
    baseline: float | None
    value: float | None
    change: float | None  # relative: value / baseline - 1
    message: str


def check(expectation: Expectation, baseline: float | None, value: float | None) -> Check:
    """Achieved when the metric moved the expected way by at least the expected relative size."""
    said = expectation.sentence()
    if baseline is None or value is None or baseline == 0:
        return Check(
            outcome="undetermined",
            baseline=baseline,
            value=value,
            change=None,
            message=f"{said}: no {'baseline' if not baseline else 'value'} to compare",
        )
    change = value / baseline - 1
    # A move of exactly the expected size is achieved: 100 -> 90 is -0.09999999999999998 in floats.
    moved = change if expectation.direction == "up" else -change
    hit = moved >= expectation.size or math.isclose(moved, expectation.size, rel_tol=1e-9)
    return Check(
        outcome="achieved" if hit else "missed",
        baseline=baseline,
        value=value,
        change=change,
        message=f"{said}: {baseline:.4g} -> {value:.4g} ({change:+.1%}), "
        + ("achieved" if hit else "missed"),
    )
