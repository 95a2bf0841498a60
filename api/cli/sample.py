"""`warrant sample generate|load`: a realistic campaign with known faults, for demos and tests."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.services import sample as service
from graph.settings import Settings

app = typer.Typer(help="Generate and load the sample campaign (planted failure modes).", no_args_is_help=True)
console = Console(highlight=False)
_BAR = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())


@app.command()
def generate(
    size: str = typer.Option("S", "--size", help="S (seconds), M, or L (>= 1M touchpoints, 100k leads)."),
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
