"""`warrant db start|stop|status`: the graph server."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console

from api.services import graphdb
from graph.settings import Settings

app = typer.Typer(help="Start, stop and inspect the graph server.", no_args_is_help=True)
console = Console(highlight=False)


def _show(status: graphdb.GraphStatus) -> None:
    if not status.running:
        console.print(f"graph: embedded server not running (log: {status.log_path})")
        return
    console.print(f"graph: {status.backend} at [bold]{status.address}[/] database {status.database!r}")
    console.print(f"  nodes: {status.nodes}")
    if status.backend == "embedded":
        console.print(f"  pid: {status.pid}, started {status.started_at}")
        console.print(f"  http (loopback, full text): {status.http_url}")
        console.print(f"  log: {status.log_path}")


@app.command()
def start() -> None:
    """Start the embedded graph server (a no-op if it runs already) and set up the schema."""
    status, started = graphdb.start(Settings())
    console.print("started" if started else "already running")
    _show(status)


@app.command()
def stop() -> None:
    """Stop the embedded graph server."""
    console.print("stopped" if graphdb.stop(Settings()) else "not running")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Where the graph is and whether it answers (exit code 1 when it is not running)."""
    result = graphdb.status(Settings())
    if as_json:
        print(json.dumps(asdict(result)))
    else:
        _show(result)
    if not result.running:
        raise typer.Exit(1)
