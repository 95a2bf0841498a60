"""Uncertainty, the same way everywhere: intervals for rates, bootstrap for everything else, and a
false-discovery correction when many segments are tested at once.

- Wilson score interval for a proportion: well behaved at small n and near 0 or 1, where the
  normal approximation gives negative rates.
- Jeffreys (Beta(1/2, 1/2) posterior) interval where a Bayesian reading is wanted.
- Garwood's exact interval for a Poisson rate (leads per day).
- Percentile bootstrap over resampled units (journeys, days, leads) with a fixed seed, so a replay
  of a post-mortem gives the same intervals.
- Benjamini-Hochberg adjusted p-values: testing 40 segments at 5% finds two "drivers" by chance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from diagnostics.types import Estimate, Interval


def wilson(successes: int, trials: int, confidence: float = 0.95) -> Interval | None:
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes ({successes}) must be between 0 and trials ({trials})")
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low=low, high=high, level=confidence, method="wilson")


def jeffreys(successes: int, trials: int, confidence: float = 0.95) -> Interval | None:
    if trials <= 0:
        return None
    alpha = (1 - confidence) / 2
    low = 0.0 if successes == 0 else float(stats.beta.ppf(alpha, successes + 0.5, trials - successes + 0.5))
    high = (
        1.0
        if successes == trials
        else float(stats.beta.ppf(1 - alpha, successes + 0.5, trials - successes + 0.5))
    )
    return Interval(low=low, high=high, level=confidence, method="jeffreys")


def poisson_rate(events: int, exposure: float, confidence: float = 0.95) -> Interval | None:
    """Garwood's exact interval for a Poisson rate (`events` over `exposure` units, such as days):
    counts of leads per day are Poisson, and the normal approximation goes negative at small counts."""
    if exposure <= 0:
        return None
    if events < 0:
        raise ValueError(f"events ({events}) must not be negative")
    alpha = (1 - confidence) / 2
    low = 0.0 if events == 0 else float(stats.chi2.ppf(alpha, 2 * events)) / 2
    high = float(stats.chi2.ppf(1 - alpha, 2 * events + 2)) / 2
    return Interval(low=low / exposure, high=high / exposure, level=confidence, method="garwood")


def rate(successes: int, trials: int, *, minimum: int = 1, confidence: float = 0.95) -> Estimate:
    """A proportion with its Wilson interval; below `minimum` trials, an honest "insufficient data"."""
    if trials < minimum:
        value = successes / trials if trials else None
        return Estimate.insufficient(f"{trials} < {minimum} needed", n=trials, value=value)
    return Estimate(value=successes / trials, interval=wilson(successes, trials, confidence), n=trials)


def bootstrap(
    statistic: Callable[[np.ndarray], float],
    n_units: int,
    *,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 7,
) -> Interval | None:
    """Percentile interval of `statistic(indices)` over `samples` resamples of `n_units` units.

    `statistic` receives an array of unit indices drawn with replacement and returns the value for
    that resample; units are whatever must be resampled together (journeys, days, leads)."""
    if n_units <= 1:
        return None
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n_units, n_units)) for _ in range(samples)], dtype=float)
    values = values[np.isfinite(values)]
    if values.size < samples / 2:
        return None
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return Interval(low=float(low), high=float(high), level=confidence, method="bootstrap")


def two_proportion_p(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> float:
    """Two-sided p-value that two rates differ (pooled z-test; exact Fisher test at small counts)."""
    if min(trials_a, trials_b) <= 0:
        return 1.0
    expected = min(successes_a + successes_b, trials_a + trials_b - successes_a - successes_b)
    if expected < 10:
        table = [[successes_a, trials_a - successes_a], [successes_b, trials_b - successes_b]]
        return float(stats.fisher_exact(table).pvalue)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if se == 0:
        return 1.0
    z = (successes_a / trials_a - successes_b / trials_b) / se
    return float(2 * stats.norm.sf(abs(z)))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Adjusted p-values (q-values) controlling the false discovery rate, in the input order."""
    m = len(p_values)
    if m == 0:
        return []
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = min(1.0, running)
    return adjusted
