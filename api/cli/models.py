"""`warrant models list|sync|register|promote` and `warrant mlflow-ui`: the diagnostic models in
MLflow's registry, and the stock MLflow UI on Warrant's store."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Column, Table

from api.services import models as service
from graph.settings import Settings

app = typer.Typer(help="The diagnostic models: versions, aliases, registration.", no_args_is_help=True)
console = Console(highlight=False)


@app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every version of each diagnostic model, its aliases, and whether it runs on the installed code."""
    rows = service.list_models(Settings())
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    if not rows:
        console.print(
            "no model registered yet: the first post-mortem (or `warrant models sync`) registers them"
        )
        return
    table = Table(Column("model", no_wrap=True), "version", "aliases", "code", "parameters", "drift")
    for r in rows:
        code = r.code_version + ("" if r.installed_code else " [yellow](not the installed code)[/]")
        table.add_row(r.name, r.version, ", ".join(r.aliases), code, r.params, r.drift or "")
    console.print(table)


@app.command("sync")
def sync(
    promote: bool = typer.Option(False, "--promote", help="Make the installed code's versions champion."),
) -> None:
    """Register the installed code of every model (default parameters) where it is not registered yet."""
    for name, (version, promoted) in service.sync(Settings(), promote=promote).items():
        console.print(f"{name}: version {version}" + (" -> champion" if promoted else ""))


@app.command("register")
def register(
    name: str = typer.Argument(..., help="attribution, drivers, response, fatigue or scorecard."),
    sets: list[str] = typer.Option([], "--set", help="KEY=VALUE: a parameter the model owns (repeatable)."),
    alias: str | None = typer.Option(
        None, "--alias", help="Point champion or challenger at the new version."
    ),
) -> None:
    """Register the installed code of one model with other parameters (e.g. --set markov_order=2)."""
    version = service.register(Settings(), name, sets, alias)
    console.print(f"warrant-{name} version {version}" + (f" is {alias}" if alias else ""))


@app.command("promote")
def promote(
    name: str = typer.Argument(..., help="attribution, drivers, response, fatigue or scorecard."),
    version: str = typer.Argument(..., help="The version number."),
    alias: str = typer.Argument("champion", help="champion or challenger."),
) -> None:
    """Point an alias at a version: post-mortems use champion unless told otherwise."""
    service.promote(Settings(), name, version, alias)
    console.print(f"warrant-{name}@{alias} -> version {version}")


def mlflow_ui(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(5000, "--port", help="Port to listen on."),
) -> None:
    """Open the stock MLflow UI on Warrant's store (runs, datasets, models); Ctrl-C stops it."""
    settings = Settings()
    console.print(f"MLflow UI on http://{host}:{port} (store {settings.mlflow_dir})")
    service.mlflow_ui(settings, host, port)
