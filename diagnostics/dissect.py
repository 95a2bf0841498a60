"""Channel and creative dissection (DOMAIN.md step 4): channels, creatives, audiences and channel x
creative combinations ranked by the pipeline they created, not by CTR, and the budget hogs flagged.

Why pipeline: a creative can win on clicks and lose on qualified pipeline; the money decision needs
the latter. Each segment shows spend, leads, MQL rate (Wilson), pipeline and cost per MQL; segments
with fewer than `min_segment_size` leads are listed but not ranked.

How leads find their ad: a lead's `utm_content` names the ad (or creative) it converted from; the ad
gives its channel, creative and audience. A lead whose `utm_content` joins no ad keeps its own
channel and has no creative or audience ("(none)"), so every lead and every unit of spend is counted
once in each dimension. Deals follow their lead.

The flag: a channel x creative combination that takes more than `combo_budget_share` of the spend and
converts leads to MQLs below the campaign's average (all its leads). The significance is stated, not
required: a two-proportion test of the combination against the rest of the campaign, with
Benjamini-Hochberg across the combinations tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict
from scipy.stats import binomtest

from diagnostics.assumptions import Assumptions
from diagnostics.metrics import CampaignMap, CampaignRows, Quantity, campaign_rows, ratio
from diagnostics.stats import benjamini_hochberg, rate, two_proportion_p
from diagnostics.types import Estimate

Dimension = Literal["channel", "creative", "audience", "channel x creative"]
DIMENSIONS: dict[Dimension, tuple[str, ...]] = {
    "channel": ("channel",),
    "creative": ("creative_id",),
    "audience": ("audience",),
    "channel x creative": ("channel", "creative_id"),
}
NONE = "(none)"
_DEFAULTS = Assumptions()


class Segment(BaseModel):
    model_config = ConfigDict(frozen=True)

    dimension: str
    key: tuple[str, ...]
    label: str
    spend: float
    spend_share: float | None
    leads: int
    mqls: int
    mql_rate: Estimate
    pipeline: float
    cost_per_mql: Estimate
    rank: int | None
    """By pipeline, 1 the largest; None for segments too small to rank."""


class BudgetFlag(BaseModel):
    """A segment taking more than its share of the budget while converting below average."""

    model_config = ConfigDict(frozen=True)

    dimension: str
    key: tuple[str, ...]
    label: str
    spend_share: float
    measure: str
    value: Estimate
    average: float
    p_value: float | None
    q_value: float | None
    significant: bool
    text: str


class Dissection(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str
    spend: float
    average_mql_rate: Estimate
    by: dict[str, tuple[Segment, ...]]
    flags: tuple[BudgetFlag, ...]
    assumptions: Assumptions

    def segment(self, dimension: str, *key: str) -> Segment:
        for s in self.by[dimension]:
            if s.key == key:
                return s
        raise LookupError(f"no {dimension} segment {key}")


def dissect(
    tables: Mapping[str, pl.DataFrame],
    campaigns: CampaignMap,
    campaign_id: str,
    *,
    assumptions: Assumptions = _DEFAULTS,
) -> Dissection:
    """Rank the campaign's channels, creatives, audiences and combinations; flag the budget hogs."""
    campaigns.campaign(campaign_id)
    rows = campaign_rows(tables, campaigns).only([campaign_id])
    leads, deals = _attributed(rows, rows.leads), _attributed(rows, rows.deals)
    spend = float(rows.ads["spend"].sum())
    mqls, total = int(leads["reached_mqls"].sum()), leads.height
    average = rate(mqls, total, minimum=assumptions.min_segment_size, confidence=assumptions.confidence)
    names = _names(rows)
    by = {
        dim: _segments(dim, cols, rows.ads, leads, deals, spend, names, assumptions)
        for dim, cols in DIMENSIONS.items()
    }
    return Dissection(
        campaign_id=campaign_id,
        spend=spend,
        average_mql_rate=average,
        by=by,
        flags=_hogs(by["channel x creative"], mqls, total, assumptions),
        assumptions=assumptions,
    )


