"""The KPI scorecard (DOMAIN.md step 2): plan, actual, variance and a status per governed metric.

Why statuses depend on direction and group: a CPL 8% above plan is money leaking (OVER PLAN), while
pipeline 8% above plan is a win to replicate (AHEAD); the same number means opposite things.
Bands, with `a` the adverse deviation as a fraction of plan (`variance` for "lower" metrics,
`-variance` for "higher" ones, `|variance|` for "target" ones) and t = `Assumptions.scorecard`:

    a > t.flag                                    FLAGGED
    t.on_track < a <= t.over_plan, efficiency     OVER PLAN   (spend is an efficiency metric)
    t.over_plan < a <= t.flag, efficiency         NEAR FLAG
    t.on_track < a <= t.flag, any other group     NEAR FLAG
    favourable by more than t.on_track            AHEAD       (never for "target" metrics)
    otherwise                                     ON TRACK

A deviation within 1e-12 of a threshold is on it, so 105 against 100 is exactly 5% despite binary floats.

Where the plan is silent, a benchmark (table `benchmarks`: channel, metric, value, source) stands in
and the row says exactly which values were used and how they were combined across the campaign's
channels. A plan written after launch, or a missing or late hypothesis, is itself a finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from diagnostics.assumptions import Assumptions, ScorecardThresholds
from diagnostics.metrics import (
    GOVERNED,
    Campaign,
    CampaignMap,
    Direction,
    Group,
    Metric,
    MetricRegistry,
    Quantity,
    UnknownMetric,
    campaign_actuals,
    campaign_rows,
    quantities,
)
from diagnostics.types import Estimate, Interval

Status = Literal["ON TRACK", "AHEAD", "OVER PLAN", "NEAR FLAG", "FLAGGED"]
PlanSource = Literal["plan", "benchmark", "definition"]
GROUPS: tuple[Group, ...] = ("outcome", "efficiency", "quality", "operational")
_DEFAULTS = Assumptions()
_RESOLUTION = 1e-12
"""Deviations closer than this to a threshold are on it: 105 against 100 is 5%, whatever the floats say."""


def status(variance: float, direction: Direction, group: Group, thresholds: ScorecardThresholds) -> Status:
    """The label of a variance ((actual - plan) / plan) for a metric of this direction and group."""
    adverse = {"higher": -variance, "lower": variance, "target": abs(variance)}[direction]
    if adverse > thresholds.flag + _RESOLUTION:
        return "FLAGGED"
    if adverse > thresholds.on_track + _RESOLUTION:
        over_plan = group == "efficiency" and adverse <= thresholds.over_plan + _RESOLUTION
        return "OVER PLAN" if over_plan else "NEAR FLAG"
    if direction != "target" and -adverse > thresholds.on_track + _RESOLUTION:
        return "AHEAD"
    return "ON TRACK"


class ScorecardRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    display_name: str
    group: Group
    direction: Direction
    unit: str
    plan: float | None
    plan_source: PlanSource | None
    assumption: str | None
    """Where the plan did not come from the plan table: exactly which assumption stood in."""
    actual: Estimate
    variance: Estimate | None
    status: Status | None
    note: str | None = None


class PlanFinding(BaseModel):
    """A gap in the objectives themselves (DOMAIN.md step 1)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["missing_plan", "back_dated_plan", "missing_hypothesis", "back_dated_hypothesis"]
    detail: str
    documented_at: dt.datetime | None = None
    metrics: tuple[str, ...] = ()


