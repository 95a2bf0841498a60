"""Open a `GraphStore` on the configured backend: the embedded server (started on first use) or
a Neo4j named by `WARRANT_GRAPH_URI`. Every failure to connect becomes a `GraphUnavailable` with
one line that says what to fix."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, ClientError, ConfigurationError, ServiceUnavailable

from graph.dialect import ArcadeDialect, Dialect, Neo4jDialect
from graph.embedded import EmbeddedServer
from graph.errors import GraphUnavailable
from graph.settings import Settings
from graph.store import GraphStore


def open_store(
    settings: Settings | None = None, *, database: str | None = None, setup: bool = True
) -> GraphStore:
    """A store on the configured graph, its schema set up (idempotent, so safe at every start)."""
    settings = settings or Settings()
    driver, dialect, default_db = connect(settings)
    store = GraphStore(
        driver, dialect, database or settings.graph_database or default_db, actor=settings.actor
    )
    if setup:
        # ArcadeDB's `CREATE PROPERTY ... IF NOT EXISTS` is check-then-act: two processes setting
        # up at once fail ("already exists"), so they take turns under the server's lock.
        guard = EmbeddedServer(settings).lock() if settings.embedded else contextlib.nullcontext()
        try:
            with guard:
                store.setup_schema()
        except ClientError as exc:
            store.close()
            raise GraphUnavailable(f"graph refused the schema set-up: {exc.message}") from exc
    return store


@contextlib.contextmanager
def store_for(settings: Settings, store: GraphStore | None = None) -> Iterator[GraphStore]:
    """The caller's store when it lends one (tests, a service calling another), else one opened
    here and closed after."""
    if store is not None:
        yield store
        return
    with open_store(settings) as owned:
        yield owned


def connect(settings: Settings) -> tuple[Driver, Dialect, str | None]:
    """Driver, dialect and default database for the configured backend, connectivity verified."""
    if settings.embedded:
        info, _ = EmbeddedServer(settings).ensure_running()
        driver = _verified(
            info.bolt_uri, (info.user, info.password), f"the embedded graph (log: {info.log_path})"
        )
        return driver, ArcadeDialect(info.http_url, info.user, info.password), info.database
    auth = (settings.graph_user, settings.graph_password.get_secret_value())
    driver = _verified(settings.graph_uri, auth, settings.graph_uri)
    agent = driver.get_server_info().agent or ""
    if "ArcadeDB" in agent:
        driver.close()
        raise GraphUnavailable(
            f"{settings.graph_uri} is an ArcadeDB server; WARRANT_GRAPH_URI is for Neo4j 5 "
            "(leave it empty to use the embedded graph)"
        )
    return driver, Neo4jDialect(), None


def _verified(uri: str, auth: tuple[str, str], what: str) -> Driver:
    try:
        driver = GraphDatabase.driver(uri, auth=auth, connection_timeout=10.0)
    except (ConfigurationError, ValueError) as exc:
        raise GraphUnavailable(f"bad graph URI {uri!r}: {exc}") from exc
    try:
        driver.verify_connectivity()
    except AuthError as exc:
        driver.close()
        raise GraphUnavailable(
            f"{what} refused the credentials of user {auth[0]!r} "
            "(check WARRANT_GRAPH_USER and WARRANT_GRAPH_PASSWORD)"
        ) from exc
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        raise GraphUnavailable(f"cannot reach {what}: {str(exc).splitlines()[0]}") from exc
    return driver
