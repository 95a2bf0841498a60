"""The funnel diagnostic: stage rates against the baseline with FDR-controlled tests, the channels behind
a drop, what restoring it is worth, when it began; on hand-made tables and on the generated sample."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.assumptions import Assumptions
from diagnostics.funnel import funnel
from diagnostics.metrics import Campaign, CampaignMap
from diagnostics.stats import two_proportion_p
from tests.sample_tables import sample_tables

UTC = dt.UTC
AS_OF = dt.datetime(2026, 6, 1, tzinfo=UTC)
SMALL = Assumptions(min_segment_size=10)
CAMPAIGNS = CampaignMap(
    campaigns={
        "B": Campaign(id="B", start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 14)),
        "C": Campaign(id="C", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 20)),
    },
    platform_campaigns={"b-ads": "B"},
    platform_channels={"google_ads": "paid_search"},
)


def _leads(
    campaign: str, channel: str, n: int, mql: int, sql: int, opp: int, won: int, late_sql: int = 0
) -> list:
    """n leads created on the campaign's day 3: the first `mql` reach MQL a day later, and so on; the
    last `late_sql` of the SQLs are 100 days after their MQL."""
    start = dt.datetime.combine(CAMPAIGNS.campaigns[campaign].start, dt.time(9), UTC) + dt.timedelta(days=2)
    day = dt.timedelta(days=1)
    return [
        {
            "lead_id": f"{campaign}-{channel}-{i}",
            "created_at": start,
            "channel": channel,
            "mql_at": start + day if i < mql else None,
            "sql_at": (start + (101 if i >= sql - late_sql else 2) * day) if i < sql else None,
            "opportunity_at": start + 3 * day if i < opp else None,
            "won_at": start + 10 * day if i < won else None,
        }
        for i in range(n)
    ]


def _tables(groups: list[tuple], won_revenue: float | None = None) -> dict[str, pl.DataFrame]:
    """Leads of `_leads(*group)` for each group; a deal per opportunity: the current campaign's worth
    6000 and 14000 alternately (mean over 15 deals (8 x 6000 + 7 x 14000) / 15 = 9733.33), the
    baseline's 20000; won deals carry `won_revenue` (None: their amount)."""
    leads = pl.DataFrame([row for group in groups for row in _leads(*group)])
    with_opp = leads.filter(pl.col("opportunity_at").is_not_null())
    current = sorted(lead for lead in with_opp["lead_id"] if lead.startswith("C"))
    amount = {lead: 20000.0 for lead in with_opp["lead_id"] if lead.startswith("B")}
    amount |= {lead: 6000.0 if k % 2 == 0 else 14000.0 for k, lead in enumerate(current)}
    won = pl.col("won_at").is_not_null()
    opportunities = with_opp.select(
        "lead_id",
        created_at="opportunity_at",
        amount=pl.col("lead_id").replace_strict(amount),
        won=won,
        revenue=pl.when(won).then(pl.lit(won_revenue, pl.Float64)),
    )
    return {"leads": leads, "opportunities": opportunities}


def lead_tables(late_sql: int = 0, plan: float | None = None) -> dict[str, pl.DataFrame]:
    # baseline B: per channel 100 leads, 50 MQLs, 25 SQLs, 12 opportunities, 4 won
    # current C: the same, except paid social's MQLs become SQLs at 5 / 50 instead of 25 / 50
    tables = _tables(
        [
            ("B", "paid_search", 100, 50, 25, 12, 4, late_sql),
            ("B", "paid_social", 100, 50, 25, 12, 4),
            ("C", "paid_search", 100, 50, 25, 12, 4),
            ("C", "paid_social", 100, 50, 5, 3, 1),
        ]
    )
    if plan is not None:
        tables["plans"] = pl.DataFrame(
            {"campaign_id": ["C"], "metric": ["mql_to_sql_rate"], "target": [plan], "documented_at": [AS_OF]}
        )
    return tables


