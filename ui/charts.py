"""The post-mortem's charts in Altair, drawn from the report's data (the same numbers the HTML report
draws as SVG). Pure functions from API data to charts, so a test can check them without a browser.

Charts take their container's width (`st.altair_chart` stretches them); the heights set here are the
whole canvas, axes and legend included (that is how Streamlit sizes it), so they allow for both.
"""

from __future__ import annotations

from typing import Any

import altair as alt

ROW = 26  # pixels per bar row


def funnel(stages: list[dict[str, Any]]) -> alt.Chart:
    """Stage conversion rates: this campaign against its historical baseline, stage by stage."""
    rows = []
    for order, stage in enumerate(stages):
        for series, value in (("baseline", stage.get("baseline")), ("this campaign", stage.get("current"))):
            if value is not None:
                rows.append(
                    {
                        "stage": stage["stage"],
                        "order": order,
                        "series": series,
                        "rate": value,
                        "label": stage["label"],
                    }
                )
    order = [s["stage"] for s in stages]
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("stage:N", sort=order, title=None),
            yOffset=alt.YOffset("series:N", sort=["baseline", "this campaign"]),
            x=alt.X("rate:Q", axis=alt.Axis(format="%"), title="conversion from the previous stage"),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=["baseline", "this campaign"], range=["#b0bec5", "#1565c0"]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            tooltip=[
                alt.Tooltip("stage:N"),
                alt.Tooltip("series:N"),
                alt.Tooltip("rate:Q", format=".1%"),
                alt.Tooltip("label:N", title="with intervals"),
            ],
        )
        .properties(height=max(160, 2 * ROW * len(stages) + 90))
    )


def attribution(models: list[str], shares: dict[str, list[float]]) -> alt.LayerChart:
    """Each channel's share of conversions under each attribution model, one row per channel: the
    spread of the dots is the models' disagreement (last touch against multi-touch is itself a
    finding when it is wide)."""
    rows = [
        {"channel": channel, "model": models[i] if i < len(models) else f"model {i + 1}", "share": value}
        for channel, values in sorted(shares.items())
        for i, value in enumerate(values)
    ]
    spread = [
        {"channel": channel, "low": min(values), "high": max(values)}
        for channel, values in sorted(shares.items())
        if values
    ]
    y = alt.Y("channel:N", title=None, sort=sorted(shares))
    share = alt.Axis(format="%")
    rules = (
        alt.Chart(alt.Data(values=spread))
        .mark_rule(color="#b0bec5", strokeWidth=6, opacity=0.6)
        .encode(y=y, x=alt.X("low:Q", axis=share, title="share of conversions"), x2="high:Q")
    )
    dots = (
        alt.Chart(alt.Data(values=rows))
        .mark_circle(size=110, opacity=0.9)
        .encode(
            y=y,
            x=alt.X("share:Q", axis=share),
            color=alt.Color(
                "model:N", sort=models, legend=alt.Legend(orient="bottom", title=None, columns=4)
            ),
            tooltip=[alt.Tooltip("channel:N"), alt.Tooltip("model:N"), alt.Tooltip("share:Q", format=".1%")],
        )
    )
    return alt.layer(rules, dots).properties(height=max(200, 2 * ROW * len(shares) + 90))


def waterfall(bars: list[dict[str, Any]]) -> alt.Chart:
    """The driver decomposition as a waterfall: each contribution starts where the previous ended,
    and the last bar is the total change (mix and rate effects add up exactly)."""
    rows = []
    running = 0.0
    for order, bar in enumerate(bars):
        start, end = running, running + bar["value"]
        rows.append(
            {
                "label": bar["label"],
                "order": order,
                "start": start,
                "end": end,
                "value": bar["value"],
                "kind": "up" if bar["value"] >= 0 else "down",
            }
        )
        running = end
    rows.append(
        {
            "label": "total",
            "order": len(bars),
            "start": 0.0,
            "end": running,
            "value": running,
            "kind": "total",
        }
    )
    order = [r["label"] for r in rows]
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
            x=alt.X("start:Q", title="contribution to the change"),
            x2="end:Q",
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["up", "down", "total"], range=["#2e7d32", "#c62828", "#546e7a"]),
                legend=None,
            ),
            tooltip=[alt.Tooltip("label:N"), alt.Tooltip("value:Q", format="+.4g")],
        )
        .properties(height=max(160, 2 * ROW * len(rows) + 50))
    )
