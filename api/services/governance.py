"""Use cases of governance that stand on their own: check the policy set, verify the audit chain,
sign a checkpoint of its head, and export or verify an auditor's report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from governance import audit
from governance import policy as gates
from graph import audit as statements
from graph.connect import open_store, store_for
from graph.errors import WarrantError
from graph.settings import Settings
from graph.store import GraphStore


def check_policies(directory: Path | None = None) -> gates.PolicySet:
    return gates.load(directory or gates.DEFAULT_DIR)


def _key(settings: Settings, key: Path | None) -> Any:
    return audit.load_or_create_key(key or audit.key_path(settings.home))


def checkpoints_path(settings: Settings) -> Path:
    """One checkpoint file per graph database: each database holds its own chain."""
    database = settings.graph_database or "default"
    return settings.home.resolve() / "audit" / f"checkpoints-{database}.jsonl"


def verify_chain(
    settings: Settings, key: Path | None = None, *, store: GraphStore | None = None
) -> audit.Verification:
    trusted = (
        audit.public_pem(_key(settings, key)) if (key or audit.key_path(settings.home)).exists() else None
    )
    checkpoints = audit.read_checkpoints(checkpoints_path(settings), trusted)
    with store_for(settings, store) as graph:
        return audit.verify(graph, checkpoints)


def checkpoint(settings: Settings, key: Path | None = None) -> dict[str, Any]:
    with open_store(settings) as store:
        return audit.checkpoint(store, _key(settings, key), checkpoints_path(settings))


def report(settings: Settings, start: str, end: str, out: Path, key: Path | None = None) -> int:
    with open_store(settings) as store:
        doc = audit.report(store, _key(settings, key), start, end)
    try:
        out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise WarrantError(f"cannot write {out}: {exc.strerror or exc}") from None
    return len(doc["events"])


def verify_report(path: Path, public_key: Path | None = None) -> audit.Verification:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        pem = public_key.read_text(encoding="utf-8") if public_key else None
    except (OSError, ValueError) as exc:
        raise WarrantError(f"cannot read {path}: {exc}") from None
    return audit.verify_report(doc, pem)


def events_about(
    settings: Settings, subject_id: str, limit: int = 100, *, store: GraphStore | None = None
) -> list[dict[str, Any]]:
    """What the audit chain recorded about one node (its payload parsed), newest first."""
    with store_for(settings, store) as graph:
        rows = statements.events_about(graph, subject_id, limit)
    keep = ("seq", "action", "subject_id", "actor", "at", "hash")
    return [
        {**{k: row.get(k) for k in keep}, "payload": json.loads(row.get("payload") or "{}")} for row in rows
    ]
