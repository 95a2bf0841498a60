"""The action plan (DOMAIN.md step 6): top 3 wins to replicate, top 3 underperformance findings with
their likely root causes, and 5 action items ranked by expected impact.

An action item is suggested with an owner *role* ("paid social lead"); the post-mortem can only be
published once every item names a person, never "the team", and a due date, because an action
nobody owns does not happen.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from diagnostics.findings import Finding
from diagnostics.types import Estimate

_NOBODY = {"", "team", "the team", "everyone", "all", "marketing", "tbd", "n/a", "none"}


class ActionItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    finding_id: str
    expected_impact: Estimate | None = None
    owner_role: str | None = None
    owner: str | None = None  # a named person, set before publishing
    due: dt.date | None = None


class ActionPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    wins: list[Finding] = Field(default_factory=list)
    underperformance: list[Finding] = Field(default_factory=list)
    items: list[ActionItem] = Field(default_factory=list)
    to_test_next_time: list[Finding] = Field(default_factory=list)


def plan(findings: list[Finding], *, wins: int = 3, problems: int = 3, actions: int = 5) -> ActionPlan:
    """Rank by money impact, then effect size; hypotheses never outrank findings, and a pattern
    nobody can change goes to the "to test next time" list instead of the action items."""

    def rank(items: list[Finding]) -> list[Finding]:
        return sorted(items, key=lambda f: (f.label != "finding", -f.impact_value(), f.id))

    good = rank([f for f in findings if f.direction == "win"])
    bad = rank([f for f in findings if f.direction != "win"])
    actionable = [f for f in rank(findings) if f.action]
    items = [
        ActionItem(
            id=f"action:{f.id}",
            title=f.action or "",
            finding_id=f.id,
            expected_impact=f.money_impact or f.effect,
            owner_role=f.owner_role,
        )
        for f in actionable[:actions]
    ]
    return ActionPlan(
        wins=good[:wins],
        underperformance=bad[:problems],
        items=items,
        to_test_next_time=[f for f in findings if not f.action],
    )


def named_person(owner: str | None) -> bool:
    """An owner who is somebody: not empty, not "the team", "marketing" or "TBD"."""
    return owner is not None and owner.strip().lower() not in _NOBODY


def publish_problems(items: list[ActionItem]) -> list[str]:
    """Why the post-mortem cannot be published yet; empty when it can."""
    problems = []
    for item in items:
        if not named_person(item.owner):
            problems.append(f"{item.title!r} has no named owner (a person, never 'the team')")
        if item.due is None:
            problems.append(f"{item.title!r} has no due date")
    return problems
