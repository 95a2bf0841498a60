"""Intervals and corrections against values computed independently (statsmodels' published
formulas by hand, scipy, and textbook examples)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from diagnostics.stats import benjamini_hochberg, bootstrap, jeffreys, rate, two_proportion_p, wilson


def test_wilson_matches_the_closed_form_by_hand() -> None:
    # 12 of 40, z = 1.959964: centre (0.3 + z^2/80) / (1 + z^2/40) = 0.317524,
    # half-width z * sqrt(0.3 * 0.7 / 40 + z^2 / 6400) / (1 + z^2/40) = 0.136776.
    interval = wilson(12, 40)
    assert interval is not None
    assert interval.low == pytest.approx(0.180748, abs=1e-5)
    assert interval.high == pytest.approx(0.454300, abs=1e-5)


def test_wilson_stays_inside_zero_and_one() -> None:
    zero, one = wilson(0, 10), wilson(10, 10)
    assert zero is not None and one is not None
    assert zero.low == 0.0 and zero.high == pytest.approx(0.27753, abs=1e-4)
    assert one.high == 1.0 and one.low == pytest.approx(0.72247, abs=1e-4)
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_jeffreys_is_the_beta_half_posterior() -> None:
    interval = jeffreys(12, 40)
    assert interval is not None
    from scipy.stats import beta

    assert interval.low == pytest.approx(beta.ppf(0.025, 12.5, 28.5))
    assert interval.high == pytest.approx(beta.ppf(0.975, 12.5, 28.5))


def test_rate_says_insufficient_below_the_minimum() -> None:
    small = rate(3, 11, minimum=50)
    assert not small.sufficient and small.note == "insufficient data: 11 < 50 needed"
    assert small.format() == "insufficient data: 11 < 50 needed"
    big = rate(30, 100, minimum=50)
    assert big.sufficient and big.value == 0.3 and big.interval is not None
    assert big.format(".2f") == f"0.30 [{big.interval.low:.2f}, {big.interval.high:.2f}]"


def test_bootstrap_of_a_mean_is_close_to_the_normal_interval() -> None:
    data = np.random.default_rng(1).normal(10, 2, 400)
    interval = bootstrap(lambda idx: float(data[idx].mean()), len(data), samples=2000)
    se = data.std(ddof=1) / math.sqrt(len(data))
    assert interval is not None
    assert interval.low == pytest.approx(data.mean() - 1.96 * se, abs=0.05)
    assert interval.high == pytest.approx(data.mean() + 1.96 * se, abs=0.05)
    assert bootstrap(lambda idx: 1.0, 1) is None
    again = bootstrap(lambda idx: float(data[idx].mean()), len(data), samples=2000)
    assert again == interval  # seeded: a replay gives the same interval


def test_two_proportions() -> None:
    # 30/100 vs 45/100: pooled p = 0.375, se = 0.068465, z = -2.19089, p = 0.028459.
    assert two_proportion_p(30, 100, 45, 100) == pytest.approx(0.028459, abs=1e-5)
    assert two_proportion_p(1, 10, 2, 10) == pytest.approx(1.0)  # Fisher at small counts
    assert two_proportion_p(0, 0, 1, 2) == 1.0


def test_benjamini_hochberg_textbook_example() -> None:
    # Benjamini & Hochberg (1995), first five of the 15 p-values of their example.
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201]
    assert benjamini_hochberg(p) == pytest.approx([0.0005, 0.001, 0.0031667, 0.011875, 0.0201], abs=1e-6)
    assert benjamini_hochberg([]) == []


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_benjamini_hochberg_properties(p: list[float]) -> None:
    q = benjamini_hochberg(p)
    assert all(qi >= pi - 1e-12 for pi, qi in zip(p, q, strict=True))  # never below the raw p
    assert all(0 <= qi <= 1 for qi in q)
    ranked = sorted(range(len(p)), key=lambda i: p[i])
    assert all(q[a] <= q[b] + 1e-12 for a, b in itertools.pairwise(ranked))  # monotone


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_the_point_estimate(successes: int, trials: int) -> None:
    successes = min(successes, trials)
    interval = wilson(successes, trials)
    assert interval is not None
    assert interval.low - 1e-12 <= successes / trials <= interval.high + 1e-12
