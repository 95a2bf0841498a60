"""Governed metrics: one id, one formula, one direction and one group per metric (DOMAIN.md), and each
metric's actual value for one campaign, computed from the unified tables with its uncertainty.

Why a registry: plan files, scorecards, findings, the API and the UI must all mean the same thing by
`cpl`; a metric is looked up by id, and an id nobody defined is an error that lists the known ones,
never a silently empty row. Users add their own metrics with the same attributes; a custom metric
defined as a ratio of base quantities (`numerator` / `denominator`) is computed like a governed one.

Which rows are a campaign's (`CampaignMap`): an ad row by its platform campaign id; a lead, a session
or a deal by the platform campaign id it carries when the map knows that id; otherwise (no id, or an
id the map does not know: an email send, an organic visit) by its time falling inside exactly one
campaign's dates (inclusive, UTC). Deals follow their lead; a row without a channel is "other". A
lead that reached a later stage reached the earlier ones too (CRMs skip stages), so the stage counts
never grow down the funnel.

How sure each value is:
- counts and sums of spend are records, exact (no interval);
- rates (`ctr`, `mql_rate`, ...) carry a Wilson interval;
- ratios of money to counts (`cpl`, `cac`, ...) and `romi` carry a delta-method interval on the log
  scale: counts vary as Poisson, deal sums as compound Poisson, spend not at all;
- `cycle_time` is a median with a percentile bootstrap interval over the won leads.
A rate or ratio whose sample (the rate's trials, the ratio's smallest count) is below
`Assumptions.min_conversions_per_week` is reported as "insufficient data" (its value kept, but never
shown as a confident number). Signals below that many conversions *per week* of the campaign keep
their value and carry a "low volume" note: a hypothesis to test, not a finding.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

from diagnostics.assumptions import Assumptions
from diagnostics.stats import bootstrap, rate
from diagnostics.types import Estimate, Interval

Direction = Literal["higher", "lower", "target"]
Group = Literal["outcome", "efficiency", "quality", "operational"]

STAGES: tuple[str, ...] = (
    "impressions",
    "clicks",
    "sessions",
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "won",
)
"""The funnel, reach to revenue, in order."""
LEAD_STAGES: dict[str, str] = {
    "leads": "created_at",
    "mqls": "mql_at",
    "sqls": "sql_at",
    "opportunities": "opportunity_at",
    "won": "won_at",
}
"""The CRM stages and the lead column that dates each."""
BASE_QUANTITIES: tuple[str, ...] = ("spend", *STAGES, "pipeline", "revenue")
"""What the tables yield directly; every ratio metric divides two of these."""
_DEFAULTS = Assumptions()


class UnknownMetric(LookupError):
    """A metric id nobody defined (the message lists the known ones)."""


class Metric(BaseModel):
    """A governed metric definition. `numerator`/`denominator` (base quantities) make it computable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    formula: str = Field(min_length=1)
    direction: Direction
    group: Group
    unit: str = "number"
    display_name: str = ""
    numerator: str | None = None
    denominator: str | None = None
    scale: float = Field(1.0, gt=0)
    target: float | None = None
    """For direction "target": the value both sides of which are adverse (pacing: 1.0)."""

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError(f"metric {self.id!r}: give both numerator and denominator, or neither")
        for part in (self.numerator, self.denominator):
            if part is not None and part not in BASE_QUANTITIES:
                known = ", ".join(BASE_QUANTITIES)
                raise ValueError(f"metric {self.id!r}: {part!r} is not a base quantity (known: {known})")
        if self.target is not None and self.direction != "target":
            raise ValueError(f"metric {self.id!r}: a target value needs direction 'target'")
        return self

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data.get("display_name") and isinstance(data.get("id"), str):
            return {**data, "display_name": data["id"].replace("_", " ")}
        return data


