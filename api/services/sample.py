"""Use cases of the demo data: generate the sample campaign, and load it (campaigns, then every
export in the manifest's order) the way a user would ingest real exports. The demo library of many
generated post-mortems is built from these in `api.services.demo_library`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from api.services.ingest import IngestReport, ingest
from graph.connect import store_for
from graph.model import Campaign
from graph.settings import Settings
from graph.store import GraphStore
from ingest import sample
from ingest.errors import IngestError


def generate(
    size: str,
    seed: int,
    out: Path,
    progress: sample.Progress | None = None,
    *,
    scenario: sample.Scenario = sample.DEFAULT,
) -> sample.Manifest:
    """Write a sample (the default scenario unless told otherwise); a bad size or a non-empty `out`
    is the user's to fix, so it is an `IngestError` (one line), not a traceback."""
    try:
        return sample.generate(size, seed, out, progress=progress, scenario=scenario)
    except ValueError as exc:
        raise IngestError(str(exc)) from None


def load(
    settings: Settings,
    directory: Path,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    store: GraphStore | None = None,
) -> list[IngestReport]:
    """Record the campaigns of `campaigns.json`, then ingest each file of `manifest.json` (on the
    caller's store when it lends one: the demo library loads fifty samples through one)."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise IngestError(
            "no manifest.json here: generate a sample first (warrant sample generate)", file=directory
        )
    manifest = sample.Manifest.model_validate_json(manifest_path.read_text())
    step = progress or (lambda _name, _done, _total: None)
    reports = []
    with store_for(settings, store) as graph:
        campaigns = json.loads((directory / "campaigns.json").read_text())
        graph.merge(
            Campaign(
                id=c["id"],
                name=c["name"],
                objective=c.get("objective", ""),
                hypothesis=c.get("hypothesis"),
                hypothesis_documented_at=c.get("hypothesis_documented_at"),
                start=c.get("start"),
                end=c.get("end"),
                taxonomy=json.dumps(c.get("platforms", []), sort_keys=True),
            )
            for c in campaigns
        )
        for done, entry in enumerate(manifest.files):
            step(entry.file, done, len(manifest.files))
            reports.append(
                ingest(
                    settings,
                    [directory / entry.file],
                    entry.mapping,
                    campaign_id=entry.campaign_id,
                    store=graph,
                )
            )
        step("done", len(manifest.files), len(manifest.files))
    return reports
