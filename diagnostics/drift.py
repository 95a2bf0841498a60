"""Input drift between two successive snapshots of one source: has what feeds a diagnostic model
changed enough that the model's conclusions need a second look?

The registry calls `snapshot_drift` with the previous and the current snapshot of the same
(table, mapping); a few key signals per table are compared, and the models built on a drifted
input are marked. Two measures, because they fail differently:

- PSI (Population Stability Index) on binned shares: `sum((a - e) * ln(a / e))`. It is the
  industry's drift measure with a known scale (0.1 "some", 0.2 "material", the assumption set's
  `drift_psi_threshold`), it works on categories as well as numbers, and it weighs a shift by
  how much mass moves. Bins of a numeric signal are the quantiles of the *previous* snapshot, so
  each holds about the same share of it. A share of zero makes the log infinite: shares are
  floored at `PSI_EPSILON` (1e-4, one row in ten thousand), which caps a category that appears
  or vanishes at a large but finite contribution (about 0.2 * ln(0.2 / 1e-4) = 1.5 for 20%).
- KS (two-sample Kolmogorov-Smirnov): the largest gap between the two empirical CDFs, with a
  p-value. It needs no binning and sees any change of shape, but with a million rows a shift
  nobody would act on is "significant": a KS drift must also be material, a gap of at least
  `MIN_KS_STATISTIC` (0.1: a tenth of the population on the other side of some value).

Both can also fail the other way, on small samples. PSI has a floor of pure noise: two samples
of the same distribution differ by about `(bins - 1) * (1/n1 + 1/n2)` (a chi-square in disguise),
0.3 for ten bins over 60 days, above the threshold with no drift at all. So a PSI at or above
the threshold counts only if the binned counts also differ significantly (a chi-square test of
homogeneity at `drift_ks_alpha`), the mirror image of KS's materiality rule. Below
`MIN_OBSERVATIONS` on either side nothing is judged: the signal is reported as low volume, its
numbers kept for reading, never marked drifted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict
from scipy import stats as sps

from diagnostics.assumptions import Assumptions

PSI_EPSILON = 1e-4
"""Floor of a bin's (or category's) share, so that an empty bin gives a finite log."""
PSI_BINS = 10
MIN_OBSERVATIONS = 20
"""Fewer observations on either side: the signal is low volume and never marked drifted."""
MIN_KS_STATISTIC = 0.1
"""A KS gap smaller than this is not material, however small its p-value."""
MISSING = "(missing)"
"""The category of an empty channel: a growing share of untagged rows is drift too."""

CONVERSION_COLUMNS = ("converted", "conversion", "conversions", "dim_converted", "dim_conversion")
"""Where a touchpoint export says a touch converted (the unified schema has no such field)."""

Kind = Literal["numeric", "categorical"]
ArrayLike = Sequence[float] | np.ndarray | pl.Series


class SignalDrift(BaseModel):
    """One signal compared across two snapshots: the measures, the samples, the verdict and why."""

    model_config = ConfigDict(frozen=True)

    signal: str
    kind: Kind
    psi: float | None
    psi_p_value: float | None = None
    """Chi-square homogeneity p-value of the binned counts: is the PSI more than sampling noise?"""
    ks_statistic: float | None = None
    ks_p_value: float | None = None
    n_expected: int
    n_actual: int
    drifted: bool = False
    low_volume: bool = False
    reason: str


class DriftReport(BaseModel):
    """The drift of one table between two snapshots, with the thresholds that judged it."""

    model_config = ConfigDict(frozen=True)

    table: str
    signals: tuple[SignalDrift, ...]
    low_volume_weeks: tuple[dt.date, ...] = ()
    """Week starts (Mondays) of the current snapshot with fewer conversions than the minimum."""
    skipped: tuple[str, ...] = ()
    """Signals not compared, each with why (a column missing from one snapshot or both)."""
    psi_threshold: float
    ks_alpha: float
    min_ks_statistic: float = MIN_KS_STATISTIC
    min_observations: int = MIN_OBSERVATIONS
    min_conversions_per_week: int

    @property
    def drifted(self) -> bool:
        return any(s.drifted for s in self.signals)

    @property
    def drifted_signals(self) -> tuple[str, ...]:
        return tuple(s.signal for s in self.signals if s.drifted)

    def summary_lines(self) -> list[str]:
        if self.drifted:
            head = f"{self.table}: DRIFTED ({', '.join(self.drifted_signals)})"
        else:
            head = f"{self.table}: no drift in {len(self.signals)} signal(s)"
        lines = [head]
        for s in self.signals:
            verdict = "DRIFTED" if s.drifted else "not judged" if s.low_volume else "stable"
            lines.append(f"  {s.signal} [{s.kind}] {verdict}: {s.reason} (n {s.n_expected} -> {s.n_actual})")
        if self.low_volume_weeks:
            weeks = ", ".join(w.isoformat() for w in self.low_volume_weeks)
            lines.append(f"  low-volume weeks (< {self.min_conversions_per_week} conversions): {weeks}")
        lines.extend(f"  skipped {text}" for text in self.skipped)
        lines.append(
            f"  thresholds: PSI >= {self.psi_threshold:g} (and beyond noise at p < {self.ks_alpha:g}), "
            f"KS p < {self.ks_alpha:g} with D >= {self.min_ks_statistic:g}, "
            f">= {self.min_observations} observations per side"
        )
        return lines


# --- The measures -------------------------------------------------------------------------------


def _finite(values: ArrayLike) -> np.ndarray:
    """A flat float array without NaN or infinities (a missing value is no observation)."""
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]


def _bin_counts(expected: ArrayLike, actual: ArrayLike, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples in the quantile bins of `expected`.

    Interior edges are the `bins`-quantiles of `expected` (numpy's linear interpolation),
    deduplicated: a discrete signal (path length: mostly 1) would otherwise get empty bins of
    zero width. Bins are closed on the right, so a value equal to an edge stays with the values
    below it and the smallest value of a discrete signal gets its own bin; the end bins are open,
    so values of `actual` beyond the range of `expected` land in them."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    e, a = _finite(expected), _finite(actual)
    if e.size == 0 or a.size == 0:
        raise ValueError("PSI needs at least one finite value on each side")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    size = edges.size + 1
    e_counts = np.bincount(np.searchsorted(edges, e, side="left"), minlength=size)
    a_counts = np.bincount(np.searchsorted(edges, a, side="left"), minlength=size)
    return e_counts.astype(float), a_counts.astype(float)


def _psi_from_counts(expected: np.ndarray, actual: np.ndarray) -> float:
    # Floored shares on both factors: every term (a - e) ln(a / e) stays >= 0.
    e = np.maximum(expected / expected.sum(), PSI_EPSILON)
    a = np.maximum(actual / actual.sum(), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _homogeneity_p(expected: np.ndarray, actual: np.ndarray) -> float:
    """Chi-square test that both rows of counts come from one distribution (bins empty on both
    sides dropped); 1.0 when fewer than two bins are left, where nothing can differ."""
    table = np.vstack([expected, actual]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) <= 0).any():
        return 1.0
    return float(sps.chi2_contingency(table).pvalue)


def psi(expected: ArrayLike, actual: ArrayLike, *, bins: int = PSI_BINS) -> float:
    """Population Stability Index of a numeric signal, in the quantile bins of `expected`.

    Non-finite values are dropped; empty shares are floored at `PSI_EPSILON`. 0 means the same
    binned shares; 0.1 is commonly read as a moderate shift, 0.2 as material."""
    return _psi_from_counts(*_bin_counts(expected, actual, bins))


def _category_counts(
    expected: Mapping[str, float], actual: Mapping[str, float]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    categories = sorted(set(expected) | set(actual))
    e = np.array([float(expected.get(c, 0.0)) for c in categories])
    a = np.array([float(actual.get(c, 0.0)) for c in categories])
    if (e < 0).any() or (a < 0).any():
        raise ValueError("category counts must not be negative")
    if e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("categorical PSI needs a positive total on each side")
    return categories, e, a


def psi_categorical(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """PSI of two category counts (or weights, such as spend) over the union of their categories;
    a category absent on one side has share 0 there, floored at `PSI_EPSILON`."""
    _, e, a = _category_counts(expected, actual)
    return _psi_from_counts(e, a)


def ks(expected: ArrayLike, actual: ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and two-sided p-value.

    The statistic is the largest gap between the two empirical CDFs, evaluated at every pooled
    value (`searchsorted(side="right")` counts ties on both sides alike). The p-value is Smirnov's
    asymptotic one, `kstwo.sf(D, round(n1 n2 / (n1 + n2)))`, as `scipy.stats.ks_2samp` computes it
    with `method="asymp"`: O(1) whatever the snapshot size, where the exact distribution (scipy's
    default up to 10,000 rows) costs O(n1 n2). At the sizes judged here (>= 20 per side) the two
    agree closely; with ties (counts, path lengths) both are conservative (p too large), and PSI
    covers such discrete signals."""
    e, a = np.sort(_finite(expected)), np.sort(_finite(actual))
    if e.size == 0 or a.size == 0:
        raise ValueError("KS needs at least one finite value on each side")
    pooled = np.concatenate([e, a])
    gaps = (
        np.searchsorted(e, pooled, side="right") / e.size - np.searchsorted(a, pooled, side="right") / a.size
    )
    statistic = float(np.abs(gaps).max())
    effective = max(1.0, float(np.round(e.size * a.size / (e.size + a.size))))
    p_value = float(np.clip(sps.kstwo.sf(statistic, effective), 0.0, 1.0))
    return statistic, p_value


