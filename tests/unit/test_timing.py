"""Timing effects: planted day-of-week and week effects found (and named), day-to-day noise not taken
for an effect, Wilson cells, the insufficient paths, and the generated sample."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

from diagnostics.assumptions import Assumptions
from diagnostics.stats import wilson
from diagnostics.timing import TimingParameters, timing_effects
from tests.sample_tables import sample_tables

MONDAY = dt.date(2026, 9, 7)


def daily(
    rng: np.random.Generator, rates, *, days: int = 56, trials: int = 2000, noise: float = 0.0
) -> pl.DataFrame:
    """Daily rows from Monday MONDAY; `rates(day)` gives the day's true rate."""
    rows = []
    for d in range(days):
        shown = int(rng.poisson(trials))
        p = min(rates(d) * rng.lognormal(0, noise), 1.0) if noise else rates(d)
        rows.append(
            {
                "date": MONDAY + dt.timedelta(days=d),
                "impressions": shown,
                "clicks": int(rng.binomial(shown, p)),
            }
        )
    return pl.DataFrame(rows)


def test_a_planted_weekend_dip_is_flagged_and_named() -> None:
    flagged = week_flags = 0
    for seed in range(10):
        report = timing_effects(daily(np.random.default_rng(seed), lambda d: 0.03 if d % 7 >= 5 else 0.05))
        dow = report.day_of_week
        assert dow.test is not None and dow.test.dof == 6
        flagged += dow.significant
        if dow.significant:
            assert dow.lowest in {"Sat", "Sun"} and dow.highest not in {"Sat", "Sun"}
        week_flags += report.week.significant
    assert flagged == 10 and week_flags <= 2


def test_a_planted_bad_week_is_flagged_and_named() -> None:
    report = timing_effects(daily(np.random.default_rng(1), lambda d: 0.025 if 14 <= d < 21 else 0.05))
    assert report.week.significant and report.week.lowest == "week 3"
    assert [c.label for c in report.week.cells] == [f"week {i}" for i in range(1, 9)]
    assert report.week.cells[2].start == MONDAY + dt.timedelta(days=14) and report.week.cells[2].days == 7
    assert not report.day_of_week.significant


def test_day_to_day_noise_is_not_a_weekday_effect() -> None:
    # A million impressions a day and 15% lognormal noise on the daily CTR, no weekday effect: a plain
    # chi-square calls it significant; scaled by the between-day dispersion it is not.
    false_flags = 0
    for seed in range(10):
        report = timing_effects(
            daily(np.random.default_rng(seed), lambda d: 0.01, trials=1_000_000, noise=0.15)
        )
        test = report.day_of_week.test
        assert test is not None and test.method == "quasi-binomial F" and test.dispersion > 10
        assert sps.chi2.sf(test.chi_square, test.dof) < 0.05
        false_flags += report.day_of_week.significant + report.week.significant
    assert false_flags <= 2


