"""A trace as W3C PROV-JSON, read back with the `prov` package (the reference Python implementation)."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import unquote

import pytest
from prov.model import ProvActivity, ProvAgent, ProvDocument, ProvEntity, ProvRelation

from graph.lineage import Lineage
from registry.prov import local_name, prov_json, qualified_id
from tests.unit.test_openlineage import sample_lineage

# PROV-N's PN_LOCAL: letters, digits, '_', ':' or %XX first; then also '-' and '.'; never '.' last.
PN_LOCAL = re.compile(r"^([A-Za-z0-9_:]|%[0-9A-F]{2})([A-Za-z0-9_:.\-]|%[0-9A-F]{2})*(?<!\.)$")
ELEMENTS = {ProvEntity: "entity", ProvActivity: "activity", ProvAgent: "agent"}


def load(doc: dict[str, Any]) -> ProvDocument:
    return ProvDocument.deserialize(content=json.dumps(doc), format="json")


def elements_by_warrant_id(document: ProvDocument) -> dict[str, list[str]]:
    """Warrant id -> the kinds of element that carry it (a node must be exactly one)."""
    found: dict[str, list[str]] = {}
    for record in document.get_records():
        kind = next((k for cls, k in ELEMENTS.items() if isinstance(record, cls)), None)
        if kind:
            [warrant_id] = [str(v) for k, v in record.attributes if k.localpart == "id"]
            found.setdefault(warrant_id, []).append(kind)
    return found


def relation_counts(document: ProvDocument) -> Counter[str]:
    return Counter(type(r).__name__ for r in document.get_records() if isinstance(r, ProvRelation))


@pytest.mark.parametrize(
    "node_id", ["run:abc", "finding:0a1b:scorecard/cpl", "9" * 64, "-lead", "trail.", "tab\tand space é"]
)
def test_ids_become_valid_local_names_and_come_back(node_id: str) -> None:
    name = local_name(node_id)
    assert PN_LOCAL.match(name), name
    assert unquote(name) == node_id
    assert qualified_id(node_id) == f"warrant:{name}"


def test_every_node_is_one_element_and_every_edge_one_relation() -> None:
    lineage = sample_lineage()
    for node in lineage.nodes.values():
        node["properties"]["created_by"] = "cli:root"
    document = load(prov_json(lineage))

    kinds = elements_by_warrant_id(document)
    assert {i: k for i, k in kinds.items() if i in lineage.nodes} == {
        "decision:d1": ["entity"],
        "finding:abc:f1": ["entity"],
        "finding:abc:f2": ["entity"],
        "run:abc": ["activity"],
        "model:scorecard:3": ["agent"],
        "model:fatigue:1": ["agent"],
        "9" + "a" * 63: ["entity"],
        "extract:ee": ["entity"],
        "source:meta": ["entity"],
    }
    assert kinds["cli:root"] == ["agent"]  # the created_by actor, one agent however many it made
    assert set(kinds) == {*lineage.nodes, "cli:root"}

    # Edges: 2 JUSTIFIED_BY + 2 derivations, 2 generations, 1 usage, USED of a model = association.
    # created_by: 6 entities attributed, the run associated; model versions (agents) are not.
    assert relation_counts(document) == {
        "ProvDerivation": 4,
        "ProvGeneration": 2,
        "ProvUsage": 1,
        "ProvAssociation": 3,
        "ProvAttribution": 6,
    }
    edges = sum(relation_counts(document).values()) - 7
    assert edges == len(lineage.edges)


def test_types_labels_and_properties_travel() -> None:
    doc = prov_json(sample_lineage())
    assert doc["prefix"]["prov"] == "http://www.w3.org/ns/prov#"
    run = doc["activity"]["warrant:run%3Aabc"]
    assert run["warrant:id"] == "run:abc" and run["warrant:mlflow_run_id"] == "mlf123"
    assert {t["$"] for t in run["prov:type"]} == {"warrant:DiagnosticRun"}
    model = doc["agent"]["warrant:model%3Ascorecard%3A3"]
    assert {t["$"] for t in model["prov:type"]} == {"warrant:ModelVersion", "prov:SoftwareAgent"}
    finding = doc["entity"]["warrant:finding%3Aabc%3Af1"]
    assert finding["prov:label"] == "Landing CVR fell" and finding["warrant:category"] == "creative"
    [justified] = [
        r
        for r in doc["wasDerivedFrom"].values()
        if r["prov:usedEntity"] == "warrant:finding%3Aabc%3Af1" and r["warrant:rel"] == "JUSTIFIED_BY"
    ]
    assert justified["prov:generatedEntity"] == "warrant:decision%3Ad1"
    assert "wasAttributedTo" not in doc  # nobody is named as creator in the hand-built trace


def test_a_created_by_that_names_a_person_in_the_trace_is_that_person() -> None:
    lineage = Lineage(
        "finding:f",
        "upstream",
        None,
        {
            "finding:f": {"label": "Finding", "properties": {"title": "t", "created_by": "person:ana"}},
            "person:ana": {"label": "Person", "properties": {"name": "Ana"}},
        },
        [],
    )
    doc = prov_json(lineage)
    assert list(doc["agent"]) == ["warrant:person%3Aana"]
    [attribution] = doc["wasAttributedTo"].values()
    assert attribution["prov:agent"] == "warrant:person%3Aana"
    assert elements_by_warrant_id(load(doc)) == {"finding:f": ["entity"], "person:ana": ["agent"]}
