"""Decisions through the UI: an analyst proposes one from a post-mortem's findings (submitted for
approval in the same click), a governance lead approves it with a comment from the queue, and the
UI shows the API's reason, verbatim, when the policies refuse: a lead approving their own proposal,
a budget change resting on a hypothesis. Admins read the queue without approve or reject."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.ui.conftest import UiDemo, open_page, texts

NURTURE = ":email_pause:Nurture:"  # a finding that passes the three checks
BUDGET_HOG = ":budget_hog:"  # a hypothesis: too few conversions a week


def _finding(demo: UiDemo, marker: str) -> str:
    with demo.http("auditor") as http:
        found = http.get(f"/v1/postmortems/{demo.postmortem_id}").json()["findings"]
    return next(f["id"] for f in found if marker in f["id"])


def _decision(demo: UiDemo, title: str) -> dict[str, Any]:
    with demo.http("auditor") as http:
        return next(d for d in http.get("/v1/decisions").json() if d["title"] == title)


def _propose(
    ui: Callable[..., AppTest], demo: UiDemo, role: str, title: str, finding: str, **budget: Any
) -> AppTest:
    at = open_page(ui(role), "postmortem")
    at.selectbox(key="pm_picker").set_value(demo.postmortem_id).run()
    assert "Propose a decision" in [t.label for t in at.tabs]
    if budget:
        at.selectbox(key="prop_kind").set_value("budget_reallocation").run()
        at.selectbox(key="prop_from_0").set_value(budget["from_channel"])
        at.selectbox(key="prop_to_0").set_value(budget["to_channel"])
        at.number_input(key="prop_amount_0").set_value(budget["amount"])
    else:
        at.selectbox(key="prop_kind").set_value("process_change").run()
    at.text_input(key="prop_title_0").input(title)
    at.multiselect(key="prop_findings_0").select(finding)
    at.text_area(key="prop_rationale_0").input("The post-mortem shows it.")
    at.button(key="prop_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def _review(ui: Callable[..., AppTest], role: str, decision_id: str, comment: str = "") -> AppTest:
    at = open_page(ui(role), "approvals")
    at.selectbox(key="appr_pick").set_value(decision_id).run()
    if comment:
        at.text_area(key=f"appr_comment_{decision_id}").input(comment)
    return at


def test_an_analyst_proposes_and_a_lead_approves(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    title = f"Restore the nurture cadence {uuid.uuid4().hex[:6]}"
    finding = _finding(demo, NURTURE)
    at = _propose(ui, demo, "analyst", title, finding)
    decision = _decision(demo, title)
    assert at.success[0].value == f"Proposed {decision['id']} and submitted it for approval."
    assert decision["state"] == "pending_approval" and decision["proposer"] == "analyst-1"
    assert title in texts(at) and ":orange-badge[pending approval]" in texts(at)  # "Your decisions"
    assert at.text_input(key="prop_title_1").value == "" and at.multiselect(key="prop_findings_1").value == []
    with demo.http("auditor") as http:
        assert [f["id"] for f in http.get(f"/v1/decisions/{decision['id']}").json()["findings"]] == [finding]

    at = _review(ui, "governance_lead", decision["id"], comment="Cadence matters; go.")
    shown = texts(at)
    assert "proposed by **analyst-1**" in shown and "Evidence: 1 justifying finding" in shown
    assert ":green-badge[:material/check: sample size]" in shown
    assert (
        "**Approve:** allowed. Governance leads approve or reject decisions that are pending approval."
        in shown
    )
    at.button(key="appr_approve").click().run()
    assert not at.error, [e.value for e in at.error]
    assert any(s.value.startswith(f"Approved {decision['id']}: Governance leads approve") for s in at.success)
    with demo.http("auditor") as http:
        after = http.get(f"/v1/decisions/{decision['id']}").json()
    assert after["decision"]["state"] == "approved" and after["decision"]["approvers"] == [
        "governance_lead-1"
    ]
    assert [(a["verdict"], a["comment"]) for a in after["approvals"]] == [
        ("approved", "Cadence matters; go.")
    ]


def test_a_lead_cannot_approve_their_own_proposal(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    title = f"Pause the stale creative {uuid.uuid4().hex[:6]}"
    _propose(ui, demo, "analyst+lead", title, _finding(demo, NURTURE))
    decision = _decision(demo, title)
    at = _review(ui, "analyst+lead", decision["id"], comment="mine")
    assert "**Approve:** not allowed. Nobody approves or rejects a decision they proposed." in texts(at)
    at.button(key="appr_approve").click().run()  # asked anyway: the API's answer is the one that counts
    assert [e.value for e in at.error] == [
        f"Refused: approve by dana on {decision['id']} refused: Nobody approves or rejects a decision they "
        "proposed."
    ]
    assert _decision(demo, title)["state"] == "pending_approval"


def test_a_budget_change_on_a_hypothesis_is_refused_with_its_reason(
    ui: Callable[..., AppTest], demo: UiDemo
) -> None:
    title = f"Move 5,000 from paid social to paid search {uuid.uuid4().hex[:6]}"
    budget = {"from_channel": "paid_social", "to_channel": "paid_search", "amount": 5000.0}
    _propose(ui, demo, "analyst", title, _finding(demo, BUDGET_HOG), **budget)
    decision = _decision(demo, title)
    assert (decision["kind"], decision["amount"], decision["from_channel"], decision["to_channel"]) == (
        "budget_reallocation",
        5000.0,
        "paid_social",
        "paid_search",
    )
    at = _review(ui, "governance_lead", decision["id"])
    shown = texts(at)
    assert "Move **5,000** from **paid_social** to **paid_search**" in shown
    assert ":red-badge[:material/close: sample size]" in shown
    at.button(key="appr_approve").click().run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(
        f"Refused: approve by governance_lead-1 on {decision['id']}"
    )
    assert "Every justifying finding must have passed the three checks" in errors[0]
    assert _decision(demo, title)["state"] == "pending_approval"


def test_an_admin_reads_the_queue_but_cannot_decide(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    title = f"Retire the old landing page {uuid.uuid4().hex[:6]}"
    body = {"kind": "process_change", "title": title, "findings": [_finding(demo, NURTURE)]}
    with demo.http("analyst") as http:
        made = http.post("/v1/decisions", json=body).json()
        assert http.post(f"/v1/decisions/{made['id']}/submit", headers={"If-Match": '"1"'}).status_code == 200
    at = _review(ui, "admin", made["id"])
    shown = texts(at)
    assert title in shown and "Read-only: only governance leads approve or reject." in shown
    assert "**Approve:** not allowed." in shown  # the preview still says what the policies would do
    assert not {b.key for b in at.button} & {"appr_approve", "appr_reject"}
    assert not [t for t in at.text_area if t.label == "Comment"]
