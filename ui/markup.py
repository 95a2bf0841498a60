"""Text for Streamlit's Markdown: escaping, the library's highlights, status colours and check badges.

Streamlit's Markdown reads `$` as maths, `:name:` as an emoji and `*`/`_` as emphasis, so every text
that came from data is escaped before it is shown. The library returns snippets as escaped HTML with
the searched terms in `<mark>`; they become Markdown highlights here, so no HTML is rendered at all.
"""

from __future__ import annotations

import html
import re
from typing import Any, Literal

_SPECIAL = re.compile(r"([\\`*_\[\]<>$:|~^])")
_LINE_START = re.compile(r"^(\s*)(\d+(?=[.)])|)([#+\-=.)])", re.MULTILINE)
_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)

STATUS_COLOURS = {
    "ON TRACK": "green",
    "AHEAD": "blue",
    "OVER PLAN": "orange",
    "NEAR FLAG": "yellow",
    "FLAGGED": "red",
}
"""The scorecard statuses of DOMAIN.md, in the colours of the HTML report."""

ADVERSE = {"OVER PLAN", "NEAR FLAG", "FLAGGED"}
STATE_COLOURS = {
    "draft": "gray",
    "pending_approval": "orange",
    "approved": "green",
    "rejected": "red",
    "executed": "blue",
    "verified": "green",
    "rolled_back": "violet",
}


def md(text: Any) -> str:
    """`text` shown literally in Markdown: the characters Markdown (and Streamlit's colour, emoji and
    maths syntax) would read, and whatever would open a heading or a list at the start of a line."""
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    return _LINE_START.sub(r"\1\2\\\3", escaped).replace("\n", "  \n")


def highlighted(snippet_html: str) -> str:
    """A library snippet (escaped HTML, terms in `<mark>`) as Markdown with the terms highlighted."""
    parts: list[str] = []
    last = 0
    for match in _MARK.finditer(snippet_html):
        parts.append(md(html.unescape(_strip(snippet_html[last : match.start()]))))
        term = html.unescape(_strip(match.group(1)))
        if term.strip():
            parts.append(f":orange-background[**{md(term)}**]")
        last = match.end()
    parts.append(md(html.unescape(_strip(snippet_html[last:]))))
    return "".join(parts)


def _strip(fragment: str) -> str:
    """Any tag other than `<mark>` (the library sends none; this keeps it that way)."""
    return re.sub(r"<[^>]*>", "", fragment)


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status.upper(), "gray")


def delta_colour(status: str) -> Literal["red", "green", "gray"]:
    """The colour of a tile's variance: red when the deviation is adverse for that metric, green when
    favourable beyond the threshold, grey otherwise. The direction comes from the status, so a CPL
    above plan is red and pipeline above plan is green."""
    status = status.upper()
    if status in ADVERSE:
        return "red"
    return "green" if status == "AHEAD" else "gray"


def check_badges(sample_size_ok: bool | None, confounders_ok: bool | None, actionable: bool | None) -> str:
    """The three checks of DOMAIN.md as coloured Markdown badges."""

    def badge(ok: bool | None, passed: str, failed: str) -> str:
        if ok is None:
            return f":gray-badge[{failed}: unchecked]"
        return f":green-badge[:material/check: {passed}]" if ok else f":red-badge[:material/close: {failed}]"

    return " ".join(
        [
            badge(sample_size_ok, "sample size", "sample size"),
            badge(confounders_ok, "no confounder", "confounder to confirm"),
            badge(actionable, "actionable", "not actionable"),
        ]
    )


def money(value: float | None, interval: dict[str, Any] | None = None) -> str:
    """`~USD 287,953 [174,692, 429,863]` (the report's currency is the sample's; the API names none)."""
    if value is None:
        return "not estimated"
    text = f"{value:,.0f}"
    if interval:
        text += f" [{interval['low']:,.0f}, {interval['high']:,.0f}]"
    return text


def estimate(found: dict[str, Any] | None, spec: str = ",.3g") -> str:
    """A diagnostics `Estimate` as the report prints it, or its reason for having no value."""
    if not found:
        return "not estimated"
    value = found.get("value")
    if not found.get("sufficient", True) or value is None:
        return str(found.get("note") or "insufficient data")
    text = format(value, spec)
    interval = found.get("interval")
    if interval:
        text += f" [{interval['low']:{spec}}, {interval['high']:{spec}}]"
    return text
