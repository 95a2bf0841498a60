"""Use case: build the demo library, many generated campaigns each with a real post-mortem, so that
the library has something to find and a judged query set something to be judged on.

Why through the same services as the CLI: each variant is generated (`sample.generate`), loaded
(`sample.load`: campaigns, snapshots, quality checks) and post-mortemed (`run_postmortem`: findings,
action items, the MLflow run, lineage), exactly as an analyst's campaign would be; the library is
then the product's own output, not rows written to look like it.

Why it is cheap enough to run on `make run` (about 50 campaigns in a few minutes on two cores):
variants are generated at size XS (0.4x S), and their post-mortems run with 100 bootstrap samples
(the least the assumption set allows; the default is 1000, capped at 200 by the response model),
which only widens the counterfactual's bands. Both are stated in the command's help and recorded
in each run's assumption set, with the baseline (the variant's previous flight) named explicitly:
the default baseline, every campaign that ended before, would take in fifty unrelated programs.

Why re-running adds nothing: a variant whose campaign already has a post-mortem is skipped before
anything is read; one whose files are there but whose post-mortem is not (an interrupted build) is
loaded again (a no-op for snapshots already stored) and post-mortemed. Files are generated into a
scratch directory and renamed into place, so an interrupted generation leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from api.services import sample
from api.services.postmortem import run_postmortem
from graph.connect import open_store
from graph.settings import Settings
from graph.store import GraphStore
from ingest import sample_variants
from ingest.sample_variants import Variant

SIZE = "XS"
BOOTSTRAP_SAMPLES = 100
COUNT = 50

Progress = Callable[[Variant, int, int, str], None]
"""progress(variant, done, total, step): step is generating, loading, post-mortem, skipped or done."""


class LibraryEntry(BaseModel):
    """One variant of the library and what the build did with it."""

    index: int
    campaign_id: str
    name: str
    theme: str
    mix: str
    planted: list[str]
    severity: str
    directory: str
    postmortem_id: str | None
    status: Literal["built", "skipped"]
    findings: int | None = None
    seconds: float = 0.0


class LibraryBuild(BaseModel):
    """What a build did: every variant's entry, the size and assumptions it used, how long it took."""

    directory: str
    size: str
    seed: int
    bootstrap_samples: int
    entries: list[LibraryEntry]
    seconds: float

    @property
    def built(self) -> list[LibraryEntry]:
        return [e for e in self.entries if e.status == "built"]

    @property
    def skipped(self) -> list[LibraryEntry]:
        return [e for e in self.entries if e.status == "skipped"]


def overrides(variant: Variant) -> dict[str, Any]:
    """The assumptions a library post-mortem changes from the defaults (recorded with its run)."""
    return {"bootstrap_samples": BOOTSTRAP_SAMPLES, "baseline_campaigns": [variant.baseline_id]}


def existing(store: GraphStore) -> dict[str, str]:
    """{campaign id: a post-mortem id} for every campaign that already has a post-mortem."""
    rows = store.read("MATCH (p:PostMortem) RETURN p.campaign AS campaign, p.id AS id ORDER BY id")
    return {r["campaign"]: r["id"] for r in rows if r.get("campaign")}


def build(
    settings: Settings,
    directory: Path,
    *,
    count: int = COUNT,
    seed: int = 7,
    progress: Progress | None = None,
    store: GraphStore | None = None,
) -> LibraryBuild:
    """Generate, load and post-mortem the first `count` variants into `directory` (one folder per
    campaign) and the graph, skipping every campaign that already has a post-mortem."""
    started = time.perf_counter()
    chosen = sample_variants.variants(count, seed)
    step = progress or (lambda _v, _done, _total, _step: None)
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    graph = store or open_store(settings)
    try:
        done = existing(graph)
        for i, variant in enumerate(chosen):
            entries.append(_one(settings, graph, directory, variant, done, partial(step, variant, i, count)))
        step(chosen[-1], count, count, "done")
    finally:
        if store is None:
            graph.close()
    return LibraryBuild(
        directory=str(directory),
        size=SIZE,
        seed=seed,
        bootstrap_samples=BOOTSTRAP_SAMPLES,
        entries=entries,
        seconds=round(time.perf_counter() - started, 1),
    )


def _one(
    settings: Settings,
    graph: GraphStore,
    directory: Path,
    v: Variant,
    done: dict[str, str],
    step: Callable[[str], None],
) -> LibraryEntry:
    started = time.perf_counter()
    out = directory / v.campaign_id
    entry = LibraryEntry(
        index=v.index,
        campaign_id=v.campaign_id,
        name=v.name,
        theme=v.theme.key,
        mix=v.mix,
        planted=list(v.planted),
        severity=v.severity,
        directory=str(out),
        postmortem_id=done.get(v.campaign_id),
        status="skipped",
    )
    if v.campaign_id in done:
        step("skipped")
        return entry
    if not (out / "manifest.json").is_file():
        step("generating")
        _generate(v, out)
    step("loading")
    sample.load(settings, out, store=graph)
    step("post-mortem")
    run, _ = run_postmortem(settings, v.campaign_id, overrides=overrides(v), store=graph)
    done[v.campaign_id] = run.postmortem_id
    return entry.model_copy(
        update={
            "postmortem_id": run.postmortem_id,
            "status": "built",
            "findings": len(run.findings),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )


def _generate(v: Variant, out: Path) -> None:
    """Generate into a scratch folder and rename it into place: a folder with a manifest is whole."""
    scratch = out.with_name(f".{out.name}.partial")
    if scratch.exists():
        shutil.rmtree(scratch)
    sample.generate(SIZE, v.seed, scratch, scenario=v.scenario())
    if out.exists():
        shutil.rmtree(out)  # a folder without a manifest: what an older interrupted build left
    scratch.rename(out)
