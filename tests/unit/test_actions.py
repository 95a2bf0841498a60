"""The action plan ranks by impact, keeps hypotheses below findings, and refuses to publish
unowned or undated items."""

from __future__ import annotations

import datetime as dt

from diagnostics.actions import plan, publish_problems
from diagnostics.assumptions import Assumptions
from diagnostics.checks import check
from diagnostics.findings import Finding
from diagnostics.types import Estimate


def make(
    id: str,
    money: float,
    *,
    direction: str = "underperformance",
    volume: int = 600,
    action: str | None = "do",
):
    finding = Finding(
        id=id,
        kind="test",
        category="channel_mix",
        direction=direction,
        title=id,
        statement=id,
        money_impact=Estimate(value=money),
        sample_size=volume,
        weeks=6.0,
        action=action and f"{action} {id}",
        owner_role="paid lead",
    )
    return check(finding, [], Assumptions())


def test_ranking_and_limits() -> None:
    findings = [make(f"p{i}", 1000 * i) for i in range(1, 8)] + [
        make(f"w{i}", 500 * i, direction="win") for i in range(1, 5)
    ]
    findings.append(make("small", 10**6, volume=20))  # huge but low-volume: a hypothesis
    findings.append(make("fact", 50, action=None))  # nobody can change it
    result = plan(findings)
    assert [f.id for f in result.wins] == ["w4", "w3", "w2"]
    assert [f.id for f in result.underperformance] == ["p7", "p6", "p5"]  # the hypothesis ranks after
    assert [i.finding_id for i in result.items] == ["p7", "p6", "p5", "p4", "p3"]  # 3000 > w4 2000
    assert [f.id for f in result.to_test_next_time] == ["fact"]
    assert result.items[0].expected_impact.value == 7000 and result.items[0].owner_role == "paid lead"


def test_publishing_needs_a_named_person_and_a_due_date() -> None:
    items = plan([make("p1", 100), make("p2", 50)]).items
    problems = publish_problems(items)
    assert len(problems) == 4 and "no named owner" in problems[0] and "no due date" in problems[1]
    owned = [i.model_copy(update={"owner": "the team", "due": dt.date(2026, 12, 1)}) for i in items]
    assert publish_problems(owned) == [
        f"{i.title!r} has no named owner (a person, never 'the team')" for i in items
    ]
    named = [i.model_copy(update={"owner": "Priya Raman", "due": dt.date(2026, 12, 1)}) for i in items]
    assert publish_problems(named) == []
