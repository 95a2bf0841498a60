"""The Lineage screen (auditors): the audit chain's status, a decision traced back to its source
exports, collapsed to one vertex per layer and expanded on demand, node details, the audit events
about the node, "as of" a past moment (what the approver saw, or before the decision existed),
tainted nodes marked, and a finding sent here from the post-mortem screen."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import UiDemo, open_page, plain, texts

LAYERS = {"Decision", "Finding", "DiagnosticRun", "ModelVersion", "Snapshot", "Extract", "Source"}


def _approved_decision(demo: UiDemo, finding_kind: str, kind: str, title: str) -> dict[str, Any]:
    """A decision proposed by the analyst on the post-mortem's `finding_kind` finding, submitted, and
    approved by the lead, through the API; returns the decision with its `finding` id."""
    with demo.http("auditor") as http:
        findings = http.get(f"/v1/postmortems/{demo.postmortem_id}").json()["findings"]
    finding = next(f["id"] for f in findings if f":{finding_kind}:" in f["id"])
    with demo.http("analyst") as analyst, demo.http("governance_lead") as lead:
        made = analyst.post(
            "/v1/decisions",
            json={"kind": kind, "title": f"{title} {uuid.uuid4().hex[:6]}", "findings": [finding]},
        )
        decision = made.json()
        analyst.post(f"/v1/decisions/{decision['id']}/submit", headers={"If-Match": '"1"'}).raise_for_status()
        lead.post(f"/v1/decisions/{decision['id']}/approve", headers={"If-Match": '"2"'}).raise_for_status()
    return {**decision, "finding": finding}


@pytest.fixture
def approved(demo: UiDemo) -> dict[str, Any]:
    """A decision justified by the nurture finding, approved by the lead."""
    return _approved_decision(demo, "email_pause", "process_change", "Resume the nurture sequence")


def _layers(at: AppTest) -> dict[str, list[str]]:
    """The lineage table: what each layer is shown as ('layer' while collapsed, else node names)."""
    table = next(d.value for d in at.table if list(d.value.columns)[:2] == ["layer", "nodes"])
    shown: dict[str, list[str]] = {}
    for _, row in table.iterrows():
        shown.setdefault(row["layer"], []).append(row["shown as"])
    return shown


def _trace(
    at: AppTest, node_id: str, *, direction: str = "trace", as_of: dt.datetime | None = None
) -> AppTest:
    at.text_input(key="lineage_id_input").input(node_id)
    at.radio(key="lineage_direction").set_value(direction)
    if as_of is not None:
        at.get("date_time_input")[0].set_value(as_of)
    at.button(key="lineage_go").click().run()
    assert not at.exception, at.exception
    return at


def test_a_decision_traced_collapsed_then_expanded(
    ui: Callable[..., AppTest], demo: UiDemo, approved: dict[str, Any]
) -> None:
    at = open_page(ui("auditor"), "lineage")
    chain = next(m.value for m in at.markdown if "audit chain" in m.value)
    assert re.fullmatch(
        r":green-badge\[:material/link: audit chain intact\] \d+ events · \d+ signed checkpoints verified",
        chain,
    )
    at.selectbox(key="lineage_decision").set_value(approved["id"]).run()
    assert at.text_input(key="lineage_id_input").value == approved["id"]
    at.button(key="lineage_go").click().run()
    shown = texts(at)
    assert f"What {approved['title']} rests on now" in shown
    assert "40 nodes in 7 layers" in shown and "Source 10" in shown and "Extract 11" in shown
    collapsed = _layers(at)
    assert set(collapsed) == LAYERS and all(v == ["layer"] for v in collapsed.values())

    at.multiselect(key="lineage_expand").select("Source").run()
    expanded = _layers(at)
    assert len(expanded["Source"]) == 10 and {"HubSpot", "Google Ads", "Meta Ads"} <= set(expanded["Source"])
    assert expanded["Extract"] == ["layer"]  # the other layers stay folded

    assert at.selectbox(key="lineage_detail").value == approved["id"]  # details of the root first
    events = next(d.value for d in at.table if "action" in d.value.columns)
    assert list(events["action"]) == ["decision.approve", "decision.submit", "decision.proposed"]
    assert list(events["by"]) == ["governance_lead-1", "analyst-1", "analyst-1"]
    at.selectbox(key="lineage_detail").set_value("source:hubspot").run()
    assert "**Source** `source:hubspot`" in texts(at)
    props = next(d.value for d in at.table if list(d.value.columns) == ["property", "value"])
    assert dict(zip(props["property"], props["value"], strict=True))["name"] == "HubSpot"


def test_as_of_shows_the_graph_as_it_stood(
    ui: Callable[..., AppTest], demo: UiDemo, approved: dict[str, Any]
) -> None:
    at = open_page(ui("auditor"), "lineage")
    before = dt.datetime.fromisoformat(approved["created_at"].replace("Z", "+00:00")) - dt.timedelta(
        minutes=5
    )
    _trace(at, approved["id"], as_of=before.replace(tzinfo=None))
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(f"Lineage: no node with id '{approved['id']}' at ")

    _trace(at, approved["id"])  # now, then the moment its approver decided
    moments = [b for b in at.button if b.label.startswith("As governance_lead-1 saw it (approved ")]
    assert len(moments) == 1
    moments[0].click().run()
    assert not at.error
    assert f"What {approved['title']} rests on as of " in texts(at)
    assert set(_layers(at)) == LAYERS


def test_impact_then_taint_marks_the_graph_and_notifies(
    ui: Callable[..., AppTest], demo: UiDemo, approved: dict[str, Any]
) -> None:
    at = open_page(ui("auditor"), "lineage")
    _trace(at, approved["finding"], direction="impact")
    assert {"Finding", "Decision", "ActionItem"} <= set(_layers(at))  # what the finding influenced
    assert "tainted node" not in texts(at)

    # A decision of its own on the creative-fatigue finding, approved, then that finding tainted: the
    # decision goes back to pending approval and its people are notified.
    rotate = _approved_decision(demo, "fatigue", "creative_change", "Rotate the tired creative")
    with demo.http("analyst") as analyst:
        analyst.post(
            "/v1/lineage/taint", json={"id": rotate["finding"], "reason": "Meta export was truncated"}
        ).raise_for_status()
    _trace(at, rotate["id"])
    shown = texts(at)
    assert "2 tainted nodes in this graph (in red)." in shown  # the finding and the decision
    assert "Tainted by analyst-1 at " in shown and "Meta export was truncated" in shown  # the root's details
    table = next(d.value for d in at.table if list(d.value.columns)[:2] == ["layer", "nodes"])
    assert dict(zip(table["layer"], table["tainted"], strict=True)) == {
        "Decision": 1,
        "Finding": 1,
        "DiagnosticRun": 0,
        "ModelVersion": 0,
        "Snapshot": 0,
        "Extract": 0,
        "Source": 0,
    }
    notified = open_page(ui("analyst"), "postmortem")
    assert notified.sidebar.expander[0].label.startswith("Notifications (")
    notified.selectbox(key="pm_picker").set_value(demo.postmortem_id).run()
    assert ":red-badge[:material/warning: tainted] Meta export was truncated" in texts(
        notified
    )  # on the finding


def test_a_finding_is_traced_from_the_post_mortem(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    at = open_page(ui("auditor"), "postmortem")
    at.selectbox(key="pm_picker").set_value(demo.postmortem_id).run()
    trace = next(b for b in at.button if b.label == "Trace finding")
    trace.click().run()
    assert not at.exception
    assert at.title[0].value == "Lineage"
    root = at.text_input(key="lineage_id_input").value
    assert root.startswith("finding:") and "rests on now" in texts(at)
    assert {"Finding", "DiagnosticRun", "Snapshot", "Extract", "Source"} <= set(_layers(at))
