"""Closing the loop (diagnostics/monitoring.py): the promise a reallocation makes, the leads it
realised, the verdict, and action items' expected effects.

Why these checks: a verdict of "shortfall" or "achieved" is only as good as the numbers under it, so
each number is held against one computed independently here. Garwood's interval against published
values and scipy's Poisson tail probabilities; promised levels against the Hill formula evaluated by
hand on curves fitted to seeded synthetic days; metrics, realised rates and verdicts on small
hand-made frames whose sums are worked out in the test.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError
from scipy import stats

from diagnostics import response
from diagnostics.monitoring import (
    SPEND_TOLERANCE,
    Expectation,
    NoPromise,
    Promise,
    Window,
    check,
    coverage_end,
    judge,
    metric_value,
    promise,
    realised,
)
from diagnostics.response import HillCurve, ResponseParameters, fit_response_curves, reallocate
from diagnostics.stats import poisson_rate
from diagnostics.types import Estimate, Interval

START = dt.date(2024, 3, 1)
TRUE = {"search": HillCurve(ymax=40, half=300, k=1.4), "social": HillCurve(ymax=25, half=150, k=1.0)}
FAST = ResponseParameters(bootstrap_samples=100)


def hill(curve: HillCurve, spend: float) -> float:
    return curve.ymax * spend**curve.k / (spend**curve.k + curve.half**curve.k)


def day(offset: int) -> dt.date:
    return START + dt.timedelta(days=offset)


def at(offset: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day(offset), dt.time(hour, minute), tzinfo=dt.UTC)


# --- Garwood's exact Poisson interval -------------------------------------------------------------


def test_garwood_interval_matches_published_values_and_scales_with_exposure() -> None:
    ten, zero, per_day = poisson_rate(10, 1.0, 0.95), poisson_rate(0, 1.0, 0.95), poisson_rate(10, 4.0, 0.95)
    assert ten is not None and zero is not None and per_day is not None
    assert (ten.low, ten.high) == (pytest.approx(4.7954, abs=1e-3), pytest.approx(18.3904, abs=1e-3))
    assert zero.low == 0 and zero.high == pytest.approx(-math.log(0.025), rel=1e-9)
    assert (per_day.low, per_day.high) == (pytest.approx(ten.low / 4), pytest.approx(ten.high / 4))
    assert ten.method == "garwood" and ten.level == 0.95


@pytest.mark.parametrize("events", [1, 3, 10, 57])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_garwood_bounds_leave_half_alpha_in_each_poisson_tail(events: int, confidence: float) -> None:
    exposure = 7.0
    band = poisson_rate(events, exposure, confidence)
    assert band is not None
    tail = (1 - confidence) / 2
    assert stats.poisson.cdf(events, band.high * exposure) == pytest.approx(tail, rel=1e-6)
    assert stats.poisson.sf(events - 1, band.low * exposure) == pytest.approx(tail, rel=1e-6)


def test_poisson_rate_has_no_interval_without_exposure_and_refuses_negative_counts() -> None:
    assert poisson_rate(3, 0) is None
    with pytest.raises(ValueError, match="negative"):
        poisson_rate(-1, 5.0)


# --- Curves fitted to seeded synthetic days: expected levels and promises ---------------------------


@pytest.fixture(scope="module")
def fitted() -> tuple[response.ChannelResponse, ...]:
    """45 days of two channels drawn from known Hill curves plus noise, and a channel whose spend
    never varies (so it gets no curve)."""
    rng = np.random.default_rng(11)
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=d) for d in range(45)]
    ranges = {"search": (80, 700), "social": (40, 400)}
    rows = [{"channel": "flat", "date": d, "spend": 100.0, "outcome": 3.0} for d in dates]
    for channel, curve in TRUE.items():
        spend = rng.uniform(*ranges[channel], len(dates))
        outcome = curve(spend) + rng.normal(0, 1.5, len(dates))
        rows += [
            {"channel": channel, "date": d, "spend": float(s), "outcome": float(y)}
            for d, s, y in zip(dates, spend, outcome, strict=True)
        ]
    curves = fit_response_curves(pl.DataFrame(rows), parameters=FAST)
    statuses = {c.channel: c.status for c in curves}
    assert statuses == {"flat": "insufficient", "search": "fitted", "social": "fitted"}
    return curves


@pytest.fixture(scope="module")
def realloc(fitted: tuple[response.ChannelResponse, ...]) -> response.Reallocation:
    return reallocate(fitted, parameters=FAST)


def test_expected_is_the_sum_of_each_channels_hill_curve_with_a_band_around_it(realloc) -> None:
    curve = {c.channel: c.curve for c in realloc.curves}
    both = response.expected(realloc.curves, {"search": 350.0, "social": 200.0})
    assert both.value == pytest.approx(hill(curve["search"], 350.0) + hill(curve["social"], 200.0), rel=1e-12)
    assert both.sufficient and both.interval is not None and both.interval.method == "bootstrap"
    assert both.interval.low <= both.value <= both.interval.high
    alone = response.expected(realloc.curves, {"social": 200.0})
    assert alone.value == pytest.approx(hill(curve["social"], 200.0), rel=1e-12)


def test_expected_refuses_a_channel_without_a_curve(fitted) -> None:
    with pytest.raises(ValueError, match="flat"):
        response.expected(fitted, {"search": 300.0, "flat": 100.0})
    with pytest.raises(ValueError, match="tv"):
        response.expected(fitted, {"tv": 100.0})


def test_expected_beyond_the_observed_spend_is_marked_not_sufficient(realloc) -> None:
    curve = {c.channel: c.curve for c in realloc.curves}
    beyond = 1.5 * next(c.spend_max for c in realloc.curves if c.channel == "search")
    estimate = response.expected(realloc.curves, {"search": beyond, "social": 200.0})
    assert not estimate.sufficient and "extrapolated" in (estimate.note or "") and "search" in estimate.note
    assert "social" not in estimate.note
    assert estimate.value == pytest.approx(hill(curve["search"], beyond) + hill(curve["social"], 200.0))


def test_promise_moves_amount_over_the_period_and_prices_both_splits(realloc) -> None:
    p = promise(realloc, "search", "social", amount=700.0, period_days=14)
    current = {c.channel: c.current for c in realloc.channels}
    curve = {c.channel: c.curve for c in realloc.curves}
    assert p.daily_shift == pytest.approx(50.0)
    assert p.spend_before == {"search": current["search"], "social": current["social"]}
    assert p.spend_after["search"] == pytest.approx(current["search"] - 50.0)
    assert p.spend_after["social"] == pytest.approx(current["social"] + 50.0)
    assert sum(p.spend_after.values()) == pytest.approx(sum(p.spend_before.values()), rel=1e-12)
    for estimate, split in ((p.expected_before, p.spend_before), (p.expected_after, p.spend_after)):
        assert estimate.value == pytest.approx(sum(hill(curve[c], s) for c, s in split.items()), rel=1e-12)
    assert p.confidence == realloc.parameters.confidence


def test_promise_refuses_what_the_curves_cannot_price(realloc) -> None:
    search_daily = next(c.current for c in realloc.channels if c.channel == "search")
    with pytest.raises(NoPromise, match="same channel"):
        promise(realloc, "search", "search", 100.0, 7)
    with pytest.raises(NoPromise, match="no response curve for tv"):
        promise(realloc, "tv", "social", 100.0, 7)
    with pytest.raises(NoPromise, match="flat: insufficient data: daily spend barely varies"):
        promise(realloc, "search", "flat", 100.0, 7)
    with pytest.raises(NoPromise, match="search spent"):
        promise(realloc, "search", "social", (search_daily + 1.0) * 10, 10)


# --- Metrics over a window, on hand-made frames ------------------------------------------------------

ADS = pl.DataFrame(
    {
        "date": [day(-1), day(0), day(0), day(1), day(1), day(2), day(3)],
        "channel": ["a", "a", "b", "a", "c", "a", "a"],
        "spend": [999.0, 100.0, 50.0, 120.0, 500.0, 80.0, 999.0],
        "clicks": [99, 10, 5, 14, 50, 6, 99],
        "impressions": [9999, 1000, 400, 1200, 5000, 600, 9999],
    }
)
LEAD_SCHEMA = {"created_at": pl.Datetime("us", "UTC"), "channel": pl.String}
LEADS = pl.DataFrame(
    [(at(-1, 23, 59), "a"), (at(0, 9), "a"), (at(0, 23, 59), "b"), (at(1), "a"), (at(1), "a"), (at(1), "a"),
     (at(1), "c"), (at(2, 0), "b"), (at(2, 12), "a"), (at(3, 0), "a")],
    schema=LEAD_SCHEMA, orient="row",
)  # fmt: skip
THREE_DAYS = Window(start=day(0), end=day(2))


@pytest.mark.parametrize(
    ("metric", "channels", "value"),
    [
        # Days 0-2, channels a and b: spend 350, clicks 35, impressions 3200, leads 7.
        ("leads_per_day", ("a", "b"), 7 / 3),
        ("spend_per_day", ("a", "b"), 350 / 3),
        ("clicks_per_day", ("a", "b"), 35 / 3),
        ("cpl", ("a", "b"), 350 / 7),
        ("cpc", ("a", "b"), 350 / 35),
        ("ctr", ("a", "b"), 35 / 3200),
        ("cpl", ("b",), 50 / 2),
        ("leads_per_day", (), 8 / 3),
        ("spend_per_day", (), 850 / 3),
    ],
)
def test_metric_value_counts_only_the_window_and_channels(metric: str, channels, value: float) -> None:
    assert metric_value(metric, ADS, LEADS, channels, THREE_DAYS) == pytest.approx(value, rel=1e-12)


def test_metric_value_is_none_over_nothing_and_refuses_unknown_metrics() -> None:
    last_day = Window(start=day(2), end=day(2))  # channel b: one lead, no ad row
    assert metric_value("cpc", ADS, LEADS, ["b"], last_day) is None
    assert metric_value("ctr", ADS, LEADS, ["b"], last_day) is None
    assert metric_value("cpl", ADS, None, ["a"], THREE_DAYS) is None
    assert metric_value("leads_per_day", ADS, LEADS, [], Window(start=day(2), end=day(1))) is None
    with pytest.raises(ValueError, match="unknown metric 'roas'"):
        metric_value("roas", ADS, LEADS, [], THREE_DAYS)


# --- The realised outcome and the verdict ------------------------------------------------------------


def made_promise(period_days: int = 14) -> Promise:
    return Promise(
        from_channel="a", to_channel="b", period_days=period_days, daily_shift=50.0,
        spend_before={"a": 350.0, "b": 450.0}, spend_after={"a": 300.0, "b": 500.0},
        expected_before=Estimate(value=18.0, interval=Interval(low=15, high=21, method="bootstrap")),
        expected_after=Estimate(value=20.0, interval=Interval(low=16, high=24, method="bootstrap")),
        confidence=0.95,
    )  # fmt: skip


def after_change(leads_a: int, leads_b: int, spend_a: float = 300.0, days: int = 20):
    """Leads and ad rows from START on, plus rows that must not count: another channel, and the day
    before the change."""
    per_day = [("a", leads_a), ("b", leads_b), ("c", 9)]
    leads = [(at(d, 8 + i % 12), ch) for d in range(days) for ch, n in per_day for i in range(n)]
    leads += [(at(-1), "a")] * 9
    ads = [(day(d), ch, s) for d in range(-1, days) for ch, s in (("a", spend_a), ("b", 500.0), ("c", 77.0))]
    return (
        pl.DataFrame(ads, schema={"date": pl.Date, "channel": pl.String, "spend": pl.Float64}, orient="row"),
        pl.DataFrame(leads, schema=LEAD_SCHEMA, orient="row"),
    )


def test_realised_window_ends_at_the_period_or_the_data_whichever_comes_first() -> None:
    ads, leads = after_change(8, 12)
    p = made_promise(period_days=14)
    short = realised(ads, leads, p, START, covered_to=day(9))
    assert (short.window.end, short.window.days, short.leads) == (day(9), 10, 200)
    assert short.leads_per_day.value == 200 / 10
    assert short.leads_per_day.interval == poisson_rate(200, 10, 0.95)  # checked against scipy above
    assert short.spend_per_day == {"a": pytest.approx(300.0), "b": pytest.approx(500.0)}
    full = realised(ads, leads, p, START, covered_to=day(30))
    assert (full.window.end, full.window.days, full.leads) == (day(13), 14, 280)


@pytest.mark.parametrize(
    ("per_day", "status", "phrase"),
    [(10, "shortfall", "a shortfall"), (15, "shortfall", "a shortfall"), (16, "met", "within"),
     (20, "met", "within"), (24, "met", "within"), (25, "exceeded", "above"), (30, "exceeded", "above")],
)  # fmt: skip
def test_judge_places_realised_leads_against_the_promised_interval(per_day: int, status: str, phrase) -> None:
    ads, leads = after_change(per_day // 2, per_day - per_day // 2)
    p = made_promise()
    verdict = judge(p, realised(ads, leads, p, START, covered_to=day(9)))
    assert (verdict.status, verdict.spend_moved) == (status, True)
    assert phrase in verdict.message and "did not move" not in verdict.message


def test_judge_says_too_early_before_min_days_of_data() -> None:
    ads, leads = after_change(8, 12)
    p = made_promise()
    six_days = realised(ads, leads, p, START, covered_to=day(5))
    early = judge(p, six_days)
    assert early.status == "too_early" and "6 of 7 days" in early.message
    assert judge(p, six_days, min_days=6).status == "met"


@pytest.mark.parametrize(("off", "moved"), [(-6.0, True), (6.0, False)])
def test_spend_moved_only_within_the_tolerance_of_the_ordered_level(off: float, moved: bool) -> None:
    spend_a = 300.0 * (1 + SPEND_TOLERANCE) + off  # 345 is the edge for an ordered 300
    ads, leads = after_change(2, 3, spend_a=spend_a)
    p = made_promise()
    verdict = judge(p, realised(ads, leads, p, START, covered_to=day(9)))
    assert verdict.status == "shortfall" and verdict.spend_moved is moved
    assert ("the spend did not move as ordered" in verdict.message) is not moved


# --- Action items' expected effects ------------------------------------------------------------------


def expect(direction: str, size: float) -> Expectation:
    return Expectation(metric="cpl", direction=direction, size=size, by=day(30))


@pytest.mark.parametrize(
    ("direction", "size", "baseline", "value", "outcome"),
    [("down", 0.1, 100, 89, "achieved"), ("down", 0.1, 100, 91, "missed"), ("down", 0.1, 100, 120, "missed"),
     ("up", 0.2, 50, 61, "achieved"), ("up", 0.2, 50, 59, "missed"), ("up", 0.1, 100, 50, "missed"),
     # exactly the expected size is achieved, whatever the float rounding of value / baseline - 1
     ("down", 0.1, 100, 90, "achieved"), ("down", 0.2, 100, 80, "achieved"),
     ("up", 0.1, 100, 110, "achieved")],
)  # fmt: skip
def test_check_needs_the_expected_direction_and_size(direction, size, baseline, value, outcome) -> None:
    result = check(expect(direction, size), baseline, value)
    assert result.outcome == outcome and result.change == pytest.approx(value / baseline - 1)


@pytest.mark.parametrize(("baseline", "value", "missing"), [(None, 5.0, "baseline"), (0.0, 5.0, "baseline"),
                                                           (100.0, None, "value")])  # fmt: skip
def test_check_is_undetermined_without_both_numbers(baseline, value, missing: str) -> None:
    result = check(expect("up", 0.1), baseline, value)
    assert result.outcome == "undetermined" and result.change is None and f"no {missing}" in result.message


def test_expectation_refuses_an_unknown_metric() -> None:
    with pytest.raises(ValidationError, match="unknown metric 'roas'"):
        Expectation(metric="roas", direction="up", size=0.1, by=day(30))


def test_coverage_end_prefers_the_ads_last_date_then_the_last_leads_day() -> None:
    no_dates = pl.DataFrame({"date": [None]}, schema={"date": pl.Date})
    assert coverage_end(ADS, LEADS) == day(3)
    assert coverage_end(ADS.filter(pl.col("date") < day(2)), LEADS) == day(1)
    assert coverage_end(None, LEADS) == day(3)
    assert coverage_end(no_dates, LEADS.filter(pl.col("created_at") < at(2, 0))) == day(1)
    assert coverage_end(None, None) is None and coverage_end(no_dates, LEADS.clear()) is None