def test_cells_carry_wilson_intervals_and_small_cells_say_insufficient() -> None:
    frame = daily(np.random.default_rng(2), lambda d: 0.05, days=14, trials=200)
    frame = frame.with_columns(
        pl.when(pl.col("date").dt.weekday() == 7).then(pl.col("impressions") // 20).otherwise("impressions"),
    ).with_columns(pl.min_horizontal("clicks", "impressions").alias("clicks"))
    report = timing_effects(frame, parameters=TimingParameters(min_segment_size=30))
    monday = report.day_of_week.cells[0]
    assert monday.label == "Mon" and monday.days == 2 and monday.start is None
    assert monday.rate.interval == wilson(monday.successes, monday.trials)
    sunday = report.day_of_week.cells[6]
    assert sunday.trials < 30 and not sunday.rate.sufficient
    assert sunday.rate.note == f"insufficient data: {sunday.trials} < 30 needed"


def test_lead_rows_with_timestamps_and_low_volume() -> None:
    rng = np.random.default_rng(3)
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    leads = pl.DataFrame(
        {
            "created_at": [start + dt.timedelta(hours=float(h)) for h in rng.uniform(0, 24 * 42, 600)],
            "mql": rng.binomial(1, 0.35, 600),
            "one": np.ones(600, dtype=int),
        }
    )
    report = timing_effects(leads, date="created_at", successes="mql", trials="one")
    assert report.rate == "mql/one" and report.first_day == dt.date(2026, 9, 1)
    assert sum(c.trials for c in report.week.cells) == 600
    assert report.successes_per_week == pytest.approx(leads["mql"].sum() / 6, rel=0.03)
    assert report.low_volume  # about 35 MQLs a week, below the 50 a week a confident signal needs
    strict = timing_effects(
        leads, date="created_at", successes="mql", trials="one",
        parameters=TimingParameters.from_assumptions(Assumptions(min_conversions_per_week=20)),
    )  # fmt: skip
    assert not strict.low_volume and strict.parameters.min_conversions_per_week == 20


def test_no_groups_or_no_variation_is_insufficient() -> None:
    one_day = pl.DataFrame({"date": [MONDAY], "clicks": [5], "impressions": [100]})
    report = timing_effects(one_day)
    assert report.day_of_week.test is None and not report.day_of_week.significant
    assert (report.week.note or "").startswith("insufficient data")
    empty = timing_effects(one_day.clear())
    assert empty.days == 0 and empty.first_day is None and empty.week.cells == () and empty.low_volume
    never = timing_effects(daily(np.random.default_rng(4), lambda d: 0.0, days=21))
    assert never.week.test is None and never.day_of_week.test is None
    with pytest.raises(ValueError, match="exceeds"):
        timing_effects(pl.DataFrame({"date": [MONDAY], "clicks": [5], "impressions": [3]}))


def campaign_frames(campaign: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the campaign's ad rows, its flight's leads with a 0/1 MQL outcome)."""
    s = sample_tables("S", 7)
    ids = [cc["campaign_id"] for p in campaign["platforms"] for cc in p["campaigns"]]
    ads = s.tables["ad_performance"].filter(pl.col("campaign_id").is_in(ids))
    start, end = dt.date.fromisoformat(campaign["start"]), dt.date.fromisoformat(campaign["end"])
    leads = s.tables["leads"].filter(pl.col("created_at").dt.date().is_between(start, end))
    return ads, leads.with_columns(
        pl.col("mql_at").is_not_null().cast(pl.Int64).alias("mql"), pl.lit(1).alias("one")
    )


def test_sample_timing() -> None:
    s = sample_tables("S", 7)
    for campaign in s.campaigns:
        ads, leads = campaign_frames(campaign)
        ctr = timing_effects(ads)
        mql = timing_effects(leads, date="created_at", successes="mql", trials="one")
        for name, report in (("CTR", ctr), ("MQL rate", mql)):
            for effect in (report.day_of_week, report.week):
                assert effect.test is not None
                print(campaign["id"], name, effect.kind, "significant" if effect.significant else "-",
                      f"q={effect.test.q_value:.3g}", effect.test.method, f"phi={effect.test.dispersion:.2f}",
                      [(c.label, c.rate.format(".3f")) for c in effect.cells])  # fmt: skip
        # No weekday effect on rates is planted anywhere.
        assert not ctr.day_of_week.significant and not mql.day_of_week.significant
        current = campaign["id"] == s.ground_truth["campaign_id"]
        # The fatigued LinkedIn creative drags the current campaign's CTR down week by week.
        assert ctr.week.significant == current
        if current:
            assert ctr.week.lowest == "week 6" and ctr.week.highest == "week 1"
            # The nurture pause (days 15-24) leaves week 3's leads with the lowest MQL rate.
            assert min(mql.week.cells, key=lambda c: c.rate.value or 1).label == "week 3"
        else:
            assert not mql.week.significant
