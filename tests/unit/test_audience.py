"""Audience misalignment: shares and conversion gaps recovered from synthetic leads, Newcombe's
interval against the published example, the placement and coverage rules, spend shares over days,
and the generated sample's social-sourced MQLs that rarely become SQLs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from diagnostics.assumptions import Assumptions
from diagnostics.audience import AudienceParameters, lead_alignment, spend_alignment
from tests.sample_tables import sample_tables

SIZES = ("1-50", "51-200", "201-1000", "1001-5000", "5000+")
ICP = {"dim_company_size": ["201-1000", "1001-5000", "5000+"]}


def synthetic_leads(
    rng: np.random.Generator, n: int = 2000, inside_rate: float = 0.4, outside_rate: float = 0.2
):
    """Leads whose company size is outside the ICP 40% of the time and converts at `outside_rate`."""
    outside = rng.random(n) < 0.4
    size = np.where(outside, rng.choice(SIZES[:2], n), rng.choice(SIZES[2:], n))
    converted = rng.random(n) < np.where(outside, outside_rate, inside_rate)
    when = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    return pl.DataFrame({"dim_company_size": size, "mql_at": [when if c else None for c in converted]})


def test_share_rates_and_gap_are_recovered_within_their_intervals() -> None:
    covered = 0
    for seed in range(20):
        result = lead_alignment(synthetic_leads(np.random.default_rng(seed)), ICP)
        assert result.inside + result.outside == 2000 and result.unknown == 0 and result.blocked_by == ()
        for estimate, truth in (
            (result.outside_share, 0.4),
            (result.inside_rate, 0.4),
            (result.outside_rate, 0.2),
        ):
            assert estimate.interval is not None and estimate.interval.method == "wilson"
            assert estimate.value == pytest.approx(truth, abs=0.05)
        gap = result.difference
        assert gap.interval is not None and gap.interval.method == "newcombe" and gap.interval.high < 0
        covered += gap.interval.low <= -0.2 <= gap.interval.high
        assert result.p_value is not None and result.p_value < 1e-6
    assert covered >= 17
    assert result.icp == {"dim_company_size": ("1001-5000", "201-1000", "5000+")}
    segments = {s.value: s for s in result.segments}
    assert segments["1-50"].in_icp is False and segments["5000+"].in_icp is True
    assert sum(s.rows for s in result.segments) == 2000
    assert segments["1-50"].rate is not None and segments["1-50"].rate.interval is not None


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, method 10: 56/70 - 48/80 = 0.2, [0.0524, 0.3339].
    leads = pl.DataFrame(
        {
            "segment": ["out"] * 70 + ["in"] * 80,
            "won": [True] * 56 + [False] * 14 + [True] * 48 + [False] * 32,
        }
    )
    result = lead_alignment(leads, {"segment": ["in"]}, outcome="won")
    assert result.difference.value == pytest.approx(0.2)
    assert result.difference.interval is not None
    assert result.difference.interval.low == pytest.approx(0.0524, abs=1e-4)
    assert result.difference.interval.high == pytest.approx(0.3339, abs=1e-4)


def test_placement_outside_beats_unknown_and_empty_is_not_evidence() -> None:
    leads = pl.DataFrame(
        {
            "size": ["big", "big", "small", None, "small", None],
            "industry": ["Software", None, None, "Software", "Retail", None],
            "sql_at": [1, None, 1, None, None, 1],
        }
    )
    result = lead_alignment(leads, {"size": ["big"], "industry": ["Software"]}, outcome="sql_at")
    # inside: row 1; outside: rows 3 and 5 (a known disallowed value); unknown: rows 2, 4 and 6.
    assert (result.inside, result.outside, result.unknown) == (1, 2, 3)
    assert result.coverage == {"size": pytest.approx(4 / 6), "industry": pytest.approx(3 / 6)}
    assert result.blocked_by == ("industry",)
    assert not result.difference.sufficient and "industry 50% populated" in (result.difference.note or "")


def test_a_thinly_populated_dimension_blocks_conclusions_unless_configured() -> None:
    rng = np.random.default_rng(1)
    leads = synthetic_leads(rng).with_columns(
        pl.when(pl.Series(rng.random(2000) < 0.5))
        .then(None)
        .otherwise(pl.col("dim_company_size"))
        .alias("dim_company_size")
    )
    blocked = lead_alignment(leads, ICP)
    assert blocked.blocked_by == ("dim_company_size",) and blocked.p_value is None
    for estimate in (blocked.outside_share, blocked.inside_rate, blocked.outside_rate, blocked.difference):
        assert not estimate.sufficient and "below the 60% needed" in (estimate.note or "")
    assert blocked.outside_rate.value == pytest.approx(0.2, abs=0.05)  # the number stays, labelled
    allowed = lead_alignment(leads, ICP, parameters=AudienceParameters(min_coverage=0.4))
    assert (
        allowed.blocked_by == () and allowed.difference.sufficient and allowed.parameters.min_coverage == 0.4
    )


def test_small_groups_and_bad_icps() -> None:
    leads = synthetic_leads(np.random.default_rng(2), n=40)
    small = lead_alignment(leads, ICP)
    assert not small.difference.sufficient and small.p_value is None
    assert "< 30 needed" in (small.difference.note or "")
    loose = lead_alignment(
        leads, ICP, parameters=AudienceParameters.from_assumptions(Assumptions(min_segment_size=5))
    )
    assert loose.difference.sufficient and loose.parameters.min_segment_size == 5
    with pytest.raises(ValueError, match="not in the data"):
        lead_alignment(leads, {"dim_industry": ["Software"]})
    with pytest.raises(ValueError, match="names no dimension"):
        lead_alignment(leads, {})


def test_spend_share_outside_the_icp_resamples_days() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for d in range(30):
        day = dt.date(2026, 9, 1) + dt.timedelta(days=d)
        rows += [
            {"date": day, "audience": "IT Directors", "spend": 300 * rng.lognormal(0, 0.2)},
            {"date": day, "audience": "Lookalike", "spend": 100 * rng.lognormal(0, 0.2)},
            {"date": day, "audience": None, "spend": 50.0},
        ]
    ads = pl.DataFrame(rows)
    result = spend_alignment(
        ads, {"audience": ["IT Directors"]}, parameters=AudienceParameters(bootstrap_samples=500)
    )
    lookalike = ads.filter(pl.col("audience") == "Lookalike")["spend"].sum()
    assert result.spend == pytest.approx(ads["spend"].sum()) and result.days == 30
    assert result.outside_share.value == pytest.approx(lookalike / ads["spend"].sum())
    assert result.outside_share.interval is not None and result.outside_share.interval.method == "bootstrap"
    assert result.outside_share.interval.low < result.outside_share.value < result.outside_share.interval.high
    assert result.unknown_share.value == pytest.approx(1500 / ads["spend"].sum())
    assert result.coverage == {"audience": pytest.approx(2 / 3)}
    assert {s.value: s.spend for s in result.segments}["Lookalike"] == pytest.approx(lookalike)
    assert (
        spend_alignment(
            ads, {"audience": ["IT Directors"]}, parameters=AudienceParameters(bootstrap_samples=500)
        )
        == result
    )


def test_sample_social_mqls_are_an_audience_gap_only_in_the_current_campaign() -> None:
    s = sample_tables("S", 7)
    mode = next(m for m in s.ground_truth["failure_modes"] if m["id"] == "social_mql_to_sql")
    planted = mode["parameters"]["mql_to_sql"] - mode["parameters"]["reference_mql_to_sql"]
    for campaign in s.campaigns:
        start, end = dt.date.fromisoformat(campaign["start"]), dt.date.fromisoformat(campaign["end"])
        leads = s.tables["leads"].filter(pl.col("created_at").dt.date().is_between(start, end))
        paid_mqls = leads.filter(
            pl.col("mql_at").is_not_null() & pl.col("channel").is_in(["paid_search", "paid_social"])
        )
        gap = lead_alignment(paid_mqls, {"channel": ["paid_search"]}, outcome="sql_at")
        size = lead_alignment(leads, ICP)
        ids = [cc["campaign_id"] for p in campaign["platforms"] for cc in p["campaigns"]]
        audiences = ["IT Directors - North America", "Heads of Data - EMEA", "Data governance software",
                     "Data lineage tools", "Data catalog"]  # fmt: skip
        spend = spend_alignment(
            s.tables["ad_performance"].filter(pl.col("campaign_id").is_in(ids)), {"audience": audiences}
        )
        print(
            campaign["id"], "MQL->SQL social", gap.outside_rate.format(), "search", gap.inside_rate.format()
        )
        print("   gap", gap.difference.format(), f"p={gap.p_value:.2g}")
        print("   leads outside the size ICP", size.outside_share.format())
        print("   their MQL rate", size.outside_rate.format(), "inside", size.inside_rate.format())
        print(
            "   spend outside the audience ICP",
            spend.outside_share.format(),
            "unknown",
            spend.unknown_share.format(),
        )
        interval = gap.difference.interval
        assert interval is not None and gap.difference.sufficient
        if campaign["id"] == mode["campaign_id"]:
            assert interval.high < 0 and interval.low <= planted <= interval.high
        else:
            assert interval.low <= 0 <= interval.high
