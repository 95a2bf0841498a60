"""The funnel diagnostic (DOMAIN.md step 3): each stage's conversion rate in the current campaign
against the historical baseline (the prior campaigns pooled), overall and by channel; the stage that
degraded most; and callouts naming the channels behind each drop and what restoring it is worth.

Why significance-aware: with eight stages and half a dozen channels, some rates fall by chance. Each
(stage, channel) comparison is a two-proportion test, and the q-values are Benjamini-Hochberg over
the whole family (the overall rows included); a drop counts only below `false_discovery_rate`, and
segments under `min_segment_size` trials in either period are shown but not tested.

Why a horizon: a campaign that closed last month has not had time to turn MQLs into won deals, so a
plain comparison blames the current campaign for being young. Later-stage conversions are counted
only within the horizon (as_of minus the current campaign's end) of the earlier stage, for the
baseline as for the current campaign; default as_of is the latest stage time in the leads.

Stage rates pool the channels where the earlier stage is counted and the later does not outnumber
it: clicks -> sessions only over channels that buy clicks. By channel, leads and later stages use
the lead's (first-touch) channel, sessions the session's channel, and ad rows their platform's.

The money impact of restoring one stage to the baseline (or to the plan, where the plan has a rate
for it) is the extra conversions at the next stage, carried down to opportunities at the current
campaign's later rates, times its mean deal amount (for the win stage: the extra wins times the
mean won revenue); the interval is a seeded Monte Carlo: Jeffreys posteriors for the rates, a
bootstrap of the deal amounts.

The onset of a drop is the single split of the campaign's daily rate that best fits two rates
(binomial likelihood, at least three days each side), with the range of split days a profile
likelihood cannot tell apart from it; it is reported only when the drop across the split is
significant after a Bonferroni correction for the number of candidate splits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict
from scipy.stats import chi2

from diagnostics.assumptions import Assumptions
from diagnostics.metrics import LEAD_STAGES, STAGES, Campaign, CampaignMap, CampaignRows, campaign_rows
from diagnostics.stats import benjamini_hochberg, rate, two_proportion_p
from diagnostics.types import Estimate, Interval

TRANSITIONS: tuple[tuple[str, str], ...] = tuple(itertools.pairwise(STAGES))
STAGE_METRICS: dict[str, str] = {
    "impressions->clicks": "ctr",
    "sessions->leads": "landing_cvr",
    "leads->mqls": "mql_rate",
    "mqls->sqls": "mql_to_sql_rate",
    "sqls->opportunities": "sqo_rate",
    "opportunities->won": "win_rate",
}
"""The governed metric that measures a transition, where one does (plan targets are per metric)."""
_NAMES = {
    "impressions": ("Impression", "impressions"),
    "clicks": ("Click", "clicks"),
    "sessions": ("Session", "sessions"),
    "leads": ("Lead", "leads"),
    "mqls": ("MQL", "MQLs"),
    "sqls": ("SQL", "SQLs"),
    "opportunities": ("Opportunity", "opportunities"),
    "won": ("Won", "won deals"),
}
ALL = "all"
_DEFAULTS = Assumptions()
_MIN_ONSET_DAYS = 3


def label(transition: str) -> str:
    """`mqls->sqls` as people say it: `MQL->SQL`."""
    a, b = transition.split("->")
    return f"{_NAMES[a][0]}->{_NAMES[b][0]}"


class StageComparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    transition: str
    channel: str
    current: Estimate
    baseline: Estimate
    relative_change: float | None
    p_value: float | None
    q_value: float | None
    degraded: bool
    note: str | None = None


class Driver(BaseModel):
    """A channel behind a drop: the next-stage conversions it lost against its own baseline rate."""

    model_config = ConfigDict(frozen=True)

    channel: str
    lost: float
    share: float
    current: Estimate
    baseline: Estimate
    q_value: float


class Restoration(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: Literal["baseline", "plan"]
    target_rate: float
    extra: Estimate
    extra_stage: str
    money: Estimate
    money_kind: Literal["pipeline", "revenue"]
    text: str


class Onset(BaseModel):
    model_config = ConfigDict(frozen=True)

    date: dt.date
    day: int
    """Campaign day, 1 for the start date."""
    earliest: dt.date
    latest: dt.date
    """The split days whose likelihood is within the confidence level of the best (profile likelihood)."""
    before: Estimate
    after: Estimate
    p_value: float
    """Bonferroni-corrected for the number of candidate split days."""


class Callout(BaseModel):
    model_config = ConfigDict(frozen=True)

    transition: str
    label: str
    relative_change: float
    drivers: tuple[Driver, ...]
    restorations: tuple[Restoration, ...]
    onset: Onset | None
    text: str


class Funnel(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str
    baseline_ids: tuple[str, ...]
    current_counts: dict[str, dict[str, int]]
    """channel ("all" included) -> stage -> count, as observed."""
    baseline_counts: dict[str, dict[str, int]]
    comparisons: tuple[StageComparison, ...]
    largest_degradation: str | None
    callouts: tuple[Callout, ...]
    as_of: dt.datetime
    horizon_days: float
    assumptions: Assumptions

    def comparison(self, transition: str, channel: str = ALL) -> StageComparison:
        for c in self.comparisons:
            if c.transition == transition and c.channel == channel:
                return c
        raise LookupError(f"no comparison for {transition} in channel {channel!r}")

    def callout(self, transition: str) -> Callout | None:
        return next((c for c in self.callouts if c.transition == transition), None)


def funnel(
    tables: Mapping[str, pl.DataFrame],
    campaigns: CampaignMap,
    campaign_id: str,
    baseline_ids: Sequence[str],
    *,
    assumptions: Assumptions = _DEFAULTS,
    as_of: dt.datetime | None = None,
) -> Funnel:
    """Compare `campaign_id`'s funnel with the pooled `baseline_ids` (plan rates from `plans`)."""
    if not baseline_ids:
        raise ValueError("a funnel diagnostic needs at least one baseline campaign")
    campaign = campaigns.campaign(campaign_id)
    for b in baseline_ids:
        campaigns.campaign(b)
    rows = campaign_rows(tables, campaigns)
    current, baseline = rows.only([campaign_id]), rows.only(list(baseline_ids))
    as_of = as_of or _latest(rows)
    horizon = as_of - campaign.window[1]
    if horizon <= dt.timedelta(0):
        raise ValueError(
            f"as_of {as_of} is before the end of {campaign_id}: a post-mortem needs a closed campaign"
        )
    cur, base = _transitions(current, horizon), _transitions(baseline, horizon)
    comparisons = _compare(cur, base, assumptions)
    overall = {c.transition: c for c in comparisons if c.channel == ALL and c.degraded}
    ranked = sorted(overall.values(), key=lambda c: c.relative_change or 0.0)
    plan = _plan_rates(tables, campaign_id)
    money = _Money(current, cur, assumptions, _currency(current))
    callouts = tuple(
        _callout(
            c,
            comparisons,
            cur,
            base,
            plan,
            money,
            _onset(current, campaign, c.transition, horizon, assumptions),
        )
        for c in ranked
    )
    return Funnel(
        campaign_id=campaign_id,
        baseline_ids=tuple(baseline_ids),
        current_counts=_counts(current),
        baseline_counts=_counts(baseline),
        comparisons=comparisons,
        largest_degradation=ranked[0].transition if ranked else None,
        callouts=callouts,
        as_of=as_of,
        horizon_days=horizon.total_seconds() / 86_400,
        assumptions=assumptions,
    )