class Scorecard(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str | None
    rows: tuple[ScorecardRow, ...]
    findings: tuple[PlanFinding, ...]
    assumptions: Assumptions
    assumptions_used: tuple[str, ...]
    """Every stand-in for a missing plan target, in words (empty when the plan covered every row)."""

    def row(self, metric: str) -> ScorecardRow:
        for r in self.rows:
            if r.metric == metric:
                return r
        raise UnknownMetric(
            f"no scorecard row for {metric!r} (rows: {', '.join(r.metric for r in self.rows)})"
        )

    def render(self) -> str:
        """A plain-text table, the thresholds it used first."""
        t = self.assumptions.scorecard
        lines = [
            f"thresholds: ON TRACK/AHEAD at {t.on_track:.0%}, OVER PLAN to {t.over_plan:.0%} "
            f"(spend and efficiency), FLAGGED beyond {t.flag:.0%}",
            f"{'group':<12} {'metric':<18} {'plan':>12} {'actual':>32} {'variance':>9}  status",
        ]
        for r in self.rows:
            plan = "-" if r.plan is None else f"{r.plan:.4g}"
            variance = "-" if r.variance is None or r.variance.value is None else f"{r.variance.value:+.1%}"
            basis = f"  ({r.plan_source})" if r.plan_source not in (None, "plan") else ""
            shaky = " (insufficient data)" if r.status and not r.actual.sufficient else ""
            lines.append(
                f"{r.group:<12} {r.metric:<18} {plan:>12} {r.actual.format('.4g'):>32} {variance:>9}  "
                f"{r.status or '-'}{shaky}{basis}"
            )
        lines += [f"finding: {f.kind}: {f.detail}" for f in self.findings]
        lines += [f"assumption: {a}" for a in self.assumptions_used]
        return "\n".join(lines)


def scorecard(
    tables: Mapping[str, pl.DataFrame],
    campaigns: CampaignMap,
    campaign_id: str,
    *,
    registry: MetricRegistry = GOVERNED,
    assumptions: Assumptions = _DEFAULTS,
    as_of: dt.datetime | None = None,
) -> Scorecard:
    """The scorecard of one campaign from the unified tables, `plans` and `benchmarks` among them."""
    campaign = campaigns.campaign(campaign_id)
    plans = _plan_rows(tables, campaign_id, registry)
    targets = {row["metric"]: float(row["target"]) for row in plans.iter_rows(named=True)}
    actuals = campaign_actuals(
        tables,
        campaigns,
        campaign_id,
        registry=registry,
        assumptions=assumptions,
        planned_spend=targets.get("spend"),
        as_of=as_of,
    )
    blend = _Blender(tables, campaigns, campaign_id)
    rows = []
    for metric in _ordered(registry):
        if metric.id not in actuals.values:
            continue
        plan, source, assumption = _plan_for(metric, targets, blend)
        rows.append(_row(metric, plan, source, assumption, actuals.values[metric.id], assumptions.scorecard))
    return Scorecard(
        campaign_id=campaign_id,
        rows=tuple(rows),
        findings=_objective_findings(campaign, plans),
        assumptions=assumptions,
        assumptions_used=tuple(r.assumption for r in rows if r.assumption),
    )


def scorecard_from_table(
    df: pl.DataFrame, *, registry: MetricRegistry = GOVERNED, assumptions: Assumptions = _DEFAULTS
) -> Scorecard:
    """An analyst's table (metric, plan, actual; optional direction, group) as a scorecard.

    A governed id takes its definition from the registry (a conflicting direction or group is an
    error); any other id needs a direction and a group on its row and becomes a custom metric."""
    missing = [c for c in ("metric", "plan", "actual") if c not in df.columns]
    if missing:
        raise ValueError(f"the table needs columns metric, plan, actual (missing: {', '.join(missing)})")
    duplicated = df.filter(pl.col("metric").is_duplicated())["metric"].unique().sort().to_list()
    if duplicated:
        raise ValueError(f"metrics listed more than once: {', '.join(duplicated)}")
    rows = []
    for record in df.iter_rows(named=True):
        metric, registry = _table_metric(record, registry)
        actual = record["actual"]
        estimate = Estimate(value=float(actual)) if actual is not None else Estimate.insufficient("no actual")
        plan = None if record["plan"] is None else float(record["plan"])
        rows.append(
            _row(metric, plan, "plan" if plan is not None else None, None, estimate, assumptions.scorecard)
        )
    return Scorecard(
        campaign_id=None, rows=tuple(rows), findings=(), assumptions=assumptions, assumptions_used=()
    )


def _table_metric(record: Mapping[str, object], registry: MetricRegistry) -> tuple[Metric, MetricRegistry]:
    given = {k: record.get(k) for k in ("direction", "group") if record.get(k) is not None}
    metric_id = str(record["metric"])
    if metric_id in registry.metrics:
        metric = registry.get(metric_id)
        conflicts = [
            f"{k} {v!r} (governed: {getattr(metric, k)!r})"
            for k, v in given.items()
            if getattr(metric, k) != v
        ]
        if conflicts:
            raise ValueError(f"metric {metric_id!r} is governed; the table gives {', '.join(conflicts)}")
        return metric, registry
    if len(given) < 2:
        raise UnknownMetric(
            f"unknown metric {metric_id!r}: give its direction and group to use it as a custom metric "
            f"(known: {', '.join(registry.metrics)})"
        )
    registry = registry.register({"id": metric_id, "formula": "as given by the table", **given})
    return registry.get(metric_id), registry


def _ordered(registry: MetricRegistry) -> list[Metric]:
    return sorted(registry.metrics.values(), key=lambda m: GROUPS.index(m.group))


def _row(
    metric: Metric,
    plan: float | None,
    source: PlanSource | None,
    assumption: str | None,
    actual: Estimate,
    thresholds: ScorecardThresholds,
) -> ScorecardRow:
    variance, label, note = None, None, None
    if plan is None:
        note = "no plan target and no benchmark"
    elif plan <= 0:
        note = f"plan {plan} is not positive: no variance"
    elif actual.value is None:
        note = actual.note
    else:
        value = (actual.value - plan) / plan
        variance = _variance(value, actual, plan)
        label = status(value, metric.direction, metric.group, thresholds)
        if not actual.sufficient:
            note = f"status from a value that is not sufficient ({actual.note})"
    return ScorecardRow(
        metric=metric.id,
        display_name=metric.display_name,
        group=metric.group,
        direction=metric.direction,
        unit=metric.unit,
        plan=plan,
        plan_source=source,
        assumption=assumption,
        actual=actual,
        variance=variance,
        status=label,
        note=note,
    )


def _variance(value: float, actual: Estimate, plan: float) -> Estimate:
    """(actual - plan) / plan, the actual's interval carried over (the plan is a given number)."""
    interval = None
    if actual.interval is not None:
        a = actual.interval
        interval = Interval(
            low=(a.low - plan) / plan, high=(a.high - plan) / plan, level=a.level, method=a.method
        )
    return Estimate(
        value=value,
        interval=interval,
        n=actual.n,
        sufficient=actual.sufficient,
        note=actual.note,
    )


# --- the plan, its fallbacks and its findings -------------------------------------------------------


def _plan_rows(
    tables: Mapping[str, pl.DataFrame], campaign_id: str, registry: MetricRegistry
) -> pl.DataFrame:
    plans = tables.get("plans")
    if plans is None or plans.height == 0:
        return pl.DataFrame(
            schema={"campaign_id": pl.String, "metric": pl.String, "target": pl.Float64,
                    "documented_at": pl.Datetime("us", "UTC")}
        )  # fmt: skip
    mine = plans.filter(pl.col("campaign_id") == campaign_id)
    for metric_id in mine["metric"].unique().sort():
        registry.get(metric_id)  # a plan target for a metric nobody defined is an error, named
    return mine


def _plan_for(
    metric: Metric, targets: Mapping[str, float], blend: _Blender
) -> tuple[float | None, PlanSource | None, str | None]:
    if metric.id in targets:
        return targets[metric.id], "plan", None
    if metric.target is not None:
        return (
            metric.target,
            "definition",
            f"{metric.id}: no plan target; its definition's target {metric.target}",
        )
    benchmark = blend.benchmark(metric)
    if benchmark is None:
        return None, None, None
    value, detail = benchmark
    return value, "benchmark", f"{metric.id}: no plan target; {detail}"


_BENCHMARK_SCHEMA = {"channel": pl.String, "metric": pl.String, "value": pl.Float64, "source": pl.String}


class _Blender:
    """Benchmarks for the whole campaign from per-channel benchmark values.

    A cost ("lower") ratio holds each channel's numerator (spend) fixed: the benchmark is the total
    spend over what each channel's spend would buy at its benchmark. Any other ratio holds each
    channel's denominator fixed: the benchmark is the denominator-weighted mean. A benchmark with
    channel "all" applies as is, and is the only kind a count or sum can use."""

    def __init__(self, tables: Mapping[str, pl.DataFrame], campaigns: CampaignMap, campaign_id: str) -> None:
        self.benchmarks = tables.get("benchmarks", pl.DataFrame(schema=_BENCHMARK_SCHEMA))
        self._tables, self._campaigns, self._campaign_id = tables, campaigns, campaign_id
        self._by_channel: dict[str, dict[str, Quantity]] | None = None

    def benchmark(self, metric: Metric) -> tuple[float, str] | None:
        mine = self.benchmarks.filter(pl.col("metric") == metric.id).sort("channel", "source")
        if mine.height == 0:
            return None
        overall = mine.filter(pl.col("channel") == "all")
        if overall.height:
            value, source = overall["value"][0], overall["source"][0]
            return value, f"benchmark {metric.id} = {value:g} for all channels ({source})"
        if metric.numerator is None or metric.denominator is None:
            return None
        values = {
            r["channel"]: (r["value"], r["source"])
            for r in mine.unique("channel", keep="first", maintain_order=True).iter_rows(named=True)
        }
        by_channel = self._quantities()
        hold = metric.numerator if metric.direction == "lower" else metric.denominator
        weights = {ch: q[hold].value for ch, q in by_channel.items() if q[hold].value > 0}
        covered = {ch: w for ch, w in weights.items() if ch in values and values[ch][0] > 0}
        if not covered:
            return None
        if metric.direction == "lower":
            blended = sum(covered.values()) / sum(w / values[ch][0] for ch, w in covered.items())
            how = f"total {hold} over what each channel's {hold} buys at its benchmark"
        else:
            blended = sum(w * values[ch][0] for ch, w in covered.items()) / sum(covered.values())
            how = f"weighted by each channel's {hold}"
        used = "; ".join(f"{ch} {values[ch][0]:g} ({values[ch][1]})" for ch in sorted(covered))
        share = sum(covered.values()) / sum(weights.values())
        uncovered = sorted(set(weights) - set(covered))
        gap = f"; no benchmark for {', '.join(uncovered)}" if uncovered else ""
        return blended, (
            f"benchmark {metric.id} = {blended:.4g}, {how}, from {used}; covers {share:.0%} of {hold}{gap}"
        )

    def _quantities(self) -> dict[str, dict[str, Quantity]]:
        if self._by_channel is None:
            rows = campaign_rows(self._tables, self._campaigns).only([self._campaign_id])
            channels = set(rows.ads["channel"]) | set(rows.sessions["channel"]) | set(rows.leads["channel"])
            self._by_channel = {
                ch: quantities(rows.only([self._campaign_id], ch)) for ch in sorted(c for c in channels if c)
            }
        return self._by_channel


def _objective_findings(campaign: Campaign, plans: pl.DataFrame) -> tuple[PlanFinding, ...]:
    launch = campaign.window[0]
    findings = []
    if plans.height == 0:
        findings.append(
            PlanFinding(kind="missing_plan", detail=f"no plan target documented for {campaign.id}")
        )
    late = plans.filter(pl.col("documented_at") > launch).sort("documented_at", "metric")
    for documented_at, group in late.group_by("documented_at", maintain_order=True):
        metrics = tuple(sorted(group["metric"]))
        findings.append(
            PlanFinding(
                kind="back_dated_plan",
                detail=f"targets for {', '.join(metrics)} documented {documented_at[0]:%Y-%m-%d %H:%M}, "
                f"after the launch on {campaign.start}",
                documented_at=documented_at[0],
                metrics=metrics,
            )
        )
    if not campaign.hypothesis or campaign.hypothesis_documented_at is None:
        findings.append(
            PlanFinding(kind="missing_hypothesis", detail=f"no dated hypothesis documented for {campaign.id}")
        )
    elif campaign.hypothesis_documented_at > launch:
        findings.append(
            PlanFinding(
                kind="back_dated_hypothesis",
                detail=f"hypothesis documented {campaign.hypothesis_documented_at:%Y-%m-%d %H:%M}, "
                f"after the launch on {campaign.start}",
                documented_at=campaign.hypothesis_documented_at,
            )
        )
    return tuple(findings)
