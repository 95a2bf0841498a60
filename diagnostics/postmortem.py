"""The post-mortem, end to end, as one pure function: unified tables in, checked findings, an action
plan and a report out (DOMAIN.md "The post-mortem, step by step").

Each analysis module computes; this module only turns their results into `Finding`s with a
failure category, runs the three checks, ranks the action plan and times every step. The rules
that map a result to a category are here, in one place, because they are the method's judgement
calls: a session->lead drop is a creative (landing page) problem, a lead->MQL drop is workflow, an
MQL->SQL drop carried by one channel is audience quality, and so on.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from diagnostics import attribution, audience, drivers, email, fatigue, funnel, response, scorecard, timing
from diagnostics.actions import ActionPlan, plan
from diagnostics.assumptions import Assumptions
from diagnostics.checks import Annotation, check
from diagnostics.dissect import Dissection, dissect
from diagnostics.findings import Category, Evidence, Finding, Surface
from diagnostics.metrics import CampaignMap, campaign_rows
from diagnostics.models import BUILTIN, Models
from diagnostics.types import Estimate

T = TypeVar("T")

# A funnel transition's failure category, when the drop is spread across channels.
_STAGE_CATEGORY: dict[str, Category] = {
    "impressions->clicks": "creative",
    "clicks->sessions": "data_quality",
    "sessions->leads": "creative",
    "leads->mqls": "workflow_alignment",
    "mqls->sqls": "workflow_alignment",
    "sqls->opportunities": "workflow_alignment",
    "opportunities->won": "workflow_alignment",
}
_STAGE_OWNER = {
    "impressions->clicks": "creative lead",
    "clicks->sessions": "marketing operations",
    "sessions->leads": "web and conversion lead",
    "leads->mqls": "lifecycle marketing lead",
    "mqls->sqls": "sales development lead",
    "sqls->opportunities": "sales development lead",
    "opportunities->won": "sales lead",
}
_STAGE_SURFACES: dict[str, tuple[Surface, ...]] = {
    "impressions->clicks": ("ads",),
    "clicks->sessions": ("site", "data"),
    "sessions->leads": ("site",),
    "leads->mqls": ("crm", "email"),
}
_QUALITY_GATES = {"utm_integrity", "attribution_windows", "completeness", "tagging_coverage", "date_coverage"}


class QualityNote(BaseModel):
    """A quality gate's warning on one of the campaign's snapshots (from its QualityCheck node)."""

    model_config = ConfigDict(frozen=True)

    source: str
    gate: str
    status: str
    message: str
    value: float | None = None
    blocks: list[str] = Field(default_factory=list)


class PostMortemResult(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    campaign_id: str
    baseline_ids: list[str]
    as_of: dt.datetime | None
    assumptions: Assumptions
    scorecard: scorecard.Scorecard
    funnel: funnel.Funnel
    dissection: Dissection
    fatigue: fatigue.FatigueReport
    pauses: list[email.Pause]
    drivers: drivers.Explanation | None
    reallocation: response.Reallocation | None
    timing: timing.TimingReport | None
    icp_alignment: audience.LeadAlignment | None = None  # only with an ICP definition
    attribution: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding]
    plan: ActionPlan
    quality: list[QualityNote]
    seconds: dict[str, float]

    def summary_lines(self) -> list[str]:
        lines = [f"{f.label.upper()}: [{f.category}] {f.statement}" for f in self.findings]
        if self.drivers is not None:
            lines += self.drivers.summary_lines()
        return lines


def baselines_for(campaigns: CampaignMap, campaign_id: str) -> list[str]:
    """The historical baseline: every campaign that ended before this one started."""
    current = campaigns.campaign(campaign_id)
    return sorted(c.id for c in campaigns.campaigns.values() if c.end < current.start)


def choose_baselines(
    campaigns: CampaignMap, campaign_id: str, given: Sequence[str] | None, a: Assumptions
) -> list[str]:
    """The caller's baseline, else the assumption set's choice, else every earlier campaign. A chosen
    campaign that had not ended when this one started would leak the future into the comparison."""
    if given is not None:
        return list(given)
    if not a.baseline_campaigns:
        return baselines_for(campaigns, campaign_id)
    current = campaigns.campaign(campaign_id)
    for other in a.baseline_campaigns:
        if campaigns.campaign(other).end >= current.start:
            raise ValueError(f"baseline campaign {other} had not ended when {campaign_id} started")
    return sorted(a.baseline_campaigns)


def run(
    tables: Mapping[str, pl.DataFrame],
    campaigns: Sequence[Mapping[str, Any]],
    campaign_id: str,
    *,
    baseline_ids: Sequence[str] | None = None,
    quality: Sequence[QualityNote] = (),
    windows: Mapping[str, str] | None = None,
    assumptions: Assumptions | None = None,
    as_of: dt.datetime | None = None,
    confirmed: Sequence[str] = (),
    icp: Mapping[str, Sequence[str]] | None = None,
    models: Models = BUILTIN,
) -> PostMortemResult:
    """Every analysis of one campaign against its baseline; see the module docstring. The five
    diagnostic models come from `models` (the registry passes the versions it resolved)."""
    a = assumptions or Assumptions()
    m = models
    cmap = CampaignMap.from_campaigns_json(list(campaigns))
    campaign = cmap.campaign(campaign_id)
    baselines = choose_baselines(cmap, campaign_id, baseline_ids, a)
    if not baselines:
        raise ValueError(
            f"no campaign ended before {campaign_id} started: there is no baseline to compare with"
        )
    seconds: dict[str, float] = {}

    def timed(name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        seconds[name] = round(time.perf_counter() - started, 3)
        return result

    rows = timed("assign rows", lambda: campaign_rows(tables, cmap))
    current = rows.only([campaign_id])
    card = timed("scorecard", lambda: m.scorecard(tables, cmap, campaign_id, a, as_of))
    funnel_result = timed(
        "funnel", lambda: funnel.funnel(tables, cmap, campaign_id, baselines, assumptions=a, as_of=as_of)
    )
    dissection = timed("dissection", lambda: dissect(tables, cmap, campaign_id, assumptions=a))
    fatigue_report = timed("fatigue", lambda: m.fatigue(fatigue_input(current), a))
    pauses = timed(
        "email",
        lambda: email.sequence_pauses(
            tables.get("email_sends", pl.DataFrame()),
            tables["leads"],
            campaign.start,
            campaign.end,
            assumptions=a,
        ),
    )
    explanation = timed("drivers", lambda: _drivers(m, drivers_input(rows, campaign_id, baselines), a))
    reallocation = timed("counterfactual", lambda: _reallocation(m, response_input(current), a))
    timing_report = timed("timing", lambda: _timing(current, a))
    alignment = (
        timed(
            "audience",
            lambda: audience.lead_alignment(
                current.leads, dict(icp), parameters=audience.AudienceParameters.from_assumptions(a)
            ),
        )
        if icp
        else None
    )
    attributed = timed(
        "attribution", lambda: _attribution(m, attribution_input(tables, current, campaign, a), a)
    )

    findings: list[Finding] = []
    findings += _plan_findings(card, campaign_id)
    findings += _funnel_findings(funnel_result, campaign)
    findings += _dissection_findings(dissection, campaign)
    findings += _fatigue_findings(fatigue_report)
    findings += _pause_findings(pauses)
    findings += _quality_findings(quality)
    findings += _reallocation_findings(reallocation)
    findings += _timing_findings(timing_report, campaign)
    findings += _audience_findings(alignment, campaign_id)
    findings += _bias_findings(attributed.get("bias", ()), campaign_id)
    findings += _window_findings(windows or {}, current.ads, campaign, a)
    notes = _annotations(tables.get("annotations"))
    checked = [check(f, notes, a, confirmed) for f in findings]
    return PostMortemResult(
        campaign_id=campaign_id,
        baseline_ids=baselines,
        as_of=as_of,
        assumptions=a,
        scorecard=card,
        funnel=funnel_result,
        dissection=dissection,
        fatigue=fatigue_report,
        pauses=pauses,
        drivers=explanation,
        reallocation=reallocation,
        timing=timing_report,
        icp_alignment=alignment,
        attribution={k: v for k, v in attributed.items() if k != "bias"},
        findings=checked,
        plan=plan(checked),
        quality=list(quality),
        seconds=seconds,
    )


# --- the models' inputs, and shaping their outputs ------------------------------------------------


def model_inputs(
    tables: Mapping[str, pl.DataFrame],
    campaigns: Sequence[Mapping[str, Any]],
    campaign_id: str,
    *,
    assumptions: Assumptions | None = None,
    baseline_ids: Sequence[str] | None = None,
) -> dict[str, pl.DataFrame | None]:
    """What the engine hands each frame-input model for this campaign: anyone holding the snapshots
    can feed a registered model exactly what the post-mortem fed it."""
    a = assumptions or Assumptions()
    cmap = CampaignMap.from_campaigns_json(list(campaigns))
    campaign = cmap.campaign(campaign_id)
    baselines = choose_baselines(cmap, campaign_id, baseline_ids, a)
    rows = campaign_rows(tables, cmap)
    current = rows.only([campaign_id])
    return {
        "attribution": attribution_input(tables, current, campaign, a),
        "drivers": drivers_input(rows, campaign_id, baselines),
        "response": response_input(current),
        "fatigue": fatigue_input(current),
    }


def fatigue_input(current: Any) -> pl.DataFrame:
    return current.ads.filter(pl.col("creative_id").is_not_null())


def drivers_input(rows: Any, campaign_id: str, baselines: list[str]) -> pl.DataFrame | None:
    """MQLs of the baseline and current campaigns: did they become SQLs, by channel."""
    mqls = rows.only([*baselines, campaign_id]).leads.filter(pl.col("reached_mqls"))
    if mqls.filter(pl.col("campaign") == campaign_id).is_empty():
        return None
    return mqls.select(
        pl.when(pl.col("campaign") == campaign_id)
        .then(pl.lit("current"))
        .otherwise(pl.lit("base"))
        .alias("period"),
        pl.col("channel"),
        pl.col("reached_sqls").cast(pl.Int8).alias("sql"),
    )


def attribution_input(
    tables: Mapping[str, pl.DataFrame], current: Any, campaign: Any, a: Assumptions
) -> pl.DataFrame | None:
    """The campaign's journeys: sessions (by user) before each lead of the flight, within the
    attribution window; visitors without a lead are the null journeys."""
    start, end = campaign.window
    touches = tables.get("touchpoints", pl.DataFrame())
    if touches.is_empty() or current.leads.is_empty():
        return None
    window = dt.timedelta(days=a.attribution_window_days)
    sessions = touches.filter(
        (pl.col("event_type") == "session_start") & pl.col("timestamp").is_between(start - window, end)
    )
    leads = current.leads.filter(pl.col("user_id").is_not_null())
    journeys = attribution.journeys_from_touchpoints(sessions, leads, a.attribution_window_days)
    if journeys.is_empty() or journeys["conversions"].sum() == 0:
        return None
    return journeys


def response_input(current: Any) -> pl.DataFrame | None:
    """Daily leads against daily spend per paid channel of the campaign. The spend of a day is summed
    in sorted order: a parallel sum adds in whatever order threads finish, and the last bits of a
    float sum would make the bootstrap, and so a replay, differ."""
    spend = current.ads.group_by("channel", "day").agg(pl.col("spend").sort().sum())
    leads = (
        current.leads.with_columns(pl.col("created_at").dt.date().alias("day"))
        .group_by("channel", "day")
        .agg(pl.len().alias("outcome"))
    )
    daily = (
        spend.join(leads, on=["channel", "day"], how="left")
        .with_columns(pl.col("outcome").fill_null(0))
        .sort("channel", "day")
    )
    return None if daily.is_empty() else daily


def _drivers(m: Models, frame: pl.DataFrame | None, a: Assumptions) -> Any:
    return None if frame is None else m.drivers(frame, a)


def _reallocation(m: Models, daily: pl.DataFrame | None, a: Assumptions) -> response.Reallocation | None:
    return None if daily is None else m.response(daily, a)


def _attribution(m: Models, journeys: pl.DataFrame | None, a: Assumptions) -> dict[str, Any]:
    if journeys is None:
        return {}
    results = m.attribution(journeys, a)
    table = attribution.compare(results)
    models = [c for c in table.columns if c != "channel"]
    return {
        "models": models,
        "shares": {row[0]: list(row[1:]) for row in table.iter_rows()},
        "results": results,
        "bias": attribution.attribution_bias(results),
    }


def _timing(current: Any, a: Assumptions) -> timing.TimingReport | None:
    """Lead conversion of sessions by day of week and by week of the flight."""
    if current.sessions.is_empty():
        return None
    sessions = current.sessions.group_by(pl.col("timestamp").dt.date().alias("day")).agg(
        pl.len().alias("trials")
    )
    leads = current.leads.group_by(pl.col("created_at").dt.date().alias("day")).agg(
        pl.len().alias("successes")
    )
    daily = sessions.join(leads, on="day", how="left").with_columns(
        pl.min_horizontal(pl.col("successes").fill_null(0), pl.col("trials")).alias("successes")
    )
    return timing.timing_effects(
        daily,
        date="day",
        successes="successes",
        trials="trials",
        parameters=timing.TimingParameters.from_assumptions(a),
    )


# --- results -> findings ---------------------------------------------------------------------------


def _weeks(start: dt.date, end: dt.date) -> float:
    return ((end - start).days + 1) / 7


def _plan_findings(card: scorecard.Scorecard, campaign_id: str) -> list[Finding]:
    return [
        Finding(
            id=f"plan:{campaign_id}:{f.kind}",
            kind=f.kind,
            category="measurement_gap",
            title=f.kind.replace("_", " ").capitalize(),
            statement=f.detail,
            action="Document the plan and hypothesis before launch, dated, for the next campaign",
            owner_role="campaign owner",
        )
        for f in card.findings
    ]


def _funnel_findings(result: funnel.Funnel, campaign: Any) -> list[Finding]:
    out = []
    for callout in result.callouts:
        comparison = result.comparison(callout.transition)
        top = callout.drivers[0] if callout.drivers else None
        concentrated = top is not None and top.share >= 0.6
        category = _STAGE_CATEGORY.get(callout.transition, "workflow_alignment")
        if callout.transition == "mqls->sqls" and concentrated:
            category = "audience"  # one channel's MQLs do not convert: their quality, not the hand-off
        restoration = next((r for r in callout.restorations if r.target == "baseline"), None)
        first = callout.onset.date if callout.onset else campaign.start
        evidence = Evidence(
            name=f"{callout.transition} by channel",
            columns=["channel", "current", "baseline", "lost", "share of loss", "q"],
            rows=[
                [
                    d.channel,
                    d.current.format(".1%"),
                    d.baseline.format(".1%"),
                    round(d.lost, 1),
                    round(d.share, 3),
                    d.q_value,
                ]
                for d in callout.drivers
            ],
        )
        out.append(
            Finding(
                id=f"funnel:{result.campaign_id}:{callout.transition}",
                kind="funnel_stage_drop",
                category=category,
                title=f"{callout.label} conversion fell {callout.relative_change:+.0%} against the baseline",
                statement=callout.text,
                effect=comparison.current,
                money_impact=restoration.money if restoration else None,
                subject={
                    "stage": callout.transition,
                    **({"channel": top.channel} if concentrated and top else {}),
                },
                period=(first, campaign.end),
                surfaces=_STAGE_SURFACES.get(callout.transition, ("crm",)),
                sample_size=int(comparison.current.n or 0),
                weeks=_weeks(campaign.start, campaign.end),
                action=f"Restore {callout.label} conversion"
                + (f" in {top.channel}" if concentrated and top else ""),
                owner_role=_STAGE_OWNER.get(callout.transition),
                evidence=[evidence],
            )
        )
    return out


def _dissection_findings(result: Dissection, campaign: Any) -> list[Finding]:
    return [
        Finding(
            id=f"budget_hog:{result.campaign_id}:{'/'.join(flag.key)}",
            kind="budget_hog",
            category="channel_mix",
            title=f"{flag.label} takes {flag.spend_share:.0%} of the budget and converts below average",
            statement=flag.text,
            effect=flag.value,
            subject={"dimension": flag.dimension, "channel": flag.key[0], "ad_id": flag.key[-1]},
            surfaces=("ads",),  # an allocation over the flight, not a change at a date: no period
            sample_size=int(flag.value.n or 0),
            weeks=_weeks(campaign.start, campaign.end),
            action=f"Cap {flag.label} and move budget to segments with a better MQL rate",
            owner_role="paid media lead",
        )
        for flag in result.flags
    ]


def _fatigue_findings(report: fatigue.FatigueReport) -> list[Finding]:
    out = []
    for c in report.creatives:
        if not c.fatigued:
            continue
        out.append(
            Finding(
                id=f"fatigue:{c.creative_id}",
                kind="creative_fatigue",
                category="creative",
                title=f"Creative {c.creative_id} wears out",
                statement=(
                    f"Creative {c.creative_id}'s {report.rate} changed "
                    f"{c.change_over_flight.format('+.0%')} over {c.n_days} days "
                    f"({c.change_per_unit.format('+.1%')} per {report.unit}, q = {c.q_value:.2g})."
                ),
                effect=c.change_over_flight,
                subject={"creative_id": c.creative_id},
                period=(c.launch, c.last),
                surfaces=("ads",),
                sample_size=int(c.successes),
                weeks=c.n_days / 7,
                action=f"Refresh or rotate creative {c.creative_id} before its CTR falls further",
                owner_role="creative lead",
            )
        )
    return out


def _pause_findings(pauses: list[email.Pause]) -> list[Finding]:
    return [
        Finding(
            id=f"email_pause:{p.sequence}:{p.first_day}",
            kind="email_pause",
            category="workflow_alignment",
            title=f"The {p.sequence} sequence stopped for {p.days} days",
            statement=p.text,
            effect=p.mql_rate_during,
            subject={"sequence": p.sequence},
            period=(p.first_day, p.last_day),
            surfaces=("email",),
            action=f"Monitor the {p.sequence} sequence's sends and alert on a gap beyond its cadence",
            owner_role="lifecycle marketing lead",
        )
        for p in pauses
        if p.p_value < 0.05
    ]


def _quality_findings(notes: Sequence[QualityNote]) -> list[Finding]:
    out = []
    for n in notes:
        if n.status != "warn" or n.gate not in _QUALITY_GATES:
            continue
        out.append(
            Finding(
                id=f"quality:{n.gate}:{n.source}",
                kind=f"quality_{n.gate}",
                category="data_quality",
                title=f"{n.gate.replace('_', ' ').capitalize()} on {n.source}",
                statement=n.message + (f" Blocks: {', '.join(n.blocks)}." if n.blocks else ""),
                effect=Estimate(value=n.value) if n.value is not None else None,
                subject={"gate": n.gate, "source": n.source},
                action=f"Fix {n.gate.replace('_', ' ')} at the source ({n.source}) before the next export",
                owner_role="marketing operations",
            )
        )
    return out


def _reallocation_findings(result: response.Reallocation | None) -> list[Finding]:
    if result is None or result.lift.value is None or result.lift.interval is None:
        return []
    if result.lift.interval.low <= 0:
        return []  # the curves do not establish a better split: nothing to claim
    moves = ", ".join(f"{c.channel} {c.current:,.0f} -> {c.proposed:,.0f}/day" for c in result.channels)
    return [
        Finding(
            id="counterfactual:reallocation",
            kind="budget_reallocation",
            category="channel_mix",
            direction="win",
            title="A different budget split would have produced more leads",
            statement=f"Within +-{result.parameters.budget_bounds:.0%} per channel ({moves}), the response "
            f"curves expect {result.lift.format('+.1f')} leads per day."
            + (" " + " ".join(result.warnings) if result.warnings else ""),
            effect=result.lift,
            action="Test the proposed split in the next flight",
            owner_role="paid media lead",
        )
    ]


def _bias_findings(biases: Sequence[attribution.AttributionBias], campaign_id: str) -> list[Finding]:
    """DOMAIN.md: last-click against multi-touch disagreement per channel is itself a finding."""
    by_channel: dict[str, list[attribution.AttributionBias]] = {}
    for bias in biases:
        by_channel.setdefault(bias.channel, []).append(bias)
    out = []
    for channel, items in sorted(by_channel.items()):
        worst = max(items, key=lambda b: abs(b.difference))
        models = ", ".join(sorted(b.model for b in items))
        out.append(
            Finding(
                id=f"attribution_bias:{campaign_id}:{channel}",
                kind="attribution_bias",
                category="measurement_gap",
                direction="risk",
                title=f"Last touch {worst.direction} {channel}",
                statement=(
                    f"Last touch gives {channel} {worst.last_touch_share.format('.1%')} of conversions; "
                    f"{worst.model} gives {worst.data_driven_share.format('.1%')} ({worst.conversions:+.0f} "
                    f"conversions; also beyond {worst.threshold:.0%} under {models})."
                ),
                effect=Estimate(value=worst.difference),
                subject={"channel": channel},
                action=f"Judge {channel} on a multi-touch model, not last touch, before moving its budget",
                owner_role="marketing analytics lead",
            )
        )
    return out


_WINDOW = re.compile(r"(\d+)-day click(?: or (\d+)-day view)?")


def _window_findings(
    windows: Mapping[str, str], ads: pl.DataFrame, campaign: Any, a: Assumptions
) -> list[Finding]:
    """DOMAIN.md: the attribution window must be the same across ingestion, model and feedback. A
    platform that counted its conversions on another click window than the models' journeys, or
    with view-through (which no journey sees), reports conversions the models cannot reproduce;
    the effect is that platform's share of the campaign's platform-reported conversions."""
    days = a.attribution_window_days
    has_conversions = {"platform", "platform_conversions"} <= set(ads.columns)
    by_platform = (
        dict(ads.group_by("platform").agg(pl.col("platform_conversions").fill_null(0).sum()).iter_rows())
        if has_conversions
        else {}
    )
    total = sum(by_platform.values())
    out = []
    for platform, text in sorted(windows.items()):
        match = _WINDOW.fullmatch(text.strip())
        if match is None or platform not in by_platform:
            continue
        click, view = int(match.group(1)), int(match.group(2) or 0)
        if click == days and view == 0:
            continue
        conversions = float(by_platform[platform])
        why = [f"a {click}-day click window against the models' {days} days"] if click != days else []
        why += [f"{view}-day view-through conversions no journey can show"] if view else []
        out.append(
            Finding(
                id=f"attribution_window:{campaign.id}:{platform}",
                kind="attribution_window_mismatch",
                category="data_quality",
                direction="risk",
                title=f"{platform} counts conversions on {text}; the attribution models use {days} days",
                statement=(
                    f"{platform} reported {conversions:,.0f} of the campaign's {total:,.0f} platform "
                    f"conversions with {' and '.join(why)}: its numbers and the models' credit are not "
                    "comparable until the windows match."
                ),
                effect=Estimate(value=conversions / total if total else None, n=int(conversions)),
                subject={"platform": platform, "window": text, "model_window_days": str(days)},
                surfaces=("data",),
                sample_size=int(conversions),
                weeks=_weeks(campaign.start, campaign.end),
                action=f"Align {platform}'s reporting window with the {days}-day model window before "
                "comparing its conversions with attributed credit",
                owner_role="marketing operations",
            )
        )
    return out


def _timing_findings(report: timing.TimingReport | None, campaign: Any) -> list[Finding]:
    """A day-of-week pattern is a timing finding. A week-of-flight pattern is not reported on its
    own: a change within the flight is what the funnel, fatigue and pause findings already date."""
    if report is None or not report.day_of_week.significant:
        return []
    effect = report.day_of_week
    cells = {c.label: c for c in effect.cells}
    low, high = cells.get(effect.lowest or ""), cells.get(effect.highest or "")
    statement = (
        f"Session to lead conversion differs by day of week (p = {effect.test.p_value:.2g})"
        if effect.test
        else ""
    )
    if low and high:
        statement += f": lowest on {low.label} {low.rate.format('.1%')}, "
        statement += f"highest on {high.label} {high.rate.format('.1%')}."
    return [
        Finding(
            id=f"timing:{campaign.id}:day_of_week",
            kind="timing_day_of_week",
            category="timing",
            title="Conversion depends on the day of the week",
            statement=statement,
            subject={"lowest": effect.lowest or "", "highest": effect.highest or ""},
            sample_size=sum(c.successes for c in effect.cells),
            weeks=report.days / 7,
            action=f"Shift spend away from {effect.lowest} toward {effect.highest} and test the difference",
            owner_role="paid media lead",
        )
    ]


def _audience_findings(alignment: audience.LeadAlignment | None, campaign_id: str) -> list[Finding]:
    """Leads outside the ideal customer profile that convert worse: audience misalignment."""
    if alignment is None or alignment.blocked_by or alignment.p_value is None:
        return []
    gap = alignment.difference
    if alignment.p_value >= 0.05 or gap.value is None or gap.value >= 0:
        return []
    return [
        Finding(
            id=f"audience:{campaign_id}:icp",
            kind="audience_misalignment",
            category="audience",
            title="Leads outside the ideal customer profile convert worse",
            statement=(
                f"{alignment.outside_share.format('.0%')} of leads fall outside the ICP; they reach "
                f"{alignment.outcome.removesuffix('_at').upper()} at {alignment.outside_rate.format('.1%')} "
                f"against {alignment.inside_rate.format('.1%')} inside (p = {alignment.p_value:.2g})."
            ),
            effect=gap,
            sample_size=alignment.leads,
            action="Tighten targeting to the ICP segments and exclude the worst-converting ones",
            owner_role="demand generation lead",
        )
    ]


def _annotations(table: pl.DataFrame | None) -> list[Annotation]:
    if table is None or table.is_empty():
        return []
    return [
        Annotation.model_validate(row)
        for row in table.select("start", "end", "kind", "description", "author").iter_rows(named=True)
    ]
