"""Multi-touch attribution: which channels get the credit for the conversions, by seven models, each
number with a bootstrap interval, so that last touch's disagreement with the data-driven models can
become an attribution-bias finding.

Journeys are a polars DataFrame, one row per path (or per journey): `path` (list of channels in
touch order), `conversions` and `nulls` (journeys on that path that did and did not convert),
`value` (conversion value of those conversions) and, for time decay only, `times` (one per touch:
datetimes, or numbers of days). `journeys_from_paths` and `journeys_from_touchpoints` build it.

Why it is computed the way it is:
- Rows are first summed by path (and touch times where a model reads them) and sorted, so a result
  never depends on the order of the rows, nor on a path being listed once or split over several
  rows (ca_paths.csv lists one path on up to 637 rows), and the bootstrap draws the same resamples.
- Heuristics and Shapley are linear in the conversions: a sparse journeys x channels credit matrix
  whose rows add up to 1. Attributed conversions add up to the total by construction, and a whole
  bootstrap is one matrix product.
- Shapley, with the coalition value chosen here, has an exact closed form (see `shapley`): no
  enumeration of coalitions and no sampling, whatever the number of channels.
- Markov removal effects are solved exactly from the absorbing chain (a linear solve per channel),
  not simulated as ChannelAttribution does: no simulation noise, the same answer on every run.
  Chains of up to 64 states (order 1) are solved for all resamples at once with dense batched
  solves; larger ones (orders 2 and 3) by a sparse LU per channel and resample, which makes their
  bootstrap the slow part of this module.
- Intervals: a Poisson bootstrap over journeys. A row of c conversions and n non-converting
  journeys is redrawn as Poisson(c) and Poisson(n) journeys: the fast, vectorised equivalent of
  resampling journeys with replacement (each journey weighted Poisson(1) instead of drawn
  multinomially). Value moves with conversions at the row's value per conversion. Every model
  draws its conversions from the same seed, so models are compared on the same resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from scipy.sparse.linalg import splu

from diagnostics.types import Estimate, Interval

DATA_DRIVEN = ("markov", "shapley")
"""Models whose credit comes from the data rather than a rule: what last touch is checked against."""

_CA_COLUMNS = {"total_conversions": "conversions", "total_conversion_value": "value", "total_null": "nulls"}
_JOIN = "\x1f"  # joins a path's channels into one key: hashing a string is faster than a list
_CHUNK_FLOATS = 4_000_000  # floats held at once by one bootstrap chunk (32 MB)
_DENSE_STATES = 64  # chains up to this many states are solved batched and dense; larger ones sparse


class Bootstrap(BaseModel):
    """How intervals are drawn: resamples (0 for none), level, and the seed that makes a replay of a
    post-mortem draw the same resamples."""

    model_config = ConfigDict(frozen=True)

    samples: int = Field(1000, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 7


DEFAULT_BOOTSTRAP = Bootstrap()


# -- results -----------------------------------------------------------------------------------


class ChannelCredit(BaseModel):
    """What one model gives one channel: conversions, value, and share of all conversions."""

    model_config = ConfigDict(frozen=True)

    channel: str
    conversions: Estimate
    value: Estimate
    share: Estimate


class AttributionResult(BaseModel):
    """One model's attribution: per-channel credit (adding up to the totals), the parameters used.

    `parameters` holds every modelling choice and default that was used (bootstrap samples, level and
    seed included), so no default is silent. `removal_effects` and `conversion_probability` are the
    Markov chain's raw removal effects (before they are normalised to add up to 1) and its
    probability of converting from the start state."""

    model_config = ConfigDict(frozen=True)

    model: str
    label: str
    parameters: dict[str, float | int | str | tuple[float, ...]]
    channels: tuple[ChannelCredit, ...]
    total_conversions: float
    total_value: float
    journeys: float
    removal_effects: dict[str, float] | None = None
    conversion_probability: float | None = None

    def credit(self, channel: str) -> ChannelCredit | None:
        return next((item for item in self.channels if item.channel == channel), None)

    def shares(self) -> dict[str, float]:
        return {item.channel: item.share.value or 0.0 for item in self.channels}


class AttributionBias(BaseModel):
    """A channel whose last-touch share differs from a data-driven model's by more than `threshold`.

    `difference` is last touch minus the data-driven model, in shares of total conversions;
    `conversions` is the same gap in conversions. Over-credited: last touch gives the channel more
    than the data-driven model does (typically a closing channel such as branded search)."""

    model_config = ConfigDict(frozen=True)

    channel: str
    model: str
    last_touch_share: Estimate
    data_driven_share: Estimate
    difference: float
    conversions: float
    direction: Literal["over-credited", "under-credited"]
    threshold: float


# -- journeys ----------------------------------------------------------------------------------


def journeys_from_paths(paths: pl.DataFrame, separator: str = ">") -> pl.DataFrame:
    """Journeys from rows aggregated by path, such as the unified `paths` table or ca_paths.csv.

    `path` is a string of channels joined by `separator` (spaces around channel names are
    dropped); counts are `conversions`, `value`, `nulls`, or ChannelAttribution's
    `total_conversions`, `total_conversion_value`, `total_null`."""
    frame = paths.rename({old: new for old, new in _CA_COLUMNS.items() if old in paths.columns})
    return frame.select(
        pl.col("path").str.split(separator).list.eval(pl.element().str.strip_chars()),
        pl.col("conversions", "value", "nulls").cast(pl.Float64),
    )


def journeys_from_touchpoints(
    touchpoints: pl.DataFrame,
    leads: pl.DataFrame,
    window_days: float,
    *,
    value_column: str | None = None,
) -> pl.DataFrame:
    """Journeys from unified `touchpoints` (user_id, timestamp, channel) and `leads` (user_id,
    created_at: the conversion), one row per journey, with touch `times`.

    A lead's journey is its user's touches from `window_days` before the lead's creation up to the
    creation itself, both edges included; a touch belongs to the first lead of its user at or after
    it, so a user's second lead gets the touches since the first. A user without any lead is one
    non-converting journey: the touches within the same window before that user's last touch.
    Left out, by design: touches after a user's last lead (the conversion looks backwards only),
    leads without a touch in their window (nothing to credit: compare the journeys' conversions
    with the number of leads to see how many), leads without user_id or created_at. A lead's
    `value` is `value_column` of the leads table where given (nulls count as 0), else 0."""
    if window_days <= 0:
        raise ValueError(f"window_days must be positive, got {window_days}")
    window = timedelta(days=window_days)
    touches = touchpoints.select("user_id", "timestamp", "channel").drop_nulls().sort("timestamp")
    value = pl.col(value_column).cast(pl.Float64).fill_null(0.0) if value_column else pl.lit(0.0)
    conversions = (
        leads.select("user_id", pl.col("created_at").alias("converted_at"), value.alias("value"))
        .drop_nulls(["user_id", "converted_at"])
        .sort("converted_at")
    )
    assigned = touches.join_asof(
        conversions,
        left_on="timestamp",
        right_on="converted_at",
        by="user_id",
        strategy="forward",
        check_sortedness=False,  # both sides are sorted on the join key just above
    )
    converting = assigned.filter(pl.col("timestamp") >= pl.col("converted_at") - window)
    never = touches.join(conversions.select("user_id").unique(), on="user_id", how="anti")
    never = never.filter(pl.col("timestamp") >= pl.col("timestamp").max().over("user_id") - window)
    return pl.concat(
        [
            _group_touches(converting, ["user_id", "converted_at"], converted=True),
            _group_touches(never.with_columns(value=pl.lit(0.0)), ["user_id"], converted=False),
        ]
    )


def _group_touches(touches: pl.DataFrame, keys: list[str], *, converted: bool) -> pl.DataFrame:
    """One journey per key, its touches in time order (ties by channel name, for determinism)."""
    return (
        touches.sort([*keys, "timestamp", "channel"])
        .group_by(keys, maintain_order=True)
        .agg(path=pl.col("channel"), times=pl.col("timestamp"), value=pl.col("value").first())
        .select(
            "path",
            "times",
            "value",
            conversions=pl.lit(1.0 if converted else 0.0),
            nulls=pl.lit(0.0 if converted else 1.0),
        )
    )


@dataclass(frozen=True)
class _Journeys:
    """Journeys summed by path and sorted, as flat arrays: every touch in journey order."""

    channels: tuple[str, ...]
    codes: np.ndarray  # channel index of every touch
    journey: np.ndarray  # journey index of every touch
    position: np.ndarray  # position of every touch within its journey
    lengths: np.ndarray  # touches per journey
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    ages: np.ndarray | None  # days from each touch to its journey's last touch (time decay only)

    @property
    def value_per_conversion(self) -> np.ndarray:
        return np.divide(
            self.value, self.conversions, out=np.zeros_like(self.value), where=self.conversions > 0
        )

    @cached_property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Journey and channel of each distinct channel of each journey, in journey order."""
        width = max(len(self.channels), 1)
        keys, _ = _unique(self.journey * width + self.codes, self.lengths.size * width)
        return keys // width, keys % width

    def matrix(self, rows: np.ndarray, columns: np.ndarray, values: np.ndarray, width: int) -> sp.csr_array:
        """Journeys x `width` from entries given in journey order, built directly as CSR: no sort,
        and a repeated cell stays two entries, which products add up."""
        indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=self.lengths.size))]
        return sp.csr_array((values, columns, indptr), shape=(self.lengths.size, width))