# --- One signal ---------------------------------------------------------------------------------


def _low_volume_reason(n_expected: int, n_actual: int) -> str:
    return (
        f"low volume: {n_expected} observations before, {n_actual} now (< {MIN_OBSERVATIONS} on a side), "
        "never marked drifted"
    )


def numeric_signal(
    name: str, expected: ArrayLike, actual: ArrayLike, assumptions: Assumptions
) -> SignalDrift:
    """PSI and KS of one numeric signal, and the verdict: PSI material and beyond noise, or a
    KS gap both significant and material."""
    e, a = _finite(expected), _finite(actual)
    n = {"n_expected": int(e.size), "n_actual": int(a.size)}
    if min(e.size, a.size) == 0:
        return SignalDrift(
            signal=name, kind="numeric", psi=None, low_volume=True, reason=_low_volume_reason(**n), **n
        )
    e_counts, a_counts = _bin_counts(e, a, PSI_BINS)
    value = _psi_from_counts(e_counts, a_counts)
    psi_p = _homogeneity_p(e_counts, a_counts)
    statistic, p_value = ks(e, a)
    measures = {"psi": value, "psi_p_value": psi_p, "ks_statistic": statistic, "ks_p_value": p_value}
    if min(e.size, a.size) < MIN_OBSERVATIONS:
        return SignalDrift(
            signal=name, kind="numeric", low_volume=True, reason=_low_volume_reason(**n), **measures, **n
        )
    threshold, alpha = assumptions.drift_psi_threshold, assumptions.drift_ks_alpha
    by_psi = value >= threshold and psi_p < alpha
    by_ks = p_value < alpha and statistic >= MIN_KS_STATISTIC
    reason = "; ".join(
        [
            _psi_reason(value, psi_p, threshold, alpha),
            _ks_reason(statistic, p_value, alpha),
            f"median {np.median(e):.4g} -> {np.median(a):.4g}",
        ]
    )
    return SignalDrift(signal=name, kind="numeric", drifted=by_psi or by_ks, reason=reason, **measures, **n)


