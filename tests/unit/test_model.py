"""The graph model and settings, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from graph.errors import InvalidGraphInput
from graph.model import NODE_TYPES, Decision, Source, node_type, timestamp
from graph.settings import Settings

# The node labels of DESIGN.md, "The graph model".
DESIGN_LABELS = {
    "Source",
    "Extract",
    "Snapshot",
    "QualityCheck",
    "Campaign",
    "Channel",
    "Creative",
    "Audience",
    "Plan",
    "Annotation",
    "Metric",
    "ModelVersion",
    "DiagnosticRun",
    "PostMortem",
    "Finding",
    "ActionItem",
    "Decision",
    "Approval",
    "PolicyVersion",
    "Execution",
    "Person",
    "AuditEvent",
}
# Beyond DESIGN.md: issue 6 asks for "a notification record" people see when a taint reopens a
# decision they proposed or approved; issue 7 asks for API keys "stored only as hashes, revocable".
LABELS = DESIGN_LABELS | {"Notification", "ApiKey"}


def test_every_label_of_the_design_has_a_model() -> None:
    assert set(NODE_TYPES) == LABELS
    assert all(cls.label == name for name, cls in NODE_TYPES.items())
    with pytest.raises(InvalidGraphInput, match="unknown node label 'Node'"):
        node_type("Node")


def test_timestamps_are_fixed_width_utc_so_text_order_is_time_order() -> None:
    local = datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert timestamp(local) == "2026-03-01T09:00:00.000000Z"
    moments = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=7**k) for k in range(12)]
    assert sorted(map(timestamp, moments)) == [timestamp(m) for m in sorted(moments)]
    with pytest.raises(ValueError, match="timezone-aware"):
        timestamp(datetime(2026, 1, 1))


def test_properties_leave_system_fields_to_the_store() -> None:
    node = Decision(id="d", kind="pause", title="t", version=3, created_by="x", amount=None)
    assert node.properties() == {
        "kind": "pause",
        "title": "t",
        "state": "draft",
        "tainted": False,
        "rationale": "",
        "proposer": "",
        "approvers": [],
        "promise": "",
        "promise_note": "",
        "monitor": "",
    }
    with pytest.raises(ValidationError):
        Source(id="", name="x")
    with pytest.raises(ValidationError):
        Source(id="s", name="x", colour="red")


def test_settings_validate_uri_heap_and_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().embedded
    monkeypatch.setenv("WARRANT_GRAPH_URI", "neo4j+s://graph.example:7687")
    assert not Settings().embedded
    for variable, value in [
        ("WARRANT_GRAPH_URI", "http://graph.example"),
        ("WARRANT_GRAPH_HEAP", "lots"),
        ("WARRANT_GRAPH_BOLT_PORT", "-1"),
    ]:
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValidationError):
            Settings()
        monkeypatch.delenv(variable)
