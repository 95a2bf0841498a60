"""What differs between ArcadeDB and Neo4j; everything else in `graph/` is one Cypher text.

- Full text: ArcadeDB refuses `CREATE FULLTEXT INDEX` and `db.index.fulltext.queryNodes` over
  Bolt, but has Lucene full-text indexes through its own SQL on the HTTP API of the same server;
  Neo4j has them in Cypher.
- Reachability (lineage): the portable Cypher path query is correct on both, but ArcadeDB expands
  every path before `DISTINCT` (impact of a source at 100,000 nodes: 110-220 ms); its SQL
  `TRAVERSE` visits each record once and returns the node properties with it (17 ms).

Keep this module small and reviewed: a Neo4j is not available where the tests run.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import httpx
from neo4j import Driver
from neo4j.exceptions import ClientError

from graph.errors import GraphUnavailable, InvalidGraphInput
from graph.model import LINEAGE_RELS, NODE_TYPES, Rel

Direction = Literal["upstream", "downstream"]
NodeRows = dict[str, tuple[str, dict[str, Any]]]
"""id -> (label, properties), the form every node read returns."""
EdgeRows = list[tuple[str, str, str]]

MAX_DEPTH = 12
"""Longest lineage path followed (production paths are 5 hops: decision to source)."""

NODES_BY_ID = "MATCH (n:Node) WHERE n.id IN $ids RETURN n.id AS id, labels(n) AS labels, n{.*} AS props"


def label_of(labels: list[str] | tuple[str, ...]) -> str:
    """The domain label of a node stored as (:Node:Label)."""
    return next(label for label in labels if label != "Node")


def reachable_cypher(direction: Direction) -> str:
    """Edges (src, rel, dst) on lineage paths from node $id that were all open at time $at."""
    types = "|".join(rel.value for rel in LINEAGE_RELS)
    hops = f"[:{types}*1..{MAX_DEPTH}]"
    arrow = f"-{hops}->" if direction == "upstream" else f"<-{hops}-"
    # Paths, not nodes, are matched, so the validity test can see every edge on the path: an
    # edge closed before T (or opened after it) cuts what lies beyond it.
    return (
        "MATCH (s:Node {id: $id}) "
        f"MATCH p = (s){arrow}(n:Node) "
        "WHERE all(r IN relationships(p) WHERE r.valid_from <= $at "
        "AND (r.valid_to IS NULL OR r.valid_to > $at)) "
        "UNWIND relationships(p) AS r "
        "RETURN DISTINCT startNode(r).id AS src, type(r) AS rel, endNode(r).id AS dst"
    )


_REACHABLE = {direction: reachable_cypher(direction) for direction in ("upstream", "downstream")}

# (label, property) pairs with a full-text index: the library searches these.
FULLTEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("PostMortem", "title"),
    ("PostMortem", "summary"),
    ("PostMortem", "search_text"),  # the library's search box (graph.library)
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

    def ensure_schema(self, driver: Driver, database: str | None) -> None: ...

    def search_fulltext(
        self, driver: Driver, database: str | None, label: str, prop: str, text: str, limit: int
    ) -> list[tuple[str, float]]:
        """Ids and scores of `label` nodes whose `prop` matches the Lucene query `text`."""
        ...

    def reachable(
        self, driver: Driver, database: str | None, node_id: str, direction: Direction, at: str
    ) -> tuple[NodeRows, EdgeRows]:
        """The node, what its lineage edges open at `at` reach, and those edges.

        Node properties are the current ones; the caller rewinds them to `at`.
        """
        ...


class Neo4jDialect:
    name = "neo4j"

    def ensure_schema(self, driver: Driver, database: str | None) -> None:
        for label, prop in FULLTEXT_FIELDS:
            driver.execute_query(
                f"CREATE FULLTEXT INDEX ft_{label}_{prop} IF NOT EXISTS FOR (n:{label}) ON EACH [n.{prop}]",
                database_=database,
            )

    def search_fulltext(
        self, driver: Driver, database: str | None, label: str, prop: str, text: str, limit: int
    ) -> list[tuple[str, float]]:
        label, prop = _checked(label, prop)
        try:
            records, _, _ = driver.execute_query(
                "CALL db.index.fulltext.queryNodes($index, $text) YIELD node, score "
                "RETURN node.id AS id, score ORDER BY score DESC LIMIT $limit",
                index=f"ft_{label}_{prop}",
                text=text,
                limit=limit,
                database_=database,
            )
        except ClientError as exc:
            raise InvalidGraphInput(f"graph refused the full-text query: {exc.message}") from exc
        return [(r["id"], float(r["score"])) for r in records]

    def reachable(
        self, driver: Driver, database: str | None, node_id: str, direction: Direction, at: str
    ) -> tuple[NodeRows, EdgeRows]:
        records, _, _ = driver.execute_query(_REACHABLE[direction], id=node_id, at=at, database_=database)
        edges = sorted({(r["src"], r["rel"], r["dst"]) for r in records})
        ids = {node_id} | {e[0] for e in edges} | {e[2] for e in edges}
        records, _, _ = driver.execute_query(NODES_BY_ID, ids=list(ids), database_=database)
        return {r["id"]: (label_of(r["labels"]), r["props"]) for r in records}, edges


class ArcadeDialect:
    """Full text through ArcadeDB SQL on the embedded server's HTTP API (loopback, basic auth)."""

    name = "arcadedb"

    def __init__(self, http_url: str, user: str, password: str) -> None:
        self._http = httpx.Client(base_url=http_url, auth=(user, password), timeout=30.0)

    def sql(
        self,
        database: str,
        command: str,
        params: dict[str, object] | None = None,
        *,
        what: str = "statement",
        language: Literal["sql", "sqlscript"] = "sql",
    ) -> list[dict]:
        """One SQL command; user input only ever in `params`. A refusal names `what` was refused."""
        try:
            response = self._http.post(
                f"/api/v1/command/{database}",
                json={"language": language, "command": command, "params": params or {}},
            )
        except httpx.HTTPError as exc:
            raise GraphUnavailable(f"embedded graph HTTP API unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise InvalidGraphInput(f"graph refused the {what}: {_detail(response)}")
        return response.json().get("result", [])

    def server_command(self, command: str) -> None:
        """Server-level commands (create or drop a database)."""
        response = self._http.post("/api/v1/server", json={"command": command})
        if response.status_code >= 400:
            raise GraphUnavailable(f"embedded graph refused {command!r}: {_detail(response)}")

    def ensure_schema(self, driver: Driver, database: str | None) -> None:
        db = database or "warrant"
        for label, prop in FULLTEXT_FIELDS:
            # The type must exist and declare the property before ArcadeDB will index it; nodes
            # created later as (:Node:Label) get a composite type that inherits the index.
            self.sql(db, f"CREATE VERTEX TYPE `{label}` IF NOT EXISTS")
            self.sql(db, f"CREATE PROPERTY `{label}`.`{prop}` IF NOT EXISTS STRING")
            self.sql(db, f"CREATE INDEX IF NOT EXISTS ON `{label}` (`{prop}`) FULL_TEXT")
        self._ensure_composite_types(driver, db)

    def _ensure_composite_types(self, driver: Driver, db: str) -> None:
        """Create the type ArcadeDB keeps for each (:Node:Label) before any writer needs it.

        ArcadeDB's Cypher makes `Label~Node` (and an edge or plain type) on the first CREATE that
        uses it. Two transactions doing that first CREATE at once fail one with a bare "request failed"
        (TypeAlreadyExistsException in the server log) that no retry rule can tell from a real
        error: 1 run in 6 of the 50-approver test did. Made here by the engine's own path (a node
        created and deleted in one statement), so the type is exactly the one Cypher would make.
        """
        # An edge type (or Revision's) is one plain type: SQL makes the same one Cypher would.
        script = ["CREATE VERTEX TYPE `Revision` IF NOT EXISTS;"]
        script += [f"CREATE EDGE TYPE `{rel.value}` IF NOT EXISTS;" for rel in Rel]
        self.sql(db, "\n".join(script), language="sqlscript")
        missing = sorted(set(NODE_TYPES) - self._composite_labels(db))
        if not missing:
            return
        names = [f"n{i}" for i in range(len(missing))]
        pattern = ", ".join(f"({n}:Node:`{label}`)" for n, label in zip(names, missing, strict=True))
        try:
            driver.execute_query(f"CREATE {pattern} DELETE {', '.join(names)}", database_=db)
        except ClientError:
            if set(missing) - self._composite_labels(db):  # not a racing start-up: a real error
                raise

    def _composite_labels(self, db: str) -> set[str]:
        names = (row["name"] for row in self.sql(db, "SELECT name FROM schema:types"))
        return {label_of(parts) for name in names if "Node" in (parts := name.split("~")) and len(parts) == 2}

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
            {"text": text, "limit": limit},
            what="full-text query",
        )
        return [(r["id"], float(r["score"])) for r in rows]

    def reachable(
        self, driver: Driver, database: str | None, node_id: str, direction: Direction, at: str
    ) -> tuple[NodeRows, EdgeRows]:
        # TRAVERSE alternates edge and vertex records, so 2 * MAX_DEPTH levels are MAX_DEPTH hops.
        # WHILE stops at edges not open at `at`: what lies only beyond them is not reached, as in
        # the Cypher path query. Each record is visited once, whatever the number of paths;
        # breadth first, so a node is first met at its shortest distance and MAXDEPTH cuts the
        # same paths as `*1..MAX_DEPTH`.
        hop = "outE({types}), inV()" if direction == "upstream" else "inE({types}), outV()"
        types = ", ".join(f"'{rel.value}'" for rel in LINEAGE_RELS)
        records = self.sql(
            database or "warrant",
            f"TRAVERSE {hop.format(types=types)} FROM (SELECT FROM Node WHERE id = :id) "
            f"MAXDEPTH {2 * MAX_DEPTH} WHILE (@this INSTANCEOF 'Node' "
            "OR (valid_from <= :at AND (valid_to IS NULL OR valid_to > :at))) "
            "STRATEGY BREADTH_FIRST",
            {"id": node_id, "at": at},
            what="lineage traversal",
        )
        ids = {r["@rid"]: r["id"] for r in records if r["@cat"] == "v"}
        nodes = {
            r["id"]: (
                label_of(r["@type"].split("~")),
                {k: v for k, v in r.items() if not k.startswith("@")},
            )
            for r in records
            if r["@cat"] == "v"
        }
        edges = sorted(
            (ids[r["@out"]], r["@type"], ids[r["@in"]])
            for r in records
            if r["@cat"] == "e" and r["@out"] in ids and r["@in"] in ids
        )
        return nodes, edges

    def close(self) -> None:
        self._http.close()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("error") or body)[:300]
    except ValueError:
        return response.text[:300]
