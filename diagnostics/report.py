"""The post-mortem as one self-contained HTML file: read offline before the meeting, printed cleanly.

No script, no font, no image is fetched: styles are inline, charts are inline SVG drawn here. Every
text that came from data is escaped. Numbers arrive already formatted with their intervals (or
"insufficient data"), and every callout names the finding id and the evidence table behind it, so
a reader can go from a sentence to its rows.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from diagnostics.actions import ActionItem, ActionPlan
from diagnostics.findings import Evidence, Finding

_STATUS_COLOUR = {
    "ON TRACK": "#2e7d32",
    "AHEAD": "#1565c0",
    "OVER PLAN": "#ef6c00",
    "NEAR FLAG": "#f9a825",
    "FLAGGED": "#c62828",
}


class Tile(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    actual: str
    plan: str
    variance: str
    status: str
    note: str = ""


class FunnelStage(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str
    current: float | None  # conversion rate from the previous stage
    baseline: float | None
    label: str  # formatted, with intervals


class Bar(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    value: float


class ReportData(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    subtitle: str
    assumptions: list[str] = Field(default_factory=list)
    tiles: list[Tile] = Field(default_factory=list)
    funnel: list[FunnelStage] = Field(default_factory=list)
    channel_columns: list[str] = Field(default_factory=list)
    channel_rows: list[list[str]] = Field(default_factory=list)
    creative_columns: list[str] = Field(default_factory=list)
    creative_rows: list[list[str]] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    attribution_models: list[str] = Field(default_factory=list)
    attribution: dict[str, list[float]] = Field(default_factory=dict)  # channel -> share per model
    waterfall_title: str = ""
    waterfall: list[Bar] = Field(default_factory=list)
    actions: ActionPlan = ActionPlan()
    data_quality: list[str] = Field(default_factory=list)


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
body{
  font:14px/1.45 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d2329;margin:2rem auto;
  max-width:1100px;padding:0 1rem}
h1{font-size:1.6rem;margin:0}
h2{font-size:1.15rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
.sub{color:#57606a;margin:.2rem 0 1rem}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.6rem}
.tile{
  border:1px solid #d0d7de;border-left:6px solid var(--c);border-radius:6px;padding:.5rem .7rem;
  break-inside:avoid}
.tile .m{font-weight:600}
.tile .s{color:var(--c);font-weight:700;font-size:.8rem}
.tile .d{color:#57606a;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{border-bottom:1px solid #e5e9ee;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.callout{
  border:1px solid #d0d7de;border-left:6px solid #c62828;border-radius:6px;padding:.6rem .8rem;
  margin:.6rem 0;break-inside:avoid}
.callout.win{border-left-color:#2e7d32}
.callout.hypothesis{border-left-color:#9e9e9e;background:#fafafa}
.tag{
  display:inline-block;font-size:.75rem;border:1px solid #d0d7de;border-radius:10px;
  padding:0 .45rem;margin-right:.3rem;color:#57606a}
.money{font-weight:700}
table.evidence{margin-top:.4rem;font-size:.8rem}
.small{font-size:.8rem;color:#57606a}
svg text{font-size:11px;fill:#1d2329}
@media print{
  body{margin:0;max-width:none}h2{break-after:avoid}.callout,.tile,table{break-inside:avoid}}
"""


def render(data: ReportData) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(data.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(data.title)}</h1><p class='sub'>{e(data.subtitle)}</p>",
        _tiles(data.tiles),
        _funnel(data.funnel),
        _callouts(data.findings),
        _table("Channels", data.channel_columns, data.channel_rows),
        _table("Creatives", data.creative_columns, data.creative_rows),
        _attribution(data.attribution_models, data.attribution),
        _waterfall(data.waterfall_title, data.waterfall),
        _actions(data.actions, {f.id for f in data.findings if f.money_impact}),
        _list("Data quality", data.data_quality),
        _list("Assumptions used", data.assumptions),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _tiles(tiles: Sequence[Tile]) -> str:
    if not tiles:
        return ""
    cells = "".join(
        f"<div class='tile' style='--c:{_STATUS_COLOUR.get(t.status, '#57606a')}'>"
        f"<div class='m'>{e(t.metric)}</div><div>{e(t.actual)}</div>"
        f"<div class='d'>plan {e(t.plan)} · {e(t.variance)}</div><div class='s'>{e(t.status)}</div>"
        + (f"<div class='small'>{e(t.note)}</div>" if t.note else "")
        + "</div>"
        for t in tiles
    )
    return f"<h2>KPI scorecard</h2><div class='tiles'>{cells}</div>"


def _funnel(stages: Sequence[FunnelStage]) -> str:
    if not stages:
        return ""
    width, row = 760, 26
    top = max([s.current or 0 for s in stages] + [s.baseline or 0 for s in stages] + [1e-9])
    bars = []
    for i, s in enumerate(stages):
        y = i * row + 4
        for offset, value, colour in ((0, s.baseline, "#b0bec5"), (10, s.current, "#1565c0")):
            if value is not None:
                length = 420 * value / top
                bars.append(
                    f"<rect x='160' y='{y + offset}' width='{length:.1f}' height='9' fill='{colour}'/>"
                )
        bars.append(f"<text x='0' y='{y + 14}'>{e(s.stage)}</text>")
        bars.append(f"<text x='590' y='{y + 14}'>{e(s.label)}</text>")
    height = row * len(stages) + 8
    legend = "<p class='small'>grey: historical baseline · blue: this campaign (stage conversion rates)</p>"
    svg = f"<svg role='img' aria-label='funnel' width='{width}' height='{height}'>{''.join(bars)}</svg>"
    return f"<h2>Funnel</h2>{svg}{legend}"


