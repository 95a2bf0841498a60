"""The approval gates: the real Cedar policies in `policies/`, loaded and validated (errors name
file and line), and an authorisation matrix over every role x action x decision state, checked
against the rules written out here independently of the Cedar text."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest

from governance import policy as gates

ROLES = ("analyst", "governance_lead", "auditor", "admin")
ACTIONS = ("read", "propose", "submit", "approve", "reject", "execute", "verify", "rollback")
STATES = ("draft", "pending_approval", "approved", "rejected", "executed", "verified", "rolled_back")
GOOD = {"findings": 2, "all_checked": True, "any_tainted": False, "gates_passed": True, "any_drifted": False}
CALM = dt.date(2026, 11, 26)  # outside the default freeze (2026-12-20 .. 2027-01-04)
FROZEN = dt.date(2026, 12, 24)


@pytest.fixture(scope="module")
def policies() -> gates.PolicySet:
    return gates.load()


def expected(
    role: str,
    action: str,
    state: str,
    *,
    own: bool,
    evidence: dict[str, Any],
    amount: int = 10_000,
    approvers: tuple[str, ...] = (),
    frozen: bool = False,
    me: str = "me",
) -> bool:
    """The rules of issue 6, in plain Python."""
    sound = (
        evidence["findings"] >= 1
        and evidence["all_checked"]
        and not evidence["any_tainted"]
        and evidence["gates_passed"]
        and not evidence["any_drifted"]
    )
    if role in ("auditor", "admin"):
        return action == "read"  # auditors change nothing; admins run the platform, not decisions
    if action == "read":
        return True
    if action in ("propose", "submit"):
        ok = role == "analyst" and own and state == "draft"
        return ok and (action == "propose" or evidence["findings"] >= 1)
    if action in ("approve", "reject"):
        ok = role == "governance_lead" and state == "pending_approval" and not own
        return ok and (action == "reject" or (me not in approvers and sound))
    if action == "execute":
        enough = amount <= 50_000 or len(set(approvers)) >= 2
        return role == "governance_lead" and state == "approved" and sound and enough and not frozen
    if action in ("verify", "rollback"):
        return role == "governance_lead" and state == "executed"
    raise AssertionError(action)


def _decision(
    state: str, *, own: bool, evidence: dict[str, Any], amount: int, approvers: tuple[str, ...]
) -> dict:
    return {
        "id": "decision:1",
        "kind": "budget_reallocation",
        "state": state,
        "proposer": "me" if own else "someone",
        "amount": amount,
        "budget_share_bp": 1500,
        "approvers": list(approvers),
        "evidence": evidence,
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_role_action_and_state(policies: gates.PolicySet, role: str) -> None:
    wrong = []
    for action, state, own in itertools.product(ACTIONS, STATES, (True, False)):
        verdict = gates.evaluate(
            policies,
            gates.Principal("me", (role,)),
            action,
            _decision(state, own=own, evidence=GOOD, amount=10_000, approvers=()),
            today=CALM,
        )
        want = expected(role, action, state, own=own, evidence=GOOD)
        if verdict.allowed != want:
            wrong.append((action, state, own, verdict.allowed, verdict.reasons))
        assert verdict.reasons and verdict.policy_sha256 == policies.sha256
    assert not wrong, wrong


# What each role may do on every family of HTTP routes (issue 7), whatever the area.
ROUTES = {
    "analyst": {"view", "ingest", "analyse", "taint", "decide", "monitor"},
    "governance_lead": {"view", "taint", "decide", "monitor"},
    "auditor": {"view"},
    "admin": {"view", "ingest", "ingest_path"},
}


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_every_role_and_route_action(policies: gates.PolicySet, role: str) -> None:
    person = gates.Principal("me", () if role == "nobody" else (role,))
    for action, area in itertools.product(gates.AREA_ACTIONS, gates.AREAS):
        verdict = gates.evaluate_area(policies, person, action, area)
        assert verdict.allowed == (action in ROUTES.get(role, set())), (role, action, area, verdict.reasons)
        assert verdict.reasons and verdict.policy_sha256 == policies.sha256


SCENARIOS = {
    "tainted finding": ({**GOOD, "any_tainted": True}, 10_000, (), False),
    "hypothesis-only justification": ({**GOOD, "all_checked": False}, 10_000, (), False),
    "drift-marked model": ({**GOOD, "any_drifted": True}, 10_000, (), False),
    "blocking gate failed": ({**GOOD, "gates_passed": False}, 10_000, (), False),
    "no finding": ({**GOOD, "findings": 0}, 10_000, (), False),
    "single approver above the threshold": (GOOD, 80_000, ("lead-a",), False),
    "two approvers above the threshold": (GOOD, 80_000, ("lead-a", "lead-b"), False),
    "same approver twice above the threshold": (GOOD, 80_000, ("lead-a", "lead-a"), False),
    "freeze window": (GOOD, 10_000, (), True),
    "already approved by me": (GOOD, 10_000, ("me",), False),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_named_cases(policies: gates.PolicySet, scenario: str) -> None:
    evidence, amount, approvers, frozen = SCENARIOS[scenario]
    for role, action, state, own in itertools.product(ROLES, ACTIONS, STATES, (True, False)):
        verdict = gates.evaluate(
            policies,
            gates.Principal("me", (role,)),
            action,
            _decision(state, own=own, evidence=evidence, amount=amount, approvers=approvers),
            today=FROZEN if frozen else CALM,
        )
        want = expected(
            role, action, state, own=own, evidence=evidence, amount=amount, approvers=approvers, frozen=frozen
        )
        assert verdict.allowed == want, (scenario, role, action, state, own, verdict.reasons)


def test_refusals_say_why_in_plain_language(policies: gates.PolicySet) -> None:
    lead = gates.Principal("me", ("governance_lead",))
    self_approval = gates.evaluate(
        policies,
        lead,
        "approve",
        _decision("pending_approval", own=True, evidence=GOOD, amount=1, approvers=()),
        today=CALM,
    )
    assert self_approval.policies == ("no-self-approval",)
    assert "Nobody approves or rejects a decision they proposed." in self_approval.sentence()
    frozen = gates.evaluate(
        policies,
        lead,
        "execute",
        _decision("approved", own=False, evidence=GOOD, amount=1, approvers=("x",)),
        today=FROZEN,
    )
    assert frozen.policies == ("freeze-blocks-execution",)
    nothing = gates.evaluate(
        policies,
        gates.Principal("me", ()),
        "verify",
        _decision("draft", own=False, evidence=GOOD, amount=1, approvers=()),
        today=CALM,
    )
    assert (
        nothing.policies == ()
        and "no policy lets a person with roles none verify a decision that is draft" in nothing.sentence()
    )


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(gates.DEFAULT_DIR, target)
    return target


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        (
            '@id("broken")\n@reason("x")\npermit (principal, action, resource) when { principal. };\n',
            "unexpected token",
        ),
        (
            '@id("unknown-attribute")\n@reason("x")\n'
            "permit (principal, action, resource) when { resource.budget > 5 };\n",
            "budget",
        ),
        ('@id("no-reason")\npermit (principal, action, resource);\n', "needs @reason"),
        ('@id("leads-decide")\n@reason("again")\npermit (principal, action, resource);\n', "already used at"),
    ],
)
def test_a_bad_policy_stops_loading_with_its_file_and_line(
    tmp_path: Path, addition: str, message: str
) -> None:
    folder = _copy(tmp_path)
    extra = folder / "extra.cedar"
    extra.write_text("// an extra policy\n\n" + addition)
    with pytest.raises(gates.PolicyError, match=message) as caught:
        gates.load(folder)
    assert "extra.cedar:3" in str(caught.value)


def test_a_bad_schema_or_freeze_file_stops_loading(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "schema.cedarschema").write_text("namespace Warrant { entity ; }")
    with pytest.raises(gates.PolicyError, match=r"schema\.cedarschema"):
        gates.load(folder)
    folder = _copy(tmp_path / "b")
    (folder / "freezes.yaml").write_text(
        "freezes:\n  - name: x\n    start: 2026-12-10\n    end: 2026-12-01\n"
    )
    with pytest.raises(gates.PolicyError, match="ends before it starts"):
        gates.load(folder)


def test_the_hash_names_exactly_the_text_that_judged(tmp_path: Path, policies: gates.PolicySet) -> None:
    folder = _copy(tmp_path)
    assert gates.load(folder).sha256 == policies.sha256
    cedar = folder / "approvals.cedar"
    cedar.write_text(cedar.read_text() + "\n// a comment changes the text, so the version\n")
    assert gates.load(folder).sha256 != policies.sha256
    assert policies.version_id == f"policy:{policies.sha256[:16]}"
