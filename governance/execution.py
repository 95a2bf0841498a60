"""Executing an approved decision through an adapter, exactly once, with confirmation.

The `Execution` node is written before the platform is called and carries an idempotency key
derived from the decision and the version that was approved; the platform deduplicates on it. So a
crash anywhere (before the call, after it, while waiting for confirmation) is resumed by running
`execute` again: the same key, the same external id, no second change. The policies are evaluated
again at execution time (a freeze may have begun, evidence may have been tainted since approval).

Two adapters ship: `file` writes a signed change order for a person or another system to apply;
`simulated` is an ad platform that rate-limits with 429 and Retry-After, fails transiently, and
confirms asynchronously, keeping its state on disk as a remote platform would across our crashes.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from governance import audit
from governance import decisions as engine
from governance import policy as gates
from graph.errors import WarrantError
from graph.model import Execution, Rel
from graph.store import GraphStore, Tx


class PlatformError(WarrantError):
    """The platform refused or kept failing; the execution stays resumable."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"429 Too Many Requests, Retry-After {retry_after}")
        self.retry_after = retry_after


class Transient(Exception):
    """A 5xx or a dropped connection: safe to retry with the same idempotency key."""


@dataclass(frozen=True)
class ChangeOrder:
    decision_id: str
    kind: str
    title: str
    amount: float | None
    from_channel: str | None
    to_channel: str | None
    idempotency_key: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Adapter(Protocol):
    name: str

    def submit(self, order: ChangeOrder) -> str:
        """Send the change (idempotent on `order.idempotency_key`); return the platform's id."""
        ...

    def status(self, external_id: str) -> str:
        """`pending`, `confirmed` or `failed`."""
        ...


# --- the two built-in adapters ----------------------------------------------------------------------


class FileAdapter:
    """Writes `<key>.json`, a change order signed with the audit key, for someone to apply."""

    name = "file"

    def __init__(self, directory: Path, key_path: Path) -> None:
        self.directory = directory
        self.key = audit.load_or_create_key(key_path)

    def submit(self, order: ChangeOrder) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{order.idempotency_key}.json"
        if not path.exists():
            body = audit.canonical(order.as_json())
            signed = {
                "order": order.as_json(),
                "signature": base64.b64encode(self.key.sign(body.encode())).decode(),
                "public_key": audit.public_pem(self.key),
            }
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(signed, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(path)  # atomic: a crash leaves the order whole or absent
        return path.name

    def status(self, external_id: str) -> str:
        return "confirmed" if (self.directory / external_id).exists() else "failed"


class SimulatedPlatform:
    """A fake ad platform that behaves like one: per-call rate limits (429 with Retry-After),
    transient failures, asynchronous confirmation after a delay, idempotency keys, and state kept
    in a JSON file (locked), so it outlives a crash of the process that called it."""

    name = "simulated"

    def __init__(
        self,
        state_file: Path,
        *,
        seed: int = 0,
        rate_limit_every: int = 3,
        failure_rate: float = 0.3,
        retry_after: float = 0.05,
        confirm_after_polls: int = 2,
    ) -> None:
        self.state_file = state_file
        self.random = random.Random(seed)  # noqa: S311 (a simulation, not security)
        self.rate_limit_every = rate_limit_every
        self.failure_rate = failure_rate
        self.retry_after = retry_after
        self.confirm_after_polls = confirm_after_polls
        self.calls = 0

    @contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with self.state_file.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            state = json.loads(text) if text.strip() else {"changes": {}, "applied": {}}
            yield state
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(state, sort_keys=True))

    def _weather(self) -> None:
        self.calls += 1
        if self.rate_limit_every and self.calls % self.rate_limit_every == 0:
            raise RateLimited(self.retry_after)
        if self.random.random() < self.failure_rate:
            raise Transient("503 Service Unavailable")

    def submit(self, order: ChangeOrder) -> str:
        self._weather()
        with self._state() as state:
            change = state["changes"].get(order.idempotency_key)
            if change is None:
                change = {"id": f"chg-{len(state['changes']) + 1}", "order": order.as_json(), "polls": 0}
                state["changes"][order.idempotency_key] = change
                state["applied"][order.idempotency_key] = state["applied"].get(order.idempotency_key, 0) + 1
            return str(change["id"])

    def status(self, external_id: str) -> str:
        self._weather()
        with self._state() as state:
            change = next((c for c in state["changes"].values() if c["id"] == external_id), None)
            if change is None:
                return "failed"
            change["polls"] += 1
            return "confirmed" if change["polls"] >= self.confirm_after_polls else "pending"

    def applied(self) -> dict[str, int]:
        """How many times each idempotency key's change was applied (exactly once, if all is well)."""
        with self._state() as state:
            return dict(state["applied"])


# --- the executor -------------------------------------------------------------------------------------


