"""The HTML report: self-contained (nothing fetched), escaped, every section present, printable."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from diagnostics.actions import plan
from diagnostics.assumptions import Assumptions
from diagnostics.checks import check
from diagnostics.findings import Evidence, Finding
from diagnostics.report import Bar, FunnelStage, ReportData, Tile, render
from diagnostics.types import Estimate, Interval


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def data() -> ReportData:
    finding = check(
        Finding(
            id="funnel:mql_to_sql:paid_social",
            kind="funnel_stage_drop",
            category="audience",
            title="Social MQLs rarely become SQLs <script>alert(1)</script>",
            statement="MQL->SQL for paid_social is 9% [7%, 12%] against 35% for search.",
            money_impact=Estimate(
                value=-84000, interval=Interval(low=-99000, high=-70000, method="bootstrap")
            ),
            sample_size=900,
            weeks=6,
            action="Tighten the MQL definition for social leads",
            evidence=[Evidence(name="mql_to_sql_by_channel", columns=["channel"], rows=[["paid_social"]])],
        ),
        [],
        Assumptions(),
    )
    return ReportData(
        title="2026 Q3 Pipeline Push & friends",
        subtitle="cmp-2026q3 · snapshots ed3e3fea…",
        assumptions=["scorecard thresholds 5% / 10% / 15%"],
        tiles=[Tile(metric="CPL", actual="$58 [$55, $61]", plan="$45", variance="+29%", status="FLAGGED")],
        funnel=[FunnelStage(stage="MQL->SQL", current=0.21, baseline=0.34, label="21% vs 34%")],
        channel_columns=["channel", "spend"],
        channel_rows=[["paid_social", "$120,000"]],
        findings=[finding],
        attribution_models=["last touch", "markov"],
        attribution={"paid_search": [0.5, 0.4], "paid_social": [0.2, 0.3]},
        waterfall_title="MQL rate change by channel",
        waterfall=[Bar(label="paid_social rate", value=-0.09), Bar(label="mix", value=0.02)],
        actions=plan([finding]),
        data_quality=["utm_integrity: 86% of leads join the ad platforms' campaigns"],
    )


def test_report_is_self_contained_escaped_and_complete() -> None:
    page = render(data())
    collector = _Collector()
    collector.feed(page)
    tags = {t for t, _ in collector.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)  # nothing fetched
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "&amp; friends" in page
    for heading in (
        "KPI scorecard",
        "Funnel",
        "Findings",
        "Channels",
        "Attribution",
        "Drivers",
        "Action plan",
    ):
        assert f">{heading}" in page or f">{heading}:" in page, heading
    assert "-84,000 [-99,000, -70,000]" in page  # money impact with its interval
    assert "finding funnel:mql_to_sql:paid_social" in page and "evidence: mql_to_sql_by_channel" in page
    assert "aria-label='mql_to_sql_by_channel'" in page and "<td>paid_social</td>" in page  # the rows, inline
    assert "@media print" in page
    assert "(to name: " in page  # no owner yet: the report says so instead of inventing one


def test_an_empty_post_mortem_renders_only_what_it_has() -> None:
    page = render(ReportData(title="t", subtitle="s"))
    assert "<h2>" not in page and page.startswith("<!doctype html>")


def test_an_action_expecting_an_effect_shows_the_effect_not_zero_dollars() -> None:
    """An unpriced finding's action expects to move a rate (0.12); a money format printed "0 [0, 0]"."""
    priced = data()
    rate = check(
        priced.findings[0].model_copy(
            update={
                "id": "funnel:mql_rate:all",
                "money_impact": None,
                "effect": Estimate(value=-0.12, interval=Interval(low=-0.2, high=-0.05, method="wilson")),
            }
        ),
        [],
        Assumptions(),
    )
    both = priced.model_copy(
        update={"findings": [*priced.findings, rate], "actions": plan([*priced.findings, rate])}
    )
    page = render(both)
    assert "-84,000" in page  # the priced one, in money
    assert "effect -0.12 [-0.2, -0.05]" in page and "0 [0, 0]" not in page and "-0 [-0, -0]" not in page
