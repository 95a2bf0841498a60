"""Open a `GraphStore` on the configured backend: the embedded server (started on first use) or
a Neo4j named by `WARRANT_GRAPH_URI`. Every failure to connect becomes a `GraphUnavailable` with
one line that says what to fix."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from neo4j import Address, Driver, GraphDatabase
from neo4j.exceptions import AuthError, ClientError, ConfigurationError, ServiceUnavailable

from graph.dialect import ArcadeDialect, Dialect, Neo4jDialect
from graph.embedded import EmbeddedServer, ServerInfo
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
            info.bolt_uri,
            (info.user, info.password),
            f"the embedded graph (log: {info.log_path})",
            resolver=_while_alive(info),
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


def _while_alive(info: ServerInfo) -> Callable[[Address], list[Address]]:
    """The driver's address resolver for the embedded server: a connection is (re)opened only while
    the server process it was opened for still runs.

    Why: the driver retries a failed transaction for 30 s, which suits a Neo4j cluster electing a new
    leader; but a `kill -9`ed embedded server never comes back on its ports, so a command that was
    writing sat through 30 s of multi-line retry warnings and then printed "Couldn't connect to ...:".
    The driver retries only its own errors, so this one ends the command at once, in one line."""

    def resolve(address: Address) -> list[Address]:
        if not info.alive():
            raise GraphUnavailable(
                f"the embedded graph server stopped while in use (process {info.pid} is gone; "
                f"log: {info.log_path}); run the command again, which restarts it"
            )
        return [address]

    return resolve


def _verified(
    uri: str, auth: tuple[str, str], what: str, *, resolver: Callable[[Address], list[Address]] | None = None
) -> Driver:
    """A driver whose server answered. Both timeouts are bounded: `connection_timeout` covers the
    TCP connect only, and the Bolt handshake waits on `connection_acquisition_timeout` (60 s by
    default), so a port where something listens but never speaks Bolt held every command a minute."""
    try:
        driver = GraphDatabase.driver(
            uri,
            auth=auth,
            connection_timeout=10.0,
            connection_acquisition_timeout=10.0,
            resolver=resolver,
        )
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
        raise GraphUnavailable(f"cannot reach {what}: {_reason(exc)}") from exc
    return driver


def _reason(exc: BaseException) -> str:
    """The driver's last line says why ("Connection refused", "looks like HTTP"); its first line
    only repeats the address and ends in a colon."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
