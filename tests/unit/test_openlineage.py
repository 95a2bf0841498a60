"""Post-mortem runs and traces as OpenLineage events, without a server.

The openlineage-python wheel does not ship the spec's JSON schema, so `RUN_EVENT_SCHEMA` below
transcribes what https://openlineage.io/spec/2-0-2/OpenLineage.json requires of a RunEvent (the
version the client's models name in their schemaURL); events are checked against it with
jsonschema, formats (RFC 3339 times, URIs, UUIDs) checked by hand, and rebuilt through the
client's own attrs models, whose validators check the run id and event time again.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from graph.lineage import Lineage
from graph.settings import Settings
from registry import openlineage as ol

_FACET = {"$ref": "#/$defs/BaseFacet"}
_FACETS = {"type": "object", "additionalProperties": _FACET}
_DATASET = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}, "facets": _FACETS},
}
RUN_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "BaseFacet": {
            "type": "object",
            "required": ["_producer", "_schemaURL"],
            "properties": {"_producer": {"type": "string"}, "_schemaURL": {"type": "string"}},
        },
    },
    "type": "object",
    "required": ["eventTime", "producer", "schemaURL", "run", "job"],
    "properties": {
        "eventTime": {"type": "string"},
        "producer": {"type": "string"},
        "schemaURL": {"type": "string"},
        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "run": {
            "type": "object",
            "required": ["runId"],
            "properties": {"runId": {"type": "string"}, "facets": _FACETS},
        },
        "job": {
            "type": "object",
            "required": ["namespace", "name"],
            "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}, "facets": _FACETS},
        },
        "inputs": {
            "type": "array",
            "items": {"allOf": [_DATASET, {"properties": {"inputFacets": _FACETS}}]},
        },
        "outputs": {
            "type": "array",
            "items": {"allOf": [_DATASET, {"properties": {"outputFacets": _FACETS}}]},
        },
    },
}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def check_event(event: RunEvent | dict[str, Any]) -> dict[str, Any]:
    """Validate one event (model or its JSON form) the three ways; returns the JSON form."""
    doc = event if isinstance(event, dict) else Serde.to_dict(event)
    jsonschema.Draft202012Validator(RUN_EVENT_SCHEMA).validate(doc)
    assert RFC3339.match(doc["eventTime"]), doc["eventTime"]
    assert URI.match(doc["producer"]) and URI.match(doc["schemaURL"])
    assert doc["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json")
    assert uuid.UUID(doc["run"]["runId"]).version == 5
    facets = [
        *doc["run"].get("facets", {}).values(),
        *doc["job"].get("facets", {}).values(),
        *(
            f
            for d in doc.get("inputs", []) + doc.get("outputs", [])
            for key in ("facets", "inputFacets", "outputFacets")
            for f in d.get(key, {}).values()
        ),
    ]
    for facet in facets:
        assert URI.match(facet["_producer"]) and facet["_schemaURL"].startswith(
            "https://openlineage.io/spec/"
        )
    # Rebuilt through the client's models: their validators parse the time and the run UUID.
    rebuilt = RunEvent(
        eventTime=doc["eventTime"],
        producer=doc["producer"],
        eventType=RunState(doc["eventType"]),
        run=Run(runId=doc["run"]["runId"]),
        job=Job(namespace=doc["job"]["namespace"], name=doc["job"]["name"]),
    )
    assert rebuilt.schemaURL == doc["schemaURL"]
    return doc


SHA = "9" + "a" * 63
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
END = datetime(2026, 3, 1, 9, 2, 30, tzinfo=UTC)


def _node(label: str, **props: Any) -> dict[str, Any]:
    return {"label": label, "properties": {"created_at": "2026-03-01T09:00:00.000000Z", **props}}


def sample_lineage() -> Lineage:
    """A decision's trace: decision -> findings -> run -> (model version, snapshot) -> extract -> source."""
    nodes = {
        "decision:d1": _node("Decision", kind="budget", title="Move $20k to search"),
        "finding:abc:f1": _node("Finding", title="Landing CVR fell", category="creative"),
        "finding:abc:f2": _node("Finding", title="CPL over plan", category="channel_mix"),
        "run:abc": _node("DiagnosticRun", mlflow_run_id="mlf123", code_version="c1"),
        "model:scorecard:3": _node("ModelVersion", name="scorecard", model_version="3"),
        "model:fatigue:1": _node("ModelVersion", name="fatigue", model_version="1"),
        SHA: _node("Snapshot", sha256=SHA, table="ad_performance", mapping="meta_ads", source="Meta Ads"),
        "extract:ee": _node("Extract", file="meta_ads.csv", sha256="ee", rows=120),
        "source:meta": _node("Source", name="Meta Ads", kind="ad_platform"),
    }
    edges = [
        ("decision:d1", "JUSTIFIED_BY", "finding:abc:f1"),
        ("decision:d1", "JUSTIFIED_BY", "finding:abc:f2"),
        ("finding:abc:f1", "WAS_GENERATED_BY", "run:abc"),
        ("finding:abc:f2", "WAS_GENERATED_BY", "run:abc"),
        ("run:abc", "USED", SHA),
        ("run:abc", "USED", "model:scorecard:3"),
        ("run:abc", "USED", "model:fatigue:1"),
        (SHA, "WAS_DERIVED_FROM", "extract:ee"),
        ("extract:ee", "WAS_DERIVED_FROM", "source:meta"),
    ]
    return Lineage("decision:d1", "upstream", None, nodes, edges)


