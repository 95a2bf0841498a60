"""A post-mortem's findings: each with its label (finding or hypothesis), failure category, money
impact, statement, the three checks of DOMAIN.md as badges with their notes, the graph's taint and
drift marks, and the evidence rows behind its numbers.

The run's findings (report data) carry the checks' notes and the evidence; the graph's copies carry
the taint and drift marks, under ids prefixed with the run (`finding:<run>:<id>`), which is how the
two are matched here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import navigation, session
from ui.markup import check_badges, estimate, md

LABEL_COLOURS = {"finding": "green", "hypothesis": "gray", "unchecked": "gray"}


def graph_id(report_id: str, postmortem_id: str, graph_ids: list[str]) -> str | None:
    """The graph's id of a run's finding or action item: `finding:<run>:<id>` for finding `<id>`,
    `action:<run>:<id>` for action item `action:<id>` (`<run>` ends the post-mortem's id)."""
    run = postmortem_id.rsplit(":", 1)[-1]
    if report_id.startswith("action:"):
        wanted = f"action:{run}:{report_id.removeprefix('action:')}"
    else:
        wanted = f"finding:{run}:{report_id}"
    if wanted in graph_ids or report_id in graph_ids:
        return wanted if wanted in graph_ids else report_id
    tail = ":" + wanted.split(":", 2)[2]
    return next((g for g in graph_ids if g.endswith(tail)), None)


def money_text(found: dict[str, Any] | None) -> str:
    return estimate(found, ",.0f")


def label_of(checks: dict[str, Any] | None) -> str:
    if not checks:
        return "unchecked"
    passed = (
        checks.get("sample_size_ok") and checks.get("confounders_ok", True) and checks.get("actionable", True)
    )
    return "finding" if passed else "hypothesis"


def render(view: dict[str, Any], data: dict[str, Any] | None) -> None:
    stored = {f["id"]: f for f in view.get("findings", [])}
    rows = data.get("findings", []) if data else []
    if not rows:  # no report data: the graph's findings, with their check results but no notes
        rows = [
            {
                "id": f["id"],
                "title": f.get("title", ""),
                "statement": f.get("statement", ""),
                "category": f.get("category", ""),
                "kind": f.get("kind", ""),
                "checks": {
                    "sample_size_ok": f.get("sample_size_ok"),
                    "confounders_ok": f.get("confounders_ok"),
                    "actionable": f.get("actionable"),
                },
            }
            for f in stored.values()
        ]
    counts = {"finding": 0, "hypothesis": 0, "unchecked": 0}
    for row in rows:
        counts[label_of(row.get("checks"))] += 1
    st.subheader(f"Findings ({len(rows)})")
    st.caption(
        f"{counts['finding']} pass the three checks (sample size, confounders, actionability) and can back a "
        f"decision; {counts['hypothesis']} are hypotheses to test, which cannot back a budget change."
    )
    for i, row in enumerate(rows):
        node = stored.get(graph_id(row["id"], view["id"], list(stored)) or "", {})
        _finding(i, row, node)


def _finding(i: int, row: dict[str, Any], node: dict[str, Any]) -> None:
    checks = row.get("checks") or {}
    label = label_of(checks)
    with st.container(border=True):
        category = md(row.get("category") or "uncategorised")
        head = (
            f":{LABEL_COLOURS[label]}-badge[{label}] :violet-badge[{category}] **{md(row.get('title', ''))}**"
        )
        if row.get("money_impact"):
            head += f" · money impact **{md(money_text(row['money_impact']))}**"
        st.markdown(head)
        st.markdown(md(row.get("statement", "")))
        st.markdown(
            check_badges(checks.get("sample_size_ok"), checks.get("confounders_ok"), checks.get("actionable"))
        )
        notes = [checks.get("sample_size_note") or ""]
        notes += [f"confounder to confirm: {c}" for c in checks.get("confounders") or []]
        if checks.get("actionable") is False:
            notes.append("nobody can change this: on the 'to test next time' list")
        notes = [n for n in notes if n]
        if notes:
            st.caption(" · ".join(notes))
        if node.get("tainted"):  # data marks, not failures of the screen: badges, not error boxes
            origin = f" (from {md(node['taint_origin'])})" if node.get("taint_origin") else ""
            reason = md(node.get("tainted_reason") or "a source it rests on was marked bad")
            st.markdown(f":red-badge[:material/warning: tainted] {reason}{origin}")
        if node.get("drifted"):
            st.markdown(
                ":orange-badge[:material/warning: model drifted] its model version is marked for drift"
            )
        evidence = row.get("evidence") or []
        if evidence:
            with st.expander(f"Evidence ({', '.join(e['name'] for e in evidence)})"):
                for table in evidence:
                    st.caption(table["name"])
                    st.dataframe(
                        [dict(zip(table["columns"], r, strict=False)) for r in table["rows"]],
                        hide_index=True,
                        width="stretch",
                    )
        footer, trace = st.columns([5, 1])
        footer.caption(f"finding {node.get('id') or row['id']}")
        may_trace = bool(node.get("id")) and navigation.LINEAGE in navigation.pages_for(session.roles())
        if may_trace and trace.button("Trace finding", key=f"trace_finding_{i}"):
            open_lineage(node["id"])


def open_lineage(node_id: str) -> None:
    st.session_state[session.LINEAGE_NODE] = node_id
    st.session_state["lineage_id_input"] = node_id
    st.switch_page(navigation.page_file(navigation.LINEAGE))