def _metric(
    metric_id: str, name: str, formula: str, direction: Direction, group: Group, unit: str, **kw: Any
) -> Metric:
    return Metric(
        id=metric_id, display_name=name, formula=formula, direction=direction, group=group, unit=unit, **kw
    )


_COUNT_NAMES = {
    "impressions": "Impressions",
    "clicks": "Clicks",
    "sessions": "Sessions",
    "leads": "Leads",
    "mqls": "MQLs",
    "sqls": "SQLs",
    "opportunities": "Opportunities",
    "won": "Won deals",
}
_GOVERNED: tuple[Metric, ...] = (
    _metric("spend", "Spend", "sum of spend", "lower", "efficiency", "currency"),
    _metric("cpl", "Cost per lead", "spend / leads", "lower", "efficiency", "currency per lead",
            numerator="spend", denominator="leads"),
    _metric("cost_per_mql", "Cost per MQL", "spend / mqls", "lower", "efficiency", "currency per MQL",
            numerator="spend", denominator="mqls"),
    _metric("cac", "Customer acquisition cost", "spend / won", "lower", "efficiency", "currency per deal",
            numerator="spend", denominator="won"),
    _metric("cpc", "Cost per click", "spend / clicks", "lower", "efficiency", "currency per click",
            numerator="spend", denominator="clicks"),
    _metric("cpm", "Cost per mille", "1000 x spend / impressions", "lower", "efficiency",
            "currency per 1000 impressions", numerator="spend", denominator="impressions", scale=1000.0),
    _metric("cycle_time", "Cycle time", "median days from lead to won", "lower", "efficiency", "days"),
    *(_metric(s, _COUNT_NAMES[s], f"count of {s}", "higher", "outcome", "count") for s in STAGES),
    _metric("pipeline", "Pipeline", "sum of opportunity amounts created", "higher", "outcome", "currency"),
    _metric("revenue", "Revenue", "sum of closed-won revenue", "higher", "outcome", "currency"),
    _metric("romi", "ROMI", "revenue / spend", "higher", "outcome", "ratio",
            numerator="revenue", denominator="spend"),
    _metric("ctr", "CTR", "clicks / impressions", "higher", "quality", "rate",
            numerator="clicks", denominator="impressions"),
    _metric("landing_cvr", "Landing-page conversion", "leads / sessions", "higher", "quality", "rate",
            numerator="leads", denominator="sessions"),
    _metric("mql_rate", "MQL rate", "mqls / leads", "higher", "quality", "rate",
            numerator="mqls", denominator="leads"),
    _metric("mql_to_sql_rate", "MQL to SQL rate", "sqls / mqls", "higher", "quality", "rate",
            numerator="sqls", denominator="mqls"),
    _metric("sqo_rate", "SQO rate", "opportunities / sqls", "higher", "quality", "rate",
            numerator="opportunities", denominator="sqls"),
    _metric("win_rate", "Win rate", "won / opportunities", "higher", "quality", "rate",
            numerator="won", denominator="opportunities"),
    _metric("utm_integrity", "UTM integrity",
            "share of leads (and of spend) whose campaign ids join across ad platform and CRM",
            "higher", "operational", "rate"),
    _metric("pacing", "Delivery pacing", "spend to date / planned spend to date", "target", "operational",
            "ratio", target=1.0),
)  # fmt: skip


class MetricRegistry(BaseModel):
    """The metric definitions in force: the governed ones plus any a user registered."""

    model_config = ConfigDict(frozen=True)

    metrics: dict[str, Metric]

    def get(self, metric_id: str) -> Metric:
        try:
            return self.metrics[metric_id]
        except KeyError:
            known = ", ".join(self.metrics)
            raise UnknownMetric(f"unknown metric {metric_id!r} (known: {known})") from None

    def register(self, metric: Metric | Mapping[str, Any]) -> MetricRegistry:
        """A registry with `metric` added (validated); redefining an existing id differently is an error."""
        new = metric if isinstance(metric, Metric) else Metric.model_validate(metric)
        old = self.metrics.get(new.id)
        if old is not None and old != new:
            raise ValueError(f"metric {new.id!r} is already defined ({old.formula}); one id, one definition")
        return MetricRegistry(metrics={**self.metrics, new.id: new})


