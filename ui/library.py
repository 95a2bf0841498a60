"""The Library screen: one search box over post-mortems, their findings and action items, with facets,
highlighted snippets, the follow-up of each post-mortem's action items, and similar post-mortems.

The facet lists come from the search's own counts (over every match, not just the page shown), so a
value offered always has hits; a value already chosen stays listed even when its count drops to zero,
so it can be cleared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from ui import navigation, session
from ui.client import Api
from ui.markup import highlighted, md

PAGE_SIZE = 10
FACETS = (
    # (API facet, client argument, widget key, label)
    ("channel", "channels", "lib_channel", "Channel"),
    ("category", "categories", "lib_category", "Failure category"),
    ("outcome", "outcomes", "lib_outcome", "Outcome"),
    ("status", "statuses", "lib_status", "Status"),
    ("tag", "tags", "lib_tag", "Tags"),
)
OUTCOME_COLOURS = {
    "ahead": "blue",
    "on_track": "green",
    "over_plan": "orange",
    "near_flag": "yellow",
    "flagged": "red",
}
"""The worst scorecard status of the money outcomes, in the scorecard's colours."""


def render() -> None:
    st.title("Library")
    api = session.api()
    text = st.text_input(
        "Search the library",
        key="lib_text",
        placeholder='words, "a phrase", AND / OR / NOT, prefix*  (empty: browse, newest first)',
    )
    left, right = st.columns([1, 3], gap="medium")
    query = _query_from_state()
    found = session.call(lambda: api.search(text, **query, page_size=PAGE_SIZE), "Search")
    with left:
        _filters((found or {}).get("facets", {}))
    with right:
        if found is not None:
            _results(api, found)


def _query_from_state() -> dict[str, Any]:
    """The filters as the widgets held them after the last run (the widgets are drawn after the
    search, because their options are the search's facet counts)."""
    state = st.session_state
    query: dict[str, Any] = {arg: list(state.get(key) or []) for _, arg, key, _ in FACETS}
    query["campaign"] = state.get("lib_campaign") or None
    query["date_from"] = state.get("lib_from")
    query["date_to"] = state.get("lib_to")
    if query["date_from"] and query["date_to"] and query["date_from"] > query["date_to"]:
        query["date_to"] = None  # the To picker says why below
    asked = repr((state.get("lib_text"), sorted(query.items())))
    if state.get("lib_asked") != asked:  # another search: back to its first page
        state["lib_asked"] = asked
        state["lib_page"] = 1
    query["page"] = int(state.get("lib_page") or 1)
    return query


def _filters(facets: dict[str, list[dict[str, Any]]]) -> None:
    st.subheader("Filters")
    for facet, _, key, label in FACETS:
        counts = {f["value"]: f["count"] for f in facets.get(facet, [])}
        chosen = [v for v in st.session_state.get(key) or [] if v not in counts]
        options = list(counts) + chosen
        st.multiselect(
            label,
            options,
            key=key,
            format_func=lambda v, counts=counts: f"{v} ({counts.get(v, 0)})",
            placeholder="any",
        )
    campaigns = {f["value"]: f["count"] for f in facets.get("campaign", [])}
    current = st.session_state.get("lib_campaign")
    options = [None, *campaigns, *([current] if current and current not in campaigns else [])]
    st.selectbox(
        "Campaign",
        options,
        key="lib_campaign",
        format_func=lambda v: "any" if v is None else f"{v} ({campaigns.get(v, 0)})",
    )
    st.date_input("Ran from", value=None, key="lib_from")
    st.date_input("Ran to", value=None, key="lib_to")
    st.caption("Campaigns that ran on or after 'Ran from' and on or before 'Ran to'.")
    start, end = st.session_state.get("lib_from"), st.session_state.get("lib_to")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
        st.warning("'Ran to' is before 'Ran from': it is ignored.")


def _results(api: Api, found: dict[str, Any]) -> None:
    total, pages = found.get("total", 0), max(1, found.get("pages", 1))
    st.caption(f"{total} post-mortem{'s' if total != 1 else ''} · page {found.get('page', 1)} of {pages} · "
               f"{found.get('took_ms', 0):.0f} ms")  # fmt: skip
    if not found.get("hits"):
        st.info("No post-mortem matches. Remove a filter or search for fewer words.")
    for i, hit in enumerate(found.get("hits", [])):
        _hit(api, i, hit)
    if pages > 1:
        st.number_input("Page", min_value=1, max_value=pages, step=1, key="lib_page")