# --- counting ---------------------------------------------------------------------------------------

Counts = dict[tuple[str, str], tuple[int, int]]
"""(transition, channel) -> (successes, trials)."""


def _latest(rows: CampaignRows) -> dt.datetime:
    columns = [f"at_{s}" for s in LEAD_STAGES if s != "leads"] + ["created_at"]
    latest = rows.leads.select(pl.max_horizontal(pl.col(columns).max())).item()
    if latest is None:
        raise ValueError("no lead has a date: give as_of")
    return latest


def _stage_counts(rows: CampaignRows) -> dict[str, dict[str, int]]:
    """channel -> stage -> count, without the "all" channel."""
    out: dict[str, dict[str, int]] = {}
    ads = rows.ads.group_by("channel").agg(pl.col("impressions").sum(), pl.col("clicks").sum())
    for r in ads.iter_rows(named=True):
        out.setdefault(r["channel"], {}).update(impressions=int(r["impressions"]), clicks=int(r["clicks"]))
    for r in rows.sessions.group_by("channel").len().iter_rows(named=True):
        out.setdefault(r["channel"], {})["sessions"] = int(r["len"])
    reached = [pl.col(f"reached_{s}").sum().alias(s) for s in LEAD_STAGES]
    for r in rows.leads.group_by("channel").agg(reached).iter_rows(named=True):
        out.setdefault(r["channel"], {}).update({s: int(r[s]) for s in LEAD_STAGES})
    return {ch: {s: stages.get(s, 0) for s in STAGES} for ch, stages in out.items()}


