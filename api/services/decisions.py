"""Use cases of decisions: people and roles, propose, submit, approve, reject, show and list.

The policy set is loaded (and so validated) at every call: a bad policy file stops the command with
its file and line before anything is read or written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from governance import decisions as engine
from governance import policy as gates
from graph.connect import store_for
from graph.errors import InvalidGraphInput, NotFound
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore


class DecisionView(BaseModel):
    decision: dict[str, Any]
    findings: list[dict[str, Any]]
    approvals: list[dict[str, Any]]


def policies(settings: Settings) -> gates.PolicySet:
    return gates.load(settings.policies_dir or gates.DEFAULT_DIR)


def add_person(settings: Settings, person_id: str, name: str, roles: Sequence[str]) -> dict[str, Any]:
    with store_for(settings) as store:
        return engine.add_person(store, person_id, name, roles).model_dump()


DEFAULT_PERIOD_DAYS = 28


def propose(settings: Settings, *, by: str, store: GraphStore | None = None, **fields: Any) -> dict[str, Any]:
    """Propose a decision; a budget reallocation is priced on the response curves of the run that
    produced its findings (its promise), or says why it cannot be."""
    gates_ = policies(settings)
    with store_for(settings, store) as graph:
        if fields.get("kind") == "budget_reallocation":
            fields.setdefault("period_days", None)
            fields["period_days"] = fields["period_days"] or DEFAULT_PERIOD_DAYS
            fields["promise"], fields["promise_note"] = _promise(settings, graph, fields)
        node = engine.propose(graph, gates_, by=by, threshold=settings.approval_threshold, **fields)
        return engine.load(graph, node.id)


def _promise(settings: Settings, graph: GraphStore, fields: dict[str, Any]) -> tuple[str, str]:
    """(promise JSON, "") or ("", why not)."""
    from diagnostics.monitoring import NoPromise, promise
    from diagnostics.response import Reallocation
    from registry.runs import read_output
    from registry.tracking import registry

    runs = sorted(
        {
            p.get("mlflow_run_id") or ""
            for f in fields.get("findings") or ()
            for _, (label, p) in graph.linked(f, Rel.WAS_GENERATED_BY, incoming=False).items()
            if label == "DiagnosticRun"
        }
        - {""}
    )
    if not runs:
        return "", "no post-mortem run behind the findings to price it on"
    if None in (fields.get("amount"), fields.get("from_channel"), fields.get("to_channel")):
        return "", "no amount and channels to price"
    with registry(settings) as reg:
        text = read_output(reg, runs[-1], "response")
    if text.strip() == "null":
        return "", "the post-mortem fitted no response curve"
    try:
        p = promise(
            Reallocation.model_validate_json(text),
            fields["from_channel"],
            fields["to_channel"],
            float(fields["amount"]),
            int(fields["period_days"]),
        )
    except NoPromise as exc:
        return "", str(exc)
    return p.model_dump_json(), ""


def monitor(settings: Settings, *, store: GraphStore | None = None) -> Any:
    """One monitoring pass over executed decisions and expected effects (`governance.monitoring`)."""
    from governance import monitoring
    from ingest.snapshot import SnapshotFiles

    files = SnapshotFiles(settings.snapshots_dir)
    with store_for(settings, store) as graph:
        return monitoring.monitor(
            graph, policies(settings), files.read, threshold=settings.approval_threshold
        )


def expect(
    settings: Settings,
    item_id: str,
    expectation: dict[str, Any],
    *,
    by: str,
    store: GraphStore | None = None,
) -> dict[str, Any]:
    """Set an action item's expected effect (metric, direction, size, by date, channels)."""
    from diagnostics.monitoring import Expectation
    from governance import monitoring
    from ingest.snapshot import SnapshotFiles

    try:
        wanted = Expectation(**expectation)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidGraphInput(f"{where}: {message}" if where else message) from None
    files = SnapshotFiles(settings.snapshots_dir)
    with store_for(settings, store) as graph:
        return monitoring.expect(graph, item_id, wanted, files.read, by=by)


