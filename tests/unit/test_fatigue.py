"""Creative fatigue: planted decay slopes recovered within their intervals, no flags on flat creatives,
the materiality and false-discovery rules, and the generated sample's fatigued LinkedIn creative."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from diagnostics.assumptions import Assumptions
from diagnostics.fatigue import FatigueParameters, creative_fatigue
from tests.sample_tables import sample_tables

LAUNCH = dt.date(2026, 9, 1)


def creative_days(
    rng: np.random.Generator,
    creative_id: str,
    weekly_change: float,
    *,
    days: int = 42,
    ctr: float = 0.012,
    impressions: float = 3000,
    noise: float = 0.08,
    first_day: int = 0,
) -> list[dict]:
    """Daily rows whose CTR changes by `weekly_change` per week of age, with day-to-day noise."""
    slope = math.log1p(weekly_change) / 7
    rows = []
    for age in range(days):
        shown = int(rng.poisson(impressions * (0.3 if (age + first_day) % 7 >= 5 else 1.0)))
        rate = ctr * math.exp(slope * age) * rng.lognormal(0, noise)
        rows.append(
            {
                "date": LAUNCH + dt.timedelta(days=first_day + age),
                "creative_id": creative_id,
                "impressions": shown,
                "clicks": int(rng.binomial(shown, min(rate, 1.0))),
            }
        )
    return rows


def test_planted_weekly_decay_is_recovered_within_its_interval() -> None:
    truth = -0.15
    flight = 0.85 ** (41 / 7) - 1  # 41 days of age compound to -0.61
    covered = covered_flight = 0
    for seed in range(20):
        report = creative_fatigue(pl.DataFrame(creative_days(np.random.default_rng(seed), "c1", truth)))
        (c,) = report.creatives
        weekly, over = c.change_per_unit, c.change_over_flight
        assert weekly.interval is not None and weekly.interval.level == 0.95 and over.interval is not None
        covered += weekly.interval.low <= truth <= weekly.interval.high
        covered_flight += over.interval.low <= flight <= over.interval.high
        assert weekly.value == pytest.approx(truth, abs=0.05)
        assert c.fatigued and report.flagged == ("c1",)
    assert covered >= 17 and covered_flight >= 17
    assert report.unit == "week of age" and report.rate == "clicks/impressions"


def test_flat_creatives_are_not_flagged_and_the_decaying_one_is() -> None:
    rng = np.random.default_rng(3)
    rows = [r for i in range(20) for r in creative_days(rng, f"flat{i:02d}", 0.0)]
    rows += creative_days(rng, "tired", -0.12)
    report = creative_fatigue(pl.DataFrame(rows))
    assert report.flagged == ("tired",)
    assert len(report.creatives) == 21 and all(c.q_value is not None for c in report.creatives)
    flat = [c for c in report.creatives if c.creative_id != "tired"]
    assert sum(c.change_per_unit.interval.low <= 0 <= c.change_per_unit.interval.high for c in flat) >= 17


def test_a_significant_but_small_decay_is_not_material_unless_configured() -> None:
    rows = creative_days(np.random.default_rng(4), "big", -0.02, impressions=400_000, noise=0.01)
    default = creative_fatigue(pl.DataFrame(rows))
    (c,) = default.creatives
    assert c.q_value is not None and c.q_value < 0.001
    assert -0.2 < (c.change_over_flight.value or 0) < 0 and not c.fatigued
    strict = creative_fatigue(pl.DataFrame(rows), parameters=FatigueParameters(materiality=0.05))
    assert strict.flagged == ("big",) and strict.parameters.materiality == 0.05


def test_false_discovery_correction_can_withhold_a_flag() -> None:
    # A noisy decaying creative is flagged on its own; among 30 flat ones its q-value no longer passes.
    rng = np.random.default_rng(3)
    rows = creative_days(rng, "weak", -0.06, impressions=600, noise=0.15)
    (weak,) = creative_fatigue(pl.DataFrame(rows)).creatives
    assert weak.p_value is not None and weak.p_value < 0.05 and weak.q_value == weak.p_value and weak.fatigued
    flats = [
        r for i in range(30) for r in creative_days(rng, f"flat{i:02d}", 0.0, impressions=600, noise=0.15)
    ]
    crowd = creative_fatigue(pl.DataFrame(rows + flats))
    in_crowd = next(c for c in crowd.creatives if c.creative_id == "weak")
    assert in_crowd.p_value == pytest.approx(weak.p_value)
    assert in_crowd.q_value is not None and in_crowd.q_value > 0.05 and not in_crowd.fatigued
    assert crowd.flagged == ()


def test_cumulative_exposure_recovers_a_decay_per_impressions() -> None:
    # CTR halves every 100,000 impressions served; delivery is uneven, so age and exposure differ.
    rng = np.random.default_rng(6)
    rows, served = [], 0
    for age in range(40):
        shown = int(rng.uniform(500, 6000))
        rate = 0.015 * 0.5 ** (served / 100_000) * rng.lognormal(0, 0.05)
        rows.append({"date": LAUNCH + dt.timedelta(days=age), "creative_id": "c", "impressions": shown,
                     "clicks": int(rng.binomial(shown, rate))})  # fmt: skip
        served += shown
    report = creative_fatigue(pl.DataFrame(rows), exposure="cumulative")
    (c,) = report.creatives
    assert report.unit == "100,000 impressions"
    assert c.change_per_unit.interval is not None
    assert c.change_per_unit.interval.low <= -0.5 <= c.change_per_unit.interval.high
    assert c.fatigued


def test_launch_is_the_first_day_with_delivery_and_thin_creatives_are_not_tested() -> None:
    rng = np.random.default_rng(7)
    late = creative_days(rng, "late", -0.1, first_day=5)
    dark = [
        {"date": LAUNCH + dt.timedelta(days=d), "creative_id": "late", "impressions": 0, "clicks": 0}
        for d in range(5)
    ]
    thin = creative_days(rng, "thin", -0.3, days=4)
    rare = creative_days(rng, "rare", -0.3, impressions=100, ctr=0.002)
    report = creative_fatigue(pl.DataFrame(dark + late + thin + rare))
    by_id = {c.creative_id: c for c in report.creatives}
    assert by_id["late"].launch == LAUNCH + dt.timedelta(days=5) and by_id["late"].n_days == 42
    assert by_id["thin"].change_per_unit.note == "insufficient data: 4 days with delivery < 7 needed"
    assert "successes < 30 needed" in (by_id["rare"].change_per_unit.note or "")
    assert by_id["thin"].q_value is None and by_id["rare"].p_value is None
    assert report.flagged == ("late",)


def test_conversion_rate_columns_and_assumptions_are_recorded() -> None:
    rows = [
        {"date": LAUNCH + dt.timedelta(days=d), "creative_id": "c", "conversions": 30 - d // 2, "clicks": 300}
        for d in range(30)
    ]
    p = FatigueParameters.from_assumptions(Assumptions(false_discovery_rate=0.1), min_days=10)
    report = creative_fatigue(pl.DataFrame(rows), successes="conversions", trials="clicks", parameters=p)
    assert report.rate == "conversions/clicks" and report.parameters.false_discovery_rate == 0.1
    assert report.parameters.min_days == 10 and report.flagged == ("c",)


def campaign_ads(campaign_id: str) -> pl.DataFrame:
    s = sample_tables("S", 7)
    campaign = next(c for c in s.campaigns if c["id"] == campaign_id)
    ids = [cc["campaign_id"] for p in campaign["platforms"] for cc in p["campaigns"]]
    return s.tables["ad_performance"].filter(pl.col("campaign_id").is_in(ids))


def test_sample_flags_exactly_the_planted_creative_in_the_current_campaign() -> None:
    mode = next(
        m for m in sample_tables("S", 7).ground_truth["failure_modes"] if m["id"] == "creative_fatigue"
    )
    planted = mode["parameters"]["creative_id"]
    for exposure in ("age", "cumulative"):
        report = creative_fatigue(campaign_ads(mode["campaign_id"]), exposure=exposure)
        print(mode["campaign_id"], exposure, "flagged", report.flagged)
        assert report.flagged == (planted,)
        c = next(c for c in report.creatives if c.creative_id == planted)
        print(
            "  ",
            planted,
            "per",
            report.unit,
            c.change_per_unit.format(),
            "over flight",
            c.change_over_flight.format(),
        )
        assert c.launch.isoformat() == mode["parameters"]["launch_date"]
        drop = -mode["parameters"]["ctr_drop_over_campaign"]
        assert c.change_over_flight.interval is not None
        assert c.change_over_flight.interval.low <= drop <= c.change_over_flight.interval.high
    for campaign_id, counterpart in mode["parameters"]["baseline_counterparts"].items():
        baseline = creative_fatigue(campaign_ads(campaign_id))
        print(campaign_id, "flagged", baseline.flagged)
        assert baseline.flagged == ()
        c = next(c for c in baseline.creatives if c.creative_id == counterpart)
        assert c.change_per_unit.sufficient and not c.fatigued