def _counts(rows: CampaignRows) -> dict[str, dict[str, int]]:
    by_channel = _stage_counts(rows)
    total = {s: sum(c[s] for c in by_channel.values()) for s in STAGES}
    return {ALL: total, **dict(sorted(by_channel.items()))}


def _within(a: str, b: str, horizon: dt.timedelta) -> pl.Expr:
    at_a, at_b = pl.col(f"at_{a}"), pl.col(f"at_{b}")
    return pl.col(f"reached_{b}") & (at_a.is_null() | at_b.is_null() | ((at_b - at_a) <= horizon))


def _transitions(rows: CampaignRows, horizon: dt.timedelta) -> Counts:
    stages = _stage_counts(rows)
    within = [_within(a, b, horizon).sum().alias(f"{a}->{b}") for a, b in TRANSITIONS if a in LEAD_STAGES]
    horizon_counts = {
        r["channel"]: r for r in rows.leads.group_by("channel").agg(within).iter_rows(named=True)
    }
    out: Counts = {}
    for channel, c in stages.items():
        for a, b in TRANSITIONS:
            key = f"{a}->{b}"
            if c[a] > 0:
                successes = horizon_counts[channel][key] if a in LEAD_STAGES else c[b]
                out[key, channel] = (int(successes), c[a])
    for a, b in TRANSITIONS:
        key = f"{a}->{b}"
        parts = [(s, t) for (k, _), (s, t) in out.items() if k == key and s <= t]
        out[key, ALL] = (sum(s for s, _ in parts), sum(t for _, t in parts))
    return out


# --- comparing ---------------------------------------------------------------------------------------


def _compare(cur: Counts, base: Counts, assumptions: Assumptions) -> tuple[StageComparison, ...]:
    keys = sorted(
        set(cur) | set(base),
        key=lambda k: ([f"{a}->{b}" for a, b in TRANSITIONS].index(k[0]), k[1] != ALL, k[1]),
    )
    minimum = assumptions.min_segment_size
    tested: list[int] = []
    p_values: list[float] = []
    drafts = []
    for i, key in enumerate(keys):
        (cs, ct), (bs, bt) = cur.get(key, (0, 0)), base.get(key, (0, 0))
        note, p = None, None
        if cs > ct or bs > bt:
            note = "not a proportion: the stages are counted in different systems for this channel"
        elif min(ct, bt) < minimum:
            note = f"fewer than {minimum} trials (min_segment_size): not tested"
        else:
            p = two_proportion_p(cs, ct, bs, bt)
            tested.append(i)
            p_values.append(p)
        drafts.append((key, cs, ct, bs, bt, note, p))
    q_of = dict(zip(tested, benjamini_hochberg(p_values), strict=True))
    out = []
    for i, (key, cs, ct, bs, bt, note, p) in enumerate(drafts):
        current, baseline = _rate(cs, ct, assumptions), _rate(bs, bt, assumptions)
        proportions = ct > 0 and bt > 0 and cs <= ct and 0 < bs <= bt
        relative = (cs / ct) / (bs / bt) - 1 if proportions else None
        q = q_of.get(i)
        degraded = (
            q is not None and relative is not None and relative < 0 and q < assumptions.false_discovery_rate
        )
        out.append(
            StageComparison(
                transition=key[0],
                channel=key[1],
                current=current,
                baseline=baseline,
                relative_change=relative,
                p_value=p,
                q_value=q,
                degraded=degraded,
                note=note,
            )
        )
    return tuple(out)


def _rate(successes: int, trials: int, assumptions: Assumptions) -> Estimate:
    if successes > trials:
        return Estimate.insufficient(f"not a proportion ({successes} > {trials})", n=trials)
    return rate(successes, trials, minimum=assumptions.min_segment_size, confidence=assumptions.confidence)


def _plan_rates(tables: Mapping[str, pl.DataFrame], campaign_id: str) -> dict[str, float]:
    plans = tables.get("plans")
    if plans is None:
        return {}
    mine = plans.filter(pl.col("campaign_id") == campaign_id)
    targets = dict(zip(mine["metric"], mine["target"], strict=True))
    return {t: float(targets[m]) for t, m in STAGE_METRICS.items() if m in targets}


# --- callouts ----------------------------------------------------------------------------------------