def test_mql_to_sql_drop_by_hand() -> None:
    f = funnel(lead_tables(), CAMPAIGNS, "C", ["B"], assumptions=SMALL, as_of=AS_OF)
    assert f.largest_degradation == "mqls->sqls"
    overall = f.comparison("mqls->sqls")
    # 30 / 100 against 50 / 100: -40%; z = -0.2 / sqrt(0.4 x 0.6 x 2/100) = -2.887, p = 0.00389
    assert (overall.current.value, overall.baseline.value) == (0.3, 0.5)
    assert overall.relative_change == pytest.approx(-0.4)
    assert overall.p_value == pytest.approx(math.erfc(2.886751 / math.sqrt(2)), rel=1e-5)
    # ten tests (stages x channels with 10 trials or more); this p is the second smallest: q = p x 10 / 2
    assert overall.q_value == pytest.approx(overall.p_value * 10 / 2)
    social, search = f.comparison("mqls->sqls", "paid_social"), f.comparison("mqls->sqls", "paid_search")
    assert social.degraded and social.p_value == pytest.approx(two_proportion_p(5, 50, 25, 50))
    assert not search.degraded and search.relative_change == 0
    untested = f.comparison("sqls->opportunities", "paid_social")  # 5 current SQLs < 10
    assert untested.q_value is None and untested.note == "fewer than 10 trials (min_segment_size): not tested"
    assert not any(c.degraded for c in f.comparisons if c.transition != "mqls->sqls")

    (callout,) = f.callouts
    assert callout.label == "MQL->SQL" and callout.onset is None  # the drop spans the whole campaign
    (driver,) = callout.drivers
    assert (driver.channel, driver.lost, driver.share) == (
        "paid_social",
        pytest.approx(20.0),
        1.0,
    )  # (0.5-0.1) x 50
    (restore,) = callout.restorations
    # to the baseline: 100 x 0.5 - 30 = 20 more SQLs; at the current SQL -> opportunity rate 15 / 30 = 0.5 and
    # the mean deal 9733.33: 20 x 0.5 x 9733.33 = 97,333 pipeline
    assert (restore.target, restore.extra.value, restore.extra_stage) == (
        "baseline",
        pytest.approx(20),
        "sqls",
    )
    assert restore.money.value == pytest.approx(97_333.33, abs=0.01) and restore.money_kind == "pipeline"
    assert restore.money.interval is not None and restore.extra.interval is not None
    assert restore.money.interval.low < 97_333 < restore.money.interval.high
    assert restore.extra.interval.low < 20 < restore.extra.interval.high
    assert "restoring MQL->SQL to baseline (50.0%) adds ~20 SQLs" in callout.text
    assert "driven by paid_social (100% of the loss)" in callout.text
    assert f.current_counts["all"]["sqls"] == 30 and f.baseline_counts["paid_social"]["mqls"] == 50


def test_restoring_to_plan() -> None:
    f = funnel(lead_tables(plan=0.6), CAMPAIGNS, "C", ["B"], assumptions=SMALL, as_of=AS_OF)
    plan = next(r for r in f.callouts[0].restorations if r.target == "plan")
    # 100 x 0.6 - 30 = 30 more SQLs, exactly (a plan has no sampling error); 30 x 0.5 x 9733.33
    assert plan.extra.value == pytest.approx(30) and plan.extra.interval is not None
    assert plan.extra.interval.low == plan.extra.interval.high == pytest.approx(30)
    assert plan.money.value == pytest.approx(146_000, abs=0.01)


def test_later_stages_are_valued_by_what_they_create() -> None:
    # per channel, B: 100 leads, 80 MQLs, 60 SQLs, 40 opportunities, 10 won; C: 20 opportunities, 5 won
    b, c = ("B", "paid_search", 100, 80, 60, 40, 10), ("C", "paid_search", 100, 80, 60, 20, 5)
    f = funnel(_tables([b, c]), CAMPAIGNS, "C", ["B"], assumptions=SMALL, as_of=AS_OF)
    (callout,) = f.callouts
    (restore,) = callout.restorations
    # SQL -> opportunity: 20 / 60 against 40 / 60: 60 x 2/3 - 20 = 20 more opportunities, each worth the
    # mean current deal (10 of 6000 and 10 of 14000: 10000): 200,000 pipeline, no win rate applied
    assert (callout.transition, restore.extra.value, restore.money_kind) == (
        "sqls->opportunities",
        20,
        "pipeline",
    )
    assert restore.money.value == pytest.approx(200_000)
    # the win stage is valued in revenue: B wins 40 / 160, C 8 / 160; 160 x 0.25 - 8 = 32 more wins at 5000
    b, c = ("B", "paid_search", 400, 320, 240, 160, 40), ("C", "paid_search", 400, 320, 240, 160, 8)
    lost = funnel(_tables([b, c], won_revenue=5000.0), CAMPAIGNS, "C", ["B"], assumptions=SMALL, as_of=AS_OF)
    (won,) = lost.callouts
    assert won.transition == "opportunities->won" and won.restorations[0].money_kind == "revenue"
    assert won.restorations[0].extra.value == pytest.approx(32)
    assert won.restorations[0].money.value == pytest.approx(160_000)


def test_conversions_beyond_the_horizon_do_not_count() -> None:
    # as_of 2026-06-01 is 78.6 days after C ends: five baseline SQLs 100 days after their MQL are too late
    f = funnel(lead_tables(late_sql=5), CAMPAIGNS, "C", ["B"], assumptions=SMALL, as_of=AS_OF)
    assert f.horizon_days == pytest.approx((AS_OF - dt.datetime(2026, 3, 21, tzinfo=UTC)).days)
    assert f.comparison("mqls->sqls", "paid_search").baseline.value == 20 / 50
    assert f.baseline_counts["paid_search"]["sqls"] == 25  # the counts are as observed
    with pytest.raises(ValueError, match="post-mortem needs a closed campaign"):
        funnel(lead_tables(), CAMPAIGNS, "C", ["B"], as_of=dt.datetime(2026, 3, 10, tzinfo=UTC))