GOVERNED = MetricRegistry(metrics={m.id: m for m in _GOVERNED})


# --- campaigns and their rows -------------------------------------------------------------------------


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    start: dt.date
    end: dt.date
    hypothesis: str | None = None
    hypothesis_documented_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Campaign:
        if self.end < self.start:
            raise ValueError(f"campaign {self.id!r} ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end + 1 day) in UTC."""
        start = dt.datetime.combine(self.start, dt.time(), dt.UTC)
        return start, start + dt.timedelta(days=self.days)


class CampaignMap(BaseModel):
    """Which Warrant campaign each platform campaign id belongs to, the campaigns' dates, and the
    unified channel of each ad platform (ad rows carry a platform, not a channel)."""

    model_config = ConfigDict(frozen=True)

    campaigns: dict[str, Campaign]
    platform_campaigns: dict[str, str]
    platform_channels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> CampaignMap:
        unknown = sorted(set(self.platform_campaigns.values()) - set(self.campaigns))
        if unknown:
            raise ValueError(f"platform campaign ids map to unknown campaigns: {', '.join(unknown)}")
        return self

    def campaign(self, campaign_id: str) -> Campaign:
        try:
            return self.campaigns[campaign_id]
        except KeyError:
            known = ", ".join(self.campaigns)
            raise LookupError(f"unknown campaign {campaign_id!r} (known: {known})") from None

    @classmethod
    def from_campaigns_json(cls, campaigns: Sequence[Mapping[str, Any]]) -> CampaignMap:
        """From the parsed `campaigns.json` of an export set (id, start, end, platforms -> campaigns)."""
        ids: dict[str, str] = {}
        channels: dict[str, str] = {}
        for c in campaigns:
            for platform in c.get("platforms", []):
                channels[platform["platform"]] = platform["channel"]
                for pc in platform.get("campaigns", []):
                    ids[str(pc["campaign_id"])] = c["id"]
        return cls(
            campaigns={c["id"]: Campaign.model_validate(c) for c in campaigns},
            platform_campaigns=ids,
            platform_channels=channels,
        )


_TS = pl.Datetime("us", "UTC")
_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "ad_performance": {
        "date": pl.Date(), "period_start": pl.Date(), "platform": pl.String(), "campaign_id": pl.String(),
        "ad_id": pl.String(), "creative_id": pl.String(), "creative_name": pl.String(),
        "audience": pl.String(), "impressions": pl.Int64(), "clicks": pl.Int64(), "spend": pl.Float64(),
    },
    "touchpoints": {
        "timestamp": _TS, "channel": pl.String(), "event_type": pl.String(), "campaign_id": pl.String(),
    },
    "leads": {
        "lead_id": pl.String(), "created_at": _TS, "channel": pl.String(), "campaign_id": pl.String(),
        "utm_content": pl.String(), "mql_at": _TS, "sql_at": _TS, "opportunity_at": _TS, "won_at": _TS,
        "converted": pl.Boolean(), "opportunity_amount": pl.Float64(), "revenue": pl.Float64(),
    },
    "opportunities": {
        "created_at": _TS, "lead_id": pl.String(), "campaign_id": pl.String(), "amount": pl.Float64(),
        "won": pl.Boolean(), "revenue": pl.Float64(),
    },
}  # fmt: skip
"""The columns the engine reads, typed: a hand-made table may lack some (they come empty) or hold an
all-empty or integer id column (cast)."""