def _callouts(findings: Sequence[Finding]) -> str:
    if not findings:
        return ""
    blocks = []
    for f in findings:
        kind = "win" if f.direction == "win" else ("hypothesis" if f.label == "hypothesis" else "")
        money = (
            f" <span class='money'>{e(f.money_impact.format(',.0f'))}</span>"
            if f.money_impact is not None
            else ""
        )
        checks = ""
        if f.checks is not None:
            notes = [f.checks.sample_size_note, *[f"confounder: {c}" for c in f.checks.confounders]]
            checks = "<div class='small'>" + " · ".join(e(n) for n in notes) + "</div>"
        evidence = ", ".join(e(ev.name) for ev in f.evidence)
        blocks.append(
            f"<div class='callout {kind}'><span class='tag'>{e(f.label)}</span>"
            f"<span class='tag'>{e(f.category)}</span><b>{e(f.title)}</b>{money}"
            f"<div>{e(f.statement)}</div>{checks}"
            f"<div class='small'>finding {e(f.id)}"
            + (f" · evidence: {evidence}" if evidence else "")
            + "</div>"
            + "".join(_evidence(ev) for ev in f.evidence)
            + "</div>"
        )
    return "<h2>Findings</h2>" + "".join(blocks)


def _evidence(evidence: Evidence, limit: int = 12) -> str:
    """The rows behind a finding, inline, so the report stands alone (at most `limit` rows)."""
    if not evidence.rows:
        return ""
    head = "".join(f"<th>{e(c)}</th>" for c in evidence.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in evidence.rows[:limit]
    )
    more = len(evidence.rows) - limit
    note = f"<div class='small'>{more} more rows in the stored finding</div>" if more > 0 else ""
    return (
        f"<table class='evidence' aria-label='{e(evidence.name)}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    )


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<h2>{e(title)}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _attribution(models: Sequence[str], shares: dict[str, list[float]]) -> str:
    if not shares:
        return ""
    palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#5d4037"]
    group = 14 * len(models) + 16
    width = 160 + 440
    bars = []
    for i, (channel, values) in enumerate(sorted(shares.items())):
        y = i * group + 4
        bars.append(f"<text x='0' y='{y + group / 2}'>{e(channel)}</text>")
        for j, value in enumerate(values):
            length = 400 * max(0.0, value)
            colour = palette[j % len(palette)]
            bars.append(f"<rect x='160' y='{y + j * 14}' width='{length:.1f}' height='11' fill='{colour}'/>")
            bars.append(f"<text x='{165 + length:.1f}' y='{y + j * 14 + 10}'>{value:.0%}</text>")
    legend = " · ".join(
        f"<span style='color:{palette[j % len(palette)]}'>■</span> {e(m)}" for j, m in enumerate(models)
    )
    height = group * len(shares) + 8
    svg = f"<svg role='img' aria-label='attribution' width='{width}' height='{height}'>{''.join(bars)}</svg>"
    return f"<h2>Attribution: share of conversions by model</h2><p class='small'>{legend}</p>{svg}"


def _waterfall(title: str, bars: Sequence[Bar]) -> str:
    if not bars:
        return ""
    scale = 300 / max(max(abs(b.value) for b in bars), 1e-12)
    height, row = 26 * len(bars) + 8, 26
    zero = 460
    parts = [f"<line x1='{zero}' y1='0' x2='{zero}' y2='{height}' stroke='#8c959f'/>"]
    for i, b in enumerate(bars):
        y = i * row + 4
        length = b.value * scale
        x = zero if length >= 0 else zero + length
        colour = "#2e7d32" if length >= 0 else "#c62828"
        parts.append(f"<rect x='{x:.1f}' y='{y}' width='{abs(length):.1f}' height='16' fill='{colour}'/>")
        parts.append(f"<text x='0' y='{y + 12}'>{e(b.label)}</text>")
        parts.append(f"<text x='{zero + 310}' y='{y + 12}'>{b.value:+.4g}</text>")
    svg = f"<svg role='img' aria-label='drivers' width='860' height='{height}'>{''.join(parts)}</svg>"
    return f"<h2>Drivers: {e(title)}</h2>{svg}"


def _impact(item: ActionItem, priced: set[str]) -> str:
    """Money where the finding was priced; otherwise the effect size it expects to move, which a
    money format would round to 0 (a rate of 0.12 is not 0 dollars)."""
    if item.expected_impact is None:
        return "not estimated"
    if item.finding_id in priced:
        return item.expected_impact.format(",.0f")
    return "effect " + item.expected_impact.format(".3g")


def _actions(plan: ActionPlan, priced: set[str]) -> str:
    if not plan.items and not plan.wins:
        return ""
    wins = "".join(f"<li>{e(f.title)}: {e(f.statement)}</li>" for f in plan.wins) or "<li>none found</li>"
    rows = [
        [
            str(i + 1),
            item.title,
            _impact(item, priced),
            item.owner or f"(to name: {item.owner_role or 'owner'})",
            item.due.isoformat() if item.due else "(to set)",
        ]
        for i, item in enumerate(plan.items)
    ]
    table = _table("Action items", ["#", "action", "expected impact", "owner", "due"], rows)
    later = "".join(f"<li>{e(f.title)}</li>" for f in plan.to_test_next_time)
    return f"<h2>Action plan</h2><h3>Wins to replicate</h3><ul>{wins}</ul>{table}" + (
        f"<h3>To test next time</h3><ul>{later}</ul>" if later else ""
    )


def _list(title: str, items: Sequence[str]) -> str:
    if not items:
        return ""
    return f"<h2>{e(title)}</h2><ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"
