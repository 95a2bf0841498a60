"""The audit trail: a hash chain of `AuditEvent`s, appended in the same unit of work as the change
it records, verified link by link, and signed at checkpoints so an auditor can check a report
off-line with the public key alone.

Each event's hash is sha256 over the previous event's hash and the event's canonical JSON (sorted
keys, no spaces). Sequence numbers are part of the id (`audit:000000000042`), so two writers that
read the same head collide on the unique id and one of them reruns its whole unit of work: the
chain never forks, and no change commits without its event.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from graph import audit as statements
from graph.errors import ConfigurationError, WarrantError
from graph.model import AuditEvent
from graph.store import GraphStore, Tx

GENESIS = "0" * 64
_FIELDS = ("seq", "action", "subject_id", "actor", "at", "payload", "previous_hash")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(event: Mapping[str, Any]) -> str:
    """The hash an event must carry: over its previous hash and its canonical content."""
    content = canonical({k: event.get(k) for k in _FIELDS})
    return hashlib.sha256((str(event.get("previous_hash")) + "\n" + content).encode()).hexdigest()


def append(tx: Tx, action: str, subject_id: str, payload: Mapping[str, Any] | None = None) -> AuditEvent:
    """Add the next link, inside the caller's unit of work (so it commits with the change)."""
    last = statements.head(tx)
    seq, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
    fields = {
        "seq": seq,
        "action": action,
        "subject_id": subject_id,
        "actor": tx.by,
        "at": tx.now,
        "payload": canonical(dict(payload or {})),
        "previous_hash": previous,
    }
    event = AuditEvent(id=f"audit:{seq:012d}", hash=link_hash(fields), **fields)
    tx.create([event])
    return event


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    head: str | None
    problem: str | None = None
    seq: int | None = None  # where the first broken link is
    checkpoints: int = 0  # signed checkpoints that held

    def line(self) -> str:
        if self.ok:
            return f"audit chain valid: {self.events} events, head {self.head}"
        return f"audit chain BROKEN at seq {self.seq}: {self.problem}"


def verify_events(events: Sequence[Mapping[str, Any]]) -> Verification:
    """Walk the chain in sequence order and report the first link that does not hold."""
    previous = GENESIS
    expected_seq = 1
    for event in events:
        seq = event.get("seq")
        if seq != expected_seq:
            if isinstance(seq, int) and seq < expected_seq:
                problem = f"a second event with seq {seq} ({event.get('id')}): an event was inserted"
                return Verification(False, len(events), None, problem, seq)
            else:
                problem = (
                    f"expected seq {expected_seq}, found {seq} ({event.get('id')}): an event was deleted"
                )
            return Verification(False, len(events), None, problem, expected_seq)
        if event.get("id") != f"audit:{seq:012d}":
            return Verification(False, len(events), None, f"event {event.get('id')} carries seq {seq}", seq)
        if event.get("previous_hash") != previous:
            problem = (
                f"{event.get('id')} does not follow the event before it: an event was removed or reordered"
            )
            return Verification(False, len(events), None, problem, seq)
        if link_hash(event) != event.get("hash"):
            problem = (
                f"{event.get('id')} ({event.get('action')}) was modified: its content does not match its hash"
            )
            return Verification(False, len(events), None, problem, seq)
        previous = str(event["hash"])
        expected_seq += 1
    return Verification(True, len(events), previous if events else None)


def verify(store: GraphStore, checkpoints: Sequence[Mapping[str, Any]] = ()) -> Verification:
    """The chain, and every signed checkpoint against it: events removed from the end leave a valid
    but shorter chain, which only a checkpoint of the former head reveals."""
    chain = statements.events(store)
    result = verify_events(chain)
    if not result.ok:
        return result
    by_seq = {int(e["seq"]): e for e in chain}
    for checkpoint in checkpoints:
        seq = int(checkpoint["seq"])
        event = by_seq.get(seq)
        if event is None:
            problem = (
                f"the checkpoint of {checkpoint['at']} signed seq {seq}, which is gone: events were removed"
            )
            return Verification(False, len(chain), None, problem, len(chain) + 1)
        if event["hash"] != checkpoint["hash"]:
            problem = f"seq {seq} no longer has the hash its checkpoint of {checkpoint['at']} signed"
            return Verification(False, len(chain), None, problem, seq)
    return replace(result, checkpoints=len(checkpoints))