@dataclass(frozen=True)
class CampaignRows:
    """The unified tables' rows that belong to campaigns, each with `campaign` and `channel` columns.

    `leads` and `sessions` carry `assigned` ("platform id", or the time column that placed them);
    `leads` also `reached_<stage>` flags and `at_<stage>` times (a later stage implies the earlier
    ones); `deals` are the opportunities with the channel and creative link (`utm_content`) of
    their lead."""

    ads: pl.DataFrame
    sessions: pl.DataFrame
    leads: pl.DataFrame
    deals: pl.DataFrame

    def only(self, campaign_ids: Collection[str], channel: str | None = None) -> CampaignRows:
        keep = pl.col("campaign").is_in(list(campaign_ids))
        if channel is not None:
            keep &= pl.col("channel") == channel
        return CampaignRows(
            *(frame.filter(keep) for frame in (self.ads, self.sessions, self.leads, self.deals))
        )


def campaign_rows(tables: Mapping[str, pl.DataFrame], campaigns: CampaignMap) -> CampaignRows:
    """Assign every row of the tables to its campaign (see the module docstring); others are dropped."""
    ads = _table(tables, "ad_performance")
    ads = ads.with_columns(
        campaign=_by_id(campaigns),
        channel=pl.col("platform").replace_strict(
            campaigns.platform_channels, default="other", return_dtype=pl.String
        ),
        day=pl.coalesce("date", "period_start"),
    ).filter(pl.col("campaign").is_not_null())
    touch = _table(tables, "touchpoints").filter(pl.col("event_type") == "session_start")
    sessions = _assign(touch, "timestamp", campaigns).with_columns(pl.col("channel").fill_null("other"))
    leads = _assign(_table(tables, "leads"), "created_at", campaigns).with_columns(
        pl.col("channel").fill_null("other")
    )
    leads = _reach(leads)
    return CampaignRows(ads=ads, sessions=sessions, leads=leads, deals=_deals(tables, leads, campaigns))


def _by_id(campaigns: CampaignMap) -> pl.Expr:
    """The Warrant campaign of a row's platform `campaign_id`, null where the map does not know it."""
    return pl.col("campaign_id").replace_strict(
        campaigns.platform_campaigns, default=None, return_dtype=pl.String
    )


