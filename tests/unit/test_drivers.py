"""Root-cause decomposition: hand-computed cases, the exact-sum and order-invariance properties, the
false-discovery correction, insufficient-data labelling, the target mode, the interaction of two
dimensions, and the planted social MQL->SQL failure of the generated sample."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from diagnostics.assumptions import Assumptions
from diagnostics.drivers import Explanation, explain, parse_outcome, parse_split
from tests.sample_tables import sample_tables

FAST = Assumptions(bootstrap_samples=200)


def units(counts: dict[tuple[str, str], tuple[int, int]], dim: str = "segment") -> pl.DataFrame:
    """One row per unit from {(period, segment): (trials, successes)}."""
    rows = [
        {"period": period, dim: segment, "converted": i < successes}
        for (period, segment), (trials, successes) in counts.items()
        for i in range(trials)
    ]
    return pl.DataFrame(rows, schema={"period": pl.String, dim: pl.String, "converted": pl.Boolean})


def cells(counts: dict[tuple[str, ...], tuple[int, int]], dims: tuple[str, ...]) -> pl.DataFrame:
    """Unit rows from {(period, *dimension values): (trials, successes)}."""
    rows = [
        {"period": key[0], **dict(zip(dims, key[1:], strict=True)), "converted": i < successes}
        for key, (trials, successes) in counts.items()
        for i in range(trials)
    ]
    return pl.DataFrame(
        rows, schema={"period": pl.String, **dict.fromkeys(dims, pl.String), "converted": pl.Boolean}
    )


def by_label(explanation: Explanation, name: str = "segment") -> dict:
    return {s.label: s for s in explanation.dimension(name).segments}


# ---- hand-computed ---------------------------------------------------------------------------------------


def test_two_segments_two_periods_by_hand() -> None:
    # base:    a 50/100 (0.5), b 10/100 (0.1): w0 = (0.5, 0.5), R0 = 0.30
    # current: a 20/50  (0.4), b 15/150 (0.1): w1 = (0.25, 0.75), R1 = 0.10 + 0.075 = 0.175
    # total = -0.125, Rbar = (0.30 + 0.175) / 2 = 0.2375
    # a: mix = (0.25 - 0.5) * ((0.5 + 0.4)/2 - 0.2375) = -0.25 * 0.2125 = -0.053125
    #    rate = (0.4 - 0.5) * (0.5 + 0.25)/2 = -0.0375
    # b: mix = (0.75 - 0.5) * (0.1 - 0.2375) = -0.034375, rate = 0
    # sum: -0.053125 - 0.0375 - 0.034375 = -0.125 (mix total -0.0875, rate total -0.0375)
    df = units(
        {("q1", "a"): (100, 50), ("q1", "b"): (100, 10), ("q2", "a"): (50, 20), ("q2", "b"): (150, 15)}
    )
    result = explain(df, "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    a, b = by_label(result)["a"], by_label(result)["b"]
    assert result.total.value == pytest.approx(-0.125, abs=1e-12)
    assert (result.base.value, result.current.value) == pytest.approx((0.30, 0.175))
    assert a.mix.value == pytest.approx(-0.053125, abs=1e-12)
    assert a.rate.value == pytest.approx(-0.0375, abs=1e-12)
    assert b.mix.value == pytest.approx(-0.034375, abs=1e-12)
    assert b.rate.value == pytest.approx(0.0, abs=1e-12)
    decomposition = result.dimension("segment")
    assert decomposition.mix.value == pytest.approx(-0.0875, abs=1e-12)
    assert decomposition.rate.value == pytest.approx(-0.0375, abs=1e-12)
    # ranked by absolute size: a's mix (0.053), then b's mix (0.034), a's rate (0.0375) in between
    assert [(d.segment, d.effect) for d in decomposition.drivers] == [
        ("a", "mix"),
        ("a", "rate"),
        ("b", "mix"),
        ("b", "rate"),
    ]
    assert (a.rank, b.rank) == (1, 2)  # contributions -0.090625 and -0.034375
    assert a.base_share.value == 0.5 and a.current_share.value == 0.25
    assert a.current_rate.interval is not None and a.current_rate.interval.method == "wilson"
    assert a.mix.interval is not None and a.mix.interval.method == "bootstrap"
    assert a.mix.interval.low <= a.mix.value <= a.mix.interval.high


def test_a_new_segment_is_all_mix() -> None:
    # base: a 50/100; current: a 50/100, c 10/100 (new). w0 = (1, 0), w1 = (0.5, 0.5)
    # c's missing base rate is its current rate 0.1, so its rate effect is 0.
    # R0 = 0.5, R1 = 0.3, total = -0.2, Rbar = 0.4
    # a: mix = (0.5 - 1) * (0.5 - 0.4) = -0.05;  c: mix = (0.5 - 0) * (0.1 - 0.4) = -0.15
    df = units({("q1", "a"): (100, 50), ("q2", "a"): (100, 50), ("q2", "c"): (100, 10)})
    result = explain(df, "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    a, c = by_label(result)["a"], by_label(result)["c"]
    assert result.total.value == pytest.approx(-0.2)
    assert (a.mix.value, a.rate.value) == pytest.approx((-0.05, 0.0))
    assert (c.mix.value, c.rate.value) == pytest.approx((-0.15, 0.0))
    assert c.status == "new" and c.rate_p is None and c.mix_q is not None
    assert ("c", "rate") not in {(d.segment, d.effect) for d in result.dimension("segment").drivers}
    assert not c.base_rate.sufficient  # no base units: no base rate to show


def test_a_vanished_segment_is_all_mix() -> None:
    # base: a 50/100, v 30/100; current: a 50/100. R0 = 0.4, R1 = 0.5, total +0.1, Rbar = 0.45
    # a: mix = (1 - 0.5) * (0.5 - 0.45) = +0.025; v: mix = (0 - 0.5) * (0.3 - 0.45) = +0.075
    df = units({("q1", "a"): (100, 50), ("q1", "v"): (100, 30), ("q2", "a"): (100, 50)})
    result = explain(df, "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    v = by_label(result)["v"]
    assert v.status == "vanished"
    assert (v.mix.value, v.rate.value) == pytest.approx((0.075, 0.0))
    assert by_label(result)["a"].mix.value == pytest.approx(0.025)


def test_gap_to_a_target_is_all_rate_on_the_current_mix() -> None:
    # current: a 10/100 (0.1), b 90/300 (0.3); w1 = (0.25, 0.75), R1 = 0.025 + 0.225 = 0.25
    # target 0.35 on the current mix: gap = -0.10
    # a: rate = 0.25 * (0.1 - 0.35) = -0.0625;  b: rate = 0.75 * (0.3 - 0.35) = -0.0375; mix = 0
    df = units({("q3", "a"): (100, 10), ("q3", "b"): (300, 90)})
    result = explain(df, "converted", ["segment"], target=0.35, assumptions=FAST)
    a, b = by_label(result)["a"], by_label(result)["b"]
    assert result.total.value == pytest.approx(-0.10)
    assert (a.rate.value, b.rate.value) == pytest.approx((-0.0625, -0.0375))
    assert a.mix.value == 0 and b.mix.value == 0
    assert result.dimension("segment").mix.value == 0
    assert [(d.segment, d.effect) for d in result.dimension("segment").drivers] == [
        ("a", "rate"),
        ("b", "rate"),
    ]
    assert a.base_rate.value == 0.35 and a.base_share == a.current_share
    # binomial test of 10/100 against 0.35 (scipy): far below 0.001
    assert a.rate_p is not None and a.rate_p < 1e-6
    assert "against a target of 35.0%" in result.summary_lines()[0]


# ---- properties ------------------------------------------------------------------------------------------

segment_counts = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 40), st.floats(0, 1), st.floats(0, 1)),
    min_size=1,
    max_size=6,
)


def random_counts(draw: list[tuple[int, int, float, float]]) -> dict[tuple[str, str], tuple[int, int]]:
    counts = {}
    for k, (n0, n1, r0, r1) in enumerate(draw):
        if n0:
            counts[("q1", f"s{k}")] = (n0, round(n0 * r0))
        if n1:
            counts[("q2", f"s{k}")] = (n1, round(n1 * r1))
    return counts


def both_periods(counts: dict[tuple[str, str], tuple[int, int]]) -> bool:
    return {period for period, _ in counts} == {"q1", "q2"}


@settings(max_examples=60, deadline=None)
@given(segment_counts)
def test_mix_plus_rate_adds_up_to_the_total_exactly(draw: list[tuple[int, int, float, float]]) -> None:
    counts = random_counts(draw)
    assume(both_periods(counts))
    result = explain(units(counts), "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    s0 = sum(s for (period, _), (_, s) in counts.items() if period == "q1")
    n0 = sum(n for (period, _), (n, _) in counts.items() if period == "q1")
    s1 = sum(s for (period, _), (_, s) in counts.items() if period == "q2")
    n1 = sum(n for (period, _), (n, _) in counts.items() if period == "q2")
    decomposition = result.dimension("segment")
    parts = sum(s.mix.value + s.rate.value for s in decomposition.segments)
    assert parts == pytest.approx(s1 / n1 - s0 / n0, abs=1e-12)
    assert decomposition.mix.value + decomposition.rate.value == pytest.approx(s1 / n1 - s0 / n0, abs=1e-12)
    for segment in decomposition.segments:
        if segment.base_n == 0 or segment.current_n == 0:
            assert segment.rate.value == 0.0  # present in one period only: all mix


@settings(max_examples=25, deadline=None)
@given(segment_counts, st.integers(0, 2**32 - 1))
def test_results_do_not_depend_on_row_order(draw: list[tuple[int, int, float, float]], seed: int) -> None:
    counts = random_counts(draw)
    assume(both_periods(counts))
    df = units(counts).with_columns(
        pl.Series("extra", np.arange(sum(n for n, _ in counts.values())) % 3).cast(pl.String)
    )
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=seed)
    first = explain(df, "converted", ["segment", "extra"], split="period=q1,q2", assumptions=FAST)
    second = explain(shuffled, "converted", ["segment", "extra"], split="period=q1,q2", assumptions=FAST)
    assert first == second  # every value, interval, p, q and rank


@settings(max_examples=25, deadline=None)
@given(segment_counts, st.integers(1, 3))
def test_aggregated_rows_give_the_unit_level_decomposition(
    draw: list[tuple[int, int, float, float]], pieces: int
) -> None:
    counts = random_counts(draw)
    assume(both_periods(counts))
    # the same units as rows of (trials, successes), each segment split over `pieces` rows (days);
    # floor shares plus one for the first remainders keep successes <= trials on every row
    rows = [
        {
            "period": period,
            "segment": segment,
            "impressions": n // pieces + (piece < n % pieces),
            "clicks": s // pieces + (piece < s % pieces),
        }
        for (period, segment), (n, s) in counts.items()
        for piece in range(pieces)
    ]
    aggregated = pl.DataFrame(rows)
    from_units = explain(units(counts), "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    from_rows = explain(aggregated, "clicks/impressions", ["segment"], split="period=q1,q2", assumptions=FAST)
    assert from_rows.dimensions == from_units.dimensions
    assert (from_rows.base, from_rows.current, from_rows.total) == (
        from_units.base,
        from_units.current,
        from_units.total,
    )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 60), st.booleans(), st.floats(0, 1)),
        min_size=4,
        max_size=40,
    )
)
def test_cells_add_up_to_their_dimensions_and_a_pair_never_explains_less(
    draw: list[tuple[int, int, int, bool, float]],
) -> None:
    counts: dict[tuple[str, ...], tuple[int, int]] = {}
    for a, b, n, current, r in draw:
        key = ("q2" if current else "q1", f"a{a}", f"b{b}")
        old_n, old_s = counts.get(key, (0, 0))
        counts[key] = (old_n + n, old_s + round(n * r))
    assume({key[0] for key in counts} == {"q1", "q2"})
    result = explain(
        cells(counts, ("A", "B")), "converted", ["A", "B"], split="period=q1,q2", assumptions=FAST
    )
    (pair,) = result.interactions
    if pair.beyond.sufficient:  # splitting segments never lowers the concentration
        assert pair.beyond_observed >= -1e-12
        assert pair.beyond.interval.low <= pair.beyond.value <= pair.beyond.interval.high
        assert pair.p is not None and 0 < pair.p <= 1
    # contributions of the cells add up to those of each dimension alone
    for name in ("A", "B"):
        alone = {s.label: s.mix.value + s.rate.value for s in result.dimension(name).segments}
        for label, value in alone.items():
            index = 0 if name == "A" else 1
            inside = [
                s.mix.value + s.rate.value for s in pair.decomposition.segments if s.values[index] == label
            ]
            assert sum(inside) == pytest.approx(value, abs=1e-12)


# ---- uncertainty and significance ---------------------------------------------------------------------


def test_bootstrap_interval_of_the_total_is_that_of_a_difference_of_two_samples() -> None:
    # 600/2000 -> 125/500: normal interval of a difference of independent proportions
    # se = sqrt(0.3 * 0.7 / 2000 + 0.25 * 0.75 / 500) = sqrt(0.000105 + 0.000375) = 0.021909;
    # 1.96 se = 0.04294
    df = units({("q1", "x"): (2000, 600), ("q2", "x"): (500, 125)})
    result = explain(
        df, "converted", ["segment"], split="period=q1,q2", assumptions=Assumptions(bootstrap_samples=2000)
    )
    assert result.total.interval is not None
    assert result.total.interval.low == pytest.approx(-0.05 - 0.04294, abs=0.006)
    assert result.total.interval.high == pytest.approx(-0.05 + 0.04294, abs=0.006)


def test_a_planted_effect_in_one_of_twenty_segments_survives_the_correction() -> None:
    rng = np.random.default_rng(3)
    counts = {}
    for k in range(20):
        planted = 0.10 if k == 7 else 0.30
        counts[("q1", f"s{k:02d}")] = (200, int(rng.binomial(200, 0.30)))
        counts[("q2", f"s{k:02d}")] = (200, int(rng.binomial(200, planted)))
    result = explain(units(counts), "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    segments = by_label(result)
    rate_drivers = [d for d in result.dimension("segment").drivers if d.effect == "rate"]
    assert (rate_drivers[0].segment, rate_drivers[0].significant) == ("s07", True)
    nulls = [s for label, s in segments.items() if label != "s07"]
    assert sum(s.rate_q < 0.05 for s in nulls) <= 1
    # with this seed some null segment looks significant before the correction and not after it
    assert any(s.rate_p < 0.05 <= s.rate_q for s in nulls)
    assert all(s.rate_q >= s.rate_p for s in segments.values())


def test_segments_below_the_minimum_are_labelled_and_not_ranked() -> None:
    df = units(
        {("q1", "big"): (200, 60), ("q1", "tiny"): (10, 5), ("q2", "big"): (200, 40), ("q2", "tiny"): (40, 2)}
    )
    result = explain(df, "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    tiny = by_label(result)["tiny"]
    assert tiny.status == "insufficient" and tiny.rank is None
    assert tiny.rate_p is None and tiny.rate_q is None and tiny.mix_q is None
    assert not tiny.mix.sufficient and tiny.mix.note == "insufficient data: 10 < 30 base units"
    assert tiny.mix.value is not None  # still counted: the parts add up to the total
    assert not tiny.base_rate.sufficient and tiny.current_rate.sufficient
    assert {d.segment for d in result.dimension("segment").drivers} == {"big"}
    assert any(
        "Not ranked, insufficient data: tiny (10 < 30 base units)" in line for line in result.summary_lines()
    )


def test_segments_too_small_to_judge_cannot_explain_a_change() -> None:
    # base and current: big1 30/100, big2 30/100 (no change); tiny t1 3/10 -> 6/10, t2 3/10 -> 0/10
    # R0 = R1 = 66/220 = 0.3: total 0. t1 contributes (10/220) * (0.6 - 0.3) = +0.013636, t2 -0.013636
    # apart they would give a concentration of (0.013636 + 0.013636) / 2 = 0.013636; pooled as one
    # insufficient segment they cancel: 0
    df = units(
        {
            **{(period, big): (100, 30) for period in ("q1", "q2") for big in ("big1", "big2")},
            ("q1", "t1"): (10, 3),
            ("q1", "t2"): (10, 3),
            ("q2", "t1"): (10, 6),
            ("q2", "t2"): (10, 0),
        }
    )
    result = explain(df, "converted", ["segment"], split="period=q1,q2", assumptions=FAST)
    assert by_label(result)["t1"].contribution.value == pytest.approx(3 / 220)
    assert result.dimension("segment").concentration_observed == pytest.approx(0.0, abs=1e-12)


# ---- interaction -----------------------------------------------------------------------------------------


def two_by_two(current_rates: dict[tuple[str, str], float]) -> pl.DataFrame:
    counts: dict[tuple[str, ...], tuple[int, int]] = {}
    for (a, b), r in current_rates.items():
        counts[("q1", a, b)] = (400, 160)  # 0.4 everywhere in the base
        counts[("q2", a, b)] = (400, round(400 * r))
    return cells(counts, ("A", "B"))


def test_a_drop_in_one_cell_is_explained_by_the_pair() -> None:
    # only (a1, b1) falls 0.4 -> 0.1; total = -0.3 * 0.25 = -0.075
    # cells: contributions (-0.075, 0, 0, 0), wbar 0.25 each: deviations (-0.05625, 0.01875 x 3),
    #   concentration = (0.05625 + 3 * 0.01875) / 2 = 0.05625
    # A alone: contributions (-0.075, 0), wbar 0.5: deviations (-0.0375, 0.0375): 0.0375 (B alike)
    # beyond = 0.05625 - 0.0375 = 0.01875 (reported net of noise: smaller, but its interval excludes 0)
    rates = {("a1", "b1"): 0.1, ("a1", "b2"): 0.4, ("a2", "b1"): 0.4, ("a2", "b2"): 0.4}
    result = explain(two_by_two(rates), "converted", ["A", "B"], split="period=q1,q2", assumptions=FAST)
    (pair,) = result.interactions
    assert result.dimension("A").concentration_observed == pytest.approx(0.0375)
    assert pair.decomposition.concentration_observed == pytest.approx(0.05625)
    assert pair.beyond_observed == pytest.approx(0.01875)
    assert 0.005 < pair.beyond.value < 0.01875
    assert pair.beyond.interval is not None and pair.beyond.interval.low > 0
    assert pair.p is not None and pair.p < 0.01
    top = pair.decomposition.drivers[0]
    assert (top.segment, top.effect, top.significant) == ("a1 x b1", "rate", True)


def test_a_drop_along_one_dimension_gains_nothing_from_the_pair() -> None:
    # all of a1 falls 0.4 -> 0.1: A alone localises it; splitting by B adds nothing
    rates = {("a1", "b1"): 0.1, ("a1", "b2"): 0.1, ("a2", "b1"): 0.4, ("a2", "b2"): 0.4}
    result = explain(two_by_two(rates), "converted", ["A", "B"], split="period=q1,q2", assumptions=FAST)
    (pair,) = result.interactions
    assert result.strongest == "A"
    # total = -0.3 * 0.5 = -0.15
    # A alone: contributions (-0.15, 0), wbar 0.5: deviations (-0.075, +0.075): concentration 0.075
    # B alone: contributions (-0.075, -0.075), wbar 0.5: deviations 0: concentration 0
    assert result.dimension("A").concentration_observed == pytest.approx(0.075)
    assert result.dimension("A").concentration_p < 0.01
    assert result.dimension("B").concentration_observed == pytest.approx(0.0, abs=1e-12)
    assert result.dimension("B").concentration.value == 0.0 and result.dimension("B").concentration_p > 0.5
    assert pair.beyond_observed == pytest.approx(0.0, abs=1e-12)
    assert pair.beyond.value == 0.0
    assert pair.p is not None and pair.p > 0.5


# ---- input forms -------------------------------------------------------------------------------------------


def test_outcome_forms_agree() -> None:
    df = units({("q1", "a"): (60, 30), ("q1", "b"): (60, 6), ("q2", "a"): (60, 12), ("q2", "b"): (60, 18)})
    df = df.with_columns(
        pl.col("converted").cast(pl.Int64).alias("flag"),
        pl.when(pl.col("converted")).then(pl.lit("won")).otherwise(pl.lit("lost")).alias("stage"),
        pl.when(pl.col("converted")).then(pl.lit(dt.datetime(2026, 1, 1))).alias("won_at"),
    )
    results = [
        explain(df, outcome, ["segment"], split="period=q1,q2", assumptions=FAST).dimensions
        for outcome in ("converted", "flag", "stage=won", "won_at")
    ]
    assert all(r == results[0] for r in results)


def test_parsing_and_refusals() -> None:
    split = parse_split("campaign=cmp-2026q1|cmp-2026q2,cmp-2026q3")
    assert (split.column, split.base, split.current) == (
        "campaign",
        ("cmp-2026q1", "cmp-2026q2"),
        ("cmp-2026q3",),
    )
    outcome = parse_outcome("clicks/impressions", ["clicks", "impressions"])
    assert (outcome.successes, outcome.trials, outcome.column) == ("clicks", "impressions", None)
    assert parse_outcome("a/b", ["a/b"]).column == "a/b"
    df = units({("q1", "a"): (40, 10), ("q2", "a"): (40, 20)}).with_columns(pl.lit(2).alias("count"))
    with pytest.raises(ValueError, match="COL=BASE,CURRENT"):
        parse_split("period=q1")
    with pytest.raises(ValueError, match="exactly one"):
        explain(df, "converted", ["segment"], split="period=q1,q2", target=0.3)
    with pytest.raises(ValueError, match="only 0 and 1"):
        explain(df, "count", ["segment"], split="period=q1,q2")
    with pytest.raises(ValueError, match="both the base and the current"):
        explain(df, "converted", ["segment"], split="period=q1,q9")
    with pytest.raises(ValueError, match="no column"):
        explain(df, "converted", ["nope"], split="period=q1,q2")


def test_summary_lines_carry_intervals() -> None:
    df = units(
        {("q1", "a"): (300, 150), ("q1", "b"): (300, 30), ("q2", "a"): (200, 40), ("q2", "b"): (400, 40)}
    )
    lines = explain(df, "converted", ["segment"], split="period=q1,q2", assumptions=FAST).summary_lines()
    # R0 = 180/600 = 0.30, R1 = 80/600 = 0.1333: -16.7 pts
    assert lines[0].startswith("converted fell from 30.0% [")
    assert "(-16.7 pts [" in lines[0]
    assert (
        lines[1].startswith("By segment: mix ") and lines[2].startswith("  1. ") and "q < 0.001" in lines[2]
    )
    assert lines[-1].startswith("Assumptions: segments need 30 units per period")
    for line in lines[:-1]:  # every rate and every change is followed by its interval
        assert len(re.findall(r"\d pts(?! \[)", line)) == 0, line
        assert len(re.findall(r"\d%(?! \[)(?![,\]])", line)) == 0, line


# ---- the generated sample ------------------------------------------------------------------------------


def campaign_of_lead(campaigns: list[dict]) -> pl.Expr:
    windows = [
        pl.when(
            pl.col("created_at")
            .dt.date()
            .is_between(dt.date.fromisoformat(c["start"]), dt.date.fromisoformat(c["end"]))
        ).then(pl.lit(c["id"]))
        for c in campaigns
    ]
    return pl.coalesce(windows).alias("campaign")


def test_sample_social_mql_to_sql_is_the_top_driver() -> None:
    s = sample_tables("S", 7)
    truth = s.ground_truth
    mode = next(m for m in truth["failure_modes"] if m["id"] == "social_mql_to_sql")
    mqls = (
        s.tables["leads"].with_columns(campaign_of_lead(s.campaigns)).filter(pl.col("mql_at").is_not_null())
    )
    split = f"campaign={'|'.join(truth['baseline_campaign_ids'])},{mode['campaign_id']}"
    result = explain(mqls, "sql_at", ["channel"], split=split)
    channel = result.dimension("channel")
    top = channel.drivers[0]
    assert (top.segment, top.effect, top.significant) == ("paid_social", "rate", True)
    assert top.value.interval is not None and top.value.interval.high < 0
    social = by_label(result, "channel")["paid_social"]
    assert social.current_rate.value == pytest.approx(mode["observed"]["cmp-2026q3"]["paid_social"], abs=1e-3)
    assert social.rank == 1 and result.total.value < 0
    assert any("is the rate within paid_social" in line for line in result.summary_lines())


def test_sample_creative_fatigue_is_found_in_ctr_from_aggregated_rows() -> None:
    s = sample_tables("S", 7)
    mode = next(m for m in s.ground_truth["failure_modes"] if m["id"] == "creative_fatigue")
    campaign = next(c for c in s.campaigns if c["id"] == mode["campaign_id"])
    start, end = dt.date.fromisoformat(campaign["start"]), dt.date.fromisoformat(campaign["end"])
    ads = s.tables["ad_performance"].filter(pl.col("date").is_between(start, end))
    weeks = ads.with_columns(
        ((pl.col("date") - start).dt.total_days() // 7 + 1).cast(pl.String).alias("week")
    )
    result = explain(weeks, "clicks/impressions", ["creative_id"], split="week=1,6", interactions=False)
    top = result.dimension("creative_id").drivers[0]
    assert (top.segment, top.effect, top.significant) == (mode["parameters"]["creative_id"], "rate", True)
    assert any(
        f"is the rate within {top.segment}" in line and "pts [" in line for line in result.summary_lines()
    )
