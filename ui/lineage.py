"""The Lineage screen (auditors): from any decision, finding or number back to its sources, or forward
to what it influenced, as the graph stood at any moment (what an approver saw), with node details,
tainted nodes in red, the audit chain's status and the audit events about the selected node.

The graph opens collapsed, one vertex per layer (node label) with its count, and layers expand on
demand (the "Expand layers" picker, or a click on a layer), so a trace of hundreds of nodes stays
readable.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from ui import graphview, session
from ui.client import Api
from ui.markup import md

QUERY = "lineage_query"
INPUT = "lineage_id_input"
EXPAND = "lineage_expand"
DETAIL = "lineage_detail"
CHART = "lineage_chart"
VERDICTS = {"approve": "approved", "approved": "approved", "reject": "rejected", "rejected": "rejected"}
DIRECTIONS = {"trace": "Back to its sources (trace)", "impact": "Forward to what it fed (impact)"}


def render() -> None:
    st.title("Lineage")
    api = session.api()
    _chain(api)
    _controls(api)
    query = st.session_state.get(QUERY)
    if not query:
        st.info("Pick a decision or type any node id (a finding, a snapshot, a source), then press Trace.")
        return
    _approval_moments(api)
    query = st.session_state[QUERY]
    as_of = query.get("as_of")
    lineage = session.call(lambda: api.lineage(query["id"], query["direction"], as_of), "Lineage")
    if lineage is None:
        return
    _graph(lineage, query)
    _details(api, lineage)


def _chain(api: Api) -> None:
    """The audit chain in one line: intact or where it breaks, its events, its verified checkpoints."""
    found = session.call(api.audit_verify, "Audit chain")
    if found is None:
        return
    checkpoints = found.get("checkpoints")
    counts = f"{found.get('events', 0)} events · " + (
        f"{checkpoints} signed checkpoints verified"
        if checkpoints is not None
        else "checkpoints not reported"
    )
    if found.get("ok"):
        st.markdown(f":green-badge[:material/link: audit chain intact] {counts}")
    else:
        st.markdown(f":red-badge[:material/link_off: audit chain broken] {counts}")
        st.error(
            f"The audit chain is broken at event {found.get('seq')}: {found.get('problem')}",
            icon=":material/link_off:",
        )


def _controls(api: Api) -> None:
    if session.LINEAGE_NODE in st.session_state:  # sent from another screen
        node = st.session_state.pop(session.LINEAGE_NODE)
        st.session_state[INPUT] = node
        st.session_state[QUERY] = {"id": node, "direction": "trace", "as_of": None}
    decisions = session.call(api.decisions, "Decisions") or []
    decisions.sort(key=lambda d: d.get("created_at", ""), reverse=True)
    titles = {
        d["id"]: f"{d.get('title') or d['id']} · {d.get('state', '')} · {d['id'].rsplit(':', 1)[-1]}"
        for d in decisions
    }

    def picked() -> None:
        if st.session_state.get("lineage_decision"):
            st.session_state[INPUT] = st.session_state["lineage_decision"]

    left, right = st.columns([1, 1])
    left.selectbox(
        "Start from a decision", list(titles), index=None, key="lineage_decision", format_func=titles.get,
        on_change=picked, placeholder="choose a decision",
    )  # fmt: skip
    right.text_input("Node id", key=INPUT, placeholder="decision:..., finding:..., source:...")
    direction_col, when_col = st.columns([1, 1])
    direction = direction_col.radio(
        "Direction", list(DIRECTIONS), format_func=DIRECTIONS.get, key="lineage_direction", horizontal=True
    )
    as_of = when_col.datetime_input(
        "As of (UTC)",
        value=None,
        key="lineage_as_of",
        format="YYYY-MM-DD",
    )
    when_col.caption("The graph as it stood then, e.g. what the approver was shown. Empty: now.")
    if st.button("Trace", key="lineage_go", type="primary"):
        node = (st.session_state.get(INPUT) or "").strip()
        if not node:
            st.error("Type a node id or pick a decision first.")
            return
        st.session_state[QUERY] = {"id": node, "direction": direction, "as_of": _utc(as_of)}
        st.session_state.pop(DETAIL, None)


def _approval_moments(api: Api) -> None:
    """For a traced decision: the moments its approvers decided, one click to see what they saw."""
    query = st.session_state.get(QUERY) or {}
    if not str(query.get("id", "")).startswith("decision:"):
        return
    events = session.call(lambda: api.audit_events(query["id"]), "Audit events") or []
    moments = [e for e in events if str(e.get("action", "")).rsplit(".", 1)[-1] in VERDICTS]
    if moments:
        st.caption("See the graph as it stood when each verdict was given:")
    for i, e in enumerate(sorted(moments, key=lambda e: e.get("seq", 0))):
        verdict = VERDICTS[e["action"].rsplit(".", 1)[-1]]
        who, at = e.get("actor") or e.get("by") or "?", e["at"][:19].replace("T", " ")
        label = f"As {who} saw it ({verdict} {at} UTC)"
        if st.button(label, key=f"lineage_moment_{i}"):
            moment = dt.datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
            st.session_state[QUERY] = {**query, "as_of": moment}
            st.rerun()


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _graph(lineage: dict[str, Any], query: dict[str, Any]) -> None:
    nodes = lineage.get("nodes", {})
    counts = graphview.layers(nodes)
    tainted = [i for i, n in nodes.items() if graphview.is_tainted(n)]
    when = f" as of {lineage['as_of']}" if lineage.get("as_of") else " now"
    what = "rests on" if query["direction"] == "trace" else "fed"
    st.subheader(f"What {graphview.name_of(lineage['root'], nodes.get(lineage['root'], {}))} {what}{when}")
    st.caption(
        f"{len(nodes)} nodes in {len(counts)} layers, {len(lineage.get('edges', []))} edges · "
        + ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
    )
    if tainted:
        st.warning(
            f"{len(tainted)} tainted node{'s' if len(tainted) != 1 else ''} in this graph (in red).",
            icon=":material/warning:",
        )
    st.session_state[EXPAND] = [label for label in st.session_state.get(EXPAND, []) if label in counts]
    expanded = st.multiselect(
        "Expand layers",
        sorted(counts),
        key=EXPAND,
        format_func=lambda label: f"{label} ({counts[label]})",
        placeholder="collapsed: one vertex per layer; choose layers to show their nodes",
    )
    view = graphview.collapse(lineage, expanded)
    st.altair_chart(
        graphview.chart(view, selected=st.session_state.get(DETAIL)),
        key=CHART,
        on_select=_clicked,
        selection_mode=graphview.SELECTION,
        width="stretch",
    )
    st.caption("Click a layer to expand it, a node to see its details. Red: tainted.")
    # Static tables here and below: their text is on the page (searchable, readable by assistive
    # technology), and long values wrap instead of scrolling sideways.
    st.table(
        [
            {
                "layer": v.label,
                "nodes": len(v.ids),
                "tainted": v.tainted,
                "shown as": "layer" if v.collapsed else v.title,
            }
            for v in sorted(view.vertices.values(), key=lambda v: (view.columns[v.key], v.label, v.title))
        ],
        hide_index=True,
        border="horizontal",
    )


def _clicked() -> None:
    """A click on the chart: a layer expands; a node becomes the one whose details show."""
    event = st.session_state.get(CHART) or {}
    picked = (event.get("selection") or {}).get(graphview.SELECTION) or []
    key = picked[0].get("key") if picked and isinstance(picked[0], dict) else None
    if not key:
        return
    if key.startswith(graphview.LAYER_PREFIX):
        label = key.removeprefix(graphview.LAYER_PREFIX)
        st.session_state[EXPAND] = sorted({*st.session_state.get(EXPAND, []), label})
    else:
        st.session_state[DETAIL] = key


def _details(api: Api, lineage: dict[str, Any]) -> None:
    nodes = lineage.get("nodes", {})
    order = sorted(nodes, key=lambda i: (graphview.label_of(nodes[i]), graphview.name_of(i, nodes[i]), i))
    if st.session_state.get(DETAIL) not in nodes:
        st.session_state[DETAIL] = lineage["root"] if lineage["root"] in nodes else order[0]
    st.subheader("Node details")
    chosen = st.selectbox(
        "Node",
        order,
        key=DETAIL,
        format_func=lambda i: (
            f"{graphview.label_of(nodes[i])}: {graphview.name_of(i, nodes[i])}"
            + (" (tainted)" if graphview.is_tainted(nodes[i]) else "")
        ),
    )
    node = nodes[chosen]
    props = graphview.properties(node)
    st.markdown(f"**{md(graphview.label_of(node))}** `{chosen}`")
    if props.get("tainted"):
        st.warning(
            f"Tainted by {props.get('tainted_by') or '?'} at {props.get('tainted_at') or '?'}: "
            f"{props.get('tainted_reason') or 'no reason recorded'}"
            + (f" (origin {props['taint_origin']})" if props.get("taint_origin") else ""),
            icon=":material/warning:",
        )
    shown = {
        k: v for k, v in props.items() if k not in ("search_text", "promise", "assumption_set", "params")
    }
    st.table([{"property": k, "value": str(v)} for k, v in sorted(shown.items())], hide_index=True)
    hidden = {k: props[k] for k in ("promise", "assumption_set", "params") if props.get(k)}
    if hidden:
        with st.expander("Recorded parameters"):
            st.json(hidden, expanded=False)
    if st.button("Re-centre on this node", key="lineage_refocus"):
        st.session_state[QUERY] = {**st.session_state[QUERY], "id": chosen}
        st.session_state[INPUT] = chosen
        st.rerun()
    _events(api, chosen)


def _events(api: Api, node_id: str) -> None:
    st.subheader("Audit events about this node")
    events = session.call(lambda: api.audit_events(node_id), "Audit events")
    if events is None:
        return
    if not events:
        st.caption("The audit chain records no event about this node.")
        return
    st.table(
        [
            {
                "seq": e.get("seq"),
                "at": (e.get("at") or "")[:19].replace("T", " "),
                "action": e.get("action"),
                "by": e.get("actor") or e.get("by"),
                "payload": _payload(e.get("payload") or {}),
                "hash": (e.get("hash") or "")[:12],
            }
            for e in events
        ],
        hide_index=True,
        border="horizontal",
    )


def _payload(payload: dict[str, Any], limit: int = 240) -> str:
    """An event's payload in one line (the promise, a JSON document of its own, left out)."""
    text = ", ".join(f"{k}={v}" for k, v in sorted(payload.items()) if k != "promise")
    return text if len(text) <= limit else text[: limit - 3] + "..."
