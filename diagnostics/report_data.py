"""A post-mortem's results as the report's data: which numbers go in which section, formatted with
their intervals. Kept apart from `report` (HTML) so the same selection can feed other outputs."""

from __future__ import annotations

from diagnostics.funnel import label as stage_label
from diagnostics.postmortem import PostMortemResult
from diagnostics.report import Bar, FunnelStage, ReportData, Tile

_TILE_METRICS = ("spend", "leads", "mqls", "sqls", "pipeline", "revenue", "cpl", "cost_per_mql", "mql_rate",
                 "mql_to_sql_rate", "landing_cvr", "ctr", "romi", "utm_integrity")  # fmt: skip


def report_data(result: PostMortemResult) -> ReportData:
    a = result.assumptions
    return ReportData(
        title=f"Post-mortem: {result.campaign_id}",
        subtitle=f"against {', '.join(result.baseline_ids)} · {len(result.findings)} findings "
        f"({sum(f.label == 'finding' for f in result.findings)} pass the three checks)",
        assumptions=[
            f"scorecard: ON TRACK within {a.scorecard.on_track:.0%}, OVER PLAN to "
            f"{a.scorecard.over_plan:.0%}, FLAGGED beyond {a.scorecard.flag:.0%}",
            f"low volume below {a.min_conversions_per_week} conversions per week; segments under "
            f"{a.min_segment_size} not ranked",
            f"confidence {a.confidence:.0%}; false discovery rate {a.false_discovery_rate:.0%} "
            "(Benjamini-Hochberg)",
            f"bootstrap {a.bootstrap_samples} samples, seed {a.seed}; budget moves within "
            f"+-{a.budget_bounds:.0%}",
            *result.scorecard.assumptions_used,
        ],
        tiles=[
            Tile(
                metric=row.display_name or row.metric,
                actual=row.actual.format(",.3g"),
                plan="-"
                if row.plan is None
                else f"{row.plan:,.3g}" + (f" ({row.plan_source})" if row.plan_source != "plan" else ""),
                variance="-"
                if row.variance is None or row.variance.value is None
                else f"{row.variance.value:+.0%}",
                status=row.status or "no plan",
                note=row.note or "",
            )
            for row in result.scorecard.rows
            if row.metric in _TILE_METRICS
        ],
        funnel=[
            FunnelStage(
                stage=stage_label(c.transition),
                current=c.current.value,
                baseline=c.baseline.value,
                label=f"{c.current.format('.1%')} vs {c.baseline.format('.1%')}",
            )
            for c in result.funnel.comparisons
            if c.channel == "all"
        ],
        channel_columns=["channel", *_SEGMENT_COLUMNS],
        channel_rows=_segment_rows(result, "channel"),
        creative_columns=["creative", *_SEGMENT_COLUMNS],
        creative_rows=_segment_rows(result, "creative"),
        findings=sorted(result.findings, key=lambda f: (f.label != "finding", -f.impact_value())),
        attribution_models=list(result.attribution.get("models", [])),
        attribution=result.attribution.get("shares", {}),
        waterfall_title=(
            f"{result.drivers.outcome} {result.drivers.total.format('+.1%')} by channel"
            if result.drivers
            else ""
        ),
        waterfall=_waterfall(result),
        actions=result.plan,
        data_quality=[
            f"{n.source}: {n.gate} {n.status}: {n.message}" for n in result.quality if n.status != "pass"
        ],
    )


_SEGMENT_COLUMNS = ["spend", "leads", "MQL rate", "pipeline", "cost per MQL", "rank"]


def _segment_rows(result: PostMortemResult, dimension: str) -> list[list[str]]:
    return [
        [
            s.label,
            f"{s.spend:,.0f}",
            str(s.leads),
            s.mql_rate.format(".1%"),
            f"{s.pipeline:,.0f}",
            s.cost_per_mql.format(",.0f"),
            "-" if s.rank is None else str(s.rank),
        ]
        for s in result.dissection.by.get(dimension, ())
    ]


def _waterfall(result: PostMortemResult) -> list[Bar]:
    if result.drivers is None or not result.drivers.dimensions:
        return []
    decomposition = result.drivers.dimensions[0]
    bars = [Bar(label="mix (volume shifted)", value=decomposition.mix.value or 0.0)]
    bars += [
        Bar(label=f"rate within {s.label}", value=s.rate.value or 0.0)
        for s in decomposition.segments
        if s.rank is not None
    ]
    return bars
