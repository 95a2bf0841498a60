"""The Library: one search box with highlighted snippets, facets that narrow the hits, the follow-up of
each post-mortem's action items, similar post-mortems, and "Open post-mortem" leading to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.ui.conftest import UiDemo, texts


def test_search_highlights_and_facets_narrow(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    at = ui("analyst")
    with demo.http("analyst") as http:  # a replay (another test) adds a post-mortem with the same text
        total = http.get("/v1/library/search", params={"text": "nurture"}).json()["total"]
    at.text_input(key="lib_text").input("nurture").run()
    shown = texts(at)
    assert f"{total} post-mortem{'s' if total != 1 else ''} ·" in shown
    assert ":orange-background[**Nurture**] sequence stopped for 13 days" in shown  # snippet, term marked
    assert "**Finding** The :orange-background[**Nurture**]" in shown  # the matching finding
    assert "**Action item** Monitor the :orange-background[**Nurture**]" in shown
    assert "outcome: flagged" in shown
    follow = [p for p in at.progress]
    assert (
        follow and follow[0].value == 0 and "Follow-up: 0 of 5 action items done" in str(follow[0].proto.text)
    )

    channels = at.multiselect(key="lib_channel")
    assert f"paid_social ({total})" in channels.options  # facet values with their counts
    channels.select("paid_social").run()
    assert f"{total} post-mortem" in texts(at)
    at.date_input(key="lib_from").set_value(dt.date(2027, 1, 1)).run()  # after the campaign ran
    assert "0 post-mortems ·" in texts(at) and "No post-mortem matches" in texts(at)
    at.date_input(key="lib_from").set_value(None).run()
    assert f"{total} post-mortem" in texts(at)


def test_a_bad_query_shows_the_api_reason(ui: Callable[..., AppTest]) -> None:
    at = ui("analyst")
    at.text_input(key="lib_text").input('"unclosed phrase').run()
    errors = [e.value for e in at.error]
    assert errors and errors[0].startswith("Search: search text") and "not valid search syntax" in errors[0]


def test_open_leads_to_the_post_mortem_and_similar_is_explained(
    ui: Callable[..., AppTest], demo: UiDemo
) -> None:
    at = ui("auditor")
    with demo.http("auditor") as http:  # browsing: newest first
        first = http.get("/v1/library/search").json()["hits"][0]["id"]
    at.button(key="similar_0").click().run()
    assert "No similar post-mortem" in texts(at) or "similarity" in texts(at)  # the demo holds one
    at.button(key="open_0").click().run()
    assert not at.exception
    assert at.title[0].value == "Post-mortem"
    assert at.selectbox(key="pm_picker").value == first
    assert "Findings (14)" in texts(at)  # (its figures may be missing: another test removes a replay's)
