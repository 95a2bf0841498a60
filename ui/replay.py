"""Replay a post-mortem under other assumptions or models, and compare two post-mortems of one
campaign finding by finding, with the assumption or model changes that explain each difference."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import session
from ui.client import Api, ApiError
from ui.markup import md

RESULT = "replay_result"


def render(api: Api, view: dict[str, Any], *, may_replay: bool) -> None:
    postmortem_id = view["id"]
    if view.get("overrides") or view.get("models"):
        with st.expander("This run's assumptions and models"):
            st.json({"overrides": view.get("overrides", {}), "models": view.get("models", {})}, expanded=True)
    if may_replay:
        _replay(api, postmortem_id)
    _compare(api, view)


def _replay(api: Api, postmortem_id: str) -> None:
    st.subheader("Replay")
    sets = st.text_area(
        "Assumption changes",
        key="replay_sets",
        placeholder="attribution_window_days=7\nconfidence=0.9",
    )
    st.caption("One KEY=VALUE per line; the replay uses the same snapshots.")
    models = st.text_input(
        "Model changes", key="replay_models", placeholder="warrant-fatigue@challenger (optional)"
    )
    if st.button("Replay", key="replay_go"):
        lines = [line.strip() for line in sets.splitlines() if line.strip()]
        chosen = [m.strip() for m in models.split(",") if m.strip()]
        if not lines and not chosen:
            st.error(
                "Change at least one assumption or model: a replay with the same inputs is the same run."
            )
            return
        with st.spinner("Replaying the post-mortem (this re-runs every analysis)..."):
            try:
                done = api.replay(postmortem_id, lines, chosen)
            except ApiError as exc:
                session.show_error(exc, "Not replayed")
                return
        st.session_state[RESULT] = (postmortem_id, done)
    kept = st.session_state.get(RESULT)
    if kept and kept[0] == postmortem_id:
        run = kept[1].get("run", {})
        st.success(f"Replayed as {run.get('postmortem_id', '?')}.", icon=":material/replay:")
        show_diff(kept[1].get("diff") or {})


def _compare(api: Api, view: dict[str, Any]) -> None:
    st.subheader("Compare with another post-mortem of this campaign")
    campaign = view.get("campaign_id")
    others = session.call(lambda: api.postmortems(campaign), "Post-mortems") if campaign else []
    others = [p for p in others or [] if p["id"] != view["id"]]
    if not others:
        st.caption("No other post-mortem of this campaign yet (a replay makes one).")
        return
    titles = {p["id"]: f"{p['id']} · {p.get('created_at', '')[:16].replace('T', ' ')}" for p in others}
    against = st.selectbox("Compare with", list(titles), format_func=titles.get, key="diff_against")
    if st.button("Compare", key="diff_go"):
        found = session.call(lambda: api.diff(view["id"], against), "Diff")
        if found is not None:
            show_diff(found)


def show_diff(diff: dict[str, Any]) -> None:
    """A `ReplayDiff`: what changed in the inputs, then finding by finding, then the scorecard."""
    changed = [
        f"assumption `{k}`: {md(a)} -> {md(b)}"
        for k, (a, b) in sorted(diff.get("assumptions_changed", {}).items())
    ]
    changed += [
        f"model `{k}`: {md(a)} -> {md(b)}" for k, (a, b) in sorted(diff.get("models_changed", {}).items())
    ]
    st.markdown("**Inputs changed**  \n" + ("  \n".join(changed) if changed else "none"))
    rows = [
        {
            "change": c.get("change"),
            "finding": c.get("title"),
            "effect before": c.get("effect_before"),
            "effect after": c.get("effect_after"),
            "fields": ", ".join(c.get("fields", [])),
            "caused by": ", ".join(c.get("causes", [])),
        }
        for c in diff.get("findings", [])
    ]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(f"{len(rows)} findings changed, {diff.get('unchanged', 0)} unchanged.")
    if not diff.get("scorecard_compared", True):
        st.caption("Scorecard not compared (the original run has no MLflow record).")
    elif diff.get("scorecard_changed"):
        st.dataframe(
            [
                {"metric": m, "before": b, "after": a}
                for m, (b, a) in sorted(diff["scorecard_changed"].items())
            ],
            hide_index=True,
        )
    else:
        st.caption("Scorecard unchanged.")
