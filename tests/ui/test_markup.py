"""Markdown from data: escaped so that `$`, `:name:` and `*` show as typed, the library's `<mark>`
highlights turned into Markdown highlights (no HTML rendered), and tile colours from the status."""

from __future__ import annotations

from ui.markup import delta_colour, estimate, highlighted, md


def test_data_is_shown_literally() -> None:
    assert md("paid_social costs $5 *now* :smile:") == r"paid\_social costs \$5 \*now\* \:smile\:"
    assert (
        md("- not a list\n# not a heading\n12. not a number")
        == "\\- not a list  \n\\# not a heading  \n12\\. not a number"
    )


def test_library_highlights_become_markdown() -> None:
    snippet = "The <mark>Nurture</mark> sequence&#x27;s <b>sends</b> &lt;script&gt;"
    assert highlighted(snippet) == "The :orange-background[**Nurture**] sequence's sends \\<script\\>"


def test_tile_colours_follow_whether_the_deviation_is_adverse() -> None:
    assert delta_colour("FLAGGED") == "red" and delta_colour("OVER PLAN") == "red"
    assert delta_colour("AHEAD") == "green"
    assert delta_colour("ON TRACK") == "gray" and delta_colour("no plan") == "gray"


def test_estimates_print_their_interval_or_their_reason() -> None:
    assert estimate({"value": 0.1234, "interval": {"low": 0.1, "high": 0.15}}, ".2f") == "0.12 [0.10, 0.15]"
    assert estimate({"value": None, "sufficient": False, "note": "insufficient data: 6 < 50"}) == (
        "insufficient data: 6 < 50"
    )
    assert estimate(None) == "not estimated"
