"""The lineage graph's folding and layout (pure functions): one vertex per layer with its count and
taint, links counted between vertices, layers expanded on demand, columns by distance from the root,
and a chart Vega-Lite accepts."""

from __future__ import annotations

from typing import Any

from ui import graphview


def _lineage() -> dict[str, Any]:
    def node(label: str, **props: Any) -> dict[str, Any]:
        return {"label": label, "properties": props}

    return {
        "root": "decision:d",
        "nodes": {
            "decision:d": node("Decision", title="Move budget"),
            "finding:a": node("Finding", title="A"),
            "finding:b": node("Finding", title="B", tainted=True),
            "run:r": node("DiagnosticRun"),
            "extract:1": node("Extract", file="ads.csv"),
            "extract:2": node("Extract", file="crm.csv"),
            "source:s": node("Source", name="HubSpot"),
        },
        "edges": [
            ["decision:d", "JUSTIFIED_BY", "finding:a"],
            ["decision:d", "JUSTIFIED_BY", "finding:b"],
            ["finding:a", "WAS_GENERATED_BY", "run:r"],
            ["finding:b", "WAS_GENERATED_BY", "run:r"],
            ["run:r", "USED", "extract:1"],
            ["run:r", "USED", "extract:2"],
            ["extract:1", "WAS_DERIVED_FROM", "source:s"],
            ["extract:2", "WAS_DERIVED_FROM", "source:s"],
        ],
    }


def test_collapsed_one_vertex_per_layer_with_counts_and_taint() -> None:
    view = graphview.collapse(_lineage())
    assert set(view.vertices) == {
        f"layer:{x}" for x in ("Decision", "Finding", "DiagnosticRun", "Extract", "Source")
    }
    findings = view.vertices["layer:Finding"]
    assert (len(findings.ids), findings.tainted, findings.collapsed) == (2, 1, True)
    assert view.vertices["layer:Decision"].root
    assert view.links[("layer:Decision", "JUSTIFIED_BY", "layer:Finding")] == 2
    assert view.links[("layer:DiagnosticRun", "USED", "layer:Extract")] == 2
    assert view.columns == {
        "layer:Decision": 0,
        "layer:Finding": 1,
        "layer:DiagnosticRun": 2,
        "layer:Extract": 3,
        "layer:Source": 4,
    }


def test_an_expanded_layer_shows_its_nodes_by_name() -> None:
    view = graphview.collapse(_lineage(), ["Extract"])
    assert {"extract:1", "extract:2", "layer:Source"} <= set(view.vertices)
    assert [view.vertices[k].title for k in ("extract:1", "extract:2")] == ["ads.csv", "crm.csv"]
    assert view.links[("extract:1", "WAS_DERIVED_FROM", "layer:Source")] == 1
    rows = graphview.positions(view)
    assert rows["extract:1"] == (3.0, -0.5) and rows["extract:2"] == (3.0, 0.5)  # stacked, centred


def test_the_chart_is_valid_vega_lite_with_a_click_selection() -> None:
    spec = graphview.chart(graphview.collapse(_lineage()), selected="layer:Finding").to_dict()
    assert [p["name"] for p in spec["params"]] == [graphview.SELECTION]  # Altair lifts it to the top
    points = next(layer["data"]["values"] for layer in spec["layer"] if layer.get("name"))  # the vertices
    assert {p["key"]: p["state"] for p in points}["layer:Finding"] == "tainted"
    assert {p["key"]: p["text"] for p in points}["layer:Extract"] == "Extract (2)"


def test_names_prefer_title_name_or_file_and_shorten_long_ids() -> None:
    assert graphview.name_of("x", {"label": "Source", "properties": {"name": "HubSpot"}}) == "HubSpot"
    long = "snapshot:" + "a" * 64
    assert graphview.name_of(long, {"label": "Snapshot", "properties": {}}) == long[:18] + "..." + long[-18:]
