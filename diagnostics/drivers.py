"""Root causes: which values of which dimension explain the change in a rate, split into the part
that is volume moving between segments (mix) and the part that is segments converting differently
(rate), with the uncertainty of every part.

The decomposition. A rate is R = sum_i w_i r_i over the segments i of a dimension (w_i the share of
units in segment i, r_i its rate). Between a base (0) and a current (1) period each segment gets

    mix_i  = (w1_i - w0_i) * (rbar_i - Rbar)      rbar_i = (r0_i + r1_i) / 2,  Rbar = (R0 + R1) / 2
    rate_i = (r1_i - r0_i) * (w0_i + w1_i) / 2

This is the symmetric midpoint allocation (Kitagawa 1955; the two-factor Shapley value): each
factor's change is valued at the midpoint of the other, so no order of substitution is privileged
and nothing is left over as a residual or "interaction term". Because
(w1 - w0) rbar + (r1 - r0) wbar = w1 r1 - w0 r0 and sum_i (w1_i - w0_i) = 0, the parts add up to
R1 - R0 exactly. Centring the mix on the mean overall rate changes no total, but it makes a segment's
mix read the way an analyst means it: volume moving toward a segment that converts below average
pulls the rate down. A segment present in one period only takes the other period's rate as its
missing rate, so its whole contribution is mix (volume that appeared or vanished) and its rate effect
is zero. Gap to a target: the base is the target rate applied to the current mix (w0 = w1,
r0_i = target), so mix is zero and rate_i = w1_i (r1_i - target).

A segment's contribution mix_i + rate_i = s1_i/N1 - s0_i/N0 - Rbar (n1_i/N1 - n0_i/N0) is linear in
the counts, so the contributions of the cells of A x B add up to those of A. A dimension explains the
change by how unevenly it is spread over its segments: its *concentration* is half the L1 distance
between each segment's contribution and wbar_i (R1 - R0), the contribution it would have if the change
were spread in proportion to volume (0 for a uniform change). Segments with insufficient data are
pooled into one first: a dimension cannot explain a change by pointing at segments too small to judge.
What a pair A x B adds beyond A is its concentration minus A's on the same footprint (the pair's
judgeable cells summed by A, the pooled cells again as one); it is never negative, and splitting
segments can only raise it. Noise raises both, so both are reported net of noise: minus their mean in
simulations where the dimension explains nothing (every segment at its period's overall rate) or the
pair adds nothing (every cell at its A value's rate), units held fixed, with the simulations' p-value.
A pair is judged against whichever of A and B leaves it less to add. Subtracting the noise mean
slightly understates a strong effect (noise adds less to a large deviation than to none): a
conservative error.

Uncertainty. Shares and rates carry Wilson intervals. Every effect carries a percentile bootstrap
interval from resampling units within each period; resampling N units of a period with replacement
is a multinomial draw over its (cell, outcome) counts, so it is drawn that way, once, over the finest
cross of all dimensions: every interval of one explanation comes from the same resamples, and
unit-level and pre-aggregated inputs give identical results. Rate changes are tested with a
two-proportion test (a binomial test against a target), share changes likewise, and every test of one
explanation is corrected together with Benjamini-Hochberg. Segments with fewer than
`min_segment_size` units in a period they exist in are labelled insufficient data and never ranked.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict
from scipy import sparse, stats

from diagnostics.assumptions import Assumptions
from diagnostics.stats import benjamini_hochberg, rate, two_proportion_p, wilson
from diagnostics.types import Estimate, Interval

MISSING = "(missing)"
CROSS = " x "
Effect = Literal["mix", "rate"]
Status = Literal["ok", "new", "vanished", "insufficient"]

_PERIOD, _TRIALS, _SUCCESSES = "__drivers_period", "__drivers_trials", "__drivers_successes"
_CHUNK = 64  # resamples drawn at once: bounds memory at 64 x cells


class Outcome(BaseModel):
    """What counts as a success: a unit-level column (true, 1, not null, or equal to `value`), or
    `successes`/`trials` columns of pre-aggregated rows (clicks/impressions for a CTR)."""

    model_config = ConfigDict(frozen=True)

    text: str
    column: str | None = None
    value: str | None = None
    successes: str | None = None
    trials: str | None = None


class Split(BaseModel):
    """Which rows are the base and which the current period or group (several values allowed)."""

    model_config = ConfigDict(frozen=True)

    column: str
    base: tuple[str, ...]
    current: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.column}: {'|'.join(self.base)} -> {'|'.join(self.current)}"


class Segment(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    values: tuple[str, ...]
    status: Status
    base_n: int
    current_n: int
    base_share: Estimate
    current_share: Estimate
    base_rate: Estimate
    current_rate: Estimate
    mix: Estimate
    rate: Estimate
    contribution: Estimate  # mix + rate
    rate_p: float | None = None
    rate_q: float | None = None
    mix_p: float | None = None
    mix_q: float | None = None
    rank: int | None = None  # by |contribution| among segments with sufficient data


class Driver(BaseModel):
    """One part (mix or rate) of one segment, ranked by its absolute size within its dimension."""

    model_config = ConfigDict(frozen=True)

    rank: int
    dimension: str
    segment: str
    effect: Effect
    value: Estimate
    q: float | None
    significant: bool


class Decomposition(BaseModel):
    model_config = ConfigDict(frozen=True)

    dimensions: tuple[str, ...]
    total: Estimate
    mix: Estimate
    rate: Estimate
    concentration: Estimate  # net of noise
    concentration_observed: float  # before the noise correction
    concentration_p: float  # against a dimension that explains nothing
    segments: tuple[Segment, ...]
    drivers: tuple[Driver, ...]

    @property
    def name(self) -> str:
        return CROSS.join(self.dimensions)


class Interaction(BaseModel):
    """The cross of two dimensions, and the concentration it adds beyond the better of the two."""

    model_config = ConfigDict(frozen=True)

    decomposition: Decomposition
    beyond: Estimate  # net of noise
    beyond_observed: float | None  # before the noise correction
    p: float | None  # of `beyond`, against cells that share their dimension's rate (no interaction)


class Explanation(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: str
    comparison: str
    target: float | None
    base: Estimate
    current: Estimate
    total: Estimate
    dimensions: tuple[Decomposition, ...]
    interactions: tuple[Interaction, ...]
    strongest: str
    assumptions: Assumptions

    def dimension(self, name: str) -> Decomposition:
        return next(
            d for d in (*self.dimensions, *(i.decomposition for i in self.interactions)) if d.name == name
        )

    def summary_lines(self, top: int = 3) -> list[str]:
        """Templated sentences: every number with its interval or its "insufficient data" label."""
        ordered = sorted(self.dimensions, key=lambda d: d.name != self.strongest)
        lines = [self._headline()]
        for decomposition in ordered:
            lines.extend(_dimension_lines(decomposition, self.target, top))
        lines.append(self._strongest_line())
        lines.extend(_interaction_line(i) for i in self.interactions)
        lines.append(_assumption_line(self.assumptions))
        return lines

    def _headline(self) -> str:
        if self.target is not None:
            return (
                f"{self.outcome} is {_pct(self.current)} against a target of {self.target:.1%} "
                f"(gap {_pts(self.total)}); {self.current.n} units."
            )
        value = self.total.value or 0.0
        verb = "rose" if value > 0 else "fell" if value < 0 else "did not change"
        return (
            f"{self.outcome} {verb} from {_pct(self.base)} to {_pct(self.current)} ({_pts(self.total)}); "
            f"{self.comparison}, {self.base.n} base and {self.current.n} current units."
        )

    def _strongest_line(self) -> str:
        strongest = self.dimension(self.strongest)
        return (
            f"{self.strongest} explains most of the change (concentration {_pts(strongest.concentration)}, "
            f"p = {strongest.concentration_p:.3f} against a dimension that explains nothing)."
        )


def parse_outcome(text: str, columns: Sequence[str]) -> Outcome:
    """`COL` (boolean, 0/1, or reached-if-not-null), `COL=VALUE`, or `SUCCESSES/TRIALS` for
    pre-aggregated rows; a whole-text column name always wins."""
    if text in columns:
        return Outcome(text=text, column=text)
    if "=" in text:
        column, value = text.split("=", 1)
        return _checked(Outcome(text=text, column=column, value=value), columns)
    if "/" in text:
        successes, trials = text.split("/", 1)
        return _checked(Outcome(text=text, successes=successes, trials=trials), columns)
    return _checked(Outcome(text=text, column=text), columns)


def parse_split(text: str) -> Split:
    """`COL=BASE,CURRENT`, where BASE or CURRENT may list several values joined by `|`."""
    column, sep, values = text.partition("=")
    base, comma, current = values.partition(",")
    if not (sep and comma and column and base and current) or "," in current:
        raise ValueError(f"split must read COL=BASE,CURRENT (values may be joined with |), got {text!r}")
    return Split(column=column, base=tuple(base.split("|")), current=tuple(current.split("|")))


def explain(
    df: pl.DataFrame,
    outcome: str | Outcome,
    dims: Sequence[str],
    *,
    split: str | Split | None = None,
    target: float | None = None,
    assumptions: Assumptions | None = None,
    interactions: bool = True,
) -> Explanation:
    """Decompose the change of a rate between the two sides of `split` (or its gap to `target`) by
    each dimension, and by each pair of dimensions when `interactions` is set."""
    assumptions = assumptions or Assumptions()
    outcome = outcome if isinstance(outcome, Outcome) else parse_outcome(outcome, df.columns)
    split = parse_split(split) if isinstance(split, str) else split
    _check_request(df, outcome, dims, split, target)
    table = _table(df, outcome, list(dims), split, target)
    groupings = [(d,) for d in dims] + (list(itertools.combinations(dims, 2)) if interactions else [])
    measured = _measure_all(table, groupings, assumptions)
    q_values = _q_values(measured)
    decompositions = {m.dimensions: _decomposition(m, q_values, table, assumptions) for m in measured}
    singles = tuple(decompositions[(d,)] for d in dims)
    by_dims = {m.dimensions: m for m in measured}
    return Explanation(
        outcome=outcome.text,
        comparison=split.describe() if split else f"target {target}",
        target=target,
        base=_overall(table, 0, assumptions),
        current=_overall(table, 1, assumptions),
        total=singles[0].total,
        dimensions=singles,
        interactions=tuple(
            _interaction(by_dims[pair], decompositions[pair], table.target, assumptions)
            for pair in groupings[len(dims) :]
        ),
        strongest=max(singles, key=lambda d: d.concentration.value or 0.0).name,
        assumptions=assumptions,
    )


# ---- input -------------------------------------------------------------------------------------------


def _checked(outcome: Outcome, columns: Sequence[str]) -> Outcome:
    needed = [c for c in (outcome.column, outcome.successes, outcome.trials) if c is not None]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"outcome {outcome.text!r}: no column {', '.join(missing)}")
    return outcome


def _check_request(
    df: pl.DataFrame, outcome: Outcome, dims: Sequence[str], split: Split | None, target: float | None
) -> None:
    if (split is None) == (target is None):
        raise ValueError("give exactly one of a split (base and current) or a target rate")
    if target is not None and not 0 <= target <= 1:
        raise ValueError(f"target must be a rate between 0 and 1, got {target}")
    if not dims or len(set(dims)) != len(dims):
        raise ValueError("give one or more distinct dimensions")
    missing = [c for c in (*dims, *([split.column] if split else [])) if c not in df.columns]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    used = {outcome.column, outcome.successes, outcome.trials, split.column if split else None}
    if used & set(dims):
        raise ValueError(f"a dimension cannot be the outcome or the split: {sorted(used & set(dims))}")


@dataclass(frozen=True)
class _Table:
    """Counts per finest cell (the cross of all dimensions, sorted): n and s have shape (2, cells)."""

    keys: pl.DataFrame
    n: np.ndarray
    s: np.ndarray
    target: float | None


def _table(
    df: pl.DataFrame, outcome: Outcome, dims: list[str], split: Split | None, target: float | None
) -> _Table:
    frame = _with_period(df, split).with_columns(_counts(df, outcome))
    keyed = frame.with_columns(pl.col(d).cast(pl.String).fill_null(MISSING) for d in dims)
    cells = keyed.group_by([*dims, _PERIOD]).agg(pl.col(_TRIALS).sum(), pl.col(_SUCCESSES).sum())
    keys = cells.select(dims).unique().sort(dims).with_row_index("__cell")
    counts = np.zeros((2, 2, keys.height), dtype=np.int64)
    joined = cells.join(keys, on=dims)
    period, cell = joined[_PERIOD].to_numpy(), joined["__cell"].to_numpy()
    counts[0, period, cell] = joined[_TRIALS].to_numpy()
    counts[1, period, cell] = joined[_SUCCESSES].to_numpy()
    if counts[0, 1].sum() == 0 or (target is None and counts[0, 0].sum() == 0):
        raise ValueError("both the base and the current side need at least one unit")
    return _Table(keys=keys.drop("__cell"), n=counts[0], s=counts[1], target=target)


def _with_period(df: pl.DataFrame, split: Split | None) -> pl.DataFrame:
    if split is None:
        return df.with_columns(pl.lit(1, dtype=pl.Int64).alias(_PERIOD))
    if set(split.base) & set(split.current):
        raise ValueError(f"split values are on both sides: {sorted(set(split.base) & set(split.current))}")
    value = pl.col(split.column).cast(pl.String)
    period = pl.when(value.is_in(split.base)).then(0).when(value.is_in(split.current)).then(1)
    return df.with_columns(period.cast(pl.Int64).alias(_PERIOD)).filter(pl.col(_PERIOD).is_not_null())


def _counts(df: pl.DataFrame, outcome: Outcome) -> list[pl.Expr]:
    if outcome.column is None:
        return _aggregated_counts(df, outcome)
    return [pl.lit(1, dtype=pl.Int64).alias(_TRIALS), _success(df, outcome).cast(pl.Int64).alias(_SUCCESSES)]


def _success(df: pl.DataFrame, outcome: Outcome) -> pl.Expr:
    """A null is never a success: a unit that has not reached the stage has not converted."""
    column, dtype = pl.col(outcome.column), df.schema[outcome.column]
    if outcome.value is not None:
        return (column.cast(pl.String) == outcome.value).fill_null(False)
    if dtype == pl.Boolean:
        return column.fill_null(False)
    if dtype.is_numeric():
        if not df[outcome.column].drop_nulls().is_in([0, 1]).all():
            raise ValueError(f"numeric outcome {outcome.column!r} must hold only 0 and 1")
        return (column == 1).fill_null(False)
    return column.is_not_null()


def _aggregated_counts(df: pl.DataFrame, outcome: Outcome) -> list[pl.Expr]:
    trials, successes = df[outcome.trials], df[outcome.successes]
    if trials.null_count() or successes.null_count():
        raise ValueError(f"{outcome.text}: aggregated rows need trials and successes on every row")
    if (trials.round() != trials).any() or (successes.round() != successes).any():
        raise ValueError(f"{outcome.text}: trials and successes must be whole counts")
    if (successes < 0).any() or (successes > trials).any():
        raise ValueError(f"{outcome.text}: need 0 <= successes <= trials on every row")
    return [
        pl.col(outcome.trials).cast(pl.Int64).alias(_TRIALS),
        pl.col(outcome.successes).cast(pl.Int64).alias(_SUCCESSES),
    ]


# ---- arithmetic ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Effects:
    """Decomposition arrays; any leading axes are resamples, the last axis is segments."""

    mix: np.ndarray
    rate: np.ndarray
    total: np.ndarray
    deviation: np.ndarray  # contribution minus the volume share of the total change


def _effects(n: np.ndarray, s: np.ndarray, target: float | None) -> _Effects:
    """The decomposition of the module docstring for counts n, s of shape (..., 2, segments)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        w1 = n[..., 1, :] / n[..., 1, :].sum(-1, keepdims=True)
        r1 = s[..., 1, :] / n[..., 1, :]
        if target is None:
            w0 = n[..., 0, :] / n[..., 0, :].sum(-1, keepdims=True)
            r0 = s[..., 0, :] / n[..., 0, :]
        else:
            w0, r0 = w1, np.full_like(r1, target)
    r0, r1 = np.where(np.isnan(r0), r1, r0), np.where(np.isnan(r1), r0, r1)
    r0, r1 = np.nan_to_num(r0), np.nan_to_num(r1)  # empty in both: weight zero, contributes nothing
    level0, level1 = (w0 * r0).sum(-1, keepdims=True), (w1 * r1).sum(-1, keepdims=True)
    mix = (w1 - w0) * ((r0 + r1) / 2 - (level0 + level1) / 2)
    rate_part = (r1 - r0) * (w0 + w1) / 2
    total = level1 - level0
    deviation = mix + rate_part - (w0 + w1) / 2 * total
    return _Effects(mix=mix, rate=rate_part, total=total[..., 0], deviation=deviation)


