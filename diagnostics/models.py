"""The diagnostic models: the five analyses a post-mortem delegates to a versioned model.

A model is code plus the assumptions it owns (its parameters): attribution owns the Markov order and
the rule-based weights, the drivers model its segment floor and false-discovery rate, and so on. The
registry versions each one in MLflow; the post-mortem calls them through `Models`, so a replay can
swap one version for another without the engine knowing where a model came from. Everything here is
pure: inputs in, results out, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from diagnostics import attribution, drivers, fatigue, response, scorecard
from diagnostics.assumptions import Assumptions
from diagnostics.metrics import CampaignMap

MODEL_NAMES = ("attribution", "drivers", "response", "fatigue", "scorecard")

# The assumptions each model owns: a model version pins them, and they are what a challenger
# version may change. Analysis-level choices (attribution window, thresholds of the checks, the
# baseline) stay with the post-mortem's assumption set.
MODEL_PARAMS: dict[str, tuple[str, ...]] = {
    "attribution": ("markov_order", "time_decay_half_life_days", "position_weights"),
    "drivers": ("min_segment_size", "false_discovery_rate"),
    "response": ("min_days_for_curve", "budget_bounds"),
    "fatigue": ("fatigue_materiality",),
    "scorecard": ("scorecard",),
}

# The source modules whose code makes each model: their hash is the model version's code version.
MODEL_MODULES: dict[str, tuple[str, ...]] = {
    "attribution": ("diagnostics.attribution", "diagnostics.stats", "diagnostics.types"),
    "drivers": ("diagnostics.drivers", "diagnostics.stats", "diagnostics.types"),
    "response": ("diagnostics.response", "diagnostics.stats", "diagnostics.types"),
    "fatigue": ("diagnostics.fatigue", "diagnostics.stats", "diagnostics.types"),
    "scorecard": ("diagnostics.scorecard", "diagnostics.metrics", "diagnostics.types"),
}


def model_params(name: str, assumptions: Assumptions) -> dict[str, Any]:
    """The parameters model `name` owns, as they stand in `assumptions` (JSON-ready)."""
    data = assumptions.model_dump(mode="json")
    return {key: data[key] for key in MODEL_PARAMS[name]}


def attribute(journeys: pl.DataFrame, a: Assumptions) -> list[attribution.AttributionResult]:
    """Every attribution model on the journeys; Markov and Shapley are the data-driven pair."""
    # Bootstrap draws cost most of this step: 200 keep it to seconds; the number is recorded.
    boot = attribution.Bootstrap(samples=min(a.bootstrap_samples, 200), confidence=a.confidence, seed=a.seed)
    return [
        attribution.last_touch(journeys, bootstrap=boot),
        attribution.first_touch(journeys, bootstrap=boot),
        attribution.linear(journeys, bootstrap=boot),
        attribution.time_decay(journeys, a.time_decay_half_life_days, bootstrap=boot),
        attribution.position_based(journeys, a.position_weights, bootstrap=boot),
        attribution.shapley(journeys, bootstrap=boot),
        attribution.markov(journeys, a.markov_order, bootstrap=boot),
    ]


def explain_drivers(frame: pl.DataFrame, a: Assumptions) -> drivers.Explanation:
    """MQL->SQL conversion, current against base period, decomposed by channel."""
    return drivers.explain(
        frame, "sql", ["channel"], split="period=base,current", assumptions=a, interactions=False
    )


def reallocate(daily: pl.DataFrame, a: Assumptions) -> response.Reallocation | None:
    """Response curves per channel from (channel, day, spend, outcome) and the split they favour."""
    # Each bootstrap draw refits every curve (4-10 ms a fit): 200 draws keep this step to seconds;
    # the number used is recorded with the result's parameters.
    parameters = response.ResponseParameters.from_assumptions(
        a, bootstrap_samples=min(a.bootstrap_samples, 200)
    )
    curves = response.fit_response_curves(daily, outcome="outcome", date="day", parameters=parameters)
    if not any(c.status == "fitted" for c in curves):
        return None
    return response.reallocate(curves, parameters=parameters)


def creative_fatigue(ads: pl.DataFrame, a: Assumptions) -> fatigue.FatigueReport:
    """CTR decay of each creative with its age, from the campaign's daily ad rows."""
    return fatigue.creative_fatigue(
        ads.filter(pl.col("creative_id").is_not_null()),
        date="day",
        parameters=fatigue.FatigueParameters.from_assumptions(a),
    )


def score(
    tables: Mapping[str, pl.DataFrame],
    campaigns: CampaignMap,
    campaign_id: str,
    a: Assumptions,
    as_of: dt.datetime | None,
) -> scorecard.Scorecard:
    """The KPI scorecard against plan (or benchmark) under the scorecard thresholds."""
    return scorecard.scorecard(tables, campaigns, campaign_id, assumptions=a, as_of=as_of)


@dataclass(frozen=True)
class Models:
    """The five model entry points the engine calls; the default is the code installed here."""

    attribution: Callable[[pl.DataFrame, Assumptions], list[attribution.AttributionResult]] = attribute
    drivers: Callable[[pl.DataFrame, Assumptions], drivers.Explanation] = explain_drivers
    response: Callable[[pl.DataFrame, Assumptions], response.Reallocation | None] = reallocate
    fatigue: Callable[[pl.DataFrame, Assumptions], fatigue.FatigueReport] = creative_fatigue
    scorecard: Callable[
        [Mapping[str, pl.DataFrame], CampaignMap, str, Assumptions, dt.datetime | None], scorecard.Scorecard
    ] = score


BUILTIN = Models()


def output_json(name: str, output: Any) -> str:
    """A model's result as canonical JSON: what a replay or a fresh process compares."""
    if output is None:
        return "null"
    if isinstance(output, Sequence) and not isinstance(output, str):
        return "[" + ",".join(item.model_dump_json() for item in output) + "]"
    return output.model_dump_json()


# Which model produced a finding, by the finding's kind (findings of other kinds come from the
# engine's own rules): a drift mark on a model version follows its findings.
FINDING_MODEL: dict[str, str] = {
    "missing_plan": "scorecard",
    "back_dated_plan": "scorecard",
    "missing_hypothesis": "scorecard",
    "back_dated_hypothesis": "scorecard",
    "creative_fatigue": "fatigue",
    "budget_reallocation": "response",
    "attribution_bias": "attribution",
    "attribution_window_mismatch": "attribution",
}

# The assumptions each kind of finding reads, beyond the three checks (which read
# min_conversions_per_week): a replay's diff names these as the cause of a change.
CHECK_ASSUMPTIONS = ("min_conversions_per_week",)
FINDING_ASSUMPTIONS: dict[str, tuple[str, ...]] = {
    "funnel_stage_drop": ("baseline_campaigns", "confidence", "false_discovery_rate", "min_segment_size"),
    "budget_hog": ("combo_budget_share", "min_segment_size", "confidence"),
    "creative_fatigue": ("fatigue_materiality", "confidence", "false_discovery_rate"),
    "budget_reallocation": ("budget_bounds", "min_days_for_curve", "bootstrap_samples", "confidence", "seed"),
    "attribution_bias": (
        "attribution_window_days",
        "markov_order",
        "time_decay_half_life_days",
        "position_weights",
        "bootstrap_samples",
        "confidence",
        "seed",
    ),
    "attribution_window_mismatch": ("attribution_window_days",),
    "timing_day_of_week": ("confidence", "false_discovery_rate"),
    "audience_misalignment": ("icp_min_coverage",),
    "missing_plan": ("scorecard",),
    "back_dated_plan": ("scorecard",),
}
