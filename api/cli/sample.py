"""`warrant sample generate|load|library`: a realistic campaign with known faults, for demos and tests,
and the demo library of many such campaigns with their post-mortems."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from api.services import demo_library
from api.services import sample as service
from graph.settings import Settings
from ingest.sample_variants import MAX_VARIANTS, Variant

app = typer.Typer(help="Generate and load the sample campaign (planted failure modes).", no_args_is_help=True)
console = Console(highlight=False)
_BAR = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())


@app.command()
def generate(
    size: str = typer.Option(
        "S", "--size", help="S (seconds), M, or L (>= 1M touchpoints, 100k leads); XS is 0.4x S."
    ),
    seed: int = typer.Option(7, "--seed", help="Same size and seed: byte-identical files."),
    out: Path = typer.Option(..., "--out", help="An empty or new directory."),
) -> None:
    """Write the exports, campaigns.json, manifest.json and ground_truth.json to OUT."""
    with Progress(*_BAR, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("generating", total=1.0)
        manifest = service.generate(
            size.upper(),
            seed,
            out,
            progress=lambda name, done: bar.update(task, description=name, completed=done),
        )
    table = Table("file", "mapping", "table", "rows", title=f"sample {manifest.size}, seed {manifest.seed}")
    for entry in manifest.files:
        table.add_row(entry.file, entry.mapping, entry.table, f"{entry.rows:,}")
    console.print(table)
    console.print(f"written to {out}; load it with: warrant sample load {out}")


@app.command()
def load(
    directory: Path = typer.Argument(..., help="A directory written by `warrant sample generate`."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record the campaigns and ingest every export of the manifest (a no-op when already loaded)."""
    with Progress(*_BAR, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("loading", total=1)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=f"ingesting {name}", completed=done, total=total)

        reports = service.load(Settings(), directory, progress=step)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
        return
    table = Table("file", "rows", "snapshot", "new", "warnings")
    for report in reports:
        warnings = ", ".join(g.name for g in report.gates if g.status == "warn")
        table.add_row(
            Path(report.files[0].path).name,
            f"{report.rows:,}",
            (report.snapshot_id or "")[:16],
            "yes" if report.created else "",
            warnings,
        )
    console.print(table)


LIBRARY_HELP = (
    "Build the demo library: COUNT generated campaigns (themes, channel mixes, planted failure modes and "
    "severities, or none), each generated, loaded and post-mortemed like an analyst's campaign.\n\n"
    f"Each campaign is generated at size {demo_library.SIZE} (0.4x S) with its previous flight as the "
    f"baseline, and its post-mortem runs with bootstrap_samples={demo_library.BOOTSTRAP_SAMPLES} (the "
    "least allowed: wider counterfactual bands, nothing else changes). 50 take about four to six "
    "minutes on two cores.\n\n"
    "Campaigns that already have a post-mortem are skipped: running it again adds nothing. Files go to "
    "OUT (default $WARRANT_HOME/library), one folder per campaign with its ground_truth.json."
)


@app.command(help=LIBRARY_HELP)
def library(
    count: int = typer.Option(
        demo_library.COUNT, "--count", min=1, max=MAX_VARIANTS, help="How many campaigns (the first ones)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where the files go (default $WARRANT_HOME/library)."
    ),
    seed: int = typer.Option(7, "--seed", help="Seeds the variants (variant i uses seed x 1000 + i)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The help is LIBRARY_HELP, built from the service's constants so it never misstates them."""
    settings = Settings()
    directory = out or settings.home / "library"
    with Progress(*_BAR, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("demo library", total=count)

        def step(variant: Variant, done: int, total: int, what: str) -> None:
            bar.update(task, description=f"{variant.campaign_id}: {what}", completed=done, total=total)

        built = demo_library.build(settings, directory, count=count, seed=seed, progress=step)
    if as_json:
        print(built.model_dump_json(indent=2))
        return
    if built.built:
        table = Table(Column("campaign", no_wrap=True), "mix", "planted", "findings", "seconds")
        for e in built.built:
            planted = ", ".join(e.planted) or "(nothing)"
            table.add_row(e.campaign_id, e.mix, planted, str(e.findings), f"{e.seconds:.1f}")
        console.print(table)
    console.print(
        f"{len(built.built)} post-mortem(s) built, {len(built.skipped)} already in the library, "
        f"in {built.seconds:.0f}s (size {built.size}, bootstrap_samples={built.bootstrap_samples}); "
        f"files in {built.directory}. Search it: warrant library search 'nurture sequence stopped'"
    )
