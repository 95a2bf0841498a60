"""Findings: what every analysis of the post-mortem hands on, in one shape.

A finding says what was seen (a templated statement, never generated text), how big it is (an
`Estimate` with its interval), what it may be worth, which failure category of DOMAIN.md it maps
to, and the evidence table that produced each number, so a reader can go from any sentence of the
report to the rows behind it. The three checks (`diagnostics.checks`) then decide whether it is a
finding that can back a decision or a hypothesis to test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from diagnostics.types import Estimate

Category = Literal[
    "data_quality",
    "workflow_alignment",
    "measurement_gap",
    "goal_misalignment",
    "channel_mix",
    "creative",
    "audience",
    "timing",
]
"""DOMAIN.md's failure categories. Attribution disputes and missing baselines are measurement gaps."""

Direction = Literal["win", "underperformance", "risk"]
Surface = Literal["ads", "site", "crm", "email", "data"]
"""Where an effect happens: on the ad platforms, on the website, in the CRM, in email, in the data."""


class Evidence(BaseModel):
    """A small table behind a finding: the rows a reader checks the numbers against."""

    model_config = ConfigDict(frozen=True)

    name: str
    columns: list[str]
    rows: list[list[Any]]


class Checks(BaseModel):
    """DOMAIN.md: every finding passes three checks before it can justify a decision."""

    model_config = ConfigDict(frozen=True)

    sample_size_ok: bool
    sample_size_note: str
    confounders: list[str] = Field(default_factory=list)  # overlapping annotations, to be confirmed
    confounders_ok: bool = True
    actionable: bool = True
    actionable_note: str = ""

    @property
    def passed(self) -> bool:
        return self.sample_size_ok and self.confounders_ok and self.actionable

    @property
    def label(self) -> Literal["finding", "hypothesis"]:
        return "finding" if self.passed else "hypothesis"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # deterministic: the same analysis on the same data gives the same id
    kind: str  # funnel_stage_drop, budget_hog, creative_fatigue, attribution_bias, quality_gate, ...
    category: Category
    direction: Direction = "underperformance"
    title: str
    statement: str
    effect: Estimate | None = None
    money_impact: Estimate | None = None
    subject: dict[str, str] = Field(default_factory=dict)
    period: tuple[dt.date, dt.date] | None = None  # when the effect shows (for confounders)
    surfaces: tuple[Surface, ...] = ()  # where it happens, so only relevant events confound (empty: all)
    sample_size: int | None = None  # the events (conversions) the finding rests on
    weeks: float | None = None  # over how many weeks, for the per-week volume check
    action: str | None = None  # what someone could change; None: nobody can (to test next time)
    owner_role: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    checks: Checks | None = None

    @property
    def label(self) -> str:
        return self.checks.label if self.checks else "unchecked"

    def impact_value(self) -> float:
        """For ranking: the money impact if known, else the effect size."""
        for estimate in (self.money_impact, self.effect):
            if estimate is not None and estimate.value is not None:
                return abs(estimate.value)
        return 0.0
