"""The Approvals screen (governance leads): the queue, each decision with its evidence, what the
policies would say in plain language, approve or reject with a comment, and the reason when refused.

The verdicts shown before the click are the API's preview (`GET /decisions/{id}/verdicts`); the one
that counts is taken with the action, on the version the lead saw (`If-Match`), and a refusal shows
the API's detail verbatim: which policy refused and why. Buttons stay enabled when the preview says no,
so the lead can still ask and read the authoritative answer.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from ui import navigation, session
from ui.client import Api, ApiError, Decision
from ui.findings import open_lineage
from ui.markup import STATE_COLOURS, check_badges, estimate, md

STATES = ("pending_approval", "approved", "rejected", "draft", "executed", "verified", "rolled_back")
FLASH = "approvals_flash"


def render() -> None:
    st.title("Approvals")
    api = session.api()
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    state = st.selectbox(
        "Show decisions",
        (*STATES, None),
        key="appr_state",
        format_func=lambda s: (
            "all"
            if s is None
            else ("waiting for approval" if s == "pending_approval" else s.replace("_", " "))
        ),
    )
    listed = session.call(lambda: api.decisions(state), "Decisions")
    if listed is None:
        return
    if not listed:
        st.info(
            "The queue is empty: no decision waits for approval."
            if state == "pending_approval"
            else "No decision."
        )
        return
    listed.sort(key=lambda d: d.get("created_at", ""), reverse=True)
    st.dataframe(
        [
            {
                "decision": d.get("title", ""),
                "kind": d.get("kind", "").replace("_", " "),
                "state": d.get("state", ""),
                "amount": f"{d['amount']:,.0f}" if d.get("amount") is not None else "",
                "proposer": d.get("proposer", ""),
                "proposed": (d.get("created_at") or "")[:16].replace("T", " "),
            }
            for d in listed
        ],
        hide_index=True,
        width="stretch",
    )
    # The id's last part (a hash) keeps two decisions with one title apart.
    titles = {
        d["id"]: f"{d.get('title') or d['id']} · {d.get('proposer', '')} · {d['id'].rsplit(':', 1)[-1]}"
        for d in listed
    }
    chosen = st.selectbox("Decision to review", list(titles), format_func=titles.get, key="appr_pick")
    found = session.call(lambda: api.decision(chosen), "Decision")
    if found is not None:
        _review(api, found)


def _review(api: Api, found: Decision) -> None:
    d = found.decision
    state = d.get("state", "")
    with st.container(border=True):
        st.subheader(md(d.get("title", "")))
        st.markdown(
            f":{STATE_COLOURS.get(state, 'gray')}-badge[{md(state.replace('_', ' '))}] "
            f"**{md(d.get('kind', '').replace('_', ' '))}** proposed by **{md(d.get('proposer', ''))}** · "
            f"{md((d.get('created_at') or '')[:16].replace('T', ' '))} · version {d.get('version')}"
        )
        _money(d)
        if d.get("rationale"):
            st.markdown(f"**Rationale:** {md(d['rationale'])}")
        if d.get("tainted"):
            reason = md(d.get("tainted_reason") or "its evidence rests on a bad source")
            st.markdown(f":red-badge[:material/warning: tainted] {reason}")
        _evidence(found.findings)
        _approvals(found.approvals)
    _decide(api, found)
    may_trace = navigation.LINEAGE in navigation.pages_for(session.roles())
    if may_trace and st.button("Trace decision", key="appr_trace"):
        open_lineage(d["id"])


def _money(d: dict[str, Any]) -> None:
    if d.get("kind") != "budget_reallocation":
        return
    source, target = md(d.get("from_channel") or "?"), md(d.get("to_channel") or "?")
    line = f"Move **{d.get('amount') or 0:,.0f}** from **{source}** to **{target}**"
    if d.get("period_days"):
        line += f" over {d['period_days']} days"
    if d.get("budget_share_bp") is not None:
        line += f" ({d['budget_share_bp'] / 100:.1f}% of the source channel's budget)"
    st.markdown(line)
    if d.get("promise"):
        try:
            promise = json.loads(d["promise"])
        except ValueError:
            promise = {}
        if promise:
            st.markdown(
                f"The response curves expect **{md(estimate(promise.get('expected_before')))}** a day "
                f"before and **{md(estimate(promise.get('expected_after')))}** after "
                f"({promise.get('confidence', 0.95):.0%} intervals)."
            )
    elif d.get("promise_note"):
        st.caption(f"No promise: {d['promise_note']}")


def _evidence(findings: list[dict[str, Any]]) -> None:
    st.markdown(f"**Evidence: {len(findings)} justifying finding{'s' if len(findings) != 1 else ''}**")
    for f in findings:
        marks = check_badges(f.get("sample_size_ok"), f.get("confounders_ok"), f.get("actionable"))
        if f.get("tainted"):
            marks += " :red-badge[tainted]"
        if f.get("drifted"):
            marks += " :orange-badge[model drifted]"
        st.markdown(f"- **{md(f.get('title', f['id']))}** ({md(f.get('category', ''))})  \n  {marks}")


def _approvals(approvals: list[dict[str, Any]]) -> None:
    if not approvals:
        st.caption("No approval or rejection yet.")
        return
    st.markdown("**Verdicts so far**")
    for a in approvals:
        st.markdown(
            f"- **{md(a.get('verdict', ''))}** by {md(a.get('by', ''))} "
            f"at {md((a.get('created_at') or '')[:16])}"
            + (f': "{md(a["comment"])}"' if a.get("comment") else "")
            + (f"  \n  {md(a['reason'])}" if a.get("reason") else "")
        )


def _decide(api: Api, found: Decision) -> None:
    d = found.decision
    verdicts = _verdicts(api, d["id"])
    if verdicts:
        st.markdown("**What the policies say if you act now**")
        for action in ("approve", "reject"):
            v = verdicts.get(action)
            if v is None:
                continue
            reasons = " ".join(v.get("reasons", [])) or "no reason given"
            policies = f" ({', '.join(v['policies'])})" if v.get("policies") else ""
            answer = "allowed" if v.get("allowed") else "not allowed"
            text = f"**{action.title()}:** {answer}. {md(reasons)}{md(policies)}"
            (st.success if v.get("allowed") else st.warning)(text)
    if not navigation.may_decide(session.roles()):
        st.caption("Read-only: only governance leads approve or reject.")
        return
    comment = st.text_area("Comment", key=f"appr_comment_{d['id']}", max_chars=5000)
    action = None
    with st.container(horizontal=True):
        if st.button("Approve", key="appr_approve", type="primary"):
            action = "approve"
        if st.button("Reject", key="appr_reject"):
            action = "reject"
    if action is None:
        return
    try:
        done = api.act(d["id"], action, found.etag, comment)
    except ApiError as exc:
        if exc.status == 412:
            st.error(f"Refused: {exc.detail}. Someone acted on it since you opened it; it has been reloaded.")
        else:
            st.error(f"Refused: {exc.detail}", icon=":material/block:")
        return
    verb = "Approved" if action == "approve" else "Rejected"
    st.session_state[FLASH] = f"{verb} {d['id']}: {done.get('reason') or 'done'}"
    st.rerun()


def _verdicts(api: Api, decision_id: str) -> dict[str, Any] | None:
    try:
        return dict(api.verdicts(decision_id).get("verdicts", {}))
    except ApiError as exc:
        if exc.status == 404 and "verdicts" not in exc.detail and "decision" not in exc.detail.lower():
            st.caption("The API gives no policy preview (GET /v1/decisions/{id}/verdicts is missing).")
        else:
            session.show_error(exc, "Policy preview")
        return None
