"""Shared fixtures: one real embedded graph server for the whole session, a fresh database per test.

The contract tests are parametrised over backends: the embedded ArcadeDB always, and a Neo4j when
`WARRANT_TEST_NEO4J_URI` is set (with `WARRANT_TEST_NEO4J_USER` / `WARRANT_TEST_NEO4J_PASSWORD`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from graph.connect import open_store
from graph.dialect import ArcadeDialect
from graph.embedded import EmbeddedServer
from graph.settings import Settings
from graph.store import GraphStore

NEO4J_URI = os.environ.get("WARRANT_TEST_NEO4J_URI", "")


class Clock:
    """A settable clock, so tests can make edits at known times."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def isolated_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a child process (CLI or script) that uses the session's graph."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARRANT_")}
    env["WARRANT_HOME"] = str(settings.home)
    env["WARRANT_ACTOR"] = "test"
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def embedded_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The session's embedded server, in a home of its own (never a developer's `.warrant`)."""
    settings = Settings(home=tmp_path_factory.mktemp("warrant-home"), actor="test")
    server = EmbeddedServer(settings)
    server.ensure_running()
    yield settings
    server.stop()


@pytest.fixture(scope="session")
def admin_store(embedded_settings: Settings) -> Iterator[GraphStore]:
    with open_store(embedded_settings) as store:
        yield store


def new_database(admin: GraphStore) -> str:
    name = f"t{uuid.uuid4().hex[:12]}"
    assert isinstance(admin.dialect, ArcadeDialect)
    admin.dialect.server_command(f"create database {name}")
    return name


@pytest.fixture(params=["arcadedb", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "neo4j" and not NEO4J_URI:
        pytest.skip("Neo4j backend: WARRANT_TEST_NEO4J_URI is not set, so only the embedded ArcadeDB ran")
    return request.param


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(
    backend: str, embedded_settings: Settings, admin_store: GraphStore, clock: Clock
) -> Iterator[GraphStore]:
    """A store on an empty database of the chosen backend, with a settable clock."""
    if backend == "arcadedb":
        name = new_database(admin_store)
        graph = open_store(embedded_settings, database=name)
        graph.clock = clock
        yield graph
        graph.close()
        admin_store.dialect.server_command(f"drop database {name}")
        return
    settings = Settings(
        home=embedded_settings.home,
        actor="test",
        graph_uri=NEO4J_URI,
        graph_user=os.environ.get("WARRANT_TEST_NEO4J_USER", "neo4j"),
        graph_password=os.environ.get("WARRANT_TEST_NEO4J_PASSWORD", ""),
    )
    graph = open_store(settings)
    graph.read("MATCH (n) DETACH DELETE n")
    graph.clock = clock
    yield graph
    graph.close()


@pytest.fixture
def test_database(embedded_settings: Settings, admin_store: GraphStore) -> Iterator[str]:
    """A fresh database on the session server, for tests that drive the CLI as a child process."""
    name = new_database(admin_store)
    open_store(embedded_settings, database=name).close()  # schema set-up
    yield name
    admin_store.dialect.server_command(f"drop database {name}")


@pytest.fixture
def graph(embedded_settings: Settings, admin_store: GraphStore) -> Iterator[GraphStore]:
    """A store on a fresh database of the session's embedded server (ArcadeDB only)."""
    name = new_database(admin_store)
    store = open_store(embedded_settings, database=name)
    yield store
    store.close()
    admin_store.dialect.server_command(f"drop database {name}")


@pytest.fixture
def graph_settings(embedded_settings: Settings, test_database: str) -> Settings:
    """Settings that open a fresh database of the session's server (for services that open their store)."""
    return Settings(home=embedded_settings.home, actor="test", graph_database=test_database)
