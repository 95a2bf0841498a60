"""Use cases for the graph server itself: start, stop and report on it."""

from __future__ import annotations

from dataclasses import dataclass

from graph.connect import open_store
from graph.embedded import EmbeddedServer
from graph.settings import Settings
from graph.store import GraphStore


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
    if not settings.embedded:
        with open_store(settings) as store:
            return GraphStatus("neo4j", True, settings.graph_uri, store.database, nodes=_count(store))
    server = EmbeddedServer(settings)
    info = server.status()
    if info is None:
        return GraphStatus("embedded", False, "", None, log_path=str(server.log_path))
    with open_store(settings) as store:
        nodes = _count(store)
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


def _count(store: GraphStore) -> int:
    return int(store.read("MATCH (n:Node) RETURN count(n) AS n")[0]["n"])