def _psi_reason(value: float, p_value: float, threshold: float, alpha: float) -> str:
    if value < threshold:
        return f"PSI {value:.3f} < {threshold:g}"
    if p_value >= alpha:
        return f"PSI {value:.3f} >= {threshold:g} but within sampling noise (chi-square p {p_value:.2g})"
    return f"PSI {value:.3f} >= {threshold:g} (chi-square p {p_value:.2g})"


def _ks_reason(statistic: float, p_value: float, alpha: float) -> str:
    text = f"KS D {statistic:.3f}, p {p_value:.2g}"
    if p_value >= alpha:
        return text + f" (not significant at {alpha:g})"
    if statistic < MIN_KS_STATISTIC:
        return text + f" (significant but immaterial: D < {MIN_KS_STATISTIC:g})"
    return text + f" (significant and material: D >= {MIN_KS_STATISTIC:g})"


def categorical_signal(
    name: str,
    expected: Mapping[str, float],
    actual: Mapping[str, float],
    assumptions: Assumptions,
    *,
    n_expected: int,
    n_actual: int,
) -> SignalDrift:
    """PSI of a mix (counts or weights per category), drifted when material and beyond noise.

    `n_expected` and `n_actual` are the rows behind each side: with weights (spend), the noise
    test treats the shares as if spread over that many rows, an approximation."""
    n = {"n_expected": n_expected, "n_actual": n_actual}
    if sum(expected.values()) <= 0 or sum(actual.values()) <= 0:
        return SignalDrift(
            signal=name, kind="categorical", psi=None, low_volume=True, reason=_low_volume_reason(**n), **n
        )
    categories, e, a = _category_counts(expected, actual)
    value = _psi_from_counts(e, a)
    e_share, a_share = e / e.sum(), a / a.sum()
    psi_p = _homogeneity_p(e_share * n_expected, a_share * n_actual)
    if min(n_expected, n_actual) < MIN_OBSERVATIONS:
        return SignalDrift(
            signal=name,
            kind="categorical",
            psi=value,
            psi_p_value=psi_p,
            low_volume=True,
            reason=_low_volume_reason(**n),
            **n,
        )
    threshold, alpha = assumptions.drift_psi_threshold, assumptions.drift_ks_alpha
    mover = int(np.argmax(np.abs(a_share - e_share)))
    reason = (
        f"{_psi_reason(value, psi_p, threshold, alpha)}; largest move: {categories[mover]} "
        f"{e_share[mover]:.1%} -> {a_share[mover]:.1%}"
    )
    drifted = value >= threshold and psi_p < alpha
    return SignalDrift(
        signal=name, kind="categorical", psi=value, psi_p_value=psi_p, drifted=drifted, reason=reason, **n
    )


