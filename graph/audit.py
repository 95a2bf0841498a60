"""The audit chain's statements: the chain head inside a unit of work, and the whole chain in order.

The chain logic (hashing, verifying, signing) is `governance.audit`; only the Cypher lives here."""

from __future__ import annotations

from typing import Any

from graph.store import GraphStore, Tx

_HEAD = "MATCH (e:AuditEvent) RETURN e.seq AS seq, e.hash AS hash ORDER BY e.seq DESC LIMIT 1"
_ALL = "MATCH (e:AuditEvent) RETURN properties(e) AS props ORDER BY e.seq, e.id"
_RANGE = (
    "MATCH (e:AuditEvent) WHERE e.at >= $start AND e.at <= $end "
    "RETURN properties(e) AS props ORDER BY e.seq, e.id"
)
_ABOUT = (
    "MATCH (e:AuditEvent) WHERE e.subject_id = $subject "
    "RETURN properties(e) AS props ORDER BY e.seq DESC LIMIT $limit"
)


def head(tx: Tx) -> tuple[int, str] | None:
    """(seq, hash) of the last event, read inside the unit of work that appends after it."""
    rows = tx.run(_HEAD)
    return (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else None


def events(store: GraphStore) -> list[dict[str, Any]]:
    """Every audit event's stored properties, by sequence number."""
    return [row["props"] for row in store.read(_ALL)]


def events_between(store: GraphStore, start: str, end: str) -> list[dict[str, Any]]:
    return [row["props"] for row in store.read(_RANGE, start=start, end=end)]


def events_about(store: GraphStore, subject_id: str, limit: int) -> list[dict[str, Any]]:
    """The latest `limit` events recorded about one node, newest first."""
    return [row["props"] for row in store.read(_ABOUT, subject=subject_id, limit=limit)]
