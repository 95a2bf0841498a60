"""`warrant lineage trace|impact|taint|export`: walk provenance, flag what a bad source touched, and hand
a trace to other lineage tools (OpenLineage run events, W3C PROV-JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.tree import Tree

from api.services import lineage as service
from graph.errors import ConfigurationError
from graph.lineage import Lineage
from graph.settings import Settings

app = typer.Typer(help="Trace insights to their sources and sources to what they fed.", no_args_is_help=True)
console = Console(highlight=False)

AS_OF_HELP = "Show the graph as it stood at this time (ISO-8601; a time without zone is UTC)."
JSON_HELP = "Machine-readable output."


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 time (e.g. 2026-11-24T09:30:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _describe(node_id: str, graph: Lineage) -> str:
    node = graph.nodes[node_id]
    props = node["properties"]
    name = next((props[k] for k in ("title", "name", "file") if props.get(k)), "")
    taint = " [bold red]TAINTED[/]" if props.get("tainted") else ""
    return f"[cyan]{node['label']}[/] {node_id}" + (f" [dim]{name}[/]" if name else "") + taint


def _tree(graph: Lineage) -> Tree:
    """A readable tree from the root; a node reached twice is shown once, then referred to."""
    children: dict[str, list[tuple[str, str]]] = {}
    for src, rel, dst in graph.edges:
        parent, child = (src, dst) if graph.direction == "upstream" else (dst, src)
        children.setdefault(parent, []).append((rel, child))
    when = f" as of {graph.as_of}" if graph.as_of else ""
    root = Tree(_describe(graph.root, graph) + f" [dim]({graph.direction}{when})[/]")
    seen = {graph.root}

    def grow(branch: Tree, node_id: str) -> None:
        for rel, child in sorted(children.get(node_id, [])):
            label = f"[dim]{rel}[/] " + _describe(child, graph)
            if child in seen:
                branch.add(label + " [dim](shown above)[/]")
                continue
            seen.add(child)
            grow(branch.add(label), child)

    grow(root, graph.root)
    return root


def _present(graph: Lineage, as_json: bool) -> None:
    if as_json:
        print(json.dumps(graph.to_json(), indent=2, sort_keys=True))
    else:
        console.print(_tree(graph))
        console.print(f"[dim]{len(graph.nodes)} nodes, {len(graph.edges)} edges[/]")


@app.command()
def trace(
    node_id: str,
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Everything NODE_ID rests on, back to the source exports."""
    _present(service.trace(Settings(), node_id, _parse_time(as_of)), as_json)


@app.command()
def impact(
    node_id: str,
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Everything that rests on NODE_ID: what a bad source fed."""
    _present(service.impact(Settings(), node_id, _parse_time(as_of)), as_json)


@app.command()
def taint(
    node_id: str,
    reason: str = typer.Option(..., "--reason", help="Why the node is bad; recorded on every flag."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Flag NODE_ID and every finding and decision downstream of it, in one unit of work."""
    if not reason.strip():
        raise typer.BadParameter("--reason must not be empty")
    result = service.taint(Settings(), node_id, reason)
    if as_json:
        print(json.dumps(asdict(result), sort_keys=True))
        return
    console.print(
        f"tainted {node_id}: {len(result.flagged)} node(s) flagged, {len(result.already_tainted)} already"
    )
    for flagged in result.flagged:
        console.print(f"  {flagged}")


class ExportFormat(StrEnum):
    openlineage = "openlineage"
    prov_json = "prov-json"


@app.command()
def export(
    node_id: str,
    fmt: ExportFormat = typer.Option(
        ..., "--format", help="openlineage: a JSON array of run events; prov-json: a W3C PROV-JSON document."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of standard output."),
) -> None:
    """NODE_ID's trace in a format other lineage tools read (Marquez, DataHub, PROV tools)."""
    doc, what = service.export(Settings(), node_id, fmt.value, _parse_time(as_of))
    text = json.dumps(doc, indent=2, sort_keys=True)
    if out is None:
        print(text)
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"wrote {what} for {node_id} to {out}")
