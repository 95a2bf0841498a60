"""What differs between ArcadeDB and Neo4j; everything else in `graph/` is one Cypher text.

ArcadeDB refuses `CREATE FULLTEXT INDEX` and `db.index.fulltext.queryNodes` over Bolt, but has
Lucene full-text indexes through its own SQL on the HTTP API of the same server; Neo4j has them in
Cypher. Keep this module small and reviewed: a Neo4j is not available where the tests run.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from neo4j import Driver

from graph.errors import GraphUnavailable, InvalidGraphInput
from graph.model import NODE_TYPES

# (label, property) pairs with a full-text index: the library searches these.
FULLTEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("PostMortem", "title"),
    ("PostMortem", "summary"),
    ("Finding", "title"),
    ("Finding", "statement"),
    ("ActionItem", "title"),
)


def _checked(label: str, prop: str) -> tuple[str, str]:
    """Labels and properties reach index DDL as text, so only known names pass."""
    if (label, prop) not in FULLTEXT_FIELDS or label not in NODE_TYPES:
        raise InvalidGraphInput(f"no full-text index on {label}.{prop}")
    return label, prop


class Dialect(Protocol):
    name: str

    def ensure_fulltext(self, driver: Driver, database: str | None) -> None: ...

    def search_fulltext(
        self, driver: Driver, database: str | None, label: str, prop: str, text: str, limit: int
    ) -> list[tuple[str, float]]:
        """Ids and scores of `label` nodes whose `prop` matches the Lucene query `text`."""
        ...


class Neo4jDialect:
    name = "neo4j"

    def ensure_fulltext(self, driver: Driver, database: str | None) -> None:
        for label, prop in FULLTEXT_FIELDS:
            driver.execute_query(
                f"CREATE FULLTEXT INDEX ft_{label}_{prop} IF NOT EXISTS FOR (n:{label}) ON EACH [n.{prop}]",
                database_=database,
            )

    def search_fulltext(
        self, driver: Driver, database: str | None, label: str, prop: str, text: str, limit: int
    ) -> list[tuple[str, float]]:
        label, prop = _checked(label, prop)
        records, _, _ = driver.execute_query(
            "CALL db.index.fulltext.queryNodes($index, $text) YIELD node, score "
            "RETURN node.id AS id, score ORDER BY score DESC LIMIT $limit",
            index=f"ft_{label}_{prop}",
            text=text,
            limit=limit,
            database_=database,
        )
        return [(r["id"], float(r["score"])) for r in records]


class ArcadeDialect:
    """Full text through ArcadeDB SQL on the embedded server's HTTP API (loopback, basic auth)."""

    name = "arcadedb"

    def __init__(self, http_url: str, user: str, password: str) -> None:
        self._http = httpx.Client(base_url=http_url, auth=(user, password), timeout=30.0)

    def sql(self, database: str, command: str, **params: object) -> list[dict]:
        try:
            response = self._http.post(
                f"/api/v1/command/{database}",
                json={"language": "sql", "command": command, "params": params},
            )
        except httpx.HTTPError as exc:
            raise GraphUnavailable(f"embedded graph HTTP API unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise InvalidGraphInput(f"full-text query refused: {_detail(response)}")
        return response.json().get("result", [])

    def server_command(self, command: str) -> None:
        """Server-level commands (create or drop a database)."""
        response = self._http.post("/api/v1/server", json={"command": command})
        if response.status_code >= 400:
            raise GraphUnavailable(f"embedded graph refused {command!r}: {_detail(response)}")

    def ensure_fulltext(self, driver: Driver, database: str | None) -> None:
        db = database or "warrant"
        for label, prop in FULLTEXT_FIELDS:
            # The type must exist and declare the property before ArcadeDB will index it; nodes
            # created later as (:Node:Label) get a composite type that inherits the index.
            self.sql(db, f"CREATE VERTEX TYPE `{label}` IF NOT EXISTS")
            self.sql(db, f"CREATE PROPERTY `{label}`.`{prop}` IF NOT EXISTS STRING")
            self.sql(db, f"CREATE INDEX IF NOT EXISTS ON `{label}` (`{prop}`) FULL_TEXT")

    def search_fulltext(
        self, driver: Driver, database: str | None, label: str, prop: str, text: str, limit: int
    ) -> list[tuple[str, float]]:
        label, prop = _checked(label, prop)
        # Label and property were checked against FULLTEXT_FIELDS; the user's text is a parameter.
        rows = self.sql(
            database or "warrant",
            f"SELECT id, $score AS score FROM `{label}` "  # noqa: S608
            f"WHERE SEARCH_INDEX('{label}[{prop}]', :text) = true "
            "ORDER BY score DESC LIMIT :limit",
            text=text,
            limit=limit,
        )
        return [(r["id"], float(r["score"])) for r in rows]

    def close(self) -> None:
        self._http.close()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("error") or body)[:300]
    except ValueError:
        return response.text[:300]
