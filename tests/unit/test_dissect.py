"""Dissection: segments ranked by pipeline (not CTR), MQL rates and costs per MQL as counted by hand,
the budget-hog flag with its significance; the analyst's table; the planted Meta video on the sample."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.assumptions import Assumptions
from diagnostics.dissect import dissect, dissect_table
from diagnostics.metrics import Campaign, CampaignMap
from diagnostics.stats import two_proportion_p
from tests.sample_tables import sample_tables

SMALL = Assumptions(min_segment_size=10)
CAMPAIGNS = CampaignMap(
    campaigns={"C1": Campaign(id="C1", start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 14))},
    platform_campaigns={"111": "C1", "222": "C1"},
    platform_channels={"google_ads": "paid_search", "meta_ads": "paid_social"},
)
# ad: platform, campaign, creative name, audience, spend, impressions, clicks (the video has the best CTR)
ADS = {
    "V": ("meta_ads", "222", "Video", "Lookalike", 300.0, 10000, 500),
    "I": ("meta_ads", "222", "Image", "Interest", 150.0, 10000, 100),
    "S1": ("google_ads", "111", "RSA A", "Brand", 250.0, 10000, 100),
    "S2": ("google_ads", "111", "RSA B", "Brand", 300.0, 10000, 100),
}
# leads by utm_content: (channel, leads, MQLs, deal amounts)
LEADS = {
    "V": ("paid_social", 50, 5, [1000.0]),
    "I": ("paid_social", 20, 10, [5000.0, 5000.0]),
    "S1": ("paid_search", 40, 20, [4000.0] * 3),
    "S2": ("paid_search", 40, 12, [2000.0]),
    None: ("organic_search", 10, 3, [30000.0]),
    "zzz": ("paid_social", 10, 4, []),  # an utm_content no ad has: the lead keeps its channel, no creative
}


def hand_tables() -> dict[str, pl.DataFrame]:
    ads = pl.DataFrame(
        [
            {"date": dt.date(2026, 1, 2), "platform": p, "campaign_id": c, "ad_id": ad, "creative_id": ad,
             "creative_name": name, "audience": aud, "spend": spend, "impressions": imp, "clicks": clicks}
            for ad, (p, c, name, aud, spend, imp, clicks) in ADS.items()
        ]
    )  # fmt: skip
    created = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    leads, deals = [], []
    for content, (channel, n, mqls, amounts) in LEADS.items():
        for i in range(n):
            lead_id = f"{content}-{i}"
            leads.append(
                {"lead_id": lead_id, "created_at": created, "channel": channel, "utm_content": content,
                 "campaign_id": None, "mql_at": created if i < mqls else None}
            )  # fmt: skip
            if i < len(amounts):
                deals.append({"created_at": created, "lead_id": lead_id, "amount": amounts[i], "won": False})
    return {"ad_performance": ads, "leads": pl.DataFrame(leads), "opportunities": pl.DataFrame(deals)}


def test_dissection_by_hand() -> None:
    d = dissect(hand_tables(), CAMPAIGNS, "C1", assumptions=SMALL)
    assert d.spend == 1000
    # 5 + 10 + 20 + 12 + 3 + 4 = 54 MQLs of 170 leads
    assert d.average_mql_rate.value == pytest.approx(54 / 170)

    channels = {s.key: s for s in d.by["channel"]}
    search = channels["paid_search",]
    assert (search.spend, search.leads, search.mqls, search.pipeline) == (550, 80, 32, 14000)
    # cost per MQL 550 / 32 = 17.19, delta-method interval: 17.19 x exp(+-1.96 / sqrt(32))
    assert search.cost_per_mql.value == pytest.approx(17.1875)
    assert search.cost_per_mql.interval is not None
    assert search.cost_per_mql.interval.low == pytest.approx(17.1875 * math.exp(-1.959964 / math.sqrt(32)))
    social = channels["paid_social",]
    assert (social.spend, social.leads, social.mqls, social.pipeline) == (450, 80, 19, 11000)
    # ranked by pipeline: organic 30,000 > search 14,000 > social 11,000
    assert [s.key[0] for s in d.by["channel"]] == ["organic_search", "paid_search", "paid_social"]
    assert [s.rank for s in d.by["channel"]] == [1, 2, 3]

    combos = [(s.key, s.rank) for s in d.by["channel x creative"]]
    assert combos == [
        (("organic_search", "(none)"), 1),  # 30,000
        (("paid_search", "S1"), 2),  # 12,000
        (("paid_social", "I"), 3),  # 10,000
        (("paid_search", "S2"), 4),  # 2,000
        (("paid_social", "V"), 5),  # 1,000, though it has five times the others' CTR
        (("paid_social", "(none)"), 6),  # the "zzz" leads
    ]
    video = d.segment("channel x creative", "paid_social", "V")
    assert video.label == "paid_social x Video (V)" and video.spend_share == 0.3
    assert video.mql_rate.value == 0.1 and video.mql_rate.interval is not None
    brand = d.segment("audience", "Brand")
    assert (brand.spend, brand.leads, brand.mqls) == (550, 80, 32)
    assert d.segment("creative", "(none)").leads == 20  # organic and "zzz" leads


def test_budget_hogs_by_hand() -> None:
    d = dissect(hand_tables(), CAMPAIGNS, "C1", assumptions=SMALL)
    # over 20% of spend: V (30%, MQL rate 0.10), S1 (25%, 0.50: above the 0.318 average), S2 (30%, 0.30)
    flags = {f.key: f for f in d.flags}
    assert set(flags) == {("paid_social", "V"), ("paid_search", "S2")}
    video, s2 = flags["paid_social", "V"], flags["paid_search", "S2"]
    assert video.p_value == pytest.approx(
        two_proportion_p(5, 50, 49, 120)
    )  # against the rest of the campaign
    # Benjamini-Hochberg over the six combinations with leads: the video's p is the smallest, q = 6p
    assert video.q_value == pytest.approx(6 * video.p_value) and video.significant
    assert not s2.significant and "not significant" in s2.text
    assert video.text.startswith(
        "paid_social x Video (V) takes 30% of the spend (over 20%) with MQL rate 0.1"
    )
    at_29 = dissect(
        hand_tables(), CAMPAIGNS, "C1", assumptions=SMALL.model_copy(update={"combo_budget_share": 0.29})
    )
    assert {f.key for f in at_29.flags} == {("paid_social", "V"), ("paid_search", "S2")}
    at_30 = dissect(
        hand_tables(), CAMPAIGNS, "C1", assumptions=SMALL.model_copy(update={"combo_budget_share": 0.3})
    )
    assert at_30.flags == ()  # "more than" 30%: exactly 30% is not


def _rounded(value: Any) -> Any:
    """Floats to 10 significant digits: sums of money in another row order differ in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(seed: int) -> None:
    tables = hand_tables()
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=seed) for k, v in tables.items()}
    assert dissect(shuffled, CAMPAIGNS, "C1", assumptions=SMALL) == dissect(
        tables, CAMPAIGNS, "C1", assumptions=SMALL
    )