def _attributed(rows: CampaignRows, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (leads or deals) with the channel, creative and audience of the ad its utm_content names."""
    columns = ("channel", "creative_id", "audience")
    by_ad = rows.ads.select(*columns, key=pl.coalesce("ad_id", "creative_id")).sort("key", *columns)
    by_creative = rows.ads.select(*columns, key="creative_id").sort("key", *columns)
    lookup = (
        pl.concat([by_ad, by_creative])  # an ad id wins over a creative id that happens to equal it
        .filter(pl.col("key").is_not_null())
        .unique("key", keep="first", maintain_order=True)
    )
    joined = frame.join(lookup, left_on="utm_content", right_on="key", how="left", suffix="_ad")
    return joined.with_columns(
        channel=pl.coalesce("channel_ad", "channel"),
        creative_id=pl.col("creative_id").fill_null(NONE),
        audience=pl.col("audience").fill_null(NONE),
    )


def _names(rows: CampaignRows) -> dict[str, str]:
    named = rows.ads.filter(pl.col("creative_id").is_not_null() & pl.col("creative_name").is_not_null())
    pairs = named.select("creative_id", "creative_name").sort("creative_id", "creative_name")
    return dict(pairs.unique("creative_id", keep="first", maintain_order=True).iter_rows())


def _segments(
    dimension: Dimension,
    columns: Sequence[str],
    ads: pl.DataFrame,
    leads: pl.DataFrame,
    deals: pl.DataFrame,
    total_spend: float,
    names: Mapping[str, str],
    assumptions: Assumptions,
) -> tuple[Segment, ...]:
    cols = list(columns)
    filled = [pl.col(c).fill_null(NONE) for c in cols]
    spend = ads.group_by(filled).agg(spend=pl.col("spend").sum())
    counts = leads.group_by(filled).agg(leads=pl.len(), mqls=pl.col("reached_mqls").sum())
    pipeline = deals.group_by(filled).agg(pipeline=pl.col("amount").sum())
    table = (
        spend.join(counts, on=cols, how="full", coalesce=True)
        .join(pipeline, on=cols, how="full", coalesce=True)
        .fill_null(0)
        .sort([pl.col("pipeline"), pl.col("spend"), *cols], descending=[True, True] + [False] * len(cols))
    )
    segments, rank = [], 0
    for r in table.iter_rows(named=True):
        key = tuple(str(r[c]) for c in cols)
        n_leads, n_mqls = int(r["leads"]), int(r["mqls"])
        ranked = n_leads >= assumptions.min_segment_size
        if ranked:
            rank += 1
        segments.append(
            Segment(
                dimension=dimension,
                key=key,
                label=" x ".join(f"{names[k]} ({k})" if k in names else k for k in key),
                spend=float(r["spend"]),
                spend_share=float(r["spend"]) / total_spend if total_spend > 0 else None,
                leads=n_leads,
                mqls=n_mqls,
                mql_rate=rate(
                    n_mqls, n_leads, minimum=assumptions.min_segment_size, confidence=assumptions.confidence
                ),
                pipeline=float(r["pipeline"]),
                cost_per_mql=ratio(
                    Quantity.record(r["spend"]),
                    Quantity.counted(n_mqls),
                    minimum=assumptions.min_segment_size,
                    confidence=assumptions.confidence,
                )
                if r["spend"] > 0
                else Estimate.insufficient("no spend", n=n_mqls),
                rank=rank if ranked else None,
            )
        )
    return tuple(segments)


def _hogs(
    combos: Sequence[Segment], mqls: int, leads: int, assumptions: Assumptions
) -> tuple[BudgetFlag, ...]:
    average = mqls / leads if leads else 0.0
    tested = [s for s in combos if s.leads > 0 and s.leads < leads]
    p_values = [two_proportion_p(s.mqls, s.leads, mqls - s.mqls, leads - s.leads) for s in tested]
    q_values = benjamini_hochberg(p_values)
    tests = {s.key: (p, q) for s, p, q in zip(tested, p_values, q_values, strict=True)}
    flags = []
    for s in combos:
        share = s.spend_share or 0.0
        if share <= assumptions.combo_budget_share or s.leads == 0 or s.mqls / s.leads >= average:
            continue
        p, q = tests.get(s.key, (None, None))
        flags.append(
            _flag(s.dimension, s.key, s.label, share, "MQL rate", s.mql_rate, average, p, q, assumptions)
        )
    return tuple(flags)


def _flag(
    dimension: str,
    key: tuple[str, ...],
    label: str,
    share: float,
    measure: str,
    value: Estimate,
    average: float,
    p: float | None,
    q: float | None,
    assumptions: Assumptions,
) -> BudgetFlag:
    significant = q is not None and q < assumptions.false_discovery_rate
    shown = value.format(".3g")
    if not value.sufficient and value.value is not None:
        shown = f"{value.value:.3g} ({value.note})"
    verdict = (
        f"significant (q = {q:.2g})"
        if significant
        else "not significant" + (f" (q = {q:.2g})" if q is not None else ": not tested")
    )
    return BudgetFlag(
        dimension=dimension,
        key=key,
        label=label,
        spend_share=share,
        measure=measure,
        value=value,
        average=average,
        p_value=p,
        q_value=q,
        significant=significant,
        text=(
            f"{label} takes {share:.0%} of the spend (over {assumptions.combo_budget_share:.0%}) with "
            f"{measure} {shown} against an average of {average:.3g}; {verdict}"
        ),
    )


# --- an analyst's table ------------------------------------------------------------------------------


class TableSegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: tuple[str, ...]
    spend: float
    spend_share: float | None
    conversions: float
    conversion_share: float | None
    cost_per_conversion: Estimate
    value: float | None
    rank: int


class TableDissection(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: tuple[str, ...]
    spend: float
    conversions: float
    segments: tuple[TableSegment, ...]
    flags: tuple[BudgetFlag, ...]
    assumptions: Assumptions


def dissect_table(
    df: pl.DataFrame,
    spend: str,
    conversions: str,
    by: Sequence[str],
    *,
    value: str | None = None,
    assumptions: Assumptions = _DEFAULTS,
) -> TableDissection:
    """Segments of an analyst's table ranked by `value` (pipeline, if the table has it) or conversions.

    The flag here: a segment over `combo_budget_share` of the spend whose conversions per unit of
    spend are below the table's average. Its significance is an exact binomial test: under the
    average, the segment's share of all conversions equals its share of spend."""
    by = [by] if isinstance(by, str) else list(by)
    wanted = [spend, conversions, *by, *([value] if value else [])]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise ValueError(f"no column {', '.join(missing)} in the table (columns: {', '.join(df.columns)})")
    if not by:
        raise ValueError("give at least one column to segment by")
    sums = [pl.col(spend).sum().alias("spend"), pl.col(conversions).sum().alias("conversions")]
    if value:
        sums.append(pl.col(value).sum().alias("value"))
    order = "value" if value else "conversions"
    grouped = (
        df.group_by([pl.col(c).cast(pl.String).fill_null(NONE) for c in by])
        .agg(sums)
        .sort([order, "spend", *by], descending=[True, True] + [False] * len(by))
    )
    total_spend, total_conv = float(grouped["spend"].sum()), float(grouped["conversions"].sum())
    segments = []
    for rank, r in enumerate(grouped.iter_rows(named=True), start=1):
        conv = float(r["conversions"])
        segments.append(
            TableSegment(
                key=tuple(str(r[c]) for c in by),
                spend=float(r["spend"]),
                spend_share=float(r["spend"]) / total_spend if total_spend > 0 else None,
                conversions=conv,
                conversion_share=conv / total_conv if total_conv > 0 else None,
                cost_per_conversion=ratio(
                    Quantity.record(r["spend"]),
                    Quantity.counted(conv),
                    minimum=assumptions.min_segment_size,
                    confidence=assumptions.confidence,
                ),
                value=float(r["value"]) if value else None,
                rank=rank,
            )
        )
    return TableDissection(
        by=tuple(by),
        spend=total_spend,
        conversions=total_conv,
        segments=tuple(segments),
        flags=_table_hogs(segments, total_spend, total_conv, by, assumptions),
        assumptions=assumptions,
    )


def _table_hogs(
    segments: Sequence[TableSegment],
    spend: float,
    conversions: float,
    by: Sequence[str],
    assumptions: Assumptions,
) -> tuple[BudgetFlag, ...]:
    if spend <= 0 or conversions <= 0:
        return ()
    average = spend / conversions
    shares = [s.spend_share or 0.0 for s in segments]
    p_values = [
        binomtest(min(round(s.conversions), round(conversions)), round(conversions), min(share, 1.0)).pvalue
        if 0 < share < 1
        else 1.0
        for s, share in zip(segments, shares, strict=True)
    ]
    q_values = benjamini_hochberg(p_values)
    return tuple(
        _flag(
            " x ".join(by),
            s.key,
            " x ".join(s.key),
            share,
            "cost per conversion",
            s.cost_per_conversion,
            average,
            p,
            q,
            assumptions,
        )
        for s, share, p, q in zip(segments, shares, p_values, q_values, strict=True)
        if share > assumptions.combo_budget_share
        and (s.conversions == 0 or s.spend / s.conversions > average)
    )