def _retrying(
    call: Callable[[], str], *, attempts: int, backoff: float, sleep: Callable[[float], None]
) -> str:
    """Retry 429s (after Retry-After) and transient failures (exponential backoff with jitter)."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except RateLimited as exc:
            if attempt == attempts:
                raise PlatformError(f"still rate-limited after {attempts} attempts") from None
            sleep(exc.retry_after)
        except Transient as exc:
            if attempt == attempts:
                raise PlatformError(f"still failing after {attempts} attempts: {exc}") from None
            sleep(backoff * 2 ** (attempt - 1) * (1 + random.random() / 2))  # noqa: S311
    raise AssertionError("unreachable")


def execute(
    store: GraphStore,
    policies: gates.PolicySet,
    decision_id: str,
    adapter: Adapter,
    *,
    by: str,
    threshold: int = 50_000,
    attempts: int = 8,
    backoff: float = 0.02,
    confirm_timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    crash_after_submit: bool = False,
) -> dict[str, Any]:
    """Run (or resume) the execution of an approved decision; returns the decision as executed.

    `crash_after_submit` stops right after the platform accepted the change, before confirmation
    is recorded: the tests use it to show that running `execute` again resumes without a second
    change."""
    who = engine.person(store, by)
    current = engine.load(store, decision_id)
    ev = engine.evidence(store, engine.justifying(store, decision_id))
    verdict = gates.evaluate(
        policies, who, "execute", engine.policy_view(current, ev), two_approver_threshold=threshold
    )
    if not verdict.allowed:
        raise engine.Refused(verdict)
    approved_version = int(current["version"])
    key = hashlib.sha256(f"{decision_id}\0{approved_version}".encode()).hexdigest()[:32]
    execution_id = f"execution:{decision_id.removeprefix('decision:')}"
    order = ChangeOrder(
        decision_id=decision_id,
        kind=current["kind"],
        title=current["title"],
        amount=current.get("amount"),
        from_channel=current.get("from_channel"),
        to_channel=current.get("to_channel"),
        idempotency_key=key,
    )

    def requested(tx: Tx) -> dict[str, Any]:
        found = tx.fetch([execution_id])
        if found:
            return found[execution_id][1]  # a resumed execution: same key, same order
        node = Execution(id=execution_id, adapter=adapter.name, status="requested", idempotency_key=key)
        tx.create([node])
        tx.link([(execution_id, Rel.ABOUT, decision_id), (execution_id, Rel.WAS_ASSOCIATED_WITH, by)])
        engine.record_policy_version(tx, policies)
        audit.append(
            tx,
            "execution.requested",
            decision_id,
            {"by": by, "adapter": adapter.name, "key": key, "policy_sha256": verdict.policy_sha256},
        )
        return tx.fetch([execution_id])[execution_id][1]

    state = store.unit_of_work(requested, by=by)
    if state.get("idempotency_key") != key:
        raise PlatformError(f"{execution_id} was requested for another approved version; it needs review")
    external = _retrying(lambda: adapter.submit(order), attempts=attempts, backoff=backoff, sleep=sleep)
    if state.get("status") == "requested":
        store.update(execution_id, {"status": "submitted", "external_id": external}, state["version"], by=by)
    if crash_after_submit:
        raise PlatformError("simulated crash between the platform's acceptance and its confirmation")
    deadline = time.monotonic() + confirm_timeout
    while True:
        status = _retrying(lambda: adapter.status(external), attempts=attempts, backoff=backoff, sleep=sleep)
        if status == "confirmed":
            break
        if status == "failed":
            raise PlatformError(f"the platform reports {external} failed; the decision stays approved")
        if time.monotonic() > deadline:
            raise PlatformError(
                f"{external} not confirmed in {confirm_timeout:.0f} s; run execute again to resume"
            )
        sleep(0.05)

    def confirmed(tx: Tx) -> dict[str, Any]:
        latest = tx.fetch([execution_id, decision_id])
        execution, decision = latest[execution_id][1], latest[decision_id][1]
        if decision["state"] == "executed":
            return decision  # confirmed by an earlier, resumed run
        tx.update(execution_id, {"status": "confirmed", "external_id": external}, execution["version"])
        tx.update(decision_id, {"state": "executed"}, decision["version"])
        audit.append(
            tx,
            "decision.execute",
            decision_id,
            {"by": by, "external_id": external, "key": key, "adapter": adapter.name},
        )
        reversed_ = decision.get("rolls_back")
        if reversed_:  # executing a rollback rolls the original back
            original = tx.fetch([reversed_]).get(reversed_)
            if original and original[1].get("state") == "executed":
                tx.update(reversed_, {"state": "rolled_back"}, original[1]["version"])
                audit.append(
                    tx,
                    "decision.rollback",
                    reversed_,
                    {"by": by, "from": "executed", "to": "rolled_back", "via": decision_id},
                )
        return tx.fetch([decision_id])[decision_id][1]

    return store.unit_of_work(confirmed, by=by)
