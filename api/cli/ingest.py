"""`warrant ingest`, `warrant mappings`, `warrant schema`: exports in, snapshots out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.services import ingest as service
from graph.settings import Settings
from ingest.gates import GateResult
from ingest.mapping import BUILTIN_DIR, builtin_names, load_mapping
from ingest.schema import TABLES, field_type, table_model

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)
mappings_app = typer.Typer(help="The built-in mappings, and what a mapping file holds.", no_args_is_help=True)
schema_app = typer.Typer(help="The unified tables that exports become.", no_args_is_help=True)

_STATUS = {"pass": "green", "warn": "yellow", "fail": "bold red", "skipped": "dim"}


def ingest(
    paths: list[Path] = typer.Argument(..., help="Export file(s); several files are parts of one export."),
    mapping: str = typer.Option(
        ..., "--mapping", "-m", help="A built-in mapping name or a mapping .yaml file."
    ),
    campaign: str | None = typer.Option(
        None, "--campaign", "-c", help="Campaign id the snapshot belongs to."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Read exports through a mapping, run the quality gates, store a content-addressed snapshot."""
    settings = Settings()
    try:
        if as_json or not sys.stderr.isatty():
            report = service.ingest(settings, paths, mapping, campaign_id=campaign)
        else:
            report = _with_progress(settings, paths, mapping, campaign)
    except service.GateFailure as exc:
        if as_json:
            print(json.dumps({**exc.report.model_dump(mode="json"), "error": exc.to_dict()}, indent=2))
            raise typer.Exit(2) from None
        errors.print(_gate_table(exc.report.gates))
        raise
    watched = _monitor(settings, report)
    if as_json:
        print(json.dumps({**report.model_dump(mode="json"), "monitoring": watched}, indent=2))
        return
    for line in watched:
        console.print(f"monitoring: {line}")
    what = "stored" if report.created else "already stored (identical content): nothing changed"
    console.print(f"snapshot [bold]{report.snapshot_id}[/] {what}")
    console.print(
        f"  {report.rows} {report.table} rows from {len(report.files)} file(s) via {report.mapping}"
    )
    if report.campaign_id:
        console.print(f"  campaign {report.campaign_id}")
    console.print(f"  {report.path}")
    console.print(_gate_table(report.gates))


def _monitor(settings: Settings, report: service.IngestReport) -> list[str]:
    """New ad or lead data may be what an executed decision or an action item waits for: judge them
    now (`warrant decision monitor` does the same on demand)."""
    from api.services import decisions
    from governance.monitoring import TABLES as WATCHED
    from governance.monitoring import summary
    from graph.errors import WarrantError

    if not report.created or report.table not in WATCHED:
        return []
    try:
        done = decisions.monitor(settings)
    except WarrantError as exc:  # the snapshot is stored; monitoring can be run again on its own
        return [f"skipped ({exc}); run `warrant decision monitor` once that is fixed"]
    return summary(done).splitlines() if done.decisions or done.actions or done.proposed else []


def _with_progress(
    settings: Settings, paths: list[Path], mapping: str, campaign: str | None
) -> service.IngestReport:
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task("starting", total=len(paths))

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=name, completed=done, total=total)

        return service.ingest(settings, paths, mapping, campaign_id=campaign, progress=step)


def _gate_table(gates: list[GateResult]) -> Table:
    table = Table(
        "gate", "result", "value", "threshold", "message", title="quality gates", title_justify="left"
    )
    for gate in gates:
        colour = _STATUS.get(gate.status, "")
        result = gate.status + (" (blocking)" if gate.blocking and gate.status == "fail" else "")
        where = (
            f" at {gate.location.file}:{gate.location.row} ({gate.location.column})" if gate.location else ""
        )
        blocks = f" Blocks: {', '.join(gate.blocks)}." if gate.blocks else ""
        table.add_row(
            gate.name,
            f"[{colour}]{result}[/]",
            "" if gate.value is None else f"{gate.value:g}",
            "" if gate.threshold is None else f"{gate.threshold:g}",
            gate.message + where + blocks,
        )
    return table


@mappings_app.command("list")
def list_mappings(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every built-in mapping: the export it reads and the table it fills."""
    rows = []
    for name in builtin_names():
        mapping = load_mapping(name)
        rows.append(
            {"name": name, "table": mapping.table, "source": mapping.source.name, "title": mapping.title}
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "table", "source", "reads")
    for row in rows:
        table.add_row(row["name"], row["table"], row["source"], row["title"])
    console.print(table)


@mappings_app.command("show")
def show_mapping(
    name: str = typer.Argument(..., help="A built-in mapping name or a mapping .yaml file."),
) -> None:
    """The mapping as YAML: a starting point for a mapping of your own."""
    mapping = load_mapping(name)
    builtin = BUILTIN_DIR / f"{mapping.name}.yaml"
    if Path(name).suffix in (".yaml", ".yml"):
        print(Path(name).read_text(encoding="utf-8"), end="")
    elif builtin.is_file():
        print(builtin.read_text(encoding="utf-8"), end="")
    else:
        data = mapping.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["columns"] = {
            k: v.get("from", v) if list(v) == ["from"] else v for k, v in data["columns"].items()
        }
        print(yaml.safe_dump(data, sort_keys=False), end="")


@schema_app.command("list")
def list_tables() -> None:
    """The unified tables."""
    table = Table("table", "fields", "what it holds")
    for name, model in TABLES.items():
        table.add_row(name, str(len(model.model_fields)), model.doc)
    console.print(table)


@schema_app.command("show")
def show_table(name: str = typer.Argument(..., help="A table name (warrant schema list).")) -> None:
    """A table's fields: name, type, required, and the key that identifies a row."""
    try:
        model = table_model(name)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    table = Table("field", "type", "required", title=f"{name}: {model.doc}", title_justify="left")
    for field, info in model.model_fields.items():
        table.add_row(field, field_type(model, field).__name__, "yes" if info.is_required() else "")
    console.print(table)
    console.print(f"key: {', '.join(model.key)}")
