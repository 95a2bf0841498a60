"""The post-mortem on the generated sample, through the graph: every planted failure mode of the
ground truth is reported as a finding of the right category (two seeds); findings that pass the
three checks but match no planted mode are printed and counted. The run is stored with provenance
and is idempotent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api.services.postmortem import run_postmortem
from api.services.sample import generate, load
from diagnostics.findings import Finding
from graph.connect import open_store
from graph.lineage import trace
from graph.settings import Settings

Rule = Callable[[Finding, dict[str, Any]], bool]

# How each planted mode shows as a finding, and the category it must carry.
EXPECTED: dict[str, tuple[str, Rule]] = {
    "landing_cvr_drop": (
        "creative",
        lambda f, p: f.kind == "funnel_stage_drop" and f.subject.get("stage") == "sessions->leads",
    ),
    "nurture_pause": ("workflow_alignment", lambda f, p: f.kind == "email_pause"),
    "social_mql_to_sql": (
        "audience",
        lambda f, p: (
            f.kind == "funnel_stage_drop"
            and f.subject.get("stage") == "mqls->sqls"
            and f.subject.get("channel") == "paid_social"
        ),
    ),
    "creative_fatigue": (
        "creative",
        lambda f, p: f.kind == "creative_fatigue" and f.subject.get("creative_id") == p["creative_id"],
    ),
    "budget_hog": (
        "channel_mix",
        lambda f, p: f.kind == "budget_hog" and f.subject.get("ad_id") == p["ad_id"],
    ),
    "missing_utms": ("data_quality", lambda f, p: f.kind == "quality_utm_integrity"),
    "attribution_window_mismatch": (
        "data_quality",
        lambda f, p: f.kind == "quality_attribution_windows" and f.subject.get("source") == "Meta Ads",
    ),
}


@pytest.mark.parametrize("seed", [7, 11])
def test_every_planted_failure_mode_is_found_in_its_category(
    seed: int, graph_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp(f"sample-{seed}") / "S"
    generate("S", seed, directory)
    load(graph_settings, directory)
    report = tmp_path_factory.mktemp("report") / "postmortem.html"
    run, result = run_postmortem(graph_settings, "cmp-2026q3", report=report)

    modes = json.loads((directory / "ground_truth.json").read_text())["failure_modes"]
    truth = {m["id"]: m for m in modes}
    assert set(truth) == set(EXPECTED)
    matched: set[str] = set()
    missed = []
    for mode_id, (category, rule) in EXPECTED.items():
        hits = [f for f in result.findings if rule(f, truth[mode_id]["parameters"])]
        if not hits:
            missed.append(mode_id)
            continue
        assert {f.category for f in hits} == {category}, (mode_id, [f.category for f in hits])
        assert category == truth[mode_id]["category"]
        matched |= {f.id for f in hits}
    unplanned = [f for f in result.findings if f.id not in matched and f.label == "finding"]
    print(f"\nseed {seed}: {len(unplanned)} checked findings the ground truth does not contain:")
    for f in unplanned:
        print(f"  [{f.category}] {f.title}")
    assert not missed, f"planted failure modes not reported: {missed}"

    # Stored with provenance: a finding traces back through the run to the snapshots and sources.
    assert run.created and Path(run.report or "").is_file()
    with open_store(graph_settings) as store:
        finding_id = next(i for i in store.nodes("Finding") if i.endswith(":" + result.findings[0].id))
        labels = {node["label"] for node in trace(store, finding_id).nodes.values()}
        assert {"Finding", "DiagnosticRun", "Snapshot", "Extract", "Source"} <= labels
        counts = {
            label: store.count(label) for label in ("PostMortem", "Finding", "ActionItem", "DiagnosticRun")
        }
    again, _ = run_postmortem(graph_settings, "cmp-2026q3")
    assert not again.created and again.postmortem_id == run.postmortem_id
    with open_store(graph_settings) as store:
        assert {label: store.count(label) for label in counts} == counts
