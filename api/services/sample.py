"""Use cases of the demo data: generate the sample campaign, and load it (campaigns, then every
export in the manifest's order) the way a user would ingest real exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from api.services.ingest import IngestReport, ingest
from graph.connect import open_store
from graph.model import Campaign
from graph.settings import Settings
from ingest import sample
from ingest.errors import IngestError


def generate(size: str, seed: int, out: Path, progress: sample.Progress | None = None) -> sample.Manifest:
    try:
        return sample.generate(size, seed, out, progress=progress)
    except ValueError as exc:
        raise IngestError(str(exc)) from None


def load(
    settings: Settings, directory: Path, progress: Callable[[str, int, int], None] | None = None
) -> list[IngestReport]:
    """Record the campaigns of `campaigns.json`, then ingest each file of `manifest.json`."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise IngestError(
            "no manifest.json here: generate a sample first (warrant sample generate)", file=directory
        )
    manifest = sample.Manifest.model_validate_json(manifest_path.read_text())
    step = progress or (lambda _name, _done, _total: None)
    reports = []
    with open_store(settings) as store:
        campaigns = json.loads((directory / "campaigns.json").read_text())
        store.merge(
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
                    store=store,
                )
            )
        step("done", len(manifest.files), len(manifest.files))
    return reports
