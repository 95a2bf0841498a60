"""Assumption sets: `--set` parsing and the layering defaults < model parameters < explicit."""

from __future__ import annotations

import pytest

from diagnostics.assumptions import Assumptions
from graph.errors import InvalidGraphInput
from registry.assumption_sets import deep_merge, keys, layered, overrides_of, parse_sets


def test_sets_parse_to_typed_nested_overrides() -> None:
    parsed = parse_sets(
        ["attribution_window_days=7", "scorecard.flag=0.2", "position_weights=[0.3, 0.4, 0.3]"]
    )
    assert parsed == {
        "attribution_window_days": 7,
        "scorecard": {"flag": 0.2},
        "position_weights": [0.3, 0.4, 0.3],
    }


def test_an_unknown_key_names_the_valid_ones() -> None:
    with pytest.raises(
        InvalidGraphInput, match=r"--set window: no such assumption \(assumptions: .*attribution_window_days"
    ):
        parse_sets(["window=7"])


def test_a_bad_value_names_the_key_and_the_rule() -> None:
    with pytest.raises(
        InvalidGraphInput, match="attribution_window_days: Input should be greater than or equal to 1"
    ):
        parse_sets(["attribution_window_days=0"])
    with pytest.raises(InvalidGraphInput, match="on_track <= over_plan <= flag"):
        parse_sets(["scorecard.flag=0.01"])
    with pytest.raises(InvalidGraphInput, match="use KEY=VALUE"):
        parse_sets(["attribution_window_days"])


def test_explicit_choices_win_over_model_parameters_which_win_over_defaults() -> None:
    model = {"markov_order": 2, "scorecard": {"flag": 0.3, "over_plan": 0.2, "on_track": 0.05}}
    a = layered([model], {"scorecard": {"flag": 0.25}})
    assert a.markov_order == 2  # the model's
    assert a.scorecard.flag == 0.25 and a.scorecard.over_plan == 0.2  # explicit over the model's, merged
    assert a.attribution_window_days == Assumptions().attribution_window_days  # the default
    assert layered([], {}) == Assumptions()


def test_overrides_are_what_differs_from_the_defaults() -> None:
    assert overrides_of(None) == {}
    assert overrides_of(Assumptions(attribution_window_days=7, seed=3)) == {
        "attribution_window_days": 7,
        "seed": 3,
    }


def test_every_key_is_settable() -> None:
    listed = keys()
    assert "scorecard.on_track" in listed and "attribution_window_days" in listed
    assert len(listed) == len(set(listed))
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}