# --- Signals of a snapshot ----------------------------------------------------------------------


def _shared(previous: pl.DataFrame, current: pl.DataFrame, *columns: str) -> bool:
    return all(c in previous.columns and c in current.columns for c in columns)


def _first_shared(previous: pl.DataFrame, current: pl.DataFrame, candidates: Iterable[str]) -> str | None:
    return next((c for c in candidates if _shared(previous, current, c)), None)


def _missing(previous: pl.DataFrame, current: pl.DataFrame, name: str, *columns: str) -> str:
    """Which columns a signal lacks, and where: a column that comes or goes is a mapping change."""
    gone = []
    for column in columns:
        where = [
            side for side, f in (("previous", previous), ("current", current)) if column not in f.columns
        ]
        if where:
            gone.append(f"{column} missing from {' and '.join(where)}")
    return f"{name}: {', '.join(gone)}"


def _values(frame: pl.DataFrame, value: pl.Expr, where: pl.Expr | None = None) -> np.ndarray:
    rows = frame if where is None else frame.filter(where)
    return rows.select(value.cast(pl.Float64).alias("v")).to_series().drop_nulls().to_numpy()


def _per_period(frame: pl.DataFrame, column: str, total: pl.Expr, every: Literal["1d", "1w"]) -> pl.DataFrame:
    """`total` per day (or per week, starting Monday) of `column`, with the periods inside the
    snapshot's range that have no rows filled with 0: a day without a lead is a day of 0 leads."""
    period = pl.col(column).cast(pl.Date)
    if every == "1w":
        period = period.dt.truncate("1w")
    grouped = (
        frame.filter(pl.col(column).is_not_null())
        .group_by(period.alias("period"))
        .agg(total.cast(pl.Float64).alias("v"))
    )
    if grouped.is_empty():
        return pl.DataFrame(schema={"period": pl.Date, "v": pl.Float64})
    first, last = grouped["period"].min(), grouped["period"].max()
    periods = pl.DataFrame({"period": pl.date_range(first, last, every, eager=True)})
    return (
        periods.join(grouped, on="period", how="left").with_columns(pl.col("v").fill_null(0.0)).sort("period")
    )