# --- an analyst's table ------------------------------------------------------------------------------

TABLE = pl.DataFrame(
    {
        "channel": ["social", "social", "search", "search"],
        "creative": ["video", "image", "rsa", "rsa"],
        "spend": [300.0, 100.0, 400.0, 200.0],
        "conv": [10, 20, 50, 20],
        "pipeline": [9000.0, 1000.0, 3000.0, 2000.0],
    }
)


def _binomial_two_sided(k: int, n: int, p: float) -> float:
    """Sum of the probabilities of outcomes no likelier than k (the exact test), by hand."""
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    return min(1.0, sum(q for q in pmf if q <= pmf[k] * (1 + 1e-7)))


def test_dissect_table_by_hand() -> None:
    d = dissect_table(TABLE, "spend", "conv", ["channel", "creative"])
    # grouped: search x rsa 600 / 70, social x image 100 / 20, social x video 300 / 10; ranked by conversions
    assert [(s.key, s.spend, s.conversions, s.rank) for s in d.segments] == [
        (("search", "rsa"), 600, 70, 1),
        (("social", "image"), 100, 20, 2),
        (("social", "video"), 300, 10, 3),
    ]
    assert (d.spend, d.conversions) == (1000, 100)
    video = d.segments[2]
    assert video.cost_per_conversion.value == 30 and not video.cost_per_conversion.sufficient  # 10 < 30
    # the flag: 30% of spend at 30 per conversion against an average of 1000 / 100 = 10
    (flag,) = d.flags
    assert flag.key == ("social", "video") and flag.average == 10 and flag.spend_share == 0.3
    # exact binomial: 10 of the 100 conversions where its 30% share of spend expects 30
    assert flag.p_value == pytest.approx(_binomial_two_sided(10, 100, 0.3), rel=1e-6)
    assert flag.significant and "cost per conversion 30 (insufficient data: 10 < 30 needed)" in flag.text
    assert dissect_table(TABLE, "spend", "conv", "channel").segments[0].key == ("search",)
    by_value = dissect_table(TABLE, "spend", "conv", ["channel"], value="pipeline")
    assert [(s.key, s.value) for s in by_value.segments] == [(("social",), 10000), (("search",), 5000)]
    assert by_value.flags[0].key == ("social",)  # 40% of spend, 30 conversions: 13.3 each against 10


def test_dissect_table_errors() -> None:
    with pytest.raises(ValueError, match=r"no column cost in the table \(columns: channel, creative, spend"):
        dissect_table(TABLE, "cost", "conv", ["channel"])
    with pytest.raises(ValueError, match="at least one column"):
        dissect_table(TABLE, "spend", "conv", [])


# --- the generated sample ---------------------------------------------------------------------------


def test_sample_flags_the_meta_video_and_nothing_else() -> None:
    s = sample_tables("S", 7)
    campaigns = CampaignMap.from_campaigns_json(s.campaigns)
    hog = next(m for m in s.ground_truth["failure_modes"] if m["id"] == "budget_hog")
    d = dissect(s.tables, campaigns, "cmp-2026q3")
    for flag in d.flags:
        print(flag.text)
    (flag,) = d.flags
    assert flag.key == ("paid_social", hog["parameters"]["ad_id"])
    assert flag.spend_share == pytest.approx(hog["observed"]["cmp-2026q3"]["spend_share"], abs=0.005)  # ~24%
    assert flag.value.value is not None and 0.3 < flag.value.value / flag.average < 0.7  # about half
    assert flag.significant
    for baseline in ("cmp-2026q1", "cmp-2026q2"):
        assert dissect(s.tables, campaigns, baseline).flags == (), baseline
    for segments in d.by.values():  # ranked by pipeline
        ranked = sorted((s for s in segments if s.rank is not None), key=lambda s: s.rank or 0)
        assert [s.pipeline for s in ranked] == sorted((s.pipeline for s in ranked), reverse=True)
        assert sum(s.spend for s in segments) == pytest.approx(d.spend)


def test_sample_row_order_does_not_matter() -> None:
    s = sample_tables("S", 7)
    campaigns = CampaignMap.from_campaigns_json(s.campaigns)
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=5) for k, v in s.tables.items()}
    a, b = dissect(shuffled, campaigns, "cmp-2026q3"), dissect(s.tables, campaigns, "cmp-2026q3")
    assert _rounded(a.model_dump()) == _rounded(b.model_dump())
