"""The action plan: wins to replicate, the worst underperformance, the action items with their owner,
due date, status and expected impact, and what to test next time.

Owners, due dates and statuses are read from the graph (they change after the run); analysts edit
them here, through the API, which refuses "the team" as an owner (DOMAIN.md: a named person, never the
team) and says why. Other roles see the plan without edit controls.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from ui import session
from ui.client import Api, ApiError
from ui.findings import graph_id, money_text
from ui.markup import estimate, md

STATUSES = ("open", "in_progress", "done", "dropped")
FLASH = "ai_flash"


def render(api: Api, view: dict[str, Any], data: dict[str, Any] | None, *, editable: bool) -> None:
    plan = (data or {}).get("actions") or {}
    _wins_and_problems(plan)
    st.subheader("Action items")
    items = view.get("action_items", [])
    if not items:
        st.caption("This post-mortem has no action items.")
        return
    planned = {}
    for item in plan.get("items", []):
        found = graph_id(item["id"], view["id"], [i["id"] for i in items])
        if found:
            planned[found] = item
    priced = {f["id"] for f in (data or {}).get("findings", []) if f.get("money_impact")}
    rows = []
    for n, item in enumerate(items, start=1):
        from_run = planned.get(item["id"], {})
        rows.append(
            {
                "#": n,
                "action": item.get("title", ""),
                "owner": item.get("owner") or f"(to name: {from_run.get('owner_role') or 'a person'})",
                "due": item.get("due") or "(to set)",
                "status": item.get("status", "open"),
                "expected impact": _impact(from_run, priced),
                "outcome": item.get("outcome") or "",
            }
        )
    if not any(r["outcome"] for r in rows):
        for r in rows:
            del r["outcome"]
    st.table(rows, border="horizontal", hide_index=True)  # static: long titles wrap, nothing scrolls sideways
    missing = [r for r in rows if r["owner"].startswith("(to name") or r["due"] == "(to set)"]
    if missing:
        st.caption(
            f"{len(missing)} of {len(rows)} action items still need a named owner and a due date before "
            "the post-mortem can be published."
        )
    if editable:
        _editor(api, items)
    later = plan.get("to_test_next_time") or []
    if later:
        st.subheader("To test next time")
        st.markdown("\n".join(f"- {md(f['title'])}" for f in later))


def _wins_and_problems(plan: dict[str, Any]) -> None:
    wins, problems = plan.get("wins") or [], plan.get("underperformance") or []
    if not wins and not problems:
        return
    left, right = st.columns(2)
    with left:
        st.subheader("Wins to replicate")
        st.markdown("\n".join(f"- {md(f['title'])}" for f in wins) or "None found.")
    with right:
        st.subheader("Underperformance")
        st.markdown(
            "\n".join(
                f"- {md(f['title'])}"
                + (f" ({md(money_text(f['money_impact']))})" if f.get("money_impact") else "")
                for f in problems
            )
            or "None found."
        )


def _editor(api: Api, items: list[dict[str, Any]]) -> None:
    """Name an owner and a due date, or move an item along open, in progress, done (or dropped)."""
    st.subheader("Edit an action item")
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    titles = {item["id"]: f"{n}. {item.get('title') or item['id']}" for n, item in enumerate(items, start=1)}
    chosen = st.selectbox("Action item", list(titles), format_func=titles.get, key="ai_pick")
    n = list(titles).index(chosen)
    item = items[n]
    owner_col, due_col, status_col = st.columns([2, 1, 1])
    owner = owner_col.text_input(
        "Owner",
        value=item.get("owner") or "",
        key=f"ai_owner_{n}",
        placeholder="a named person, never 'the team'",
    )
    due = due_col.date_input(
        "Due",
        value=_date(item.get("due")),
        min_value=dt.date(2000, 1, 1),
        key=f"ai_due_{n}",
        format="YYYY-MM-DD",
    )
    status = status_col.selectbox(
        "Status",
        STATUSES,
        index=STATUSES.index(item.get("status", "open")) if item.get("status") in STATUSES else 0,
        key=f"ai_status_{n}",
        format_func=lambda s: s.replace("_", " "),
    )
    if not st.button("Save action item", key="ai_save", type="primary"):
        return
    owner = owner.strip()
    assign = owner != (item.get("owner") or "") or (due.isoformat() if due else None) != item.get("due")
    try:
        if assign:
            if not owner or due is None:
                st.error("Name an owner and pick a due date: an action item needs both.")
                return
            api.assign(item["id"], owner, due)
        if status != item.get("status", "open"):
            api.set_status(item["id"], status)
    except ApiError as exc:
        session.show_error(exc, "Not saved")
        return
    if not assign and status == item.get("status", "open"):
        st.info("Nothing changed.")
        return
    st.session_state[FLASH] = f"Saved: {item.get('title') or item['id']}"
    st.rerun()


def _impact(planned: dict[str, Any], priced: set[str]) -> str:
    """Money when the finding behind the item was priced; otherwise the effect size it expects to move
    (a rate is not money, so it keeps its own precision)."""
    expected = planned.get("expected_impact")
    if not expected:
        return "not estimated"
    if planned.get("finding_id") in priced:
        return money_text(expected)
    return f"effect {estimate(expected)}"


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None
