"""Decisions on the real graph and the real Cedar policies: the state machine, the two-approver
rule, refusals with their reasons, approvals that store the policy hash and the evidence digest,
the audit chain alongside, and 50 concurrent approvals yielding exactly one transition."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from governance import audit, decisions
from governance import policy as gates
from graph import audit as graph_audit
from graph.connect import open_store
from graph.errors import ConcurrentModification
from graph.lineage import mark_tainted
from graph.model import Rel
from graph.settings import Settings
from graph.store import GraphStore
from tests.conftest import isolated_env
from tests.graphs import build_world


def _propose(world: GraphStore, policies: gates.PolicySet, amount: float = 20_000, findings=("f-ok",)):  # type: ignore[no-untyped-def]
    d = decisions.propose(
        world,
        policies,
        by="ann",
        kind="budget_reallocation",
        title=f"Move {amount} to search",
        findings=list(findings),
        amount=amount,
        from_channel="paid_social",
        to_channel="paid_search",
    )
    decisions.act(world, policies, d.id, "submit", by="ann")
    return d


def test_a_decision_goes_draft_pending_approved_with_its_trail(
    world: GraphStore, policies: gates.PolicySet
) -> None:
    d = decisions.propose(
        world, policies, by="ann", kind="pause", title="Pause the Meta video", findings=["f-ok"]
    )
    assert decisions.load(world, d.id)["state"] == "draft"
    decisions.act(world, policies, d.id, "submit", by="ann")
    done = decisions.act(world, policies, d.id, "approve", by="lee", comment="evidence holds")
    assert done.decision["state"] == "approved" and done.decision["approvers"] == ["lee"]
    approval = world.properties_of([done.approval.id])[done.approval.id][1]
    assert approval["policy_sha256"] == policies.sha256 and approval["policies"] == ["leads-decide"]
    assert approval["evidence_sha256"] == decisions.evidence(world, ["f-ok"]).sha256
    assert policies.version_id in world.linked(done.approval.id, Rel.JUDGED_BY, incoming=False)
    chain = audit.verify(world)
    assert chain.ok, chain.line()
    actions = [e["action"] for e in graph_audit.events(world)]
    assert actions.count("policy.loaded") == 1  # the first verdict of this policy set
    assert [a for a in actions if a != "policy.loaded"][-3:] == [
        "decision.proposed",
        "decision.submit",
        "decision.approve",
    ]
    with pytest.raises(decisions.Refused, match="submit a decision that is approved"):
        decisions.act(world, policies, d.id, "submit", by="ann")  # approved is not a draft


def test_self_approval_and_auditors_are_refused_with_the_reason(
    world: GraphStore, policies: gates.PolicySet
) -> None:
    decisions.add_person(world, "ann", "Ann Analyst", ["analyst", "governance_lead"])
    d = _propose(world, policies)
    with pytest.raises(decisions.Refused, match="Nobody approves or rejects a decision they proposed"):
        decisions.act(world, policies, d.id, "approve", by="ann")
    with pytest.raises(decisions.Refused, match="Auditors read everything and change nothing"):
        decisions.act(world, policies, d.id, "approve", by="aud")
    assert decisions.load(world, d.id)["state"] == "pending_approval"


def test_above_the_threshold_two_distinct_approvers(world: GraphStore, policies: gates.PolicySet) -> None:
    d = _propose(world, policies, amount=80_000)
    first = decisions.act(world, policies, d.id, "approve", by="lee")
    assert first.decision["state"] == "pending_approval"  # one approver is not enough above $50,000
    with pytest.raises(decisions.Refused, match="Each approver counts once"):
        decisions.act(world, policies, d.id, "approve", by="lee")
    second = decisions.act(world, policies, d.id, "approve", by="kim")
    assert second.decision["state"] == "approved" and second.decision["approvers"] == ["lee", "kim"]


@pytest.mark.parametrize(
    ("finding", "words"),
    [
        ("f-hyp", "must have passed the three checks"),
        ("f-drift", "not marked for drift"),
        ("f-gate", "blocking quality gates"),
    ],
)
def test_weak_evidence_cannot_be_approved(
    world: GraphStore, policies: gates.PolicySet, finding: str, words: str
) -> None:
    d = _propose(world, policies, findings=(finding,))
    with pytest.raises(decisions.Refused, match=words):
        decisions.act(world, policies, d.id, "approve", by="lee")


def test_a_tainted_source_blocks_approval(world: GraphStore, policies: gates.PolicySet) -> None:
    d = _propose(world, policies)
    mark_tainted(world, "src", "the export double-counted conversions")
    with pytest.raises(decisions.Refused, match="be untainted"):
        decisions.act(world, policies, d.id, "approve", by="lee")


def test_fifty_concurrent_approvals_make_exactly_one_transition(
    world: GraphStore, policies: gates.PolicySet
) -> None:
    leads = [f"lead{i:02d}" for i in range(50)]
    for lead in leads:
        decisions.add_person(world, lead, lead, ["governance_lead"])
    d = _propose(world, policies)
    seen = decisions.load(world, d.id)["version"]

    def approve(lead: str) -> str:
        try:
            decisions.act(world, policies, d.id, "approve", by=lead, expected_version=seen)
            return "approved"
        except ConcurrentModification:
            return "conflict"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(approve, leads))
    assert outcomes.count("approved") == 1 and outcomes.count("conflict") == 49
    final = decisions.load(world, d.id)
    assert final["state"] == "approved" and len(final["approvers"]) == 1
    approvals = [i for i, (label, _) in world.linked(d.id, Rel.ABOUT).items() if label == "Approval"]
    assert len(approvals) == 1
    chain = audit.verify(world)
    assert chain.ok, chain.line()


def _warrant(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    warrant = str(Path(sys.executable).with_name("warrant"))
    return subprocess.run(
        [warrant, *args], env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


def test_the_cli_walks_a_decision_through_its_gates(embedded_settings: Settings, test_database: str) -> None:
    with open_store(embedded_settings, database=test_database) as store:
        build_world(store)
    env = isolated_env(
        embedded_settings, WARRANT_GRAPH_DATABASE=test_database, WARRANT_APPROVAL_THRESHOLD="1000"
    )
    proposed = _warrant(
        "decision",
        "propose",
        "--as",
        "ann",
        "--kind",
        "budget_reallocation",
        "--title",
        "Move 5k to search",
        "--finding",
        "f-ok",
        "--amount",
        "5000",
        "--from",
        "paid_social",
        "--to",
        "paid_search",
        env=env,
    )
    assert proposed.returncode == 0, proposed.stderr
    decision_id = proposed.stdout.split(": draft")[0].strip()  # "decision:...: draft (version 1)"
    assert _warrant("decision", "submit", decision_id, "--as", "ann", env=env).returncode == 0
    refused = _warrant("decision", "approve", decision_id, "--as", "aud", env=env)
    assert refused.returncode == 2 and "Auditors read everything and change nothing" in refused.stderr
    first = _warrant("decision", "approve", decision_id, "--as", "lee", "--comment", "fine", env=env)
    assert (
        first.returncode == 0 and "pending_approval" in first.stdout
    )  # 5,000 > the 1,000 threshold set here
    stale = _warrant("decision", "approve", decision_id, "--as", "kim", "--version", "2", env=env)
    assert stale.returncode == 2 and "it changed since you read it" in stale.stderr
    second = _warrant("decision", "approve", decision_id, "--as", "kim", env=env)
    assert second.returncode == 0 and ": approved" in second.stdout
    shown = json.loads(_warrant("decision", "show", decision_id, "--json", env=env).stdout)
    assert {a["by"] for a in shown["approvals"]} == {"lee", "kim"}
    assert all(a["evidence_sha256"] and a["policy_sha256"] for a in shown["approvals"])
    verified = _warrant("audit", "verify", env=env)
    assert verified.returncode == 0 and "audit chain valid" in verified.stdout


def test_a_taint_reopens_approved_decisions_and_tells_their_people(
    world: GraphStore, policies: gates.PolicySet
) -> None:
    d = _propose(world, policies)
    decisions.act(world, policies, d.id, "approve", by="lee")
    untouched = decisions.propose(
        world, policies, by="ann", kind="pause", title="Pause on another run", findings=["f-gate"]
    )
    mark_tainted(world, "src", "Meta export counted view-through twice", by="aud", then=decisions.after_taint)
    reopened = decisions.load(world, d.id)
    assert reopened["state"] == "pending_approval" and reopened["approvers"] == [] and reopened["tainted"]
    for person_id in ("ann", "lee"):
        inbox = decisions.notifications(world, person_id)
        assert [n["subject_id"] for n in inbox] == [d.id]
        assert "Meta export counted view-through twice" in inbox[0]["message"]
    assert decisions.notifications(world, "kim") == []
    assert decisions.load(world, untouched.id)["state"] == "draft"  # a draft is not reopened, only flagged
    events = graph_audit.events(world)
    assert [e["action"] for e in events[-2:]] == ["taint", "decision.reopened"]
    assert audit.verify(world).ok
    with pytest.raises(decisions.Refused, match="be untainted"):
        decisions.act(world, policies, d.id, "approve", by="kim")


def test_an_auditor_reproduces_what_the_approver_was_shown(
    world: GraphStore, policies: gates.PolicySet
) -> None:
    d = _propose(world, policies)
    done = decisions.act(world, policies, d.id, "approve", by="lee")
    stored = world.properties_of([done.approval.id])[done.approval.id][1]
    mark_tainted(world, "src", "found later", then=decisions.after_taint)  # the evidence changes after
    assert decisions.evidence(world, ["f-ok"]).sha256 != stored["evidence_sha256"]
    at = datetime.fromisoformat(stored["created_at"].replace("Z", "+00:00"))
    assert decisions.evidence(world, ["f-ok"], as_of=at).sha256 == stored["evidence_sha256"]
