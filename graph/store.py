"""`GraphStore`: the system of record, over the official `neo4j` driver (ArcadeDB or Neo4j).

Three rules hold every write together:
- **Nothing is overwritten.** Changing a node first copies its stored properties into a `Revision`
  (valid from its last change until now); removing an edge closes it (`valid_to`) instead of
  deleting it. So the graph can be read as it stood at any past time.
- **Every change compares and increments `version`.** A plain read-then-write inside one
  transaction lost updates under contention on ArcadeDB (measured: 119 of 120 increments kept);
  `WHERE n.version = $read` never did. Conflicts inside a unit of work retry it; a caller's own
  stale `expected_version` raises `ConcurrentModification`.
- **A unit of work is one managed transaction**, retried on transient errors, all or nothing.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import ConstraintError, ServiceUnavailable, SessionExpired
from pydantic import ValidationError

from graph.dialect import NODES_BY_ID, Dialect, Direction, EdgeRows, NodeRows, label_of
from graph.errors import ConcurrentModification, GraphUnavailable, InvalidGraphInput, NotFound
from graph.model import SYSTEM_PROPERTIES, Node, Rel, node_type, timestamp, utc_now

T = TypeVar("T")
Edge = tuple[str, Rel, str]
_MAX_ATTEMPTS = 8


# What every unit of work in the current context adds before it commits. The HTTP API sets it, for
# a request that may write, to audit the key the write was made with in the write's own transaction.
before_commit: ContextVar[Callable[[Tx], None] | None] = ContextVar("warrant_before_commit", default=None)


class _Conflict(Exception):
    """A compare-and-set inside a unit of work lost a race: run the unit again."""


@dataclass(frozen=True)
class MergeResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Revision:
    """The properties a node held from `valid_from` until `valid_to`."""

    version: int
    valid_from: str
    valid_to: str
    replaced_by: str
    properties: dict[str, Any]


def _props_at(current: dict[str, Any], revisions: Sequence[Revision], at: str) -> dict[str, Any] | None:
    """The properties a node held at time `at`, or None if it did not exist yet."""
    if current["created_at"] > at:
        return None
    if current.get("updated_at", current["created_at"]) <= at:
        return current
    for revision in revisions:
        if revision.valid_from <= at < revision.valid_to:
            return revision.properties
    return None


class Tx:
    """The operations of one unit of work, over one managed transaction."""

    def __init__(self, tx: ManagedTransaction, now: str, by: str) -> None:
        self.tx = tx
        self.now = now
        self.by = by

    def run(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        return [record.data() for record in self.tx.run(cypher, params)]

    # -- reads --------------------------------------------------------------------------------

    def fetch(self, ids: Iterable[str]) -> NodeRows:
        """id -> (label, stored properties) for the ids that exist."""
        rows = self.run(NODES_BY_ID, ids=list(set(ids)))
        return {row["id"]: (label_of(row["labels"]), row["props"]) for row in rows}

    # -- writes -------------------------------------------------------------------------------

    def merge(self, nodes: Iterable[Node]) -> MergeResult:
        """Create absent nodes; leave identical ones; revise mutable ones that differ.

        Immutable entities (snapshots, extracts, findings) that already exist with other content
        are an error: their id names their content, so a change means a different entity.
        """
        batch = {node.id: node for node in nodes}
        existing = self.fetch(batch)
        created: dict[str, list[dict[str, Any]]] = {}
        changes: dict[str, dict[str, Any]] = {}
        unchanged = 0
        for node_id, node in batch.items():
            if node_id not in existing:
                created.setdefault(node.label, []).append({"id": node_id, **node.properties()})
                continue
            label, stored = existing[node_id]
            if label != node.label:
                raise InvalidGraphInput(f"id {node_id!r} already names a {label}, not a {node.label}")
            given = {k: v for k, v in node.properties().items() if k in node.model_fields_set}
            diff = {k: v for k, v in given.items() if stored.get(k) != v}
            if not diff:
                unchanged += 1
            elif not node.mutable:
                raise InvalidGraphInput(
                    f"{label} {node_id!r} exists with other values for {', '.join(sorted(diff))}; "
                    f"a {label} never changes: give the new one its own id"
                )
            else:
                changes[node_id] = diff
        for label, rows in created.items():
            self._create(label, rows)
        self.revise({i: existing[i][1] for i in changes}, changes)
        return MergeResult(sum(map(len, created.values())), len(changes), unchanged)

    def _create(self, label: str, rows: list[dict[str, Any]]) -> None:
        # CREATE, not MERGE: these ids were absent when this transaction read them, and a racing
        # creator trips the unique constraint, which reruns the unit. (A MERGE on two labels does
        # not use the Node.id index on ArcadeDB: 2,000 rows took 20-42 s, not 0.15 s.)
        self.run(
            f"UNWIND $rows AS row CREATE (n:Node:`{label}`) "
            "SET n += row, n.created_at = $now, n.created_by = $by, n.version = 1",
            rows=rows,
            now=self.now,
            by=self.by,
        )

    def create(self, nodes: Iterable[Node]) -> None:
        """Create nodes whose ids must be new (the next link of a chain): an id that exists means a
        racing writer got there first, so the whole unit of work runs again on the new state."""
        batch = list(nodes)
        if self.fetch(node.id for node in batch):
            raise _Conflict
        by_label: dict[str, list[dict[str, Any]]] = {}
        for node in batch:
            by_label.setdefault(node.label, []).append({"id": node.id, **node.properties()})
        for label, rows in by_label.items():
            self._create(label, rows)  # a writer racing past the check trips the unique constraint

    def update(self, node_id: str, changes: dict[str, Any], expected_version: int) -> Node:
        """Change a mutable node the caller read at `expected_version`; returns the new node."""
        found = self.fetch([node_id])
        if node_id not in found:
            raise NotFound(f"no node with id {node_id!r}")
        label, stored = found[node_id]
        model = node_type(label)
        if not model.mutable:
            raise InvalidGraphInput(f"a {label} never changes once recorded")
        if set(changes) & SYSTEM_PROPERTIES:
            raise InvalidGraphInput(f"cannot set {', '.join(sorted(set(changes) & SYSTEM_PROPERTIES))}")
        if stored["version"] != expected_version:
            raise ConcurrentModification(
                f"{label} {node_id!r} is at version {stored['version']}, not {expected_version}: "
                "it changed since you read it; reload and try again"
            )
        merged = {**stored, **changes}
        try:
            model.model_validate({k: v for k, v in merged.items() if v is not None})
        except ValidationError as exc:
            raise InvalidGraphInput(_first_error(label, exc)) from exc
        try:
            self.revise({node_id: stored}, {node_id: changes})
        except _Conflict:
            raise ConcurrentModification(
                f"{label} {node_id!r} changed while it was being updated; reload and try again"
            ) from None
        return model.model_validate(self.fetch([node_id])[node_id][1])

    def revise(self, current: dict[str, dict[str, Any]], changes: dict[str, dict[str, Any]]) -> None:
        """Apply changes with compare-and-set on `version`, keeping each prior state as a Revision."""
        if not changes:
            return
        rows = [
            {
                "id": node_id,
                "version": current[node_id]["version"],
                "changes": diff,
                "valid_from": current[node_id].get("updated_at", current[node_id]["created_at"]),
                "props": json.dumps(current[node_id], sort_keys=True),
            }
            for node_id, diff in changes.items()
        ]
        done = self.run(
            "UNWIND $rows AS row "
            "MATCH (n:Node {id: row.id}) WHERE n.version = row.version "
            "SET n += row.changes, n.version = row.version + 1, n.updated_at = $now, n.updated_by = $by "
            "CREATE (r:Revision {node_id: row.id, version: row.version, valid_from: row.valid_from, "
            "valid_to: $now, replaced_by: $by, props: row.props}) "
            "RETURN count(n) AS n",
            rows=rows,
            now=self.now,
            by=self.by,
        )
        if done[0]["n"] != len(rows):
            raise _Conflict

    def link(self, edges: Iterable[Edge], **props: Any) -> int:
        """Open an edge per (source, type, target) unless one is already open; returns how many opened."""
        by_type: dict[Rel, list[dict[str, str]]] = {}
        ids: set[str] = set()
        for src, rel, dst in edges:
            by_type.setdefault(Rel(rel), []).append({"src": src, "dst": dst})
            ids.update((src, dst))
        missing = ids - set(self.fetch(ids))
        if missing:
            raise NotFound(f"no node with id {sorted(missing)[0]!r} to link")
        opened = 0
        for rel, rows in by_type.items():
            result = self.run(
                "UNWIND $rows AS row "
                "MATCH (a:Node {id: row.src}) MATCH (b:Node {id: row.dst}) "
                f"OPTIONAL MATCH (a)-[open:`{rel.value}`]->(b) WHERE open.valid_to IS NULL "
                "WITH a, b, count(open) AS already WHERE already = 0 "
                f"CREATE (a)-[r:`{rel.value}`]->(b) "
                "SET r += $props, r.valid_from = $now, r.created_by = $by "
                "RETURN count(r) AS n",
                rows=rows,
                props=props,
                now=self.now,
                by=self.by,
            )
            opened += result[0]["n"]
        return opened

    def unlink(self, src: str, rel: Rel, dst: str) -> int:
        """Close the open edge(s) of that type between the two nodes; history keeps them."""
        result = self.run(
            f"MATCH (a:Node {{id: $src}})-[r:`{Rel(rel).value}`]->(b:Node {{id: $dst}}) "
            "WHERE r.valid_to IS NULL SET r.valid_to = $now, r.closed_by = $by RETURN count(r) AS n",
            src=src,
            dst=dst,
            now=self.now,
            by=self.by,
        )
        return int(result[0]["n"])


class GraphStore:
    """The graph: the same code against the embedded ArcadeDB server and Neo4j."""

    def __init__(
        self,
        driver: Driver,
        dialect: Dialect,
        database: str | None = None,
        *,
        actor: str = "system",
        clock: Callable[[], datetime] = utc_now,
        owns_driver: bool = True,
    ) -> None:
        self.driver = driver
        self.dialect = dialect
        self.database = database
        self.actor = actor
        self.clock = clock
        self._owns_driver = owns_driver

    def close(self) -> None:
        if self._owns_driver:
            self.driver.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def setup_schema(self) -> None:
        """Constraints and indexes; every statement is idempotent, so this runs at every start."""
        for statement in (
            "CREATE CONSTRAINT node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
            "CREATE INDEX revision_node_id IF NOT EXISTS FOR (r:Revision) ON (r.node_id)",
        ):
            self.read(statement)
        self.dialect.ensure_schema(self.driver, self.database)

    # -- transactions -------------------------------------------------------------------------

    def unit_of_work(self, work: Callable[[Tx], T], *, by: str | None = None) -> T:
        """Run `work` in one write transaction: all of it commits, or none of it.

        Transient errors (deadlocks, ArcadeDB's concurrent page changes) are retried by the driver;
        a lost compare-and-set or a duplicate id from a racing MERGE reruns the whole unit here.
        """
        actor = by or self.actor
        extra = before_commit.get()

        def run(tx: ManagedTransaction) -> T:
            unit = Tx(tx, timestamp(self.clock()), actor)
            result = work(unit)
            if extra is not None:
                extra(unit)
            return result

        for attempt in range(_MAX_ATTEMPTS):
            try:
                with self.driver.session(database=self.database) as session:
                    return session.execute_write(run)
            except (_Conflict, ConstraintError):
                if attempt == _MAX_ATTEMPTS - 1:
                    raise ConcurrentModification(
                        "the graph kept changing under this write; try again"
                    ) from None
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))  # noqa: S311
            except (ServiceUnavailable, SessionExpired) as exc:
                raise GraphUnavailable(f"graph server unreachable: {_one_line(exc)}") from exc
        raise AssertionError("unreachable")

    def read(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """One read statement (also used for idempotent DDL)."""
        try:
            records, _, _ = self.driver.execute_query(cypher, params, database_=self.database)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise GraphUnavailable(f"graph server unreachable: {_one_line(exc)}") from exc
        return [record.data() for record in records]

    # -- convenience over single units of work ------------------------------------------------

    def merge(self, nodes: Iterable[Node], *, by: str | None = None) -> MergeResult:
        batch = list(nodes)
        return self.unit_of_work(lambda tx: tx.merge(batch), by=by)

    def update(
        self, node_id: str, changes: dict[str, Any], expected_version: int, *, by: str | None = None
    ) -> Node:
        return self.unit_of_work(lambda tx: tx.update(node_id, changes, expected_version), by=by)

    def link(self, edges: Iterable[Edge], *, by: str | None = None, **props: Any) -> int:
        batch = list(edges)
        return self.unit_of_work(lambda tx: tx.link(batch, **props), by=by)

    def unlink(self, src: str, rel: Rel, dst: str, *, by: str | None = None) -> int:
        return self.unit_of_work(lambda tx: tx.unlink(src, rel, dst), by=by)

    # -- reads --------------------------------------------------------------------------------

    def get(self, node_id: str, *, as_of: datetime | None = None) -> Node:
        """The node as it is, or as it was at `as_of`."""
        found = self.properties_of([node_id], as_of=as_of)
        if node_id not in found:
            when = f" at {timestamp(as_of)}" if as_of else ""
            raise NotFound(f"no node with id {node_id!r}{when}")
        label, props = found[node_id]
        return node_type(label).model_validate(props)

    def properties_of(self, ids: Iterable[str], *, as_of: datetime | None = None) -> NodeRows:
        """id -> (label, properties) now, or at `as_of` (nodes that did not exist yet are left out)."""
        rows = self.read(NODES_BY_ID, ids=list(set(ids)))
        found = {row["id"]: (label_of(row["labels"]), row["props"]) for row in rows}
        return found if as_of is None else self.rewind(found, timestamp(as_of))

    def rewind(self, found: NodeRows, at: str) -> NodeRows:
        """The same nodes as they stood at time `at`, from their revisions; later nodes dropped."""
        changed_since = [i for i, (_, p) in found.items() if p.get("updated_at", p["created_at"]) > at]
        revisions = self.revisions(changed_since) if changed_since else {}
        result = {}
        for node_id, (label, props) in found.items():
            then = _props_at(props, revisions.get(node_id, []), at)
            if then is not None:
                result[node_id] = (label, then)
        return result

    def reachable(self, node_id: str, direction: Direction, at: str) -> tuple[NodeRows, EdgeRows]:
        """`node_id` and what its lineage edges open at `at` reach (current properties)."""
        try:
            return self.dialect.reachable(self.driver, self.database, node_id, direction, at)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise GraphUnavailable(f"graph server unreachable: {_one_line(exc)}") from exc

    def linked(self, node_id: str, rel: Rel, *, incoming: bool = True) -> NodeRows:
        """Nodes at the other end of open `rel` edges into (or out of) `node_id`."""
        arrow = f"<-[r:`{Rel(rel).value}`]-" if incoming else f"-[r:`{Rel(rel).value}`]->"
        rows = self.read(
            f"MATCH (:Node {{id: $id}}){arrow}(n:Node) WHERE r.valid_to IS NULL "
            "RETURN DISTINCT n.id AS id, labels(n) AS labels, n{.*} AS props",
            id=node_id,
        )
        return {row["id"]: (label_of(row["labels"]), row["props"]) for row in rows}

    def revisions(self, ids: Sequence[str]) -> dict[str, list[Revision]]:
        """Earlier states of these nodes, oldest first."""
        rows = self.read(
            "MATCH (r:Revision) WHERE r.node_id IN $ids "
            "RETURN r.node_id AS id, r.version AS version, r.valid_from AS valid_from, "
            "r.valid_to AS valid_to, r.replaced_by AS replaced_by, r.props AS props "
            "ORDER BY r.version",
            ids=list(ids),
        )
        out: dict[str, list[Revision]] = {}
        for row in rows:
            out.setdefault(row["id"], []).append(
                Revision(
                    row["version"],
                    row["valid_from"],
                    row["valid_to"],
                    row["replaced_by"],
                    json.loads(row["props"]),
                )
            )
        return out

    def search(self, label: str, prop: str, text: str, limit: int = 20) -> list[tuple[str, float]]:
        """Full-text search (Lucene syntax) over an indexed property."""
        return self.dialect.search_fulltext(self.driver, self.database, label, prop, text, limit)

    def nodes(self, label: str) -> NodeRows:
        """Every node of one label (for small sets: campaigns, people, policies)."""
        node_type(label)
        rows = self.read(f"MATCH (n:`{label}`) RETURN n.id AS id, labels(n) AS labels, n{{.*}} AS props")
        return {row["id"]: (label_of(row["labels"]), row["props"]) for row in rows}

    def count(self, label: str) -> int:
        node_type(label)
        return int(self.read(f"MATCH (n:`{label}`) RETURN count(n) AS n")[0]["n"])


def _one_line(exc: BaseException) -> str:
    """The driver's message on one line: its first line names the address and ends in a colon, the
    next says why (refused, reset, no handshake), so the first alone told a user nothing."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines) if lines else type(exc).__name__


def _first_error(label: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"invalid {label}: {where}: {err['msg']}"