def sample_event(**overrides: Any) -> RunEvent:
    args: dict[str, Any] = {
        "namespace": "warrant",
        "run_id": "run:abc",
        "postmortem_id": "postmortem:cmp-1:abc",
        "campaign_id": "cmp-1",
        "snapshots": [
            {
                "id": SHA,
                "sha256": SHA,
                "table": "ad_performance",
                "mapping": "meta_ads",
                "source": "Meta Ads",
                "rows": 120,
            }
        ],
        "findings": [
            {"id": "finding:abc:f1", "title": "Landing CVR fell", "category": "creative"},
            {"id": "finding:abc:f2", "title": "CPL over plan", "category": "channel_mix"},
        ],
        "started": START,
        "ended": END,
        "mlflow_run_id": "mlf123",
    }
    return ol.postmortem_event(**(args | overrides))


def test_a_postmortem_event_is_valid_and_names_its_snapshots_findings_and_mlflow_run() -> None:
    doc = check_event(sample_event())
    assert doc["eventType"] == "COMPLETE" and doc["eventTime"] == "2026-03-01T09:02:30.000000Z"
    assert doc["job"] == doc["job"] | {"namespace": "warrant", "name": "diagnostic_run/run:abc"}
    assert doc["job"]["facets"]["jobType"]["processingType"] == "BATCH"
    [snapshot] = doc["inputs"]
    assert snapshot["name"] == f"snapshot/ad_performance/{SHA}"
    assert snapshot["facets"]["version"]["datasetVersion"] == SHA
    assert snapshot["inputFacets"]["inputStatistics"]["rowCount"] == 120
    assert [o["name"] for o in doc["outputs"]] == [
        "postmortem/postmortem:cmp-1:abc",
        "finding/finding:abc:f1",
        "finding/finding:abc:f2",
    ]
    assert doc["run"]["facets"]["externalQuery"] == doc["run"]["facets"]["externalQuery"] | {
        "externalQueryId": "mlf123",
        "source": "mlflow",
    }
    tags = {t["key"]: t["value"] for t in doc["run"]["facets"]["tags"]["tags"]}
    assert tags == {
        "warrant.run_id": "run:abc",
        "warrant.postmortem_id": "postmortem:cmp-1:abc",
        "warrant.campaign_id": "cmp-1",
    }


def test_the_run_id_is_a_deterministic_uuid_so_re_emits_are_idempotent() -> None:
    first, again = sample_event(), sample_event(event_type="START", mlflow_run_id=None)
    assert first.run.runId == again.run.runId == ol.run_uuid("run:abc")
    assert sample_event(run_id="run:other").run.runId != first.run.runId
    start = check_event(again)
    assert start["eventType"] == "START" and start["eventTime"] == "2026-03-01T09:00:00.000000Z"
    assert "externalQuery" not in start["run"]["facets"]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        sample_event(ended=datetime(2026, 3, 1, 9, 0))


