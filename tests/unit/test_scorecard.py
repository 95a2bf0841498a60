"""The scorecard: DOMAIN.md's status bands at and around their thresholds for every direction and
group, variance against plan, benchmark fallbacks disclosed, back-dated plans as findings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.assumptions import Assumptions, ScorecardThresholds
from diagnostics.metrics import Campaign, CampaignMap, UnknownMetric
from diagnostics.scorecard import scorecard, scorecard_from_table, status
from tests.sample_tables import sample_tables

UTC = dt.UTC
DEFAULT = ScorecardThresholds()
DIRECTIONS = ("higher", "lower", "target")
GROUPS = ("outcome", "efficiency", "quality", "operational")


@pytest.mark.parametrize(
    ("variance", "direction", "group", "expected"),
    [
        (0.0, "lower", "efficiency", "ON TRACK"),
        (0.05, "lower", "efficiency", "ON TRACK"),  # a CPL 5% over plan: at most 5% adverse
        (0.08, "lower", "efficiency", "OVER PLAN"),
        (0.12, "lower", "efficiency", "NEAR FLAG"),
        (0.16, "lower", "efficiency", "FLAGGED"),
        (-0.08, "lower", "efficiency", "AHEAD"),  # a CPL 8% under plan
        (0.08, "higher", "outcome", "AHEAD"),  # pipeline 8% over plan is favourable
        (-0.08, "higher", "outcome", "NEAR FLAG"),  # no OVER PLAN band outside efficiency
        (-0.12, "higher", "quality", "NEAR FLAG"),
        (-0.20, "higher", "quality", "FLAGGED"),
        (0.04, "target", "operational", "ON TRACK"),
        (0.08, "target", "operational", "NEAR FLAG"),  # pacing 8% over: either side is adverse
        (-0.08, "target", "operational", "NEAR FLAG"),
        (-0.30, "target", "operational", "FLAGGED"),
        (0.08, "target", "efficiency", "OVER PLAN"),
    ],
)
def test_status_by_hand(variance: float, direction: Any, group: Any, expected: str) -> None:
    assert status(variance, direction, group, DEFAULT) == expected


# the label DOMAIN.md gives an adverse deviation just below (-1), at (0) and just above (+1) each threshold
ADVERSE = {
    True: {  # spend or efficiency metric
        "on_track": ("ON TRACK", "ON TRACK", "OVER PLAN"),
        "over_plan": ("OVER PLAN", "OVER PLAN", "NEAR FLAG"),
        "flag": ("NEAR FLAG", "NEAR FLAG", "FLAGGED"),
    },
    False: {
        "on_track": ("ON TRACK", "ON TRACK", "NEAR FLAG"),
        "over_plan": ("NEAR FLAG", "NEAR FLAG", "NEAR FLAG"),
        "flag": ("NEAR FLAG", "NEAR FLAG", "FLAGGED"),
    },
}
STEP = 1e-6

thresholds = st.tuples(st.integers(10, 200), st.integers(10, 200), st.integers(10, 200)).map(
    lambda t: ScorecardThresholds(on_track=t[0] / 1000, over_plan=(t[0] + t[1]) / 1000, flag=sum(t) / 1000)
)


def _cases(t: ScorecardThresholds) -> list[tuple[str, str, float, str]]:
    """(direction, group, variance, expected) at and around every threshold, both sides where both exist."""
    out = []
    for direction in DIRECTIONS:
        for group in GROUPS:
            for name, labels in ADVERSE[group == "efficiency"].items():
                for offset, expected in zip((-STEP, 0.0, STEP), labels, strict=True):
                    adverse = getattr(t, name) + offset
                    signs = {"higher": (-1,), "lower": (1,), "target": (1, -1)}[direction]
                    out += [(direction, group, sign * adverse, expected) for sign in signs]
            if direction != "target":  # favourable: ON TRACK up to on_track, AHEAD beyond
                sign = 1 if direction == "higher" else -1
                for offset, expected in zip(
                    (-STEP, 0.0, STEP), ("ON TRACK", "ON TRACK", "AHEAD"), strict=True
                ):
                    out.append((direction, group, sign * (t.on_track + offset), expected))
                out.append((direction, group, sign * (t.flag + 0.5), "AHEAD"))
    return out


@settings(max_examples=60, deadline=None)
@given(t=thresholds)
def test_labels_respect_the_thresholds_at_their_boundaries(t: ScorecardThresholds) -> None:
    for direction, group, variance, expected in _cases(t):
        assert status(variance, direction, group, t) == expected, (direction, group, variance)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(t=thresholds, plan=st.floats(0.01, 1e7))
def test_boundaries_hold_from_plan_and_actual_values(t: ScorecardThresholds, plan: float) -> None:
    """Through the table entry point: actual = plan x (1 + variance), with the floats that gives."""
    cases = _cases(t)
    table = pl.DataFrame(
        {
            "metric": [f"m{i}" for i in range(len(cases))],
            "plan": [plan] * len(cases),
            "actual": [plan * (1 + v) for _, _, v, _ in cases],
            "direction": [d for d, _, _, _ in cases],
            "group": [g for _, g, _, _ in cases],
        }
    )
    card = scorecard_from_table(table, assumptions=Assumptions(scorecard=t))
    assert [r.status for r in card.rows] == [e for _, _, _, e in cases]


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(range(6)))
def test_table_rows_do_not_depend_on_order(order: list[int]) -> None:
    table = pl.DataFrame(
        {
            "metric": ["cpl", "pipeline", "mql_rate", "pacing", "spend", "nps"],
            "plan": [50.0, 1e6, 0.4, 1.0, 1000.0, 40.0],
            "actual": [54.0, 1.2e6, 0.3, 0.93, 1130.0, 45.0],
            "direction": [None, None, None, None, None, "higher"],
            "group": [None, None, None, None, None, "quality"],
        }
    )
    by_metric = {r.metric: r for r in scorecard_from_table(table.select(pl.all().gather(order))).rows}
    assert by_metric == {r.metric: r for r in scorecard_from_table(table).rows}
    expected = {
        "cpl": "OVER PLAN",  # 54 vs 50: 8% over a lower-is-better efficiency metric
        "pipeline": "AHEAD",  # +20%
        "mql_rate": "FLAGGED",  # 0.3 vs 0.4: -25%
        "pacing": "NEAR FLAG",  # 0.93 vs 1.0: 7% under a target, operational
        "spend": "NEAR FLAG",  # 1130 vs 1000: 13% over, past the 10% OVER PLAN band, not yet 15%
        "nps": "AHEAD",  # custom metric, +12.5%
    }
    assert {m: r.status for m, r in by_metric.items()} == expected
    assert by_metric["cpl"].variance is not None and by_metric["cpl"].variance.value == pytest.approx(0.08)


def test_table_errors_name_what_is_wrong() -> None:
    with pytest.raises(
        UnknownMetric, match=r"unknown metric 'nps': give its direction and group .*known: spend"
    ):
        scorecard_from_table(pl.DataFrame({"metric": ["nps"], "plan": [1.0], "actual": [1.0]}))
    with pytest.raises(ValueError, match=r"'cpl' is governed; the table gives direction 'higher'"):
        scorecard_from_table(
            pl.DataFrame({"metric": ["cpl"], "plan": [1.0], "actual": [1.0], "direction": ["higher"]})
        )
    with pytest.raises(ValueError, match="missing: actual"):
        scorecard_from_table(pl.DataFrame({"metric": ["cpl"], "plan": [1.0]}))
    with pytest.raises(ValueError, match="listed more than once: cpl"):
        scorecard_from_table(
            pl.DataFrame({"metric": ["cpl", "cpl"], "plan": [1.0, 2.0], "actual": [1.0, 2.0]})
        )


def test_render_prints_the_thresholds_it_used() -> None:
    table = pl.DataFrame({"metric": ["cpl"], "plan": [50.0], "actual": [60.0]})
    custom = Assumptions(scorecard=ScorecardThresholds(on_track=0.03, over_plan=0.08, flag=0.25))
    text = scorecard_from_table(table, assumptions=custom).render()
    assert text.splitlines()[0] == (
        "thresholds: ON TRACK/AHEAD at 3%, OVER PLAN to 8% (spend and efficiency), FLAGGED beyond 25%"
    )
    assert "+20.0%  NEAR FLAG" in text  # 60 vs 50 with these thresholds


# --- a campaign's scorecard from hand-made tables --------------------------------------------------------

CAMPAIGNS = CampaignMap(
    campaigns={"C1": Campaign(id="C1", start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 14))},
    platform_campaigns={"111": "C1", "222": "C1"},
    platform_channels={"google_ads": "paid_search", "meta_ads": "paid_social"},
)
BEFORE, AFTER = dt.datetime(2025, 12, 20, tzinfo=UTC), dt.datetime(2026, 1, 3, tzinfo=UTC)


def hand_tables(plans: list[tuple[str, float, dt.datetime]]) -> dict[str, pl.DataFrame]:
    ads = pl.DataFrame(
        {
            "date": [dt.date(2026, 1, 2)] * 2,
            "platform": ["google_ads", "meta_ads"],
            "campaign_id": ["111", "222"],
            "spend": [600.0, 400.0],
            "impressions": [10000, 10000],
            "clicks": [100, 100],
        }
    )
    created = dt.datetime(2026, 1, 5, tzinfo=UTC)
    # paid search: 60 leads, 30 MQLs, 15 SQLs; paid social: 40 leads, 10 MQLs, 2 SQLs
    search = [(i < 30, i < 15) for i in range(60)]
    social = [(i < 10, i < 2) for i in range(40)]
    leads = pl.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(100)],
            "created_at": [created] * 100,
            "channel": ["paid_search"] * 60 + ["paid_social"] * 40,
            "campaign_id": ["111"] * 60 + ["222"] * 40,
            "mql_at": [created if mql else None for mql, _ in search + social],
            "sql_at": [created if sql else None for _, sql in search + social],
        }
    )
    plan = pl.DataFrame(
        {
            "campaign_id": ["C1"] * len(plans),
            "metric": [m for m, _, _ in plans],
            "target": [t for _, t, _ in plans],
            "documented_at": [d for _, _, d in plans],
        },
        schema={"campaign_id": pl.String, "metric": pl.String, "target": pl.Float64,
                "documented_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    benchmarks = pl.DataFrame(
        {
            "channel": ["paid_search", "paid_social", "all", "paid_search", "paid_search", "paid_social"],
            "metric": ["cpl", "cpl", "ctr", "mqls", "mql_to_sql_rate", "mql_to_sql_rate"],
            "value": [12.0, 8.0, 0.02, 5.0, 0.5, 0.25],
            "source": ["bench A", "bench B", "bench C", "bench D", "bench E", "bench F"],
        }
    )
    return {"ad_performance": ads, "leads": leads, "plans": plan, "benchmarks": benchmarks}


def test_campaign_scorecard_by_hand() -> None:
    plans = [("spend", 1000.0, BEFORE), ("leads", 100.0, AFTER), ("mql_rate", 0.5, BEFORE)]
    card = scorecard(
        hand_tables(plans), CAMPAIGNS, "C1", assumptions=Assumptions(min_conversions_per_week=10)
    )
    spend, leads, mql_rate = card.row("spend"), card.row("leads"), card.row("mql_rate")
    assert (spend.plan, spend.actual.value, spend.status, spend.plan_source) == (
        1000,
        1000,
        "ON TRACK",
        "plan",
    )
    assert (leads.plan, leads.actual.value, leads.status) == (100, 100, "ON TRACK")
    # mql_rate 40 / 100 = 0.4 against 0.5: variance (0.4 - 0.5) / 0.5 = -20%, adverse beyond 15%
    assert mql_rate.variance is not None and mql_rate.variance.value == pytest.approx(-0.2)
    assert mql_rate.status == "FLAGGED" and mql_rate.variance.interval is not None

    # cpl has no plan: benchmarks 12 (search) and 8 (social), spend held: 1000 / (600/12 + 400/8) = 10
    cpl = card.row("cpl")
    assert (cpl.plan_source, cpl.plan, cpl.actual.value, cpl.status) == ("benchmark", 10, 10, "ON TRACK")
    assert cpl.assumption is not None
    assert "paid_search 12 (bench A); paid_social 8 (bench B); covers 100% of spend" in cpl.assumption
    # a rate's benchmarks are weighted by the denominator: (30 x 0.5 + 10 x 0.25) / 40 = 0.4375
    sql = card.row("mql_to_sql_rate")
    assert sql.plan == pytest.approx(0.4375) and sql.actual.value == pytest.approx(17 / 40)
    assert sql.status == "ON TRACK"  # (0.425 - 0.4375) / 0.4375 = -2.9%
    ctr = card.row("ctr")  # an "all channels" benchmark: 0.02 against 200 / 20000 = 0.01
    assert (ctr.plan, ctr.status) == (0.02, "FLAGGED") and "for all channels (bench C)" in (
        ctr.assumption or ""
    )
    mqls = card.row("mqls")  # a per-channel benchmark of a count cannot stand for the campaign's
    assert (mqls.plan, mqls.status, mqls.note) == (None, None, "no plan target and no benchmark")
    pacing = card.row("pacing")
    assert (pacing.plan_source, pacing.plan, pacing.actual.value) == ("definition", 1.0, 1.0)

    assert [a.split(":")[0] for a in card.assumptions_used] == ["cpl", "ctr", "mql_to_sql_rate", "pacing"]
    kinds = {f.kind: f for f in card.findings}
    assert set(kinds) == {"back_dated_plan", "missing_hypothesis"}
    assert kinds["back_dated_plan"].metrics == ("leads",)
    assert kinds["back_dated_plan"].documented_at == AFTER


def test_objective_findings() -> None:
    late = CampaignMap(
        campaigns={
            "C1": Campaign(
                id="C1",
                start=dt.date(2026, 1, 1),
                end=dt.date(2026, 1, 14),
                hypothesis="Search beats social on cost per MQL.",
                hypothesis_documented_at=AFTER,
            )
        },
        platform_campaigns=CAMPAIGNS.platform_campaigns,
        platform_channels=CAMPAIGNS.platform_channels,
    )
    card = scorecard(hand_tables([]), late, "C1")
    assert [f.kind for f in card.findings] == ["missing_plan", "back_dated_hypothesis"]
    on_time = late.model_copy(
        update={
            "campaigns": {"C1": late.campaigns["C1"].model_copy(update={"hypothesis_documented_at": BEFORE})}
        }
    )
    assert scorecard(hand_tables([("spend", 1.0, BEFORE)]), on_time, "C1").findings == ()
    with pytest.raises(UnknownMetric, match="unknown metric 'cpx'"):
        scorecard(hand_tables([("cpx", 1.0, BEFORE)]), CAMPAIGNS, "C1")


# --- the generated sample ---------------------------------------------------------------------------


def test_sample_scorecards() -> None:
    s = sample_tables("S", 7)
    campaigns = CampaignMap.from_campaigns_json(s.campaigns)
    current = scorecard(s.tables, campaigns, "cmp-2026q3")
    print(current.render())
    assert current.findings == ()  # plan and hypothesis documented before launch
    flagged = {r.metric for r in current.rows if r.status == "FLAGGED"}
    assert {"landing_cvr", "mql_rate", "mql_to_sql_rate", "cost_per_mql", "pipeline"} <= flagged
    assert current.row("spend").status == "ON TRACK" and current.row("pacing").status == "ON TRACK"
    for baseline in ("cmp-2026q1", "cmp-2026q2"):
        card = scorecard(s.tables, campaigns, baseline)
        assert not [r.metric for r in card.rows if r.status == "FLAGGED"], baseline


def test_sample_benchmark_fallback_is_disclosed() -> None:
    s = sample_tables("S", 7)
    campaigns = CampaignMap.from_campaigns_json(s.campaigns)
    tables = dict(s.tables, plans=s.tables["plans"].filter(pl.col("metric") != "cpl"))
    cpl = scorecard(tables, campaigns, "cmp-2026q3").row("cpl")
    assert cpl.plan_source == "benchmark" and cpl.assumption is not None
    assert "paid_search 120 (Warrant sample benchmarks" in cpl.assumption
    assert "paid_social 95 (Warrant sample benchmarks" in cpl.assumption
    # spend held: 53,505 / (21,243 / 120 + 32,262 / 95) = 103.6
    assert cpl.plan == pytest.approx(103.6, abs=0.1)
