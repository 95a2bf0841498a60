"""The replay diff: findings matched by logical id, effect deltas, and the assumption that caused each
change (computed by hand on small inputs)."""

from __future__ import annotations

from registry.diff import diff

BEFORE = {
    "attribution_window:c:meta_ads": {
        "kind": "attribution_window_mismatch",
        "title": "meta 7d",
        "effect_size": 0.38,
    },
    "funnel:c:leads->mqls": {"kind": "funnel_stage_drop", "title": "lead->MQL fell", "effect_size": 0.21},
    "fatigue:123": {"kind": "creative_fatigue", "title": "wears out", "effect_size": -0.6},
}
AFTER = {
    "attribution_window:c:meta_ads": {
        "kind": "attribution_window_mismatch",
        "title": "meta 7d",
        "effect_size": 0.38,
        "statement": "now with view-through only",
    },
    "attribution_window:c:google_ads": {
        "kind": "attribution_window_mismatch",
        "title": "google 30d",
        "effect_size": 0.2,
    },
    "funnel:c:leads->mqls": {"kind": "funnel_stage_drop", "title": "lead->MQL fell", "effect_size": 0.21},
    "fatigue:123": {"kind": "creative_fatigue", "title": "wears out", "effect_size": -0.5},
}


def _diff(**changes: object) -> object:
    args = {
        "original": "pm:a",
        "replay": "pm:b",
        "before": BEFORE,
        "after": AFTER,
        "assumptions_before": {"attribution_window_days": 30, "fatigue_materiality": 0.2},
        "assumptions_after": {"attribution_window_days": 7, "fatigue_materiality": 0.2},
        "models_before": {"attribution": "1", "fatigue": "1"},
        "models_after": {"attribution": "1", "fatigue": "1"},
        "scorecard_before": {"scorecard.ctr.actual": 0.01},
        "scorecard_after": {"scorecard.ctr.actual": 0.01},
    }
    args.update(changes)
    return diff(**args)  # type: ignore[arg-type]


def test_findings_added_removed_changed_and_unchanged() -> None:
    d = _diff()
    by_id = {c.id: c for c in d.findings}
    assert by_id["attribution_window:c:google_ads"].change == "added"
    assert by_id["attribution_window:c:meta_ads"].change == "changed"
    assert by_id["attribution_window:c:meta_ads"].fields == ["statement"]
    assert by_id["attribution_window:c:meta_ads"].effect_delta is None  # the effect did not move
    fatigue = by_id["fatigue:123"]
    assert fatigue.change == "changed" and abs(fatigue.effect_delta - 0.1) < 1e-12  # -0.5 - (-0.6)
    assert d.unchanged == 1  # the funnel finding
    assert d.assumptions_changed == {"attribution_window_days": (30, 7)}
    assert d.scorecard_compared and d.scorecard_changed == {}
    removed = _diff(after={k: v for k, v in AFTER.items() if k != "funnel:c:leads->mqls"})
    assert {c.id: c.change for c in removed.findings}["funnel:c:leads->mqls"] == "removed"


def test_causes_are_the_changed_assumptions_each_kind_reads() -> None:
    d = _diff()
    by_id = {c.id: c for c in d.findings}
    assert by_id["attribution_window:c:google_ads"].causes == ["attribution_window_days (30 -> 7)"]
    # fatigue does not read the window: the change is reported as indirect, never blamed on it
    assert by_id["fatigue:123"].causes == ["indirect: attribution_window_days"]


def test_a_model_version_change_is_named_as_the_cause_of_its_kinds() -> None:
    d = _diff(
        assumptions_after={"attribution_window_days": 30, "fatigue_materiality": 0.2},
        models_after={"attribution": "2", "fatigue": "1"},
    )
    by_id = {c.id: c for c in d.findings}
    assert d.models_changed == {"attribution": ("1", "2")}
    assert by_id["attribution_window:c:google_ads"].causes == ["model attribution (1 -> 2)"]


def test_scorecard_changes_and_missing_records_are_reported() -> None:
    changed = _diff(scorecard_after={"scorecard.ctr.actual": 0.02})
    assert changed.scorecard_changed == {"scorecard.ctr.actual": (0.01, 0.02)}
    assert any("scorecard scorecard.ctr.actual: 0.01 -> 0.02" in line for line in changed.lines())
    missing = _diff(scorecard_before=None)
    assert not missing.scorecard_compared
    assert any("not compared" in line for line in missing.lines())