def checkpoint(store: GraphStore, key: Ed25519PrivateKey, path: Path) -> dict[str, Any]:
    """Sign the current head and append the signature to the checkpoint file (JSON lines)."""
    chain = statements.events(store)
    result = verify_events(chain)
    if not result.ok:
        raise WarrantError(f"refusing to sign a broken chain: {result.line()}")
    if not chain:
        raise WarrantError("the audit chain is empty: nothing to sign yet")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    signed = {
        **sign_head(key, int(chain[-1]["seq"]), str(chain[-1]["hash"]), now),
        "public_key": public_pem(key),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(canonical(signed) + "\n")
    return signed


def read_checkpoints(path: Path, trusted_pem: str | None = None) -> list[dict[str, Any]]:
    """The checkpoint file, each signature checked (against `trusted_pem` when given, so a line
    signed with another key is refused); a forged or corrupted line is an error."""
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if trusted_pem is not None and entry["public_key"].strip() != trusted_pem.strip():
                raise ValueError("signed with another key")
            public = serialization.load_pem_public_key(str(entry["public_key"]).encode())
            statement = {k: entry[k] for k in ("seq", "hash", "at")}
            assert isinstance(public, Ed25519PublicKey)
            public.verify(base64.b64decode(entry["signature"]), canonical(statement).encode())
        except (ValueError, KeyError, AssertionError, InvalidSignature) as exc:
            raise WarrantError(
                f"{path}:{number}: not a valid signed checkpoint ({type(exc).__name__})"
            ) from None
        out.append(entry)
    return out


# --- signed checkpoints and off-line reports ----------------------------------------------------------


def key_path(home: Path) -> Path:
    return home.resolve() / "keys" / "audit-ed25519.pem"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key, created (mode 0600) on first use; never printed or logged."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{path} is not an Ed25519 private key in PEM: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign_head(key: Ed25519PrivateKey, seq: int, head_hash: str, at: str) -> dict[str, Any]:
    statement = {"seq": seq, "hash": head_hash, "at": at}
    signature = key.sign(canonical(statement).encode())
    return {**statement, "signature": base64.b64encode(signature).decode()}


def report(store: GraphStore, key: Ed25519PrivateKey, start: str, end: str) -> dict[str, Any]:
    """A self-contained report: the events of [start, end], the link before them, and a signature
    over the last one, which the public key in the report (or the auditor's copy) verifies."""
    chain = statements.events(store)
    check = verify_events(chain)
    if not check.ok:
        raise WarrantError(f"refusing to sign a broken chain: {check.line()}")
    chosen = [e for e in chain if start <= str(e["at"]) <= end]
    if not chosen:
        raise WarrantError(f"no audit event between {start} and {end}")
    last = chosen[-1]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "format": "warrant-audit-report/1",
        "from": start,
        "to": end,
        "events": [{k: e.get(k) for k in ("id", "hash", *_FIELDS)} for e in chosen],
        "checkpoint": sign_head(key, int(last["seq"]), str(last["hash"]), now),
        "public_key": public_pem(key),
    }


def verify_report(doc: Mapping[str, Any], public_key_pem: str | None = None) -> Verification:
    """Off-line: the events link to each other and hash right, and the checkpoint signature over the
    last one verifies with the public key (the auditor's own copy, if given, is the one trusted)."""
    events = list(doc.get("events") or [])
    if not events:
        return Verification(False, 0, None, "the report holds no events", None)
    previous = str(events[0].get("previous_hash"))
    for event in events:
        if event.get("previous_hash") != previous:
            return Verification(
                False,
                len(events),
                None,
                f"{event.get('id')} does not follow its predecessor",
                event.get("seq"),
            )
        if link_hash(event) != event.get("hash"):
            return Verification(False, len(events), None, f"{event.get('id')} was modified", event.get("seq"))
        previous = str(event["hash"])
    checkpoint = dict(doc.get("checkpoint") or {})
    if checkpoint.get("hash") != previous or checkpoint.get("seq") != events[-1].get("seq"):
        return Verification(
            False, len(events), None, "the checkpoint does not sign the report's last event", None
        )
    pem = (public_key_pem or str(doc.get("public_key") or "")).encode()
    try:
        public = serialization.load_pem_public_key(pem)
    except ValueError:
        return Verification(False, len(events), None, "no usable public key", None)
    if not isinstance(public, Ed25519PublicKey):
        return Verification(False, len(events), None, "the public key is not Ed25519", None)
    statement = {k: checkpoint.get(k) for k in ("seq", "hash", "at")}
    try:
        public.verify(base64.b64decode(str(checkpoint.get("signature"))), canonical(statement).encode())
    except (InvalidSignature, ValueError):
        return Verification(False, len(events), None, "the checkpoint signature does not verify", None)
    return Verification(True, len(events), previous)
