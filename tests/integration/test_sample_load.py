"""The generated sample through the built-in mappings, the gates and the graph: what `make run`
loads. The planted data-quality faults must show up as gate warnings, and only where planted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.services.sample import generate, load
from graph.connect import open_store
from graph.settings import Settings


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "S"
    generate("S", 7, out)
    return out


def test_the_sample_loads_through_the_builtin_mappings_and_again_changes_nothing(
    sample_dir: Path, graph_settings: Settings
) -> None:
    manifest = json.loads((sample_dir / "manifest.json").read_text())
    reports = load(graph_settings, sample_dir)
    assert [Path(r.files[0].path).relative_to(sample_dir).as_posix() for r in reports] == [
        f["file"] for f in manifest["files"]
    ]
    # Every data row of every export arrives (the manifest counts data rows, totals rows excluded).
    assert [r.rows for r in reports] == [f["rows"] for f in manifest["files"]]
    assert all(r.created for r in reports)
    assert not [g for r in reports for g in r.gates if g.status == "fail"]

    warned = {Path(r.files[0].path).name: {g.name: g for g in r.gates if g.status == "warn"} for r in reports}
    # Planted: Meta's window differs from the 30-day click of Google and Fivetran (Microsoft Ads).
    meta = warned["meta_ads.csv"]["attribution_windows"]
    assert "7-day click or 1-day view" in meta.message and "Google Ads: 30-day click" in meta.message
    assert (
        "attribution_windows" not in warned["google_ads.csv"]
    )  # the first source has nothing to differ from
    # Planted: ~17% of the current campaign's contacts lost their UTMs.
    utm = warned["hubspot_contacts.csv"]["utm_integrity"]
    assert 0.75 < utm.value < 0.9
    # Not planted: ad exports cover every day of the campaign's flight.
    for name in ("google_ads.csv", "linkedin_ads.csv", "meta_ads.csv"):
        assert "date_coverage" not in warned[name], name

    with open_store(graph_settings) as store:
        before = {label: store.count(label) for label in ("Snapshot", "Extract", "QualityCheck", "Campaign")}
        assert before["Snapshot"] == len(manifest["files"]) and before["Campaign"] == 3
    again = load(graph_settings, sample_dir)
    assert [r.snapshot_id for r in again] == [r.snapshot_id for r in reports]
    assert not any(r.created for r in again)
    with open_store(graph_settings) as store:
        assert {label: store.count(label) for label in before} == before
