"""Small graphs for tests: an auditor's graph (two decisions resting on findings, a run, snapshots,
extracts, sources) and a world to decide on (`build_world`: findings of each kind of evidence).

src_meta <- ex_meta <-+
                      +- snap1 <- run1 -> mv1      f1, f2 -WAS_GENERATED_BY-> run1
src_crm  <- ex_crm  <-+                            d1 -JUSTIFIED_BY-> f1, f2;  d2 -> f2
src_ga   <- ex_ga   <- snap2 <- run2 <- f3 <- d3   (unrelated to the first chain)
"""

from __future__ import annotations

from governance import decisions
from graph.model import (
    Decision,
    DiagnosticRun,
    Extract,
    Finding,
    ModelVersion,
    QualityCheck,
    Rel,
    Snapshot,
    Source,
)
from graph.store import GraphStore

EDGES = [
    ("ex_meta", Rel.WAS_DERIVED_FROM, "src_meta"),
    ("ex_crm", Rel.WAS_DERIVED_FROM, "src_crm"),
    ("ex_ga", Rel.WAS_DERIVED_FROM, "src_ga"),
    ("snap1", Rel.WAS_DERIVED_FROM, "ex_meta"),
    ("snap1", Rel.WAS_DERIVED_FROM, "ex_crm"),
    ("snap2", Rel.WAS_DERIVED_FROM, "ex_ga"),
    ("run1", Rel.USED, "snap1"),
    ("run1", Rel.USED, "mv1"),
    ("run2", Rel.USED, "snap2"),
    ("f1", Rel.WAS_GENERATED_BY, "run1"),
    ("f2", Rel.WAS_GENERATED_BY, "run1"),
    ("f3", Rel.WAS_GENERATED_BY, "run2"),
    ("d1", Rel.JUSTIFIED_BY, "f1"),
    ("d1", Rel.JUSTIFIED_BY, "f2"),
    ("d2", Rel.JUSTIFIED_BY, "f2"),
    ("d3", Rel.JUSTIFIED_BY, "f3"),
]


def build_audit_graph(store: GraphStore) -> None:
    store.merge(
        [
            Source(id="src_meta", name="Meta Ads", kind="ad_platform"),
            Source(id="src_crm", name="HubSpot", kind="crm"),
            Source(id="src_ga", name="GA4", kind="web_analytics"),
            Extract(id="ex_meta", file="meta.csv", sha256="a" * 64, rows=120),
            Extract(id="ex_crm", file="deals.csv", sha256="b" * 64, rows=80),
            Extract(id="ex_ga", file="ga4.jsonl", sha256="c" * 64, rows=900),
            Snapshot(id="snap1", sha256="d" * 64, schema_version="1"),
            Snapshot(id="snap2", sha256="e" * 64, schema_version="1"),
            ModelVersion(id="mv1", name="attribution", model_version="3"),
            DiagnosticRun(id="run1", code_version="abc"),
            DiagnosticRun(id="run2", code_version="abc"),
            Finding(id="f1", title="MQL->SQL handoff broke", category="workflow"),
            Finding(id="f2", title="LinkedIn CPL 40% over plan", category="channel_mix"),
            Finding(id="f3", title="Landing page CVR fell", category="creative"),
            Decision(id="d1", kind="budget_reallocation", title="Move $20k to search", amount=20000),
            Decision(id="d2", kind="pause", title="Pause LinkedIn"),
            Decision(id="d3", kind="creative_change", title="New landing page"),
        ]
    )
    store.link(EDGES)


CHECKED = {"sample_size_ok": True, "confounders_ok": True, "actionable": True}


def build_world(graph: GraphStore) -> GraphStore:
    graph.merge(
        [
            Source(id="src", name="Meta Ads", kind="ad_platform"),
            Extract(id="ex", file="meta.csv", sha256="a" * 64, rows=10),
            Snapshot(id="snap", sha256="b" * 64, schema_version="1"),
            Snapshot(id="snap-bad", sha256="c" * 64, schema_version="1"),
            QualityCheck(id="qc-ok", name="completeness", result="pass"),
            QualityCheck(id="qc-bad", name="duplicates", result="fail", blocking=True),
            DiagnosticRun(id="run", code_version="x"),
            DiagnosticRun(id="run-bad", code_version="x"),
            Finding(id="f-ok", title="Social MQLs stall", **CHECKED),
            Finding(
                id="f-hyp",
                title="Tuesdays convert worse",
                sample_size_ok=True,
                confounders_ok=True,
                actionable=False,
            ),
            Finding(
                id="f-drift", title="Search CPC rose", drifted=True, drift_reason="ctr drifted", **CHECKED
            ),
            Finding(id="f-gate", title="Rests on a failed gate", **CHECKED),
        ]
    )
    graph.link(
        [
            ("ex", Rel.WAS_DERIVED_FROM, "src"),
            ("snap", Rel.WAS_DERIVED_FROM, "ex"),
            ("snap-bad", Rel.WAS_DERIVED_FROM, "ex"),
            ("qc-ok", Rel.ABOUT, "snap"),
            ("qc-bad", Rel.ABOUT, "snap-bad"),
            ("run", Rel.USED, "snap"),
            ("run-bad", Rel.USED, "snap-bad"),
            ("f-ok", Rel.WAS_GENERATED_BY, "run"),
            ("f-hyp", Rel.WAS_GENERATED_BY, "run"),
            ("f-drift", Rel.WAS_GENERATED_BY, "run"),
            ("f-gate", Rel.WAS_GENERATED_BY, "run-bad"),
        ]
    )
    decisions.add_person(graph, "ann", "Ann Analyst", ["analyst"])
    decisions.add_person(graph, "lee", "Lee Lead", ["governance_lead"])
    decisions.add_person(graph, "kim", "Kim Lead", ["governance_lead"])
    decisions.add_person(graph, "aud", "Avi Auditor", ["auditor"])
    return graph