def test_a_trace_becomes_one_event_per_activity_and_per_derivation() -> None:
    events = ol.trace_events(sample_lineage(), "warrant")
    docs = {d["job"]["name"]: d for d in map(check_event, events)}
    assert set(docs) == {
        "diagnostic_run/run:abc",
        f"ingest/snapshot/ad_performance/{SHA}",
        "derive/extract/meta_ads.csv/ee",
        "derive/decision/decision:d1",
    }
    run = docs["diagnostic_run/run:abc"]
    assert [i["name"] for i in run["inputs"]] == [f"snapshot/ad_performance/{SHA}"]  # models are no datasets
    assert {o["name"] for o in run["outputs"]} == {"finding/finding:abc:f1", "finding/finding:abc:f2"}
    assert run["run"]["facets"]["externalQuery"]["externalQueryId"] == "mlf123"
    tags = [(t["key"], t["value"]) for t in run["run"]["facets"]["tags"]["tags"]]
    assert tags == [
        ("warrant.modelversion", "model:fatigue:1"),
        ("warrant.modelversion", "model:scorecard:3"),
        ("warrant.run_id", "run:abc"),
    ]
    ingest = docs[f"ingest/snapshot/ad_performance/{SHA}"]
    assert [i["name"] for i in ingest["inputs"]] == ["extract/meta_ads.csv/ee"]
    assert [o["name"] for o in ingest["outputs"]] == [f"snapshot/ad_performance/{SHA}"]
    assert [i["name"] for i in docs["derive/extract/meta_ads.csv/ee"]["inputs"]] == ["source/source:meta"]
    assert {i["name"] for i in docs["derive/decision/decision:d1"]["inputs"]} == {
        "finding/finding:abc:f1",
        "finding/finding:abc:f2",
    }
    # Exported again, the same events: times come from the graph, run ids from Warrant's ids.
    assert [Serde.to_dict(e) for e in ol.trace_events(sample_lineage(), "warrant")] == [
        Serde.to_dict(e) for e in events
    ]


def test_a_trace_and_the_postmortem_event_name_the_same_run_job_and_datasets() -> None:
    emitted = Serde.to_dict(sample_event())
    [traced] = [
        Serde.to_dict(e)
        for e in ol.trace_events(sample_lineage(), "warrant")
        if e.job.name.startswith("diag")
    ]
    assert traced["run"]["runId"] == emitted["run"]["runId"]
    assert traced["job"]["name"] == emitted["job"]["name"]
    assert {i["name"] for i in traced["inputs"]} == {i["name"] for i in emitted["inputs"]}
    assert {o["name"] for o in traced["outputs"]} <= {o["name"] for o in emitted["outputs"]}


def test_emit_is_off_without_a_target(tmp_path: Path) -> None:
    assert ol.emit(Settings(home=tmp_path), sample_event()) is None


def test_emit_appends_json_lines_to_the_file(tmp_path: Path) -> None:
    target = tmp_path / "lineage.jsonl"
    settings = Settings(home=tmp_path, openlineage_file=target)
    assert ol.emit(settings, sample_event()) == f"appended to {target}"
    assert ol.emit(settings, sample_event(event_type="START")) == f"appended to {target}"
    lines = target.read_text().splitlines()
    assert [check_event(json.loads(line))["eventType"] for line in lines] == ["COMPLETE", "START"]


def test_an_unwritable_file_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, openlineage_file=tmp_path / "missing" / "lineage.jsonl")
    with pytest.raises(ol.LineageEmitError, match="WARRANT_OPENLINEAGE_FILE"):
        ol.emit(settings, sample_event())


class _Endpoint(BaseHTTPRequestHandler):
    status = 201
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append({"path": self.path, "event": json.loads(self.rfile.read(length))})
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"bad facet" if self.status >= 400 else b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, type[_Endpoint]]]:
    handler = type("Handler", (_Endpoint,), {"bodies": [], "status": 201})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def test_emit_posts_to_the_http_endpoint(tmp_path: Path, endpoint: tuple[str, type[_Endpoint]]) -> None:
    url, handler = endpoint
    where = ol.emit(Settings(home=tmp_path, openlineage_url=url), sample_event())
    assert where == f"sent to {url}/api/v1/lineage"
    [received] = handler.bodies
    assert received["path"] == "/api/v1/lineage"
    assert check_event(received["event"])["run"]["runId"] == ol.run_uuid("run:abc")


def test_an_endpoint_that_refuses_is_a_one_line_error(
    tmp_path: Path, endpoint: tuple[str, type[_Endpoint]]
) -> None:
    url, handler = endpoint
    handler.status = 400
    with pytest.raises(ol.LineageEmitError, match=r"refused the event \(HTTP 400\): bad facet"):
        ol.emit(Settings(home=tmp_path, openlineage_url=url), sample_event())


def test_an_unreachable_endpoint_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ol.LineageEmitError, match="unreachable") as caught:
        ol.emit(Settings(home=tmp_path, openlineage_url="http://127.0.0.1:9"), sample_event())
    assert "\n" not in str(caught.value)