def _mix(frame: pl.DataFrame, column: str, weight: pl.Expr | None = None) -> tuple[dict[str, float], int]:
    """Rows (or `weight`) per category of `column`, empty values as `MISSING`; and the rows behind."""
    key = pl.col(column).cast(pl.String).fill_null(MISSING).alias("category")
    if weight is None:
        rows, total = frame, pl.len()
    else:
        rows, total = frame.filter(weight > 0), weight.sum()
    grouped = rows.group_by(key).agg(total.cast(pl.Float64).alias("w"))
    return dict(zip(grouped["category"].to_list(), grouped["w"].to_list(), strict=True)), rows.height


def _low_weeks(frame: pl.DataFrame, column: str, total: pl.Expr, minimum: int) -> tuple[dt.date, ...]:
    weekly = _per_period(frame, column, total, "1w")
    return tuple(weekly.filter(pl.col("v") < minimum)["period"].to_list())


def _has_values(frame: pl.DataFrame, column: str) -> bool:
    return column in frame.columns and frame[column].null_count() < frame.height


class _Collector:
    """The signals and skips of one comparison, gathered as the table's rules run."""

    def __init__(self, previous: pl.DataFrame, current: pl.DataFrame, assumptions: Assumptions) -> None:
        self.previous, self.current, self.assumptions = previous, current, assumptions
        self.signals: list[SignalDrift] = []
        self.skipped: list[str] = []

    def numeric(
        self, name: str, columns: tuple[str, ...], extract: Callable[[pl.DataFrame], ArrayLike]
    ) -> None:
        if not _shared(self.previous, self.current, *columns):
            self.skipped.append(_missing(self.previous, self.current, name, *columns))
            return
        self.signals.append(
            numeric_signal(name, extract(self.previous), extract(self.current), self.assumptions)
        )

    def mix(
        self, name: str, column: str | None, candidates: tuple[str, ...], weight: pl.Expr | None = None
    ) -> None:
        if column is None:
            self.skipped.append(f"{name}: none of {', '.join(candidates)} in both snapshots")
            return
        if weight is not None and not _shared(self.previous, self.current, *weight.meta.root_names()):
            self.skipped.append(_missing(self.previous, self.current, name, *weight.meta.root_names()))
            return
        expected, n_expected = _mix(self.previous, column, weight)
        actual, n_actual = _mix(self.current, column, weight)
        self.signals.append(
            categorical_signal(
                name, expected, actual, self.assumptions, n_expected=n_expected, n_actual=n_actual
            )
        )


def _ad_performance(c: _Collector) -> tuple[dt.date, ...]:
    c.numeric(
        "daily_spend", ("date", "spend"), lambda f: _per_period(f, "date", pl.col("spend").sum(), "1d")["v"]
    )
    c.numeric(
        "ctr",
        ("impressions", "clicks"),
        lambda f: _values(f, pl.col("clicks") / pl.col("impressions"), pl.col("impressions") > 0),
    )
    c.numeric(
        "cpc",
        ("spend", "clicks"),
        lambda f: _values(f, pl.col("spend") / pl.col("clicks"), pl.col("clicks") > 0),
    )
    # The unified ad table has no channel column (a mapping may add one); its platform is the closest.
    column = _first_shared(c.previous, c.current, ("channel", "platform"))
    c.mix(f"{column or 'channel'}_spend_mix", column, ("channel", "platform"), weight=pl.col("spend"))
    if _has_values(c.current, "date") and _has_values(c.current, "platform_conversions"):
        return _low_weeks(
            c.current, "date", pl.col("platform_conversions").sum(), c.assumptions.min_conversions_per_week
        )
    return ()


