"""Use cases for the graph server itself: start, stop and report on it."""

from __future__ import annotations

from dataclasses import dataclass

from graph.connect import open_store
from graph.embedded import EmbeddedServer, ServerInfo
from graph.settings import Settings


@dataclass(frozen=True)
class GraphStatus:
    """What `warrant db status` reports."""

    backend: str  # "embedded" or "neo4j"
    running: bool
    address: str
    database: str | None
    nodes: int | None = None
    pid: int | None = None
    started_at: str | None = None
    http_url: str | None = None
    log_path: str | None = None


def _embedded_status(info: ServerInfo | None, settings: Settings, nodes: int | None = None) -> GraphStatus:
    server = EmbeddedServer(settings)
    if info is None:
        return GraphStatus("embedded", False, "", None, log_path=str(server.log_path))
    return GraphStatus(
        "embedded",
        True,
        info.bolt_uri,
        info.database,
        nodes=nodes,
        pid=info.pid,
        started_at=info.started_at,
        http_url=info.http_url,
        log_path=str(info.log_path),
    )


def start(settings: Settings) -> tuple[GraphStatus, bool]:
    """Start the embedded server (or check the Neo4j) and set up the schema; flag: newly started."""
    started = False
    if settings.embedded:
        _, started = EmbeddedServer(settings).ensure_running()
    return status(settings), started


def stop(settings: Settings) -> bool:
    """Stop the embedded server; False when none was running (a Neo4j is never stopped by us)."""
    return settings.embedded and EmbeddedServer(settings).stop()


def status(settings: Settings) -> GraphStatus:
    """Where the graph is and whether it answers; never starts anything."""
    if settings.embedded:
        info = EmbeddedServer(settings).status()
        if info is None:
            return _embedded_status(None, settings)
    with open_store(settings) as store:
        nodes = int(store.read("MATCH (n:Node) RETURN count(n) AS n")[0]["n"])
        if settings.embedded:
            return _embedded_status(info, settings, nodes)
        return GraphStatus("neo4j", True, settings.graph_uri, store.database, nodes=nodes)