def _table(tables: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame:
    frame = tables.get(name)
    if frame is None:
        return pl.DataFrame(schema=_COLUMNS[name])
    fixes = [
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
        for c, t in _COLUMNS[name].items()
        if frame.schema.get(c) != t
    ]
    return frame.with_columns(fixes) if fixes else frame


def _assign(frame: pl.DataFrame, time: str, campaigns: CampaignMap) -> pl.DataFrame:
    by_id = _by_id(campaigns)
    inside = [
        (pl.col(time) >= start) & (pl.col(time) < end)
        for start, end in (c.window for c in campaigns.campaigns.values())
    ]
    hits = pl.sum_horizontal([i.fill_null(False).cast(pl.Int32) for i in inside]) if inside else pl.lit(0)
    by_date = pl.coalesce(
        [pl.when(i).then(pl.lit(cid)) for i, cid in zip(inside, campaigns.campaigns, strict=True)]
        or [pl.lit(None, pl.String)]
    )
    by_date = pl.when(hits == 1).then(by_date)
    return frame.with_columns(
        campaign=pl.coalesce(by_id, by_date),
        assigned=pl.when(by_id.is_not_null()).then(pl.lit("platform id")).otherwise(pl.lit(time)),
    ).filter(pl.col("campaign").is_not_null())


def _reach(leads: pl.DataFrame) -> pl.DataFrame:
    """`reached_<stage>` and `at_<stage>`: a later stage implies the earlier ones (its time stands in)."""
    won = pl.col("won_at").is_not_null() | pl.col("converted").fill_null(False)
    reached: dict[str, pl.Expr] = {"won": won}
    at: dict[str, pl.Expr] = {"won": pl.col("won_at")}
    for stage, later in reversed(list(itertools.pairwise(LEAD_STAGES))):
        reached[stage] = pl.col(LEAD_STAGES[stage]).is_not_null() | reached[later]
        at[stage] = pl.coalesce(pl.col(LEAD_STAGES[stage]), at[later])
    reached["leads"] = pl.lit(True)
    return leads.with_columns(
        *(e.alias(f"reached_{s}") for s, e in reached.items()),
        *(e.alias(f"at_{s}") for s, e in at.items()),
    )


def _deals(tables: Mapping[str, pl.DataFrame], leads: pl.DataFrame, campaigns: CampaignMap) -> pl.DataFrame:
    """Opportunities with their lead's campaign, channel and creative; without an opportunities table,
    the deal amounts a CRM keeps on the lead (`opportunity_amount`, `revenue`)."""
    link = leads.select("lead_id", "campaign", "channel", "utm_content")
    opps = _table(tables, "opportunities")
    if opps.height == 0:
        return (
            leads.filter(pl.col("opportunity_amount").is_not_null())
            .select("lead_id", "campaign", "channel", "utm_content", created_at="at_opportunities",
                    amount="opportunity_amount", won="reached_won", revenue="revenue")
        )  # fmt: skip
    by_id = _by_id(campaigns)
    joined = opps.select("lead_id", "created_at", "amount", "won", "revenue", by_id.alias("by_id")).join(
        link, on="lead_id", how="left"
    )
    return (
        joined.with_columns(campaign=pl.coalesce("campaign", "by_id"))
        .filter(pl.col("campaign").is_not_null())
        .select("lead_id", "campaign", "channel", "utm_content", "created_at", "amount", "won", "revenue")
    )


# --- quantities and their uncertainty -------------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A base quantity with what its uncertainty needs: the sample behind it and its relative variance."""

    value: float
    n: int | None  # the count or number of deals behind it; None for a record (spend)
    relvar: float  # Var(X) / X^2: 1/n for a Poisson count, sum(x^2)/S^2 for a deal sum, 0 for a record
    count: bool

    @classmethod
    def counted(cls, n: float) -> Quantity:
        """A count, Poisson: conversions, leads (a fractional one from attribution keeps no proportion)."""
        return cls(float(n), round(n), 1 / n if n > 0 else math.inf, float(n).is_integer())

    @classmethod
    def record(cls, value: float) -> Quantity:
        """A bookkept amount such as spend: what was paid, without sampling error."""
        return cls(float(value), None, 0.0, False)


def _money(amounts: pl.Series) -> Quantity:
    values = amounts.drop_nulls().to_numpy().astype(float)
    total = float(values.sum())
    relvar = float((values**2).sum()) / total**2 if total > 0 else math.inf
    return Quantity(total, int(values.size), relvar, False)


def quantities(rows: CampaignRows) -> dict[str, Quantity]:
    """Every base quantity of the rows (one campaign, or one campaign's channel)."""
    won_deals = rows.deals.filter(pl.col("won").fill_null(False))
    out = {
        "spend": Quantity.record(rows.ads["spend"].sum()),
        "impressions": Quantity.counted(int(rows.ads["impressions"].sum())),
        "clicks": Quantity.counted(int(rows.ads["clicks"].sum())),
        "sessions": Quantity.counted(rows.sessions.height),
        "pipeline": _money(rows.deals["amount"]),
        "revenue": _money(won_deals.select(pl.coalesce("revenue", "amount")).to_series()),
    }
    out |= {stage: Quantity.counted(int(rows.leads[f"reached_{stage}"].sum())) for stage in LEAD_STAGES}
    return out


def ratio(
    numerator: Quantity,
    denominator: Quantity,
    *,
    scale: float = 1.0,
    minimum: int = _DEFAULTS.min_conversions_per_week,
    confidence: float = _DEFAULTS.confidence,
    weeks: float | None = None,
) -> Estimate:
    """`scale * numerator / denominator`: Wilson for a rate of counts, log-scale delta method otherwise."""
    if denominator.value <= 0:
        return Estimate.insufficient("the denominator is zero", n=denominator.n)
    value = scale * numerator.value / denominator.value
    if numerator.count and denominator.count:
        successes, trials = int(numerator.value), int(denominator.value)
        if successes > trials:
            return Estimate.insufficient(f"not a proportion ({successes} > {trials})", n=trials, value=value)
        estimate = rate(successes, trials, minimum=minimum, confidence=confidence)
        if scale != 1:
            interval = estimate.interval
            if interval is not None:
                interval = interval.model_copy(
                    update={"low": interval.low * scale, "high": interval.high * scale}
                )
            estimate = estimate.model_copy(update={"value": value, "interval": interval})
        return _low_volume(estimate, successes, weeks, minimum)
    samples = [q.n for q in (numerator, denominator) if q.n is not None]
    n = min(samples) if samples else None
    if n is not None and n < minimum:
        return Estimate.insufficient(f"{n} < {minimum} needed", n=n, value=value)
    interval = None
    relvar = numerator.relvar + denominator.relvar
    if 0 < relvar < math.inf and value > 0:
        half = float(stats.norm.ppf(0.5 + confidence / 2)) * math.sqrt(relvar)
        interval = Interval(
            low=value * math.exp(-half), high=value * math.exp(half), level=confidence, method="delta-log"
        )
    return _low_volume(Estimate(value=value, interval=interval, n=n), n, weeks, minimum)


def _low_volume(estimate: Estimate, conversions: int | None, weeks: float | None, minimum: int) -> Estimate:
    if not estimate.sufficient or conversions is None or not weeks:
        return estimate
    per_week = conversions / weeks
    if per_week >= minimum:
        return estimate
    note = f"low volume: {per_week:.1f} conversions per week < {minimum}; a hypothesis, not a finding"
    return estimate.model_copy(update={"note": note})


def _exact(quantity: Quantity) -> Estimate:
    return Estimate(value=quantity.value, n=quantity.n)


# --- a campaign's actuals -----------------------------------------------------------------------------


class CampaignActuals(BaseModel):
    """Every computable metric's actual value for one campaign (or one of its channels)."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    channel: str | None
    start: dt.date
    end: dt.date
    values: dict[str, Estimate]
    leads_by_platform_id: int
    leads_by_created_at: int
    notes: tuple[str, ...]
    assumptions: Assumptions


def campaign_actuals(
    tables: Mapping[str, pl.DataFrame],
    campaigns: CampaignMap,
    campaign_id: str,
    *,
    channel: str | None = None,
    registry: MetricRegistry = GOVERNED,
    assumptions: Assumptions = _DEFAULTS,
    planned_spend: float | None = None,
    as_of: dt.datetime | None = None,
) -> CampaignActuals:
    """The actuals of `campaign_id` (optionally one channel); `planned_spend` (the plan's `spend`)
    and `as_of` (default: after the campaign) give pacing, the spend to date against the plan to date."""
    campaign = campaigns.campaign(campaign_id)
    rows = campaign_rows(tables, campaigns).only([campaign_id], channel)
    q = quantities(rows)
    weeks = campaign.days / 7
    values: dict[str, Estimate] = {}
    for metric in registry.metrics.values():
        if metric.id in q:
            values[metric.id] = _exact(q[metric.id])
        elif metric.numerator is not None and metric.denominator is not None:
            values[metric.id] = ratio(
                q[metric.numerator],
                q[metric.denominator],
                scale=metric.scale,
                minimum=assumptions.min_conversions_per_week,
                confidence=assumptions.confidence,
                weeks=weeks,
            )
    if "cycle_time" in registry.metrics:
        values["cycle_time"] = cycle_time(rows.leads, assumptions)
    if "utm_integrity" in registry.metrics:
        values["utm_integrity"] = utm_integrity(rows, tables, campaigns, assumptions)
    if "pacing" in registry.metrics:
        values["pacing"] = pacing(rows.ads, campaign, planned_spend, as_of)
    by_id = int((rows.leads["assigned"] == "platform id").sum())
    notes = (
        f"leads: {by_id} by their platform campaign id, {rows.leads.height - by_id} by created_at within "
        f"{campaign.start}..{campaign.end} (no id, or one the campaign map does not know)",
        f"rates and ratios need a sample of {assumptions.min_conversions_per_week} "
        f"(min_conversions_per_week); fewer per week is marked low volume",
    )
    return CampaignActuals(
        campaign_id=campaign_id,
        channel=channel,
        start=campaign.start,
        end=campaign.end,
        values=values,
        leads_by_platform_id=by_id,
        leads_by_created_at=rows.leads.height - by_id,
        notes=notes,
        assumptions=assumptions,
    )


def cycle_time(leads: pl.DataFrame, assumptions: Assumptions = _DEFAULTS) -> Estimate:
    """Median days from lead creation to won, with a bootstrap interval over the won leads."""
    won = leads.filter(pl.col("won_at").is_not_null() & pl.col("created_at").is_not_null())
    days = np.sort(((won["won_at"] - won["created_at"]).dt.total_seconds() / 86_400).to_numpy())
    if days.size == 0:
        return Estimate.insufficient("no won lead with dates", n=0)
    value = float(np.median(days))
    if days.size < assumptions.min_conversions_per_week:
        return Estimate.insufficient(
            f"{days.size} < {assumptions.min_conversions_per_week} needed", n=int(days.size), value=value
        )
    interval = bootstrap(
        lambda idx: float(np.median(days[idx])),
        int(days.size),
        samples=assumptions.bootstrap_samples,
        confidence=assumptions.confidence,
        seed=assumptions.seed,
    )
    return Estimate(value=value, interval=interval, n=int(days.size))


def utm_integrity(
    rows: CampaignRows,
    tables: Mapping[str, pl.DataFrame],
    campaigns: CampaignMap,
    assumptions: Assumptions = _DEFAULTS,
) -> Estimate:
    """Share of the campaign's paid-channel leads whose campaign id is one the ad platforms report;
    the share of spend whose campaign id appears on some lead goes in the note."""
    ad_ids = _table(tables, "ad_performance")["campaign_id"].drop_nulls().unique()
    paid = rows.leads.filter(pl.col("channel").is_in(list(set(campaigns.platform_channels.values()))))
    joined = int(paid["campaign_id"].is_in(ad_ids.to_list()).sum())
    estimate = rate(
        joined, paid.height, minimum=assumptions.min_conversions_per_week, confidence=assumptions.confidence
    )
    lead_ids = rows.leads["campaign_id"].drop_nulls().unique()
    spend = float(rows.ads["spend"].sum())
    tied = float(rows.ads.filter(pl.col("campaign_id").is_in(lead_ids.to_list()))["spend"].sum())
    if spend > 0 and estimate.sufficient:
        return estimate.model_copy(
            update={"note": f"spend whose campaign id joins a lead: {tied / spend:.1%}"}
        )
    return estimate


def pacing(
    ads: pl.DataFrame, campaign: Campaign, planned_spend: float | None, as_of: dt.datetime | None = None
) -> Estimate:
    """Spend to date over planned spend to date (the plan spread evenly over the campaign's days)."""
    if planned_spend is None or planned_spend <= 0:
        return Estimate.insufficient("no planned spend")
    elapsed = campaign.days if as_of is None else (as_of.date() - campaign.start).days + 1
    elapsed = min(max(elapsed, 0), campaign.days)
    if elapsed == 0:
        return Estimate.insufficient("the campaign has not started")
    last = campaign.start + dt.timedelta(days=elapsed - 1)
    spent = float(ads.filter(pl.col("day").is_null() | (pl.col("day") <= last))["spend"].sum())
    return Estimate(value=spent / (planned_spend * elapsed / campaign.days))