def _touchpoints(c: _Collector) -> tuple[dt.date, ...]:
    c.mix("channel_mix", _first_shared(c.previous, c.current, ("channel",)), ("channel",))
    c.numeric(
        "path_length",
        ("user_id",),
        lambda f: f.filter(pl.col("user_id").is_not_null()).group_by("user_id").len()["len"].to_numpy(),
    )
    conversion = next((column for column in CONVERSION_COLUMNS if column in c.current.columns), None)
    if conversion is None:
        c.skipped.append(f"weekly_conversions: no conversion column ({', '.join(CONVERSION_COLUMNS)})")
        return ()
    total = pl.col(conversion).cast(pl.Float64).sum()
    c.numeric(
        "weekly_conversions",
        ("timestamp", conversion),
        lambda f: _per_period(f, "timestamp", total, "1w")["v"],
    )
    if _has_values(c.current, "timestamp") and _has_values(c.current, conversion):
        return _low_weeks(c.current, "timestamp", total, c.assumptions.min_conversions_per_week)
    return ()


def _leads(c: _Collector) -> tuple[dt.date, ...]:
    column = _first_shared(c.previous, c.current, ("channel", "source"))
    c.mix("channel_mix" if column != "source" else "source_mix", column, ("channel", "source"))
    c.numeric("daily_leads", ("created_at",), lambda f: _per_period(f, "created_at", pl.len(), "1d")["v"])
    if _has_values(c.current, "created_at"):
        return _low_weeks(c.current, "created_at", pl.len(), c.assumptions.min_conversions_per_week)
    return ()


def _is_id(column: str) -> bool:
    return column == "id" or column.endswith("_id")


def _numeric_columns(c: _Collector) -> tuple[dt.date, ...]:
    columns = [
        name
        for name, dtype in c.previous.schema.items()
        if not _is_id(name)
        and dtype.is_numeric()
        and name in c.current.columns
        and c.current.schema[name].is_numeric()
    ]
    for name in columns:
        c.numeric(name, (name,), lambda f, name=name: _values(f, pl.col(name)))
    if not columns:
        c.skipped.append("no numeric column (other than ids) in both snapshots")
    return ()


_RULES = {"ad_performance": _ad_performance, "touchpoints": _touchpoints, "leads": _leads}


def snapshot_drift(
    previous: pl.DataFrame, current: pl.DataFrame, table: str, *, assumptions: Assumptions | None = None
) -> DriftReport:
    """The drift of a table's key signals from its previous snapshot to its current one.

    Signals per table (each only where its columns exist in both snapshots; exports differ):
    - ad_performance: daily spend, CTR and CPC per row, the spend mix by channel (or platform).
    - touchpoints: the channel mix of touches, touches per user (path length), weekly conversions
      where a conversion column exists (`CONVERSION_COLUMNS`).
    - leads: the channel (or source) mix, leads per day; weeks under `min_conversions_per_week`
      leads are listed as low volume.
    - any other table: every numeric column of both but ids."""
    assumptions = assumptions or Assumptions()
    collector = _Collector(previous, current, assumptions)
    low_weeks = _RULES.get(table, _numeric_columns)(collector)
    return DriftReport(
        table=table,
        signals=tuple(collector.signals),
        low_volume_weeks=low_weeks,
        skipped=tuple(collector.skipped),
        psi_threshold=assumptions.drift_psi_threshold,
        ks_alpha=assumptions.drift_ks_alpha,
        min_conversions_per_week=assumptions.min_conversions_per_week,
    )