def _hit(api: Api, i: int, hit: dict[str, Any]) -> None:
    with st.container(border=True):
        st.markdown(f"##### {highlighted(hit.get('title_html') or md(hit['title']))}")
        outcome = hit.get("outcome", "unknown")
        period = f"{hit.get('period_start') or '?'} to {hit.get('period_end') or '?'}"
        published = "green" if hit.get("status") == "published" else "gray"
        st.markdown(
            f":{OUTCOME_COLOURS.get(outcome, 'gray')}-badge[outcome: {md(outcome)}] "
            f":{published}-badge[{md(hit.get('status', 'draft'))}] "
            f"campaign **{md(hit.get('campaign') or '-')}** · {md(period)}"
        )
        facets = [
            ("channels", hit.get("channels")),
            ("failure categories", hit.get("categories")),
            ("tags", hit.get("tags")),
        ]
        st.caption(" · ".join(f"{name}: {', '.join(values)}" for name, values in facets if values))
        for snippet in hit.get("snippets", []):
            st.markdown(f"> {highlighted(snippet)}")
        for match in hit.get("matches", []):
            kind = "Finding" if match.get("label") == "Finding" else "Action item"
            extra = match.get("category") or match.get("status") or ""
            line = f"- **{kind}** {highlighted(match.get('title_html', ''))}"
            if extra:
                line += f" · {md(extra)}"
            if match.get("snippet_html"):
                line += f"  \n  {highlighted(match['snippet_html'])}"
            st.markdown(line)
        more = hit.get("match_count", 0) - len(hit.get("matches", []))
        if more > 0:
            st.caption(f"and {more} more matching findings or action items")
        _follow_up(hit.get("follow_up") or {})
        open_, similar, _ = st.columns([2, 2, 3])
        if open_.button("Open post-mortem", key=f"open_{i}", type="primary"):
            open_postmortem(hit["id"])
        showing = st.session_state.get("lib_similar_for") == hit["id"]
        if similar.button("Hide similar" if showing else "Show similar", key=f"similar_{i}"):
            st.session_state["lib_similar_for"] = None if showing else hit["id"]
            st.rerun()
        if showing:
            similar_list(api, hit["id"], key=f"lib_{i}")


def _follow_up(follow: dict[str, Any]) -> None:
    """How the post-mortem's action items were followed up: where they stand, and whether the
    expected effects came true."""
    total = follow.get("total", 0)
    if not total:
        st.caption("Follow-up: no action items")
        return
    done = follow.get("done", 0)
    parts = [f"{follow.get(k, 0)} {k.replace('_', ' ')}" for k in ("open", "in_progress", "done", "dropped")]
    judged = [f"{follow.get(k, 0)} {k}" for k in ("achieved", "missed", "undetermined") if follow.get(k)]
    text = f"Follow-up: {done} of {total} action items done ({', '.join(parts)})"
    if judged:
        text += "; expected effects: " + ", ".join(judged)
    st.progress(done / total, text=text)


def similar_list(api: Api, postmortem_id: str, *, key: str) -> None:
    """The post-mortems most like this one, and what each shares with it."""
    found = session.call(lambda: api.similar(postmortem_id), "Similar post-mortems")
    if found is None:
        return
    if not found:
        st.caption("No similar post-mortem: none shares a channel, a failure category or a significant term.")
        return
    for j, other in enumerate(found):
        text, button = st.columns([5, 1])
        text.markdown(
            f"**{md(other['title'])}** · {md(other.get('campaign', ''))} · "
            f"similarity {other['score']:.2f}  \n"
            f"{md(other.get('why', ''))}"
        )
        if button.button("Open similar", key=f"open_similar_{key}_{j}"):
            open_postmortem(other["id"])


def open_postmortem(postmortem_id: str) -> None:
    st.session_state[session.OPEN_POSTMORTEM] = postmortem_id
    st.switch_page(navigation.page_file(navigation.POSTMORTEM))