def _callout(
    overall: StageComparison,
    comparisons: Sequence[StageComparison],
    cur: Counts,
    base: Counts,
    plan: Mapping[str, float],
    money: _Money,
    onset: Onset | None,
) -> Callout:
    transition = overall.transition
    losses = {}
    for c in comparisons:
        if c.transition == transition and c.channel != ALL:
            (cs, ct), (bs, bt) = (
                cur.get((transition, c.channel), (0, 0)),
                base.get((transition, c.channel), (0, 0)),
            )
            if ct and bt and c.note is None:
                losses[c.channel] = (bs / bt - cs / ct) * ct
    positive = sum(v for v in losses.values() if v > 0)
    drivers = tuple(
        sorted(
            (
                Driver(
                    channel=c.channel,
                    lost=losses[c.channel],
                    share=losses[c.channel] / positive,
                    current=c.current,
                    baseline=c.baseline,
                    q_value=c.q_value or 0.0,
                )
                for c in comparisons
                if c.transition == transition
                and c.channel != ALL
                and c.degraded
                and losses.get(c.channel, 0) > 0
            ),
            key=lambda d: -d.lost,
        )
    )
    targets: list[tuple[Literal["baseline", "plan"], float | None]] = [("baseline", None)]
    if transition in plan:
        targets.append(("plan", plan[transition]))
    restorations = tuple(
        r
        for r in (money.restore(transition, base[transition, ALL], t, v) for t, v in targets)
        if r is not None
    )
    name = label(transition)
    text = (
        f"{name} fell {-(overall.relative_change or 0):.0%} against the baseline "
        f"({overall.current.value:.1%} vs {overall.baseline.value:.1%})"
    )
    if drivers:
        text += ", driven by " + ", ".join(f"{d.channel} ({d.share:.0%} of the loss)" for d in drivers)
    if onset is not None:
        text += f", from {onset.date} (campaign day {onset.day}; between {onset.earliest} and {onset.latest})"
    text += "".join(f"; {r.text}" for r in restorations)
    return Callout(
        transition=transition,
        label=name,
        relative_change=overall.relative_change or 0.0,
        drivers=drivers,
        restorations=restorations,
        onset=onset,
        text=text,
    )


class _Money:
    """What extra conversions at one stage are worth further down the current campaign's funnel."""

    def __init__(self, rows: CampaignRows, counts: Counts, assumptions: Assumptions, currency: str) -> None:
        self.counts, self.assumptions, self.currency = counts, assumptions, currency
        deals = rows.deals.filter(pl.col("amount").is_not_null())
        won = deals.filter(pl.col("won").fill_null(False))
        # sorted: the bootstrap draws by position, and the result must not depend on row order
        self.amounts = np.sort(deals["amount"].to_numpy().astype(float))
        self.revenues = np.sort(
            won.select(pl.coalesce("revenue", "amount")).to_series().to_numpy().astype(float)
        )

    def restore(
        self,
        transition: str,
        baseline: tuple[int, int],
        target: Literal["baseline", "plan"],
        plan_rate: float | None,
    ) -> Restoration | None:
        a = self.assumptions
        rng = np.random.default_rng(a.seed)
        n = a.bootstrap_samples
        successes, trials = self.counts[transition, ALL]
        bs, bt = baseline
        goal = bs / bt if plan_rate is None else plan_rate
        if goal * trials <= successes:
            return None
        draws = rng.beta(bs + 0.5, bt - bs + 0.5, n) if plan_rate is None else np.full(n, plan_rate)
        extra_value, extra_draws = goal * trials - successes, np.maximum(draws * trials - successes, 0.0)
        stage = transition.split("->")[1]
        kind: Literal["pipeline", "revenue"] = "revenue" if stage == "won" else "pipeline"
        carry_value, carry_draws = self._carry(stage, "won" if kind == "revenue" else "opportunities", rng, n)
        values = self.revenues if kind == "revenue" else self.amounts
        if values.size == 0:
            money = Estimate.insufficient(f"no {kind} deal in the campaign to value the extra {stage}")
        else:
            means = values[rng.integers(0, values.size, (n, values.size))].mean(axis=1)
            money = _estimate(
                extra_value * carry_value * float(values.mean()), extra_draws * carry_draws * means, a
            )
        extra = _estimate(extra_value, extra_draws, a)
        what = f"{target} ({goal:.1%})"
        text = f"restoring {label(transition)} to {what} adds ~{extra_value:.0f} {_NAMES[stage][1]}"
        if extra.interval is not None:
            text += f" [{extra.interval.low:.0f}, {extra.interval.high:.0f}]"
        if money.value is not None and money.interval is not None:
            cur = f"{self.currency} " if self.currency else ""
            text += (
                f", ~{cur}{money.value:,.0f} {kind} [{money.interval.low:,.0f}, {money.interval.high:,.0f}]"
            )
        return Restoration(
            target=target,
            target_rate=goal,
            extra=extra,
            extra_stage=stage,
            money=money,
            money_kind=kind,
            text=text,
        )

    def _carry(self, stage: str, end: str, rng: np.random.Generator, n: int) -> tuple[float, np.ndarray]:
        """The share of `stage` conversions that reach `end` at the current campaign's rates."""
        value, draws = 1.0, np.ones(n)
        for a, b in TRANSITIONS[STAGES.index(stage) : STAGES.index(end)]:
            s, t = self.counts.get((f"{a}->{b}", ALL), (0, 0))
            s = min(s, t)
            value *= s / t if t else 0.0
            draws *= rng.beta(s + 0.5, t - s + 0.5, n) if t else 0.0
        return value, draws


