"""The assumption set of a post-mortem: every threshold and modelling choice, with DOMAIN.md's
defaults. It is recorded in full with every run (and replayed with another set to compare), and
every output prints the values it used, so no default is ever silent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ScorecardThresholds(BaseModel):
    """Adverse deviation bands of the KPI scorecard (fractions of plan)."""

    model_config = ConfigDict(frozen=True)

    on_track: float = Field(0.05, ge=0)  # adverse deviation up to this: ON TRACK; favourable beyond: AHEAD
    over_plan: float = Field(0.10, ge=0)  # spend/efficiency metrics up to this adverse: OVER PLAN
    flag: float = Field(0.15, ge=0)  # beyond this adverse: FLAGGED

    @model_validator(mode="after")
    def _ordered(self) -> ScorecardThresholds:
        if not self.on_track <= self.over_plan <= self.flag:
            raise ValueError("thresholds must satisfy on_track <= over_plan <= flag")
        return self


class Assumptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scorecard: ScorecardThresholds = ScorecardThresholds()
    min_conversions_per_week: int = Field(50, ge=1, description="below: a low-volume signal, said so")
    min_segment_size: int = Field(30, ge=1, description="segments smaller than this are not ranked")
    confidence: float = Field(0.95, gt=0, lt=1)
    false_discovery_rate: float = Field(0.05, gt=0, lt=1, description="Benjamini-Hochberg level")
    bootstrap_samples: int = Field(1000, ge=100)
    seed: int = 7
    baseline_campaigns: tuple[str, ...] = Field(
        (), description="campaigns to compare with; empty: every campaign that ended before this one began"
    )
    attribution_window_days: int = Field(30, ge=1)
    time_decay_half_life_days: float = Field(7.0, gt=0)
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4)  # first, middle, last
    markov_order: int = Field(1, ge=1, le=3)
    budget_bounds: float = Field(0.30, gt=0, lt=1, description="reallocation within +-30% per channel")
    combo_budget_share: float = Field(0.20, gt=0, lt=1, description="channel x creative budget-hog flag")
    fatigue_materiality: float = Field(0.20, gt=0, lt=1, description="flag decays of at least this share")
    min_days_for_curve: int = Field(14, ge=4, description="fewer days: no response curve")
    icp_min_coverage: float = Field(0.60, ge=0, le=1, description="an ICP field filled below this blocks")
    drift_psi_threshold: float = Field(0.2, gt=0, description="PSI at or above this: the input drifted")
    drift_ks_alpha: float = Field(0.01, gt=0, lt=1, description="KS p-value below this: the input drifted")

    @model_validator(mode="after")
    def _weights(self) -> Assumptions:
        if abs(sum(self.position_weights) - 1) > 1e-9 or min(self.position_weights) < 0:
            raise ValueError("position_weights must be three non-negative shares that add up to 1")
        return self