def _concentration(deviation: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """Half the L1 norm of the deviations, the `pooled` segments counted as one segment."""
    return (np.abs(deviation[..., ~pooled]).sum(-1) + np.abs(deviation[..., pooled].sum(-1))) / 2


def _grouping(table: _Table, dims: tuple[str, ...]) -> tuple[pl.DataFrame, sparse.csr_matrix]:
    """The segments of `dims` and the 0/1 matrix that sums finest cells into them."""
    segments = table.keys.select(dims).unique().sort(list(dims)).with_row_index("__segment")
    index = table.keys.join(segments, on=list(dims), how="left", maintain_order="left")[
        "__segment"
    ].to_numpy()
    cells = table.keys.height
    matrix = sparse.csr_matrix((np.ones(cells), (np.arange(cells), index)), shape=(cells, segments.height))
    return segments.drop("__segment"), matrix


def _chunks(samples: int) -> Iterator[int]:
    yield from (min(_CHUNK, samples - start) for start in range(0, samples, _CHUNK))


def _resamples(table: _Table, samples: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Chunks of resampled (n, s) at the finest cells, each of shape (chunk, 2, cells)."""
    rng = np.random.default_rng(seed)
    cells = table.keys.height
    for size in _chunks(samples):
        n, s = np.zeros((size, 2, cells)), np.zeros((size, 2, cells))
        for period in (0, 1) if table.target is None else (1,):
            outcomes = np.concatenate([table.s[period], table.n[period] - table.s[period]])
            drawn = rng.multinomial(outcomes.sum(), outcomes / outcomes.sum(), size=size)
            s[:, period], n[:, period] = drawn[:, :cells], drawn[:, :cells] + drawn[:, cells:]
        yield n, s


@dataclass(frozen=True)
class _Measured:
    """One grouping's point decomposition, resampled decompositions and tests, before correction."""

    dimensions: tuple[str, ...]
    labels: list[tuple[str, ...]]
    n: np.ndarray
    s: np.ndarray
    point: _Effects
    boot: _Effects
    status: list[tuple[Status, str | None]]
    rate_p: list[float | None]
    mix_p: list[float | None]

    @property
    def pooled(self) -> np.ndarray:
        return np.array([status == "insufficient" for status, _ in self.status])


def _measure_all(
    table: _Table, groupings: list[tuple[str, ...]], assumptions: Assumptions
) -> list[_Measured]:
    matrices = {dims: _grouping(table, dims) for dims in groupings}
    boots: dict[tuple[str, ...], list[_Effects]] = {dims: [] for dims in groupings}
    for n, s in _resamples(table, assumptions.bootstrap_samples, assumptions.seed):
        for dims, (_, matrix) in matrices.items():
            boots[dims].append(_effects(_sum_cells(n, matrix), _sum_cells(s, matrix), table.target))
    return [_measure(table, dims, *matrices[dims], _stack(boots[dims]), assumptions) for dims in groupings]


def _sum_cells(counts: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
    flat = counts.reshape(-1, counts.shape[-1])
    return np.asarray(matrix.T.dot(flat.T).T).reshape(*counts.shape[:-1], matrix.shape[1])


def _stack(parts: list[_Effects]) -> _Effects:
    return _Effects(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("mix", "rate", "total", "deviation"))
    )


def _measure(
    table: _Table,
    dims: tuple[str, ...],
    segments: pl.DataFrame,
    matrix: sparse.csr_matrix,
    boot: _Effects,
    assumptions: Assumptions,
) -> _Measured:
    n, s = _sum_cells(table.n, matrix).astype(np.int64), _sum_cells(table.s, matrix).astype(np.int64)
    status = [
        _status(int(n[0, k]), int(n[1, k]), assumptions.min_segment_size, table.target)
        for k in range(n.shape[1])
    ]
    return _Measured(
        dimensions=dims,
        labels=[tuple(row) for row in segments.iter_rows()],
        n=n,
        s=s,
        point=_effects(n.astype(float), s.astype(float), table.target),
        boot=boot,
        status=status,
        rate_p=[_rate_p(n, s, k, table.target) if st == "ok" else None for k, (st, _) in enumerate(status)],
        mix_p=[
            _mix_p(n, k) if st != "insufficient" and table.target is None else None
            for k, (st, _) in enumerate(status)
        ],
    )


def _status(base_n: int, current_n: int, minimum: int, target: float | None) -> tuple[Status, str | None]:
    """New and vanished segments are judged on the period they exist in: their mix is real."""
    if target is not None:
        return ("ok", None) if current_n >= minimum else ("insufficient", f"{current_n} < {minimum} units")
    if base_n == 0 and current_n >= minimum:
        return "new", None
    if current_n == 0 and base_n >= minimum:
        return "vanished", None
    short = [
        f"{count} < {minimum} {side} units"
        for side, count in (("base", base_n), ("current", current_n))
        if count < minimum
    ]
    return ("insufficient", "; ".join(short)) if short else ("ok", None)


def _rate_p(n: np.ndarray, s: np.ndarray, k: int, target: float | None) -> float:
    if target is not None:
        return float(stats.binomtest(int(s[1, k]), int(n[1, k]), target).pvalue)
    return two_proportion_p(int(s[1, k]), int(n[1, k]), int(s[0, k]), int(n[0, k]))


def _mix_p(n: np.ndarray, k: int) -> float:
    return two_proportion_p(int(n[1, k]), int(n[1].sum()), int(n[0, k]), int(n[0].sum()))


def _q_values(measured: list[_Measured]) -> dict[tuple[tuple[str, ...], str, int], float]:
    """One Benjamini-Hochberg family: every rate and share test of the explanation."""
    tested = {
        (m.dimensions, kind, k): p
        for m in measured
        for kind, p_values in (("rate", m.rate_p), ("mix", m.mix_p))
        for k, p in enumerate(p_values)
        if p is not None
    }
    return dict(zip(tested, benjamini_hochberg(list(tested.values())), strict=True))


# ---- results -------------------------------------------------------------------------------------------


def _interval(values: np.ndarray, confidence: float) -> Interval | None:
    finite = values[np.isfinite(values)]
    if finite.size < values.size / 2 or finite.size == 0:
        return None
    low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(low=float(low), high=float(high), level=confidence, method="bootstrap")


def _estimate(
    value: float, resampled: np.ndarray, n: int, confidence: float, reason: str | None = None
) -> Estimate:
    if reason is not None:
        return Estimate.insufficient(reason, n=n, value=float(value))
    return Estimate(value=float(value), interval=_interval(resampled, confidence), n=n)


def _decomposition(
    m: _Measured,
    q_values: dict[tuple[tuple[str, ...], str, int], float],
    table: _Table,
    assumptions: Assumptions,
) -> Decomposition:
    confidence = assumptions.confidence
    units = int(m.n.sum())
    segments = [_segment(m, k, q_values, table.target, assumptions) for k in range(len(m.labels))]
    ranked = sorted(
        (s for s in segments if s.status != "insufficient"),
        key=lambda s: (-abs(s.contribution.value or 0), s.label),
    )
    ranks = {s.label: i for i, s in enumerate(ranked, 1)}
    segments = [s.model_copy(update={"rank": ranks.get(s.label)}) for s in segments]
    everything = np.zeros(len(m.labels), dtype=np.int64)
    p, observed, concentration = _net_of_noise(
        m, everything, lambda d: _concentration(d, m.pooled), table.target, assumptions
    )
    return Decomposition(
        dimensions=m.dimensions,
        total=_estimate(m.point.total, m.boot.total, units, confidence),
        mix=_estimate(m.point.mix.sum(), m.boot.mix.sum(-1), units, confidence),
        rate=_estimate(m.point.rate.sum(), m.boot.rate.sum(-1), units, confidence),
        concentration=concentration,
        concentration_observed=observed,
        concentration_p=p,
        segments=tuple(segments),
        drivers=_drivers(CROSS.join(m.dimensions), segments, table.target, assumptions.false_discovery_rate),
    )


def _segment(
    m: _Measured,
    k: int,
    q_values: dict[tuple[tuple[str, ...], str, int], float],
    target: float | None,
    assumptions: Assumptions,
) -> Segment:
    status, reason = m.status[k]
    n0, n1, s0, s1 = (int(x) for x in (m.n[0, k], m.n[1, k], m.s[0, k], m.s[1, k]))
    units, confidence, minimum = n0 + n1, assumptions.confidence, assumptions.min_segment_size
    current_share = _share(n1, int(m.n[1].sum()), confidence)
    return Segment(
        label=CROSS.join(m.labels[k]),
        values=m.labels[k],
        status=status,
        base_n=n0,
        current_n=n1,
        base_share=current_share if target is not None else _share(n0, int(m.n[0].sum()), confidence),
        current_share=current_share,
        base_rate=_target(target)
        if target is not None
        else rate(s0, n0, minimum=minimum, confidence=confidence),
        current_rate=rate(s1, n1, minimum=minimum, confidence=confidence),
        mix=_estimate(m.point.mix[k], m.boot.mix[:, k], units, confidence, reason),
        rate=_estimate(m.point.rate[k], m.boot.rate[:, k], units, confidence, reason),
        contribution=_estimate(
            m.point.mix[k] + m.point.rate[k], m.boot.mix[:, k] + m.boot.rate[:, k], units, confidence, reason
        ),
        rate_p=m.rate_p[k],
        rate_q=q_values.get((m.dimensions, "rate", k)),
        mix_p=m.mix_p[k],
        mix_q=q_values.get((m.dimensions, "mix", k)),
    )


def _share(count: int, total: int, confidence: float) -> Estimate:
    return Estimate(value=count / total, interval=wilson(count, total, confidence), n=total)


def _target(target: float) -> Estimate:
    return Estimate(value=target, note="target (given, not estimated)")


def _drivers(dimension: str, segments: list[Segment], target: float | None, fdr: float) -> tuple[Driver, ...]:
    """Rate parts of segments seen in both periods and mix parts of all, except insufficient ones."""
    parts = [
        (s, effect, s.rate if effect == "rate" else s.mix, s.rate_q if effect == "rate" else s.mix_q)
        for s in segments
        for effect in ("rate", "mix")
        if s.status != "insufficient" and (s.status == "ok" if effect == "rate" else target is None)
    ]
    parts.sort(key=lambda p: (-abs(p[2].value or 0.0), p[0].label, p[1]))
    return tuple(
        Driver(
            rank=i,
            dimension=dimension,
            segment=s.label,
            effect=effect,
            value=value,
            q=q,
            significant=q is not None and q < fdr,
        )
        for i, (s, effect, value, q) in enumerate(parts, 1)
    )


def _interaction(
    m: _Measured, decomposition: Decomposition, target: float | None, a: Assumptions
) -> Interaction:
    """Judged against the dimension that leaves the pair the least to add (the larger p-value)."""
    pooled = m.pooled
    if (~pooled).sum() < 2:
        reason = f"fewer than two of its segments have {a.min_segment_size} units per period"
        return Interaction(
            decomposition=decomposition,
            beyond=Estimate.insufficient(reason, n=int(m.n.sum())),
            beyond_observed=None,
            p=None,
        )

    def beyond(groups: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda d: _concentration(d, pooled) - _footprint(d, pooled, groups)

    groups = [np.unique([label[i] for label in m.labels], return_inverse=True)[1] for i in (0, 1)]
    p, observed, value = max((_net_of_noise(m, g, beyond(g), target, a) for g in groups), key=lambda r: r[0])
    return Interaction(decomposition=decomposition, beyond=value, beyond_observed=observed, p=p)


def _footprint(deviation: np.ndarray, pooled: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Concentration of a coarser grouping: judgeable cells summed by `groups`, pooled ones as one."""
    summed = deviation[..., ~pooled] @ np.eye(groups.max() + 1)[groups[~pooled]]
    return (np.abs(summed).sum(-1) + np.abs(deviation[..., pooled].sum(-1))) / 2


def _net_of_noise(
    m: _Measured,
    groups: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    target: float | None,
    a: Assumptions,
) -> tuple[float, float, Estimate]:
    """(p-value, observed value, value net of noise) of a statistic of the deviations, against the
    null in which every segment has its group's rate in each period.

    The null is simulated with units fixed and binomial successes; the p-value is the share of
    simulations at least as large as observed, and the noise is their mean. The interval is the
    spread of the resampled statistic (units resampled) around its own mean, placed around the net
    value and clipped at zero: resamples inflate the statistic as noise does, so their percentiles
    would not bracket a value net of noise."""
    members = np.eye(groups.max() + 1)[groups]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.nan_to_num((m.s @ members) / (m.n @ members))[:, groups]
    null = np.concatenate([statistic(d) for d in _simulated_deviations(m.n, rates, target, a)])
    observed = float(statistic(m.point.deviation))
    p = (1 + int((null >= observed - 1e-12).sum())) / (1 + null.size)
    value = max(observed - float(null.mean()), 0.0)
    value = 0.0 if value < 1e-12 else value  # rounding of a mean of zeros is not a concentration
    resampled = statistic(m.boot.deviation)
    low, high = np.quantile(resampled - resampled.mean(), [(1 - a.confidence) / 2, (1 + a.confidence) / 2])
    interval = Interval(
        low=min(max(value + low, 0.0), value),
        high=max(value + high, value),
        level=a.confidence,
        method="bootstrap, net of noise",
    )
    return p, observed, Estimate(value=value, interval=interval, n=int(m.n.sum()))


def _simulated_deviations(
    n: np.ndarray, rates: np.ndarray, target: float | None, a: Assumptions
) -> Iterator[np.ndarray]:
    rng = np.random.default_rng([a.seed, 1])
    for size in _chunks(a.bootstrap_samples):
        trials = np.broadcast_to(n, (size, *n.shape)).astype(float)
        yield _effects(trials, rng.binomial(n, rates, size=trials.shape).astype(float), target).deviation


def _overall(table: _Table, period: int, assumptions: Assumptions) -> Estimate:
    if period == 0 and table.target is not None:
        return _target(table.target)
    successes, trials = int(table.s[period].sum()), int(table.n[period].sum())
    return rate(successes, trials, minimum=assumptions.min_segment_size, confidence=assumptions.confidence)


# ---- sentences -----------------------------------------------------------------------------------------


def _pct(e: Estimate) -> str:
    """A rate in percent, e.g. `34.0% [31.2%, 36.9%]`."""
    return _number(e, "%", sign="")


def _pts(e: Estimate) -> str:
    """A change in percentage points, e.g. `-13.0 pts [-15.2, -10.9]`."""
    return _number(e, " pts", sign="+")


def _number(e: Estimate, unit: str, sign: str) -> str:
    """Enough decimals that a CTR change of 0.04 pts does not print as 0.0; never a bare number."""
    if not e.sufficient or e.value is None:
        return e.note or "insufficient data"
    bounds = [e.interval.low, e.interval.high] if e.interval else []
    largest = max(abs(100 * v) for v in (e.value, *bounds))
    digits = 1 if largest >= 1 else 2 if largest >= 0.1 else 3

    def text(v: float) -> str:
        return f"{0.0 if abs(v) < 1e-12 else 100 * v:{sign}.{digits}f}"

    if e.interval is None:
        return f"{text(e.value)}{unit} ({e.note or 'no interval'})"
    inner = "%" if unit == "%" else ""
    return f"{text(e.value)}{unit} [{text(e.interval.low)}{inner}, {text(e.interval.high)}{inner}]"


def _q(q: float | None) -> str:
    if q is None:
        return "not tested"
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}"


def _dimension_lines(d: Decomposition, target: float | None, top: int) -> list[str]:
    by_label = {s.label: s for s in d.segments}
    if target is None:
        lines = [f"By {d.name}: mix {_pts(d.mix)}, rate {_pts(d.rate)}."]
    else:
        lines = [f"By {d.name} (the target applied to the current mix, so all of the gap is rate):"]
    lines.extend(
        f"  {driver.rank}. {_driver_sentence(driver, by_label[driver.segment], target)}"
        for driver in d.drivers[:top]
    )
    short = [s for s in d.segments if s.status == "insufficient"]
    if short:
        listed = "; ".join(
            f"{s.label} ({(s.contribution.note or '').removeprefix('insufficient data: ')})" for s in short
        )
        lines.append(f"  Not ranked, insufficient data: {listed}.")
    return lines


def _interaction_line(i: Interaction) -> str:
    if i.p is None:
        return f"{i.decomposition.name}: {_pts(i.beyond)}."
    return (
        f"{i.decomposition.name} adds {_pts(i.beyond)} of concentration beyond either alone "
        f"(p = {i.p:.3f} against no interaction)."
    )


def _driver_sentence(driver: Driver, segment: Segment, target: float | None) -> str:
    if driver.effect == "rate":
        against = "against the target" if target is not None else f"from {_pct(segment.base_rate)}"
        return (
            f"{_pts(driver.value)} is the rate within {segment.label} "
            f"({against} to {_pct(segment.current_rate)}, {_q(driver.q)})."
        )
    direction = "more" if (segment.current_share.value or 0) > (segment.base_share.value or 0) else "fewer"
    return (
        f"{_pts(driver.value)} is mix ({direction} {segment.label}: share {_pct(segment.base_share)} "
        f"-> {_pct(segment.current_share)}, {_q(driver.q)})."
    )


def _assumption_line(a: Assumptions) -> str:
    return (
        f"Assumptions: segments need {a.min_segment_size} units per period to be ranked; {a.confidence:.0%} "
        f"intervals (Wilson for shares and rates, bootstrap of {a.bootstrap_samples} resamples with seed "
        f"{a.seed} for effects); Benjamini-Hochberg false discovery rate {a.false_discovery_rate:.0%}."
    )