def _unique(values: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and the rank of each value among them, for integers in [0, bound).
    Where the bound is small against the number of values, a presence table replaces the sort."""
    if bound > max(4 * values.size, 1 << 16):
        return np.unique(values, return_inverse=True)
    present = np.zeros(bound, dtype=bool)
    present[values] = True
    return np.flatnonzero(present), (np.cumsum(present) - 1)[values]


def _prepare(journeys: pl.DataFrame, *, with_times: bool = False) -> _Journeys:
    """Validate, sum by path (and times), drop rows without journeys, sort: the canonical form.

    One polars query and then numpy: every polars call costs a fixed overhead that, for 10,000
    paths, is larger than the work."""
    required = {"path", "conversions", "value", "nulls"} | ({"times"} if with_times else set())
    if missing := sorted(required - set(journeys.columns)):
        raise ValueError(
            f"journeys lack column(s) {missing}" + " (time decay needs touch times)" * with_times
        )
    keys = ["key", "times"] if with_times else ["key"]
    counts = ["conversions", "value", "nulls"]
    rows = journeys.lazy().select(
        pl.col("path").cast(pl.List(pl.String)),
        *([_days(journeys.schema["times"])] if with_times else []),
        pl.col(counts).cast(pl.Float64),
    )
    _validate_counts(rows.select(counts).collect())
    frame = (
        rows.group_by(pl.col("path").list.join(_JOIN).alias("key"), *keys[1:])
        .agg(pl.col(counts).sum(), shortest=pl.col("path").list.len().min())
        .filter((pl.col("conversions") != 0) | (pl.col("nulls") != 0) | (pl.col("value") != 0))
        .sort(keys)
        .with_columns(path=pl.col("key").str.split(_JOIN))  # a path is its key, split again
        .collect()
    )
    flat = frame["path"].explode()
    channels = tuple(flat.unique().sort().to_list())
    _validate(frame, channels)
    lengths = frame["path"].list.len().to_numpy().astype(np.int64)
    journey = np.repeat(np.arange(frame.height), lengths)
    starts = np.cumsum(lengths) - lengths
    return _Journeys(
        channels=channels,
        codes=flat.cast(pl.Enum(channels)).to_physical().to_numpy().astype(np.int64),
        journey=journey,
        position=np.arange(journey.size) - starts[journey],
        lengths=lengths,
        conversions=frame["conversions"].to_numpy(),
        value=frame["value"].to_numpy(),
        nulls=frame["nulls"].to_numpy(),
        ages=_ages(frame, journey, lengths) if with_times else None,
    )


def _days(dtype: pl.DataType) -> pl.Expr:
    """Touch times as days: datetimes through their epoch, numbers as they are."""
    times = pl.col("times")
    if isinstance(dtype, pl.List) and dtype.inner.is_temporal():
        return times.list.eval(pl.element().dt.epoch("us").cast(pl.Float64) / 86_400e6)
    return times.cast(pl.List(pl.Float64))


def _validate_counts(rows: pl.DataFrame) -> None:
    """Row by row, before summing: a negative count must not hide in a sum."""
    conversions, value, nulls = (rows[name].to_numpy() for name in ("conversions", "value", "nulls"))
    if not np.all(np.isfinite(conversions) & np.isfinite(nulls) & (conversions >= 0) & (nulls >= 0)):
        raise ValueError("invalid journeys: conversions or nulls are negative or not finite")
    if not np.all(np.isfinite(value)):
        raise ValueError("invalid journeys: a value is not finite")


def _validate(frame: pl.DataFrame, channels: tuple[str | None, ...]) -> None:
    """Refuse what cannot be attributed, once summed by path. `shortest` is the shortest row of the
    path: shorter than the path split again from its key where a channel name holds the joiner."""
    shortest = frame["shortest"].fill_null(0).to_numpy()
    split = frame["path"].list.len().fill_null(0).to_numpy()
    problems = {
        "a path is empty or missing": bool(np.any(shortest == 0)),
        f"a channel name contains {_JOIN!r}": bool(np.any((shortest > 0) & (shortest != split))),
        "a channel name is missing or blank": any(not (name or "").strip() for name in channels),
        "a path has value but no conversions (value belongs to conversions)": bool(
            np.any((frame["conversions"].to_numpy() == 0) & (frame["value"].to_numpy() != 0))
        ),
    }
    if failed := [problem for problem, found in problems.items() if found]:
        raise ValueError("invalid journeys: " + "; ".join(failed))


def _ages(frame: pl.DataFrame, journey: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    if np.any(frame["times"].list.len().to_numpy() != lengths):
        raise ValueError("every journey needs exactly one time per touch")
    times = frame["times"].explode().to_numpy().astype(float)
    if not np.all(np.isfinite(times)) or np.any(np.diff(times)[journey[1:] == journey[:-1]] < 0):
        raise ValueError("touch times must be known and in path order (non-decreasing)")
    last = times[np.cumsum(lengths) - 1]
    return last[journey] - times


# -- heuristics and Shapley: linear credit -------------------------------------------------------


def first_touch(journeys: pl.DataFrame, *, bootstrap: Bootstrap = DEFAULT_BOOTSTRAP) -> AttributionResult:
    """All credit to the first touch: the channel that opened the journey."""
    data = _prepare(journeys)
    return _linear("first_touch", {}, data, _by_touch(data, data.position == 0), bootstrap)


def last_touch(journeys: pl.DataFrame, *, bootstrap: Bootstrap = DEFAULT_BOOTSTRAP) -> AttributionResult:
    """All credit to the last touch: what most ad platforms and CRMs report by default."""
    data = _prepare(journeys)
    last = data.position == data.lengths[data.journey] - 1
    return _linear("last_touch", {}, data, _by_touch(data, last), bootstrap)


def linear(journeys: pl.DataFrame, *, bootstrap: Bootstrap = DEFAULT_BOOTSTRAP) -> AttributionResult:
    """Equal credit to every touch; a channel touched twice in a journey gets two shares."""
    data = _prepare(journeys)
    return _linear("linear", {}, data, _by_touch(data, 1.0 / data.lengths[data.journey]), bootstrap)


def time_decay(
    journeys: pl.DataFrame, half_life_days: float = 7.0, *, bootstrap: Bootstrap = DEFAULT_BOOTSTRAP
) -> AttributionResult:
    """Credit halving every `half_life_days` before the conversion: weight 2^(-age / half-life),
    normalised within the journey. Ages are measured to the journey's last touch: measuring them
    to the conversion instead multiplies every weight of a journey by one factor, which the
    normalisation removes, so journeys need touch times only."""
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    data = _prepare(journeys, with_times=True)
    assert data.ages is not None
    weights = np.exp2(-data.ages / half_life_days)
    weights /= np.bincount(data.journey, weights)[data.journey]
    parameters = {"half_life_days": float(half_life_days)}
    return _linear("time_decay", parameters, data, _by_touch(data, weights), bootstrap)


def position_based(
    journeys: pl.DataFrame,
    weights: tuple[float, float, float] = (0.4, 0.2, 0.4),
    *,
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
) -> AttributionResult:
    """U-shaped credit: `weights` = (first, middle, last); the middle share is split equally among
    the touches between the first and the last.

    Convention for short journeys: one touch takes all the credit; two touches have no middle, so
    its share goes to first and last in proportion to their weights (50/50 for 40/20/40; equally
    if both weights are 0)."""
    first, middle, last = weights
    if min(weights) < 0 or abs(sum(weights) - 1) > 1e-9:
        raise ValueError(f"position weights must be three non-negative shares adding up to 1, got {weights}")
    data = _prepare(journeys)
    length = data.lengths[data.journey]
    is_first, is_last = data.position == 0, data.position == length - 1
    ends = first + last
    opening, closing = (first / ends, last / ends) if ends > 0 else (0.5, 0.5)
    credit = np.select(
        [length == 1, (length == 2) & is_first, length == 2, is_first, is_last],
        [1.0, opening, closing, first, last],
        middle / np.maximum(length - 2, 1),
    )
    parameters = {"weights": tuple(map(float, weights))}
    return _linear("position_based", parameters, data, _by_touch(data, credit), bootstrap)


def shapley(journeys: pl.DataFrame, *, bootstrap: Bootstrap = DEFAULT_BOOTSTRAP) -> AttributionResult:
    """Shapley values of the game whose coalition value v(S) is the conversions of the journeys
    whose set of channels is a subset of S.

    Why this coalition value: v(all channels) is every conversion, so the Shapley values add up to
    the total (efficiency), and v only grows as channels join, so no channel gets negative credit.
    The other common choice, "journeys whose channel set is exactly S", has v(all channels) equal
    to the conversions of the journeys that touched every channel: its values add up to the wrong
    total, and some are negative.

    Why it is exact for any number of channels, with no sampling: v is a sum over journeys of
    unanimity games (a journey's conversions count once all of its channels are in S), and the
    Shapley value of a unanimity game splits its worth equally among its members. So each
    conversion is split equally among the distinct channels of its journey (Zhao et al. 2018,
    "Shapley value methods for attribution modeling in online advertising"), in time linear in the
    touches: no `max_exact`, no Monte-Carlo error. The tests check this against the definition,
    over all coalitions and over sampled permutations of 18 channels."""
    data = _prepare(journeys)
    rows, channels = data.pairs
    share = 1.0 / np.bincount(rows, minlength=data.lengths.size)[rows]
    matrix = data.matrix(rows, channels, share, len(data.channels))
    return _linear("shapley", {"coalition_value": "subset"}, data, matrix, bootstrap)


Parameters = dict[str, float | int | str | tuple[float, ...]]
Attribute = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(conversions, nulls), each resamples x journeys -> (conversions, value), each resamples x channels."""


def _by_touch(data: _Journeys, credit: np.ndarray) -> sp.csr_array:
    """The credit matrix of a rule that gives each touch a share of its journey (`credit`)."""
    values = np.broadcast_to(credit, data.codes.shape).astype(float)
    return data.matrix(data.journey, data.codes, values, len(data.channels))


def _linear(
    model: str, parameters: Parameters, data: _Journeys, matrix: sp.csr_array, bootstrap: Bootstrap
) -> AttributionResult:
    """Attribution by a credit matrix, journeys x channels, whose rows add up to 1."""
    per_value = data.value_per_conversion

    def attribute(conversions: np.ndarray, nulls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return conversions @ matrix, (conversions * per_value) @ matrix

    point = attribute(data.conversions[None], data.nulls[None])
    return _result(model, model, parameters, data, point, attribute, bootstrap, uses_nulls=False)


# -- Markov chain --------------------------------------------------------------------------------


def markov(
    journeys: pl.DataFrame, order: int = 1, *, bootstrap: Bootstrap = DEFAULT_BOOTSTRAP
) -> AttributionResult:
    """Markov chain removal effects with null paths, solved exactly from the absorbing chain.

    The chain: a start state, one state per k-tuple of consecutive channels (k = `order`; a
    journey shorter than k is one state of its whole path, as in ChannelAttribution), and two
    absorbing states, conversion and null (journeys that did not convert). Transition
    probabilities are the observed transition counts, every journey counted as often as it
    occurred. A channel's removal effect is the share of the probability of converting from the
    start that is lost when every state containing the channel leads to null instead: one linear
    solve on the other states per channel, no simulation.

    Removal effects do not add up to 1 (a journey through two channels is lost when either is
    removed), so they are normalised: attributed conversions = total conversions x effect / sum of
    effects, which adds up to the total. Value: a conversion's expected value is the mean value per
    conversion of the journeys that converted from the same last state; the value removal effect
    is the share of expected value lost, normalised to the total value (what ChannelAttribution
    estimates by simulation)."""
    if order not in (1, 2, 3):
        raise ValueError(f"order must be 1, 2 or 3, got {order}")
    data = _prepare(journeys)
    label, parameters = f"markov_order{order}", {"order": order}
    if not data.lengths.size:
        nothing = (np.zeros((1, 0)), np.zeros((1, 0)))
        return _result("markov", label, parameters, data, nothing, _no_credit, bootstrap, uses_nulls=True)
    chain = _chain(data, order)
    per_value = data.value_per_conversion

    def attribute(conversions: np.ndarray, nulls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _credit(*_removal_effects(chain, conversions, nulls, per_value)[:2], conversions, per_value)

    effects, value_effects, probability = _removal_effects(
        chain, data.conversions[None], data.nulls[None], per_value
    )
    point = _credit(effects, value_effects, data.conversions[None], per_value)
    return _result(
        "markov",
        label,
        parameters,
        data,
        point,
        attribute,
        bootstrap,
        uses_nulls=True,
        removal_effects=dict(zip(data.channels, effects[0].tolist(), strict=True)),
        conversion_probability=float(probability[0]),
    )


@dataclass(frozen=True)
class _Chain:
    """The chain's shape, the same for every resample: only how often each journey counts changes.

    State 0 is the start; edges are the observed transitions between transient states (from the
    start included). A journey's row of `passes` counts the edges it takes, of `exits` marks the
    state it ends in; `arrivals` maps edges to the state they enter."""

    states: int
    contains: np.ndarray  # states x channels: the state's tuple includes the channel
    edge_from: np.ndarray
    edge_to: np.ndarray
    passes: sp.csr_array  # journeys x edges
    exits: sp.csr_array  # journeys x states
    arrivals: sp.csr_array  # edges x states


def _chain(data: _Journeys, order: int) -> _Chain:
    base = len(data.channels) + 1
    touches = np.arange(data.codes.size)
    length = data.lengths[data.journey]
    span = np.minimum(order, length - data.position)  # touches in the window that starts here
    code = np.zeros(touches.size, dtype=np.int64)
    for offset in range(order):
        ahead = data.codes[np.minimum(touches + offset, touches.size - 1)] + 1
        code += np.where(offset < span, ahead, 0) * base**offset
    window = (data.position + order <= length) | (data.position == 0)
    journey = data.journey[window]
    tuples, state = _unique(code[window], base**order)
    states, state = tuples.size + 1, state + 1
    contains = np.zeros((states, base - 1), dtype=bool)
    for offset in range(order):
        digit = tuples // base**offset % base
        rows = np.flatnonzero(digit)
        contains[rows + 1, digit[rows] - 1] = True
    opens = np.r_[True, journey[1:] != journey[:-1]]
    closes = np.r_[journey[1:] != journey[:-1], True]
    previous = np.where(opens, 0, np.r_[0, state[:-1]])
    edges, edge = _unique(previous * states + state, states * states)
    ones = np.ones(journey.size)
    return _Chain(
        states=states,
        contains=contains,
        edge_from=edges // states,
        edge_to=edges % states,
        passes=data.matrix(journey, edge, ones, edges.size),
        exits=data.matrix(journey[closes], state[closes], ones[closes], states),
        arrivals=sp.csr_array(
            (np.ones(edges.size), edges % states, np.arange(edges.size + 1)), shape=(edges.size, states)
        ),
    )


def _removal_effects(
    chain: _Chain, conversions: np.ndarray, nulls: np.ndarray, per_value: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Removal effects for conversions and value (resamples x channels), and P(convert from start).

    Each row of `conversions` and `nulls` weights the journeys: the observed counts, or a resample.
    From state s the chain steps to t with probability (journeys taking s -> t) / (journeys in s),
    converts with probability (conversions ending in s) / (journeys in s), and a conversion there
    earns the mean value of those conversions. The probability of converting and the expected
    value from each state solve (I - Q) x = r; removing a channel solves it on the other states."""
    trips = conversions + nulls
    counts = trips @ chain.passes
    present = counts @ chain.arrivals  # every journey is in the start state once
    present[:, 0] = trips.sum(axis=1)
    safe = np.where(present > 0, present, 1.0)
    probability = counts / safe[:, chain.edge_from]
    rewards = np.stack([conversions @ chain.exits, (conversions * per_value) @ chain.exits], axis=-1)
    rewards /= safe[..., None]
    solve = _solve_dense if chain.states <= _DENSE_STATES else _solve_sparse
    full = solve(chain, probability, rewards, np.ones(chain.states, dtype=bool))
    kept = np.stack([solve(chain, probability, rewards, ~column) for column in chain.contains.T], axis=1)
    lost = full[:, None, :] - kept  # resamples x channels x (conversions, value)
    effects = np.divide(lost, full[:, None, :], out=np.zeros_like(lost), where=full[:, None, :] > 0)
    return effects[..., 0], effects[..., 1], full[:, 0]


def _solve_dense(chain: _Chain, probability: np.ndarray, rewards: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(I - Q) x = r on the kept states, from the start, every resample at once (small chains)."""
    keep = keep | (np.arange(chain.states) == 0)
    q = np.zeros((probability.shape[0], chain.states, chain.states))
    q[:, chain.edge_from, chain.edge_to] = probability * (keep[chain.edge_from] & keep[chain.edge_to])
    return np.linalg.solve(np.eye(chain.states) - q, rewards * keep[None, :, None])[:, 0, :]


def _solve_sparse(
    chain: _Chain, probability: np.ndarray, rewards: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """(I - Q) x = r on the kept states, from the start, by sparse LU per resample (large chains)."""
    keep = keep | (np.arange(chain.states) == 0)
    index = np.cumsum(keep) - 1
    inside = keep[chain.edge_from] & keep[chain.edge_to]
    rows, cols = index[chain.edge_from[inside]], index[chain.edge_to[inside]]
    identity = sp.eye_array(int(keep.sum()), format="csc")
    solved = np.empty((probability.shape[0], 2))
    for sample in range(probability.shape[0]):
        q = sp.csc_array((probability[sample, inside], (rows, cols)), shape=identity.shape)
        solved[sample] = splu((identity - q).tocsc()).solve(rewards[sample, keep])[0]
    return solved


def _credit(
    effects: np.ndarray, value_effects: np.ndarray, conversions: np.ndarray, per_value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Removal effects normalised to the total conversions and the total value of each resample."""
    return (
        _normalise(effects, conversions.sum(axis=1)),
        _normalise(value_effects, (conversions * per_value).sum(axis=1)),
    )


def _normalise(effects: np.ndarray, totals: np.ndarray) -> np.ndarray:
    sums = effects.sum(axis=1, keepdims=True)
    return np.divide(effects * totals[:, None], sums, out=np.zeros_like(effects), where=sums > 0)


def _no_credit(conversions: np.ndarray, nulls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((conversions.shape[0], 0)), np.zeros((conversions.shape[0], 0))


# -- result assembly and bootstrap ---------------------------------------------------------------


def _result(
    model: str,
    label: str,
    parameters: Parameters,
    data: _Journeys,
    point: tuple[np.ndarray, np.ndarray],
    attribute: Attribute,
    bootstrap: Bootstrap,
    *,
    uses_nulls: bool,
    removal_effects: dict[str, float] | None = None,
    conversion_probability: float | None = None,
) -> AttributionResult:
    """`point` (conversions, value: 1 x channels each) with bootstrap intervals from `attribute`, and
    every parameter used, as an `AttributionResult`."""
    total = float(data.conversions.sum())
    shares = np.divide(point[0], total, out=np.zeros_like(point[0]), where=total > 0)
    draws = _bootstrap(data, attribute, bootstrap, uses_nulls) if bootstrap.samples and total > 0 else None
    alpha = (1 - bootstrap.confidence) / 2
    bounds = [np.quantile(draw, [alpha, 1 - alpha], axis=0) for draw in draws] if draws else None
    reached = _converting_journeys(data)

    def estimate(kind: int, channel: int, value: float) -> Estimate:
        if total <= 0:
            return Estimate.insufficient("no conversions to attribute", n=0, value=0.0)
        interval = None
        if bounds:
            low, high = bounds[kind][:, channel]
            interval = Interval(low=low, high=high, level=bootstrap.confidence, method="bootstrap")
        return Estimate(value=value, interval=interval, n=round(float(reached[channel])))

    return AttributionResult(
        model=model,
        label=label,
        parameters={
            **parameters,
            "bootstrap_samples": bootstrap.samples,
            "confidence": bootstrap.confidence,
            "seed": bootstrap.seed,
        },
        channels=tuple(
            ChannelCredit(
                channel=name,
                conversions=estimate(0, c, float(point[0][0, c])),
                value=estimate(1, c, float(point[1][0, c])),
                share=estimate(2, c, float(shares[0, c])),
            )
            for c, name in enumerate(data.channels)
        ),
        total_conversions=total,
        total_value=float(data.value.sum()),
        journeys=float(data.conversions.sum() + data.nulls.sum()),
        removal_effects=removal_effects,
        conversion_probability=conversion_probability,
    )


def _converting_journeys(data: _Journeys) -> np.ndarray:
    """Conversions whose journey touched each channel: the sample behind a channel's credit."""
    rows, channels = data.pairs
    return np.bincount(channels, data.conversions[rows], minlength=len(data.channels))


def _bootstrap(
    data: _Journeys, attribute: Attribute, bootstrap: Bootstrap, uses_nulls: bool
) -> list[np.ndarray]:
    """Resampled conversions, value and share per channel (resamples x channels each)."""
    conversions, value, share = [], [], []
    for drawn, nulls in _poisson_resamples(data, bootstrap, uses_nulls):
        credit, credit_value = attribute(drawn, nulls)
        totals = drawn.sum(axis=1, keepdims=True)
        conversions.append(credit)
        value.append(credit_value)
        share.append(np.divide(credit, totals, out=np.zeros_like(credit), where=totals > 0))
    return [np.concatenate(part) for part in (conversions, value, share)]


def _poisson_resamples(
    data: _Journeys, bootstrap: Bootstrap, uses_nulls: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Chunks of resampled journey counts. Conversions and nulls come from two streams of one seed,
    so every model, whether it reads nulls or not, sees the same resampled conversions."""
    streams = np.random.SeedSequence(bootstrap.seed).spawn(2)
    conversion_stream, null_stream = (np.random.default_rng(stream) for stream in streams)
    chunk = max(1, _CHUNK_FLOATS // max(data.lengths.size, 1))
    for start in range(0, bootstrap.samples, chunk):
        size = (min(chunk, bootstrap.samples - start), data.lengths.size)
        drawn = conversion_stream.poisson(data.conversions, size).astype(float)
        nulls = null_stream.poisson(data.nulls, size).astype(float) if uses_nulls else np.zeros(size)
        yield drawn, nulls


# -- comparing models ----------------------------------------------------------------------------


def compare(results: Sequence[AttributionResult]) -> pl.DataFrame:
    """Share of total conversions per channel (rows) and model (a column per result label); a
    channel that a model never credits shows 0."""
    _check_comparable(results)
    channels = sorted({item.channel for result in results for item in result.channels})
    shares = {result.label: result.shares() for result in results}
    return pl.DataFrame(
        {
            "channel": channels,
            **{label: [got.get(c, 0.0) for c in channels] for label, got in shares.items()},
        },
        schema={"channel": pl.String, **dict.fromkeys(shares, pl.Float64)},
    )


def attribution_bias(
    results: Sequence[AttributionResult], threshold: float = 0.05
) -> tuple[AttributionBias, ...]:
    """Channels where last touch and a data-driven model (Markov, Shapley) disagree by more than
    `threshold` of total conversions, largest gap first: one item per channel and data-driven
    model, with the direction in which last touch errs."""
    _check_comparable(results)
    last = [result for result in results if result.model == "last_touch"]
    driven = [result for result in results if result.model in DATA_DRIVEN]
    if len(last) != 1 or not driven:
        raise ValueError(
            "attribution bias needs one last-touch result and at least one Markov or Shapley result"
        )
    channels = sorted({item.channel for result in results for item in result.channels})
    gaps = (_bias(channel, last[0], other, threshold) for other in driven for channel in channels)
    found = [gap for gap in gaps if abs(gap.difference) > threshold]
    return tuple(sorted(found, key=lambda gap: (-abs(gap.difference), gap.channel, gap.model)))


def _bias(
    channel: str, last: AttributionResult, other: AttributionResult, threshold: float
) -> AttributionBias:
    mine, theirs = _share(last, channel), _share(other, channel)
    difference = (mine.value or 0.0) - (theirs.value or 0.0)
    return AttributionBias(
        channel=channel,
        model=other.label,
        last_touch_share=mine,
        data_driven_share=theirs,
        difference=difference,
        conversions=difference * last.total_conversions,
        direction="over-credited" if difference > 0 else "under-credited",
        threshold=threshold,
    )


def _share(result: AttributionResult, channel: str) -> Estimate:
    credit = result.credit(channel)
    return credit.share if credit else Estimate(value=0.0, n=0)


def _check_comparable(results: Sequence[AttributionResult]) -> None:
    """Shares of different journeys do not compare: one total, distinct labels."""
    labels = [result.label for result in results]
    if len(set(labels)) != len(labels):
        raise ValueError(f"results must have distinct labels, got {labels}")
    totals = {round(result.total_conversions, 6) for result in results}
    if len(totals) > 1:
        raise ValueError(f"results attribute different journeys (total conversions {sorted(totals)})")
