"""Propose a decision from a post-mortem's findings (analysts), and follow one's own decisions.

A proposal names its kind, a title and the findings that justify it; a budget reallocation also names
the channels and the amount, and the API prices it on the run's response curves. Only findings that
passed the three checks can back a budget change (DOMAIN.md): hypotheses are marked in the picker, and
the policies refuse them at approval, with the reason shown on the Approvals screen. A proposal is
drafted and, unless the analyst unticks it, submitted for approval in the same click.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import session
from ui.client import Api, ApiError
from ui.markup import STATE_COLOURS, md

KINDS = ("budget_reallocation", "pause", "creative_change", "audience_change", "process_change")
FLASH = "prop_flash"
GENERATION = "prop_generation"


def key(name: str) -> str:
    """A form field's widget key: a new generation after each proposal gives the analyst empty
    fields (deleting widget state is not enough: the browser sends its values back on the rerun)."""
    return f"prop_{name}_{st.session_state.get(GENERATION, 0)}"


def render(api: Api, view: dict[str, Any], data: dict[str, Any] | None) -> None:
    st.subheader("Propose a decision")
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    found = view.get("findings", [])
    if not found:
        st.caption("This post-mortem has no findings to justify a decision.")
        return
    titles = {f["id"]: _finding_title(f) for f in found}
    left, right = st.columns([1, 2])
    kind = left.selectbox("Kind", KINDS, key="prop_kind", format_func=lambda k: k.replace("_", " "))
    title = right.text_input(
        "Title",
        key=key("title"),
        max_chars=300,
        placeholder="e.g. Move 5,000 from paid social to paid search",
    )
    chosen = st.multiselect(
        "Justifying findings",
        list(titles),
        key=key("findings"),
        select_all=False,  # evidence is chosen finding by finding, never wholesale
        format_func=titles.get,
    )
    st.caption("Findings that failed a check are marked (hypothesis): they cannot back a budget change.")
    fields: dict[str, Any] = {}
    if kind == "budget_reallocation":
        channels = _channels(view, data)
        a, b, c = st.columns(3)
        fields["from_channel"] = a.selectbox(
            "From channel", channels, key=key("from"), index=None, placeholder="channel"
        )
        fields["to_channel"] = b.selectbox(
            "To channel", channels, key=key("to"), index=None, placeholder="channel"
        )
        fields["amount"] = c.number_input(
            "Amount", min_value=0.0, step=500.0, key=key("amount"), format="%.0f"
        )
        fields["period_days"] = st.number_input(
            "Over how many days", min_value=1, max_value=3650, value=28, key=key("days")
        )
    rationale = st.text_area("Rationale", key=key("rationale"), max_chars=5000)
    submit = st.checkbox("Submit for approval now", value=True, key="prop_submit")
    if st.button("Propose decision", key="prop_go", type="primary"):
        _propose(api, kind, title, chosen, fields, rationale, submit)
    _mine(api)


def _finding_title(f: dict[str, Any]) -> str:
    passed = f.get("sample_size_ok") and f.get("confounders_ok") and f.get("actionable")
    return f"{'' if passed else '(hypothesis) '}{f.get('title') or f['id']}"


def _channels(view: dict[str, Any], data: dict[str, Any] | None) -> list[str]:
    rows = (data or {}).get("channel_rows") or []
    names = [str(r[0]) for r in rows if r]
    return (
        names
        or sorted({f.get("subject_channel", "") for f in view.get("findings", [])} - {""})
        or ["paid_search", "paid_social"]
    )


def _propose(
    api: Api, kind: str, title: str, chosen: list[str], fields: dict[str, Any], rationale: str, submit: bool
) -> None:
    if not title.strip() or not chosen:
        st.error("A decision needs a title and at least one justifying finding.")
        return
    if kind == "budget_reallocation" and (
        not fields.get("from_channel") or not fields.get("to_channel") or not fields.get("amount")
    ):
        st.error("A budget reallocation needs a from channel, a to channel and an amount above zero.")
        return
    try:
        made = api.propose(kind=kind, title=title.strip(), findings=chosen, rationale=rationale, **fields)
    except ApiError as exc:
        session.show_error(exc, "Not proposed")
        return
    message = f"Proposed {made['id']} (draft)."
    if submit:
        try:
            api.act(
                made["id"], "submit", f'"{made["version"]}"', comment="submitted from the post-mortem screen"
            )
            message = f"Proposed {made['id']} and submitted it for approval."
        except ApiError as exc:
            session.show_error(exc, f"Proposed {made['id']} as a draft, but not submitted")
            return
    st.session_state[FLASH] = message
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    st.rerun()


def _mine(api: Api) -> None:
    """The caller's own decisions and where they stand; a draft can be submitted from here."""
    who = (session.me() or {}).get("person")
    listed = session.call(api.decisions, "Decisions")
    mine = [d for d in listed or [] if d.get("proposer") == who]
    if not mine:
        return
    st.subheader("Your decisions")
    for i, d in enumerate(sorted(mine, key=lambda d: d.get("created_at", ""), reverse=True)):
        text, button = st.columns([5, 1])
        state = d.get("state", "draft")
        text.markdown(
            f":{STATE_COLOURS.get(state, 'gray')}-badge[{md(state.replace('_', ' '))}] "
            f"**{md(d.get('title', ''))}** · {md(d.get('kind', '').replace('_', ' '))}  \n"
            f":small[{md(d['id'])}]"
        )
        if state == "draft" and button.button("Submit", key=f"prop_submit_{i}", help="Submit for approval"):
            try:
                api.act(d["id"], "submit", f'"{d["version"]}"')
            except ApiError as exc:
                session.show_error(exc, "Not submitted")
                return
            st.session_state[FLASH] = f"Submitted {d['id']} for approval."
            st.rerun()