def landing_tables() -> dict[str, pl.DataFrame]:
    """100 sessions a day; 20 leads a day in the baseline and C's first 7 days, 10 a day from C's day 8."""
    sessions, leads = [], []
    for campaign, days in (("B", 14), ("C", 20)):
        start = dt.datetime.combine(CAMPAIGNS.campaigns[campaign].start, dt.time(8), UTC)
        for d in range(days):
            at = start + dt.timedelta(days=d)
            sessions += [{"timestamp": at, "channel": "paid_search", "event_type": "session_start"}] * 100
            n = 10 if campaign == "C" and d >= 7 else 20
            leads += [
                {"lead_id": f"{campaign}{d}-{i}", "created_at": at, "channel": "paid_search"}
                for i in range(n)
            ]
    return {"touchpoints": pl.DataFrame(sessions), "leads": pl.DataFrame(leads)}


def test_onset_of_a_drop() -> None:
    f = funnel(landing_tables(), CAMPAIGNS, "C", ["B"], as_of=AS_OF)
    assert f.largest_degradation == "sessions->leads"
    callout = f.callout("sessions->leads")
    assert callout is not None and callout.onset is not None
    onset = callout.onset
    assert (onset.date, onset.day) == (dt.date(2026, 3, 8), 8)
    assert onset.earliest <= onset.date <= onset.latest
    assert (onset.before.value, onset.after.value) == (0.2, 0.1)  # 140 / 700 and 130 / 1300
    assert "from 2026-03-08 (campaign day 8" in callout.text


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(seed: int) -> None:
    tables = lead_tables(late_sql=3, plan=0.6)
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=seed) for k, v in tables.items()}
    kw: dict[str, Any] = {"assumptions": SMALL, "as_of": AS_OF}
    assert funnel(shuffled, CAMPAIGNS, "C", ["B"], **kw) == funnel(tables, CAMPAIGNS, "C", ["B"], **kw)


# --- the generated sample ---------------------------------------------------------------------------


def test_sample_finds_the_planted_drops() -> None:
    s = sample_tables("S", 7)
    campaigns = CampaignMap.from_campaigns_json(s.campaigns)
    modes = {m["id"]: m for m in s.ground_truth["failure_modes"]}
    f = funnel(s.tables, campaigns, "cmp-2026q3", ["cmp-2026q1", "cmp-2026q2"])
    for callout in f.callouts:
        print(callout.text)

    # landing_cvr_drop: the session -> lead rate fell most, in both paid channels, from day 8
    assert f.largest_degradation == "sessions->leads"
    landing = f.callout("sessions->leads")
    assert landing is not None and landing.relative_change < -0.25
    assert {d.channel for d in landing.drivers} == {"paid_search", "paid_social"}
    planted = modes["landing_cvr_drop"]["parameters"]
    assert landing.onset is not None
    assert landing.onset.earliest <= dt.date.fromisoformat(planted["from_date"]) <= landing.onset.latest
    assert abs(landing.onset.day - planted["campaign_day"]) <= 1
    assert landing.onset.after.value < 0.6 * landing.onset.before.value  # planted: x 0.55

    # social_mql_to_sql: MQL -> SQL fell, and only paid social drove it
    handoff = f.callout("mqls->sqls")
    assert handoff is not None and [d.channel for d in handoff.drivers] == ["paid_social"]
    social = f.comparison("mqls->sqls", "paid_social")
    observed = modes["social_mql_to_sql"]["observed"]["cmp-2026q3"]["paid_social"]
    assert social.degraded and social.current.value == pytest.approx(observed, abs=0.01)
    assert not f.comparison("mqls->sqls", "paid_search").degraded
    (to_baseline, to_plan) = handoff.restorations
    assert to_baseline.extra_stage == "sqls" and 10 < to_baseline.extra.value < 25
    assert to_baseline.money.value is not None and to_baseline.money.value > 0 and to_plan.target == "plan"


def test_sample_baselines_show_no_planted_drop() -> None:
    s = sample_tables("S", 7)
    campaigns = CampaignMap.from_campaigns_json(s.campaigns)
    f = funnel(s.tables, campaigns, "cmp-2026q2", ["cmp-2026q1"])
    assert f.callouts == () and f.largest_degradation is None


def test_sample_row_order_does_not_matter() -> None:
    s = sample_tables("S", 7)
    campaigns = CampaignMap.from_campaigns_json(s.campaigns)
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=11) for k, v in s.tables.items()}
    args = (campaigns, "cmp-2026q3", ["cmp-2026q1", "cmp-2026q2"])
    assert funnel(shuffled, *args) == funnel(s.tables, *args)