def _estimate(value: float, draws: np.ndarray, assumptions: Assumptions) -> Estimate:
    alpha = (1 - assumptions.confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    interval = Interval(low=float(low), high=float(high), level=assumptions.confidence, method="bootstrap")
    return Estimate(value=value, interval=interval)


def _currency(rows: CampaignRows) -> str:
    if "currency" not in rows.ads.columns:
        return ""
    currencies = rows.ads["currency"].drop_nulls().unique()
    return currencies[0] if currencies.len() == 1 else ""


# --- onset ------------------------------------------------------------------------------------------


def _daily(rows: CampaignRows, transition: str, horizon: dt.timedelta) -> pl.DataFrame:
    """The current campaign's (day, s, t) for one transition."""
    a, b = transition.split("->")
    if a == "impressions":
        return rows.ads.group_by("day").agg(s=pl.col("clicks").sum(), t=pl.col("impressions").sum())
    if a == "clicks":
        clicks = rows.ads.group_by("day").agg(t=pl.col("clicks").sum())
        paid = rows.sessions.filter(pl.col("channel").is_in(rows.ads["channel"].unique().to_list()))
        sessions = paid.group_by(day=pl.col("timestamp").dt.date()).len("s")
        return clicks.join(sessions, on="day", how="full", coalesce=True)
    if a == "sessions":
        sessions = rows.sessions.group_by(day=pl.col("timestamp").dt.date()).len("t")
        leads = rows.leads.filter(pl.col("channel").is_in(rows.sessions["channel"].unique().to_list()))
        created = leads.group_by(day=pl.col("created_at").dt.date()).len("s")
        return sessions.join(created, on="day", how="full", coalesce=True)
    return (
        rows.leads.filter(pl.col(f"reached_{a}") & pl.col(f"at_{a}").is_not_null())
        .group_by(day=pl.col(f"at_{a}").dt.date())
        .agg(s=_within(a, b, horizon).sum(), t=pl.len())
    )


def _onset(
    rows: CampaignRows, campaign: Campaign, transition: str, horizon: dt.timedelta, assumptions: Assumptions
) -> Onset | None:
    daily = (
        _daily(rows, transition, horizon)
        .filter(pl.col("day").is_between(campaign.start, campaign.end))
        .fill_null(0)
        .sort("day")
    )
    days = daily["day"].to_list()
    s, t = daily["s"].to_numpy().astype(float), daily["t"].to_numpy().astype(float)
    candidates = range(_MIN_ONSET_DAYS, len(days) - _MIN_ONSET_DAYS + 1)
    ll = {k: _loglik(s[:k].sum(), t[:k].sum()) + _loglik(s[k:].sum(), t[k:].sum()) for k in candidates}
    if not ll:
        return None
    best = max(ll, key=lambda k: (ll[k], -k))
    plausible = [k for k in ll if ll[best] - ll[k] <= chi2.ppf(assumptions.confidence, 1) / 2]
    sb, tb, sa, ta = (int(x) for x in (s[:best].sum(), t[:best].sum(), s[best:].sum(), t[best:].sum()))
    if sb > tb or sa > ta or not tb or not ta or sa / ta >= sb / tb:
        return None
    p = min(1.0, two_proportion_p(sb, tb, sa, ta) * len(candidates))
    if p >= 1 - assumptions.confidence:
        return None
    return Onset(
        date=days[best],
        day=(days[best] - campaign.start).days + 1,
        earliest=days[min(plausible)],
        latest=days[max(plausible)],
        before=_rate(sb, tb, assumptions),
        after=_rate(sa, ta, assumptions),
        p_value=p,
    )


def _loglik(successes: float, trials: float) -> float:
    if trials <= 0 or successes > trials:
        return 0.0 if trials <= 0 else -math.inf
    p = successes / trials
    out = 0.0
    if successes > 0:
        out += successes * math.log(p)
    if trials - successes > 0:
        out += (trials - successes) * math.log(1 - p)
    return out
