"""Snapshot drift: PSI and KS against hand arithmetic and scipy, their properties, and the verdicts of
`snapshot_drift` on synthetic snapshots (resampled: no drift; shifted CTR, changed mix: drifted;
small samples and thin weeks: low volume; missing columns: skipped, no crash)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import stats as sps

from diagnostics.assumptions import Assumptions
from diagnostics.drift import (
    MIN_KS_STATISTIC,
    PSI_EPSILON,
    DriftReport,
    ks,
    numeric_signal,
    psi,
    psi_categorical,
    snapshot_drift,
)

START = dt.date(2024, 1, 1)  # a Monday
UTC = dt.UTC

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=60)


# -- PSI ------------------------------------------------------------------------------------------


def test_psi_by_hand():
    # bins=2: the one interior edge is the median of [1, 2, 3, 4] = 2.5 (linear interpolation).
    # expected: (-inf, 2.5] holds {1, 2}, (2.5, inf) holds {3, 4}   -> shares 0.50, 0.50
    # actual:   (-inf, 2.5] holds {1, 1, 1}, (2.5, inf) holds {4}  -> shares 0.75, 0.25
    # PSI = (0.75 - 0.5) ln(0.75 / 0.5) + (0.25 - 0.5) ln(0.25 / 0.5)
    #     = 0.25 * 0.405465 + 0.25 * 0.693147 = 0.25 * ln 3 = 0.274653
    assert psi([1, 2, 3, 4], [1, 1, 1, 4], bins=2) == pytest.approx(0.25 * math.log(3), rel=1e-12)


def test_psi_values_beyond_the_range_go_to_the_end_bins_with_floored_shares():
    expected = np.arange(10.0)  # deciles: edges 0.9, 1.8, ..., 8.1, one value per bin (share 0.1)
    # All of `actual` in the top bin: share 1.0 there, 0 (floored to 1e-4) in the nine others.
    # PSI = (1 - 0.1) ln(1 / 0.1) + 9 * (1e-4 - 0.1) ln(1e-4 / 0.1)
    by_hand = 0.9 * math.log(10) + 9 * (PSI_EPSILON - 0.1) * math.log(PSI_EPSILON / 0.1)
    assert psi(expected, [100.0] * 10) == pytest.approx(by_hand, rel=1e-12)
    assert psi(expected, [-100.0] * 10) == pytest.approx(by_hand, rel=1e-12)  # the bottom bin alike
    assert math.isfinite(by_hand)


def test_psi_of_a_discrete_signal_deduplicates_edges():
    # Path lengths, mostly 1: the deciles are [1]*7 + [2, 2, 3]; unique edges give bins
    # (-inf, 1], (1, 2], (2, 3], (3, inf) with shares 0.7, 0.2, 0.1, 0.
    expected = [1] * 7 + [2, 2, 3]
    actual = [1] * 5 + [2, 2, 2, 3, 3]  # shares 0.5, 0.3, 0.2, 0
    by_hand = (0.5 - 0.7) * math.log(0.5 / 0.7) + (0.3 - 0.2) * math.log(0.3 / 0.2) + 0.1 * math.log(2)
    assert psi(expected, actual) == pytest.approx(by_hand, rel=1e-12)


def test_psi_categorical_by_hand():
    # Shares: expected paid_search 0.6, email 0.4, display 0 (floored to 1e-4);
    #         actual   paid_search 0.4, email 0.4, display 0.2.
    # PSI = (0.4 - 0.6) ln(0.4 / 0.6) + 0 + (0.2 - 1e-4) ln(0.2 / 1e-4)
    #     = 0.081093 + 0.1999 * 7.600902 = 0.081093 + 1.519420 = 1.600513
    value = psi_categorical({"paid_search": 60, "email": 40}, {"paid_search": 40, "email": 40, "display": 20})
    assert value == pytest.approx(1.600513, abs=1e-6)
    assert value == pytest.approx(
        -0.2 * math.log(0.4 / 0.6) + (0.2 - PSI_EPSILON) * math.log(0.2 / PSI_EPSILON), rel=1e-12
    )


def test_psi_rejects_what_it_cannot_measure():
    with pytest.raises(ValueError):
        psi([], [1.0])
    with pytest.raises(ValueError):
        psi([float("nan")], [1.0])  # non-finite values are dropped: nothing left
    with pytest.raises(ValueError):
        psi([1.0], [1.0], bins=0)
    with pytest.raises(ValueError):
        psi_categorical({"a": 0}, {"a": 1})
    with pytest.raises(ValueError):
        psi_categorical({"a": -1, "b": 2}, {"a": 1})


@settings(max_examples=200, deadline=None)
@given(samples, st.integers(min_value=1, max_value=20))
def test_psi_of_identical_samples_is_zero(sample, bins):
    assert psi(sample, sample, bins=bins) == 0.0
    assert psi(sample, list(reversed(sample)), bins=bins) == 0.0


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_psi_is_never_negative(expected, actual):
    assert psi(expected, actual) >= 0.0


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000), min_size=1).filter(
        lambda d: sum(d.values())
    ),
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000), min_size=1).filter(
        lambda d: sum(d.values())
    ),
    st.integers(min_value=2, max_value=50),
)
def test_psi_categorical_properties(expected, actual, scale):
    value = psi_categorical(expected, actual)
    assert value >= 0.0
    assert psi_categorical(expected, expected) == 0.0
    assert psi_categorical(actual, expected) == pytest.approx(value)  # symmetric on categories
    # Shares, not counts: scaling one side changes nothing.
    assert psi_categorical(expected, {k: v * scale for k, v in actual.items()}) == pytest.approx(value)


def test_psi_grows_with_the_shift_and_is_roughly_symmetric():
    rng = np.random.default_rng(11)
    before, after = rng.normal(size=5000), rng.normal(size=5000)
    values = [psi(before, after + shift) for shift in (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert values[0] < 0.01  # same distribution: noise only, about 9 * (2 / 5000) = 0.004
    # For two unit normals a shift d apart, PSI (the symmetrised KL divergence) is d^2 = 0.25
    # before binning; the bins are the first sample's, so the two directions differ a little.
    forward, backward = psi(before, after + 0.5), psi(after + 0.5, before)
    assert 0.2 < forward < 0.3 and 0.2 < backward < 0.3
    assert forward == pytest.approx(backward, rel=0.1)


# -- KS -------------------------------------------------------------------------------------------


def test_ks_of_disjoint_samples_is_one():
    statistic, p_value = ks([1, 2, 3], [4, 5, 6])
    assert statistic == 1.0
    assert 0.0 <= p_value < 0.1


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize(
    ("n1", "n2", "shift"), [(30, 25, 0.0), (200, 180, 0.3), (1000, 3000, 0.05), (57, 4000, 1.0)]
)
def test_ks_matches_scipy(seed, n1, n2, shift):
    rng = np.random.default_rng(seed)
    expected, actual = rng.normal(size=n1), rng.normal(loc=shift, size=n2)
    reference = sps.ks_2samp(expected, actual, method="asymp")
    statistic, p_value = ks(expected, actual)
    assert statistic == pytest.approx(reference.statistic, abs=1e-12)
    assert p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    # And close to the exact p-value where that is cheap to compute.
    if n1 * n2 <= 50_000:
        assert p_value == pytest.approx(sps.ks_2samp(expected, actual, method="exact").pvalue, abs=0.03)


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")  # scipy's exact path gives up on some sizes
@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_ks_statistic_matches_scipy_with_ties(expected, actual):
    statistic, p_value = ks(expected, actual)
    assert statistic == pytest.approx(sps.ks_2samp(expected, actual).statistic, abs=1e-12)
    assert 0.0 <= p_value <= 1.0


def test_ks_rejects_empty_samples():
    with pytest.raises(ValueError):
        ks([], [1.0])


# -- One signal's verdict -------------------------------------------------------------------------


def test_a_significant_but_immaterial_ks_gap_is_not_drift():
    rng = np.random.default_rng(5)
    before, after = rng.normal(size=200_000), rng.normal(loc=0.03, size=200_000)
    signal = numeric_signal("spend", before, after, Assumptions())
    assert signal.ks_p_value is not None and signal.ks_p_value < 1e-6  # huge n: "significant"
    assert signal.ks_statistic is not None and signal.ks_statistic < MIN_KS_STATISTIC
    assert not signal.drifted
    assert "immaterial" in signal.reason


def test_a_material_ks_gap_is_drift_even_under_the_psi_threshold():
    rng = np.random.default_rng(6)
    before, after = rng.normal(size=4000), rng.normal(loc=0.3, size=4000)
    signal = numeric_signal("x", before, after, Assumptions())
    assert signal.psi is not None and signal.psi < 0.2
    assert signal.ks_statistic is not None and signal.ks_statistic >= MIN_KS_STATISTIC
    assert signal.drifted


def test_few_observations_are_low_volume_and_never_drifted():
    signal = numeric_signal("ctr", [0.01] * 10, [0.5] * 10, Assumptions())
    assert signal.low_volume and not signal.drifted
    assert signal.psi is not None and signal.psi > 1  # measured, for reading, but not judged
    assert "low volume" in signal.reason


# -- snapshot_drift: synthetic snapshots ----------------------------------------------------------


def ads(
    seed: int,
    *,
    days: int = 60,
    rows_per_day: int = 30,
    ctr: float = 0.02,
    mix: tuple[float, float, float] = (0.5, 0.3, 0.2),
    channel: bool = False,
) -> pl.DataFrame:
    """Daily ad rows over three platforms, spend independent of the platform (so mix is row mix)."""
    rng = np.random.default_rng(seed)
    n = days * rows_per_day
    impressions = rng.integers(500, 5000, n)
    platform = rng.choice(["google_ads", "meta_ads", "linkedin_ads"], n, p=mix)
    frame = pl.DataFrame(
        {
            "date": [START + dt.timedelta(days=int(d)) for d in np.repeat(np.arange(days), rows_per_day)],
            "platform": platform,
            "campaign_id": "c1",
            "impressions": impressions,
            "clicks": rng.binomial(impressions, ctr),
            "spend": rng.gamma(2.0, 25.0, n),
            "currency": "EUR",
            "platform_conversions": rng.poisson(2.0, n).astype(float),
        }
    )
    if channel:
        names = {"google_ads": "paid_search", "meta_ads": "paid_social", "linkedin_ads": "display"}
        frame = frame.with_columns(pl.col("platform").replace_strict(names).alias("channel"))
    return frame


@pytest.mark.parametrize(("seed_before", "seed_after"), [(0, 1), (2, 3), (4, 5), (6, 7)])
def test_resampled_ads_do_not_drift(seed_before, seed_after):
    report = snapshot_drift(ads(seed_before), ads(seed_after), "ad_performance")
    assert [s.signal for s in report.signals] == ["daily_spend", "ctr", "cpc", "platform_spend_mix"]
    assert not report.drifted, report.summary_lines()
    assert not any(s.low_volume for s in report.signals)
    assert report.skipped == ()


def test_psi_within_sampling_noise_is_not_drift():
    # 60 days a side: ten bins of six days; two draws of one distribution differ by a PSI of about
    # 9 * (1/60 + 1/60) = 0.3, past the threshold with no drift at all. The noise test holds it back.
    reports = [snapshot_drift(ads(2 * s), ads(2 * s + 1), "ad_performance") for s in range(3)]
    daily = [next(s for s in r.signals if s.signal == "daily_spend") for r in reports]
    assert any(s.psi is not None and s.psi >= 0.2 for s in daily)
    assert not any(s.drifted for s in daily)


def test_a_ctr_shift_drifts_the_ctr_signal():
    report = snapshot_drift(ads(1), ads(2, ctr=0.025), "ad_performance")
    assert report.drifted
    assert "ctr" in report.drifted_signals
    assert "daily_spend" not in report.drifted_signals
    assert "platform_spend_mix" not in report.drifted_signals
    assert any(
        line.startswith("ad_performance: DRIFTED (") and "ctr" in line for line in report.summary_lines()
    )


def test_a_changed_channel_mix_drifts_the_mix_signal():
    report = snapshot_drift(ads(1, channel=True), ads(2, channel=True, mix=(0.2, 0.3, 0.5)), "ad_performance")
    assert report.drifted_signals == ("channel_spend_mix",)
    mix = next(s for s in report.signals if s.signal == "channel_spend_mix")
    assert mix.kind == "categorical" and mix.ks_statistic is None and mix.ks_p_value is None
    assert "display" in mix.reason  # the largest mover is named


def test_the_psi_threshold_comes_from_the_assumptions():
    before, after = ads(1, channel=True), ads(2, channel=True, mix=(0.4, 0.3, 0.3))
    assert not snapshot_drift(before, after, "ad_performance").drifted
    strict = snapshot_drift(
        before, after, "ad_performance", assumptions=Assumptions(drift_psi_threshold=0.02)
    )
    assert strict.drifted_signals == ("channel_spend_mix",)
    assert strict.psi_threshold == 0.02


def test_ads_missing_optional_columns_do_not_crash():
    before = ads(1).select("platform", "campaign_id", "impressions", "clicks", "spend", "currency")
    after = ads(2).select("campaign_id", "impressions", "spend", "currency")  # no clicks, no platform
    report = snapshot_drift(before, after, "ad_performance")
    assert report.signals == ()
    assert not report.drifted and report.low_volume_weeks == ()
    assert [text.split(":")[0] for text in report.skipped] == [
        "daily_spend",
        "ctr",
        "cpc",
        "channel_spend_mix",
    ]
    assert "clicks missing from current" in report.skipped[1]


def test_ad_weeks_with_few_platform_conversions_are_listed():
    assert snapshot_drift(ads(1), ads(2), "ad_performance").low_volume_weeks == ()
    # 2 rows a day at 2 conversions a row: about 28 a week, under 50; 60 days span 9 week starts.
    thin = snapshot_drift(ads(1), ads(2, rows_per_day=2), "ad_performance")
    assert thin.low_volume_weeks == tuple(START + dt.timedelta(weeks=w) for w in range(9))
    without = ads(2, rows_per_day=2).with_columns(platform_conversions=pl.lit(None, pl.Float64))
    assert snapshot_drift(ads(1), without, "ad_performance").low_volume_weeks == ()  # unknown, not zero


def test_an_empty_previous_snapshot_is_low_volume_not_drift():
    report = snapshot_drift(ads(1).head(0), ads(2), "ad_performance")
    assert not report.drifted
    assert all(s.low_volume for s in report.signals)


def leads(weekly: list[int], *, seed: int = 0, mix: tuple[float, float] = (0.7, 0.3)) -> pl.DataFrame:
    """`weekly[i]` leads spread over the days of week i, on paid_search or email."""
    rng = np.random.default_rng(seed)
    created = [
        dt.datetime.combine(START + dt.timedelta(weeks=week, days=int(day)), dt.time(12), UTC)
        for week, count in enumerate(weekly)
        for day in rng.integers(0, 7, count)
    ]
    return pl.DataFrame(
        {
            "lead_id": [str(i) for i in range(len(created))],
            "created_at": created,
            "channel": rng.choice(["paid_search", "email"], len(created), p=mix),
        }
    )


def test_low_volume_weeks_of_leads_are_listed():
    report = snapshot_drift(leads([70, 70, 70], seed=1), leads([60, 10, 0, 55], seed=2), "leads")
    # The empty third week counts: no lead in a week inside the snapshot is 0 leads.
    assert report.low_volume_weeks == (dt.date(2024, 1, 8), dt.date(2024, 1, 15))
    assert "2024-01-08, 2024-01-15" in "\n".join(report.summary_lines())
    strict = snapshot_drift(
        leads([70], seed=1),
        leads([60, 10, 0, 55], seed=2),
        "leads",
        assumptions=Assumptions(min_conversions_per_week=61),
    )
    assert strict.low_volume_weeks == (
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 8),
        dt.date(2024, 1, 15),
        dt.date(2024, 1, 22),
    )


def test_leads_signals_and_a_changed_channel_mix():
    steady = snapshot_drift(leads([80] * 8, seed=1), leads([80] * 8, seed=2), "leads")
    assert [s.signal for s in steady.signals] == ["channel_mix", "daily_leads"]
    assert not steady.drifted and steady.low_volume_weeks == ()
    shifted = snapshot_drift(leads([80] * 8, seed=1), leads([80] * 8, seed=2, mix=(0.3, 0.7)), "leads")
    assert shifted.drifted_signals == ("channel_mix",)


def test_leads_without_dates_or_channels_do_not_crash():
    before, after = leads([40] * 4, seed=1).select("lead_id"), leads([40] * 4, seed=2).select("lead_id")
    report = snapshot_drift(before, after, "leads")
    assert report.signals == () and report.low_volume_weeks == () and not report.drifted
    assert len(report.skipped) == 2
    source = snapshot_drift(
        before.with_columns(source=pl.lit("web")), after.with_columns(source=pl.lit("web")), "leads"
    )
    assert [s.signal for s in source.signals] == ["source_mix"]


def touchpoints(
    seed: int,
    *,
    users: int = 600,
    mean_extra_touches: float = 1.5,
    mix: tuple[float, float, float] = (0.5, 0.3, 0.2),
    weekly_conversions: list[int] | None = None,
) -> pl.DataFrame:
    """Touches of `users` users (1 + Poisson touches each) over four weeks; `converted` flags
    `weekly_conversions[w]` touches of week w when given."""
    rng = np.random.default_rng(seed)
    per_user = 1 + rng.poisson(mean_extra_touches, users)
    n = int(per_user.sum())
    week = rng.integers(0, 4, n)
    frame = pl.DataFrame(
        {
            "touchpoint_id": [str(i) for i in range(n)],
            "user_id": np.repeat([f"u{i}" for i in range(users)], per_user),
            "timestamp": [
                dt.datetime.combine(START + dt.timedelta(weeks=int(w), days=int(d)), dt.time(9), UTC)
                for w, d in zip(week, rng.integers(0, 7, n), strict=True)
            ],
            "channel": rng.choice(["paid_search", "email", "organic_search"], n, p=mix),
            "event_type": "session_start",
        }
    )
    if weekly_conversions is not None:
        converted = np.zeros(n, dtype=bool)
        for w, count in enumerate(weekly_conversions):
            converted[np.flatnonzero(week == w)[:count]] = True
        frame = frame.with_columns(converted=pl.Series(converted))
    return frame


def test_touchpoints_resampled_do_not_drift_and_skip_conversions_without_a_column():
    report = snapshot_drift(touchpoints(1), touchpoints(2), "touchpoints")
    assert [s.signal for s in report.signals] == ["channel_mix", "path_length"]
    assert not report.drifted
    assert len(report.skipped) == 1 and report.skipped[0].startswith("weekly_conversions")


def test_touchpoints_drift_in_mix_and_path_length():
    mix = snapshot_drift(touchpoints(1), touchpoints(2, mix=(0.2, 0.3, 0.5)), "touchpoints")
    assert mix.drifted_signals == ("channel_mix",)
    longer = snapshot_drift(touchpoints(1), touchpoints(2, mean_extra_touches=3.0), "touchpoints")
    assert "path_length" in longer.drifted_signals


def test_touchpoint_conversions_per_week():
    report = snapshot_drift(
        touchpoints(1, weekly_conversions=[80, 80, 80, 80]),
        touchpoints(2, weekly_conversions=[80, 30, 80, 5]),
        "touchpoints",
    )
    weekly = next(s for s in report.signals if s.signal == "weekly_conversions")
    assert weekly.low_volume and not weekly.drifted  # four weeks a side: too few to judge
    assert report.low_volume_weeks == (dt.date(2024, 1, 8), dt.date(2024, 1, 22))


def test_other_tables_compare_their_numeric_columns_but_ids():
    rng = np.random.default_rng(3)

    def sends(opens_rate: float) -> pl.DataFrame:
        delivered = rng.integers(800, 1200, 300)
        return pl.DataFrame(
            {
                "send_id": [str(i) for i in range(300)],
                "campaign_id": rng.integers(0, 5, 300),  # numeric, but an id
                "sent_at": [dt.datetime(2024, 1, 1, tzinfo=UTC)] * 300,
                "segment": "all",
                "delivered": delivered,
                "opens": rng.binomial(delivered, opens_rate),
            }
        )

    report = snapshot_drift(sends(0.2), sends(0.3), "email_sends")
    assert [s.signal for s in report.signals] == ["delivered", "opens"]
    assert report.drifted_signals == ("opens",)
    empty = snapshot_drift(pl.DataFrame({"path": ["a"]}), pl.DataFrame({"path": ["b"]}), "paths")
    assert empty.signals == () and len(empty.skipped) == 1


def test_report_round_trips_and_is_frozen():
    report = snapshot_drift(ads(1), ads(2, ctr=0.03), "ad_performance")
    again = DriftReport.model_validate_json(report.model_dump_json())
    assert again == report and again.drifted
    with pytest.raises(ValidationError):
        report.table = "x"  # type: ignore[misc]
