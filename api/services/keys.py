"""API keys: created for a person with some of their roles, stored only as a sha256, revocable.

A key reads `wk_<key id>_<secret>`: the id finds the stored key in one lookup, and the hash of the
whole token is compared in constant time, so neither a timing difference nor a copy of the database
gives a key away. The secret is shown once, at creation. A key acts as its person with the roles it
was created with (never more than the person holds now: removing a role from a person narrows
every key of theirs at once)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from governance import audit
from governance import decisions as engine
from governance import policy as gates
from graph.connect import store_for
from graph.errors import InvalidGraphInput, NotFound, WarrantError
from graph.model import ApiKey, Rel
from graph.settings import Settings
from graph.store import GraphStore, Tx

PREFIX = "wk"


class Unauthenticated(WarrantError):
    """No key, an unknown or malformed key, or a revoked one: the same answer for each."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's person and the roles it acts with."""

    person: str
    roles: tuple[str, ...]
    key_id: str

    @property
    def principal(self) -> gates.Principal:
        return gates.Principal(self.person, self.roles)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    settings: Settings,
    person_id: str,
    roles: Sequence[str],
    *,
    name: str = "",
    by: str | None = None,
    store: GraphStore | None = None,
) -> tuple[dict[str, Any], str]:
    """A new key for `person_id` acting with `roles` (each one the person holds); returns the
    stored key (without any secret) and the token, which is never stored and never shown again."""
    if not roles:
        raise InvalidGraphInput("a key needs at least one role (--role)")
    with store_for(settings, store) as graph:
        holder = engine.person(graph, person_id)
        missing = sorted(set(roles) - set(holder.roles))
        if missing:
            raise InvalidGraphInput(
                f"{person_id} does not hold the role {missing[0]!r} (they hold: "
                f"{', '.join(holder.roles) or 'none'}); give it first: "
                f"warrant people add {person_id} --name ... --role {missing[0]}"
            )
        key_id = secrets.token_hex(6)
        token = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        node = ApiKey(
            id=f"apikey:{key_id}",
            person=person_id,
            roles=sorted(set(roles)),
            secret_sha256=_digest(token),
            name=name,
        )

        def work(tx: Tx) -> dict[str, Any]:
            tx.create([node])
            tx.link([(node.id, Rel.WAS_ATTRIBUTED_TO, person_id)])
            audit.append(tx, "key.created", node.id, {"person": person_id, "roles": node.roles, "name": name})
            return _public(tx.fetch([node.id])[node.id][1])

        return graph.unit_of_work(work, by=by or settings.actor), token


def _public(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "secret_sha256"}


def authenticate(store: GraphStore, token: str | None) -> Caller:
    """The caller a token stands for, or `Unauthenticated` (one message for every failure)."""
    refused = Unauthenticated("a valid API key is required (Authorization: Bearer wk_...)")
    if not token:
        raise refused
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1].isalnum():
        raise refused
    found = store.properties_of([f"apikey:{parts[1]}"]).get(f"apikey:{parts[1]}")
    if found is None or found[0] != "ApiKey":
        raise refused
    key = found[1]
    if not hmac.compare_digest(key["secret_sha256"], _digest(token)) or key.get("revoked_at"):
        raise refused
    person = store.properties_of([key["person"]]).get(key["person"])
    if person is None:
        raise refused
    roles = tuple(sorted(set(key.get("roles") or ()) & set(person[1].get("roles") or ())))
    return Caller(person=key["person"], roles=roles, key_id=key["id"])


def revoke(
    settings: Settings, key_id: str, *, by: str | None = None, store: GraphStore | None = None
) -> dict[str, Any]:
    """Revoke a key for good (its node stays, for the audit trail)."""
    node_id = key_id if key_id.startswith("apikey:") else f"apikey:{key_id}"
    with store_for(settings, store) as graph:

        def work(tx: Tx) -> dict[str, Any]:
            found = tx.fetch([node_id]).get(node_id)
            if found is None or found[0] != "ApiKey":
                raise NotFound(f"no API key {key_id!r} (warrant keys list)")
            if not found[1].get("revoked_at"):
                who = by or settings.actor
                tx.update(node_id, {"revoked_at": tx.now, "revoked_by": who}, found[1]["version"])
                audit.append(tx, "key.revoked", node_id, {"by": who, "person": found[1]["person"]})
            return _public(tx.fetch([node_id])[node_id][1])

        return graph.unit_of_work(work, by=by or settings.actor)


def list_keys(settings: Settings, *, store: GraphStore | None = None) -> list[dict[str, Any]]:
    with store_for(settings, store) as graph:
        return [_public({"id": i, **p}) for i, (_, p) in sorted(graph.nodes("ApiKey").items())]


def audit_writes(caller: Caller, method: str, path: str, request_id: str) -> Callable[[Tx], None]:
    """The work that records a key's use inside each write it makes (`graph.store.before_commit`):
    who, with which key, through which route; in the write's own transaction, so the change and
    the record of who made it commit together or not at all."""

    def record(tx: Tx) -> None:
        audit.append(
            tx,
            "key.used",
            caller.key_id,
            {"person": caller.person, "method": method, "path": path, "request_id": request_id},
        )

    return record
