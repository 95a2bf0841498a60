"""Decisions and their state machine: proposed by a person, justified by findings, judged by the
Cedar gates, approved or rejected by governance leads, every step an audit event in the same unit
of work as the change.

    draft -> pending_approval -> approved | rejected -> executed -> verified | rolled_back

Only those edges exist. Each transition names the version of the decision it was decided on
(`expected_version`): two people acting on one decision at once produce exactly one transition,
and the other gets `ConcurrentModification`, never a silent second change. A budget change above
the two-approver threshold stays pending after its first approval; the second distinct approver
moves it to approved.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governance import audit
from governance import policy as gates
from graph.errors import ConcurrentModification, InvalidGraphInput, NotFound, WarrantError
from graph.lineage import TaintResult, trace
from graph.model import Approval, Decision, Notification, Person, PolicyVersion, Rel
from graph.store import GraphStore, Tx

KINDS = ("budget_reallocation", "pause", "creative_change", "audience_change", "process_change")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("pending_approval",),
    "pending_approval": ("approved", "rejected"),
    "approved": ("executed",),
    "rejected": (),
    "executed": ("verified", "rolled_back"),
    "verified": (),
    "rolled_back": (),
}


class Refused(WarrantError):
    """The policies refused the action; the message is their plain-language reason."""

    def __init__(self, verdict: gates.Verdict) -> None:
        super().__init__(verdict.sentence())
        self.verdict = verdict


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "decision"


def person(store: GraphStore, person_id: str) -> gates.Principal:
    found = store.properties_of([person_id]).get(person_id)
    if found is None or found[0] != "Person":
        raise NotFound(f"no person {person_id!r} (add one: warrant people add ID --name NAME --role ROLE)")
    return gates.Principal(person_id, tuple(found[1].get("roles") or ()))


def add_person(store: GraphStore, person_id: str, name: str, roles: Sequence[str]) -> Person:
    unknown = sorted(set(roles) - set(gates.ROLES))
    if unknown:
        raise InvalidGraphInput(f"unknown role {unknown[0]!r} (roles: {', '.join(gates.ROLES)})")
    node = Person(id=person_id, name=name, roles=sorted(set(roles)))

    def work(tx: Tx) -> Person:
        result = tx.merge([node])
        if result.created or result.updated:
            audit.append(tx, "person.saved", person_id, {"name": name, "roles": node.roles})
        return node

    return store.unit_of_work(work)


@dataclass(frozen=True)
class Evidence:
    """What the justifying findings amount to, as the policies see it, and the digest of the trace
    an approver was shown."""

    findings: int
    all_checked: bool
    any_tainted: bool
    gates_passed: bool
    any_drifted: bool
    sha256: str

    def as_policy(self) -> dict[str, Any]:
        return {
            "findings": self.findings,
            "all_checked": self.all_checked,
            "any_tainted": self.any_tainted,
            "gates_passed": self.gates_passed,
            "any_drifted": self.any_drifted,
        }


def evidence(store: GraphStore, finding_ids: Sequence[str], as_of: datetime | None = None) -> Evidence:
    """Each finding's checks, taint and drift marks, the quality checks of the snapshots it rests
    on, and a digest of the whole trace (ids, labels, versions and hashes). With `as_of`, the
    evidence as it stood then: an auditor reproduces the digest an approval stored."""
    traces = [trace(store, f, as_of=as_of) for f in sorted(set(finding_ids))]
    nodes: dict[str, dict[str, Any]] = {}
    for t in traces:
        nodes.update(t.nodes)
    findings = [nodes[f]["properties"] for f in sorted(set(finding_ids))]
    snapshots = [i for i, n in nodes.items() if n["label"] == "Snapshot"]
    failed_gates = [
        check
        for s in snapshots
        for _, (label, check) in store.linked(s, Rel.ABOUT).items()
        if label == "QualityCheck" and check.get("result") == "fail"
    ]
    shown = sorted(
        (
            i,
            n["label"],
            n["properties"].get("version"),
            n["properties"].get("sha256"),
            n["properties"].get("tainted"),
        )
        for i, n in nodes.items()
    )
    edges = sorted({edge for t in traces for edge in t.edges})
    digest = hashlib.sha256(json.dumps({"nodes": shown, "edges": edges}, default=str).encode()).hexdigest()
    return Evidence(
        findings=len(findings),
        all_checked=all(
            f.get("sample_size_ok") and f.get("confounders_ok") and f.get("actionable") for f in findings
        )
        and bool(findings),
        any_tainted=any(n["properties"].get("tainted") for n in nodes.values()),
        gates_passed=not failed_gates,
        any_drifted=any(f.get("drifted") for f in findings),
        sha256=digest,
    )


def policy_view(decision: dict[str, Any], ev: Evidence) -> dict[str, Any]:
    return {
        "id": decision["id"],
        "kind": decision["kind"],
        "state": decision["state"],
        "proposer": decision.get("proposer") or "",
        "amount": decision.get("amount") or 0,
        "budget_share_bp": decision.get("budget_share_bp") or 0,
        "approvers": list(decision.get("approvers") or []),
        "evidence": ev.as_policy(),
    }


def justifying(store: GraphStore, decision_id: str) -> list[str]:
    return sorted(
        i
        for i, (label, _) in store.linked(decision_id, Rel.JUSTIFIED_BY, incoming=False).items()
        if label == "Finding"
    )


def load(store: GraphStore, decision_id: str) -> dict[str, Any]:
    found = store.properties_of([decision_id]).get(decision_id)
    if found is None or found[0] != "Decision":
        raise NotFound(f"no decision {decision_id!r}")
    return found[1]


def propose(
    store: GraphStore,
    policies: gates.PolicySet,
    *,
    by: str,
    kind: str,
    title: str,
    findings: Sequence[str],
    amount: float | None = None,
    from_channel: str | None = None,
    to_channel: str | None = None,
    budget_share_bp: int | None = None,
    rationale: str = "",
    period_days: int | None = None,
    promise: str = "",
    promise_note: str = "",
    rolls_back: str | None = None,
    threshold: int = 50_000,
) -> Decision:
    """A draft decision JUSTIFIED_BY `findings`, attributed to its proposer (who must be allowed to)."""
    if kind not in KINDS:
        raise InvalidGraphInput(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not findings:
        raise InvalidGraphInput("a decision needs at least one justifying finding (--finding ID)")
    if kind == "budget_reallocation" and (
        amount is None or amount <= 0 or not from_channel or not to_channel
    ):
        raise InvalidGraphInput("a budget reallocation needs --amount > 0, --from CHANNEL and --to CHANNEL")
    found = store.properties_of(findings)
    missing = [f for f in findings if f not in found or found[f][0] != "Finding"]
    if missing:
        raise NotFound(f"no finding {missing[0]!r}")
    who = person(store, by)
    ev = evidence(store, findings)
    key = hashlib.sha256("\0".join([title, by, *sorted(findings)]).encode()).hexdigest()[:8]
    decision_id = f"decision:{_slug(title)}:{key}"
    node = Decision(
        id=decision_id,
        kind=kind,
        title=title,
        amount=amount,
        from_channel=from_channel,
        to_channel=to_channel,
        budget_share_bp=budget_share_bp,
        rationale=rationale,
        proposer=by,
        period_days=period_days,
        promise=promise,
        promise_note=promise_note,
        rolls_back=rolls_back,
    )
    verdict = gates.evaluate(
        policies,
        who,
        "propose",
        policy_view({**node.model_dump(), "state": "draft"}, ev),
        two_approver_threshold=threshold,
    )
    if not verdict.allowed:
        raise Refused(verdict)

    def work(tx: Tx) -> Decision:
        if tx.fetch([decision_id]):
            raise InvalidGraphInput(
                f"{decision_id} already exists: the same person proposed it on the same findings"
            )
        tx.create([node])
        tx.link(
            [(decision_id, Rel.JUSTIFIED_BY, f) for f in sorted(set(findings))]
            + [(decision_id, Rel.WAS_ATTRIBUTED_TO, by)]
            + ([(decision_id, Rel.ABOUT, rolls_back)] if rolls_back else [])
        )
        audit.append(
            tx,
            "decision.proposed",
            decision_id,
            {
                "by": by,
                "kind": kind,
                "findings": sorted(set(findings)),
                "amount": amount,
                "promise": promise,
                "rolls_back": rolls_back,
            },
        )
        return node

    return store.unit_of_work(work, by=by)


def record_policy_version(tx: Tx, policies: gates.PolicySet) -> None:
    """The `PolicyVersion` that judges; its first use is itself an audit event (a policy load)."""
    if tx.merge([PolicyVersion(id=policies.version_id, sha256=policies.sha256)]).created:
        audit.append(
            tx,
            "policy.loaded",
            policies.version_id,
            {"sha256": policies.sha256, "policies": [p.id for p in policies.policies]},
        )


PREVIEWED = ("submit", "approve", "reject", "execute", "verify", "rollback")


def preview(
    store: GraphStore, policies: gates.PolicySet, decision_id: str, *, by: str, threshold: int = 50_000
) -> dict[str, gates.Verdict]:
    """What the policies would say now if `by` took each action, judged exactly as `act` and
    execution judge it (same evidence, same threshold), so a screen can say why before anyone clicks.
    Nothing is written: the verdict that counts is the one taken with the action."""
    who = person(store, by)
    current = load(store, decision_id)
    view = policy_view(current, evidence(store, justifying(store, decision_id)))
    return {
        action: gates.evaluate(policies, who, action, view, two_approver_threshold=threshold)
        for action in PREVIEWED
    }


@dataclass(frozen=True)
class Transition:
    decision: dict[str, Any]
    verdict: gates.Verdict
    approval: Approval | None = None


def act(
    store: GraphStore,
    policies: gates.PolicySet,
    decision_id: str,
    action: str,
    *,
    by: str,
    expected_version: int | None = None,
    comment: str = "",
    threshold: int = 50_000,
) -> Transition:
    """`submit`, `approve`, `reject`, `verify` or `rollback` a decision, as `by`, on the version
    they saw."""
    if action not in ("submit", "approve", "reject", "verify", "rollback"):
        raise InvalidGraphInput(f"unknown action {action!r} (execution is `governance.execution.execute`)")
    who = person(store, by)
    current = load(store, decision_id)
    version = current["version"] if expected_version is None else expected_version
    if version != current["version"]:
        raise ConcurrentModification(
            f"{decision_id} is at version {current['version']}, not {version}: it changed since you read "
            "it (someone else acted on it); reload it and decide again"
        )
    ev = evidence(store, justifying(store, decision_id))
    verdict = gates.evaluate(
        policies, who, action, policy_view(current, ev), two_approver_threshold=threshold
    )
    if not verdict.allowed:
        raise Refused(verdict)
    approvers = list(current.get("approvers") or [])
    if action == "submit":
        target, changes = "pending_approval", {}
    elif action == "reject":
        target, changes = "rejected", {}
    elif action == "verify":
        target, changes = "verified", {}
    elif action == "rollback":
        target, changes = "rolled_back", {}
    else:
        approvers.append(by)
        needed = (
            2 if current["kind"] == "budget_reallocation" and (current.get("amount") or 0) > threshold else 1
        )
        target = "approved" if len(set(approvers)) >= needed else "pending_approval"
        changes = {"approvers": approvers}
    if target not in TRANSITIONS[current["state"]] and target != current["state"]:
        raise InvalidGraphInput(f"{decision_id} is {current['state']}: it cannot become {target}")
    approval = None
    if action in ("approve", "reject"):
        approval = Approval(
            id=f"approval:{decision_id.removeprefix('decision:')}:{by}:{version}",
            verdict="approved" if action == "approve" else "rejected",
            comment=comment,
            decision_id=decision_id,
            by=by,
            policy_sha256=verdict.policy_sha256,
            policies=list(verdict.policies),
            reason=" ".join(verdict.reasons),
            evidence_sha256=ev.sha256,
        )

    def work(tx: Tx) -> dict[str, Any]:
        tx.update(decision_id, {"state": target, **changes}, version)  # the CAS: one winner per version
        record_policy_version(tx, policies)
        if approval is not None:
            tx.create([approval])
            tx.link(
                [
                    (approval.id, Rel.ABOUT, decision_id),
                    (approval.id, Rel.WAS_ASSOCIATED_WITH, by),
                    (approval.id, Rel.JUDGED_BY, policies.version_id),
                    (decision_id, Rel.APPROVED_BY, approval.id),
                ]
                if action == "approve"
                else [
                    (approval.id, Rel.ABOUT, decision_id),
                    (approval.id, Rel.WAS_ASSOCIATED_WITH, by),
                    (approval.id, Rel.JUDGED_BY, policies.version_id),
                ]
            )
        audit.append(
            tx,
            f"decision.{action}",
            decision_id,
            {
                "by": by,
                "from": current["state"],
                "to": target,
                "version": version,
                "policy_sha256": verdict.policy_sha256,
                "policies": list(verdict.policies),
                "evidence_sha256": ev.sha256,
                "comment": comment,
            },
        )
        return tx.fetch([decision_id])[decision_id][1]

    return Transition(store.unit_of_work(work, by=by), verdict, approval)


def after_taint(tx: Tx, taint: TaintResult) -> None:
    """In the taint's unit of work: audit it, send every approved (not yet executed) decision it
    reached back to pending approval with the reason, and tell its proposer and approvers."""
    audit.append(
        tx,
        "taint",
        taint.origin,
        {"reason": taint.reason, "flagged": taint.flagged, "already_tainted": taint.already_tainted},
    )
    touched = tx.fetch(taint.flagged)
    reopened = {
        i: p for i, (label, p) in touched.items() if label == "Decision" and p.get("state") == "approved"
    }
    if not reopened:
        return
    tx.revise(reopened, {i: {"state": "pending_approval", "approvers": []} for i in reopened})
    notes = []
    for decision_id, props in sorted(reopened.items()):
        message = (
            f"{decision_id} ({props.get('title')}) is back to pending approval: evidence it rests on was "
            f"tainted from {taint.origin} by {taint.by}: {taint.reason}"
        )
        people = dict.fromkeys([props.get("proposer") or "", *(props.get("approvers") or [])])
        for person_id in filter(None, people):
            notes.append(
                Notification(
                    id=f"notification:{decision_id.removeprefix('decision:')}:{person_id}:{tx.now}",
                    person=person_id,
                    subject_id=decision_id,
                    message=message,
                )
            )
        audit.append(
            tx,
            "decision.reopened",
            decision_id,
            {
                "from": "approved",
                "to": "pending_approval",
                "taint_origin": taint.origin,
                "reason": taint.reason,
                "cleared_approvers": list(props.get("approvers") or []),
            },
        )
    tx.create(notes)
    tx.link([(n.id, Rel.ABOUT, n.subject_id) for n in notes])


def notifications(store: GraphStore, person_id: str, *, unread_only: bool = True) -> list[dict[str, Any]]:
    rows = [
        {"id": i, **p} for i, (_, p) in store.nodes("Notification").items() if p.get("person") == person_id
    ]
    return sorted((r for r in rows if not (unread_only and r.get("read"))), key=lambda r: r["created_at"])
