"""DOMAIN.md: the attribution window must match across ingestion and model. A platform reporting on
another click window, or with view-through, is a finding whose effect is its share of the campaign's
platform-reported conversions (computed by hand here)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import polars as pl

from diagnostics.assumptions import Assumptions
from diagnostics.postmortem import _window_findings

CAMPAIGN = SimpleNamespace(id="c", start=dt.date(2026, 7, 1), end=dt.date(2026, 9, 29))
ADS = pl.DataFrame(
    {
        "platform": ["meta_ads", "meta_ads", "google_ads", "linkedin_ads"],
        "platform_conversions": [30.0, 10.0, 50.0, None],
    }
)
WINDOWS = {
    "meta_ads": "7-day click or 1-day view",
    "google_ads": "30-day click",
    "linkedin_ads": "30-day click or 7-day view",
}


def test_mismatched_windows_are_findings_with_their_share_of_conversions() -> None:
    found = {f.subject["platform"]: f for f in _window_findings(WINDOWS, ADS, CAMPAIGN, Assumptions())}
    assert set(found) == {"meta_ads", "linkedin_ads"}  # google counts 30-day click, as the models do
    assert found["meta_ads"].effect.value == 40 / 90  # (30 + 10) of 30 + 10 + 50
    assert found["linkedin_ads"].effect.value == 0.0  # no conversions reported: no share
    assert "7-day click window against the models' 30 days" in found["meta_ads"].statement
    assert "1-day view-through" in found["meta_ads"].statement
    assert found["meta_ads"].kind == "attribution_window_mismatch"


def test_the_models_window_decides_which_platforms_mismatch() -> None:
    found = {
        f.subject["platform"]
        for f in _window_findings(WINDOWS, ADS, CAMPAIGN, Assumptions(attribution_window_days=7))
    }
    assert found == {"meta_ads", "google_ads", "linkedin_ads"}  # meta still has view-through
    assert _window_findings({"google_ads": "30-day click"}, ADS, CAMPAIGN, Assumptions()) == []
    assert (
        _window_findings({"google_ads": "lifetime"}, ADS, CAMPAIGN, Assumptions()) == []
    )  # unparseable: no claim