def act(
    settings: Settings,
    decision_id: str,
    action: str,
    *,
    by: str,
    expected_version: int | None = None,
    comment: str = "",
    store: GraphStore | None = None,
) -> engine.Transition:
    gates_ = policies(settings)
    with store_for(settings, store) as graph:
        return engine.act(
            graph,
            gates_,
            decision_id,
            action,
            by=by,
            expected_version=expected_version,
            comment=comment,
            threshold=settings.approval_threshold,
        )


class VerdictView(BaseModel):
    allowed: bool
    reasons: list[str]
    policies: list[str]


class Verdicts(BaseModel):
    decision_id: str
    version: int
    state: str
    verdicts: dict[str, VerdictView]


def verdicts(settings: Settings, decision_id: str, *, by: str, store: GraphStore | None = None) -> Verdicts:
    """The policies' answer for each action `by` could take on the decision now, in plain language."""
    gates_ = policies(settings)
    with store_for(settings, store) as graph:
        current = engine.load(graph, decision_id)
        found = engine.preview(graph, gates_, decision_id, by=by, threshold=settings.approval_threshold)
    return Verdicts(
        decision_id=decision_id,
        version=current["version"],
        state=current["state"],
        verdicts={
            action: VerdictView(allowed=v.allowed, reasons=list(v.reasons), policies=list(v.policies))
            for action, v in found.items()
        },
    )


def show(settings: Settings, decision_id: str, *, store: GraphStore | None = None) -> DecisionView:
    with store_for(settings, store) as graph:
        decision = engine.load(graph, decision_id)
        findings = [
            {"id": i, **p}
            for i, (label, p) in sorted(graph.linked(decision_id, Rel.JUSTIFIED_BY, incoming=False).items())
            if label == "Finding"
        ]
        approvals = [
            {"id": i, **p}
            for i, (label, p) in sorted(graph.linked(decision_id, Rel.ABOUT).items())
            if label == "Approval"
        ]
        return DecisionView(decision=decision, findings=findings, approvals=approvals)


def list_decisions(
    settings: Settings, state: str | None = None, *, store: GraphStore | None = None
) -> list[dict[str, Any]]:
    with store_for(settings, store) as graph:
        rows = [{"id": i, **p} for i, (_, p) in sorted(graph.nodes("Decision").items())]
    return [r for r in rows if state is None or r.get("state") == state]


def inbox(settings: Settings, person_id: str, *, store: GraphStore | None = None) -> list[dict[str, Any]]:
    with store_for(settings, store) as graph:
        engine.person(graph, person_id)
        return engine.notifications(graph, person_id)


def mark_read(
    settings: Settings, person_id: str, notification_id: str, *, store: GraphStore | None = None
) -> dict[str, Any]:
    """A person marks one of their notifications read (nobody else's)."""
    with store_for(settings, store) as graph:
        found = graph.properties_of([notification_id]).get(notification_id)
        if found is None or found[0] != "Notification" or found[1].get("person") != person_id:
            raise NotFound(f"no notification {notification_id!r} for {person_id}")
        if found[1].get("read"):
            return {"id": notification_id, **found[1]}
        node = graph.update(notification_id, {"read": True}, found[1]["version"], by=person_id)
        return node.model_dump()


def execute(
    settings: Settings, decision_id: str, *, by: str, adapter: str, store: GraphStore | None = None
) -> dict[str, Any]:
    """Execute an approved decision through `adapter` (`file` or `simulated`), or resume one."""
    from governance import audit, execution

    root = settings.home.resolve() / "execution"
    if adapter == "file":
        chosen: Any = execution.FileAdapter(root / "change-orders", audit.key_path(settings.home))
    elif adapter == "simulated":
        chosen = execution.SimulatedPlatform(root / "simulated-platform.json")
    else:
        raise InvalidGraphInput(f"adapter must be file or simulated, not {adapter!r}")
    gates_ = policies(settings)
    with store_for(settings, store) as graph:
        return execution.execute(
            graph, gates_, decision_id, chosen, by=by, threshold=settings.approval_threshold
        )
