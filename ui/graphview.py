"""A lineage subgraph made readable: collapsed to one vertex per layer (node label) with counts, and
expanded layer by layer on demand, so a trace of hundreds of nodes still fits a screen.

Pure functions from the API's `LineageView` (nodes by id with their label and properties, edges as
`[source, relationship, target]`) to vertices, links and positions, and from those to an Altair chart.
Layers are laid out as columns by their distance from the root (the root on the left, the sources or
the decisions it fed on the right); a tainted node, or a layer holding one, is drawn in red.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import altair as alt

_NAME_KEYS = ("title", "name", "file", "table", "metric", "kind")
LAYER_PREFIX = "layer:"
SELECTION = "pick"


@dataclass
class Vertex:
    key: str  # a node id, or "layer:<Label>" for a collapsed layer
    label: str
    title: str
    ids: list[str]
    tainted: int = 0
    root: bool = False

    @property
    def collapsed(self) -> bool:
        return self.key.startswith(LAYER_PREFIX)


@dataclass
class View:
    vertices: dict[str, Vertex] = field(default_factory=dict)
    links: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (src, rel, dst) -> edges
    columns: dict[str, int] = field(default_factory=dict)  # vertex key -> column


def label_of(node: dict[str, Any]) -> str:
    return str(node.get("label") or "Node")


def properties(node: dict[str, Any]) -> dict[str, Any]:
    """A node's properties, whether the API nests them (`properties`) or not."""
    inner = node.get("properties")
    return dict(inner) if isinstance(inner, dict) else {k: v for k, v in node.items() if k != "label"}


def is_tainted(node: dict[str, Any]) -> bool:
    return bool(properties(node).get("tainted"))


def name_of(node_id: str, node: dict[str, Any]) -> str:
    """What a person calls the node: its title, name or file (a snapshot: its table and source; a
    model: its name and version), else its id."""
    props = properties(node)
    if props.get("table") and props.get("source"):
        return f"{props['table']} from {props['source']}"
    if props.get("model_version") and props.get("name"):
        return f"{props['name']} v{props['model_version']}"
    for key in _NAME_KEYS:
        value = props.get(key)
        if value:
            text = str(value)
            return text if len(text) <= 60 else text[:57] + "..."
    return node_id if len(node_id) <= 40 else node_id[:18] + "..." + node_id[-18:]


def layers(nodes: dict[str, dict[str, Any]]) -> Counter[str]:
    """How many nodes each layer (label) holds."""
    return Counter(label_of(n) for n in nodes.values())


def collapse(lineage: dict[str, Any], expanded: Iterable[str] = ()) -> View:
    """The vertices and links to draw: every layer not in `expanded` folded into one vertex."""
    nodes: dict[str, dict[str, Any]] = lineage.get("nodes", {})
    root = lineage.get("root", "")
    open_layers = set(expanded)
    view = View()
    owner: dict[str, str] = {}
    for node_id in sorted(nodes, key=lambda i: (label_of(nodes[i]), name_of(i, nodes[i]), i)):
        node = nodes[node_id]
        label = label_of(node)
        if label in open_layers:
            key = node_id
            vertex = view.vertices[key] = Vertex(key, label, name_of(node_id, node), [], root=node_id == root)
        else:
            key = LAYER_PREFIX + label
            vertex = view.vertices.setdefault(key, Vertex(key, label, label, []))
            vertex.root = vertex.root or node_id == root
        vertex.ids.append(node_id)
        vertex.tainted += is_tainted(node)
        owner[node_id] = key
    for src, rel, dst in lineage.get("edges", []):
        a, b = owner.get(src), owner.get(dst)
        if a and b and a != b:
            view.links[(a, rel, b)] += 1
    view.columns = _columns(view, owner.get(root))
    return view


def _columns(view: View, root: str | None) -> dict[str, int]:
    """Breadth-first distance from the root, ignoring edge direction; unreachable vertices last."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, _, b in view.links:
        neighbours[a].add(b)
        neighbours[b].add(a)
    depth: dict[str, int] = {}
    if root is not None:
        depth[root] = 0
        queue = deque([root])
        while queue:
            here = queue.popleft()
            for there in sorted(neighbours[here]):
                if there not in depth:
                    depth[there] = depth[here] + 1
                    queue.append(there)
    last = max(depth.values(), default=-1) + 1
    return {key: depth.get(key, last) for key in view.vertices}


def positions(view: View) -> dict[str, tuple[float, float]]:
    """(column, row) per vertex: each column's vertices stacked and centred on the root's row."""
    by_column: dict[int, list[str]] = defaultdict(list)
    for key, column in view.columns.items():
        by_column[column].append(key)
    placed = {}
    for column, keys in by_column.items():
        keys.sort(key=lambda k: (view.vertices[k].label, view.vertices[k].title, k))
        middle = (len(keys) - 1) / 2
        for row, key in enumerate(keys):
            placed[key] = (float(column), row - middle)
    return placed


def chart(view: View, *, selected: str | None = None) -> alt.LayerChart:
    """Vertices (size by count, red when tainted) and their links, with a click selection on vertices."""
    placed = positions(view)
    points = []
    for key, vertex in view.vertices.items():
        x, y = placed[key]
        count = len(vertex.ids)
        text = f"{vertex.label} ({count})" if vertex.collapsed else f"{vertex.label}: {vertex.title}"
        points.append(
            {
                "key": key,
                "x": x,
                "y": y,
                "text": text if len(text) <= 42 else text[:39] + "...",
                "label": vertex.label,
                "count": count,
                "state": "tainted" if vertex.tainted else ("root" if vertex.root else "clean"),
                "tainted": vertex.tainted,
                "selected": key == selected,
                "hint": "click to expand this layer" if vertex.collapsed else "click for details",
            }
        )
    lines = []
    for (a, rel, b), count in sorted(view.links.items()):
        (x1, y1), (x2, y2) = placed[a], placed[b]
        lines.append(
            {
                "x": x1,
                "y": y1,
                "x2": x2,
                "y2": y2,
                "mx": (x1 + x2) / 2,
                "my": (y1 + y2) / 2,
                "rel": f"{rel} x{count}" if count > 1 else rel,
            }
        )
    width = max(placed.values(), key=lambda p: p[0], default=(0.0, 0.0))[0]
    tallest = max(
        (sum(1 for p in placed.values() if p[0] == c) for c in {p[0] for p in placed.values()}), default=1
    )
    x_scale = alt.Scale(domain=[-0.5, width + 0.7])
    y_scale = alt.Scale(domain=[-(tallest / 2) - 0.5, tallest / 2 + 0.5])
    x = alt.X("x:Q", axis=None, scale=x_scale)
    y = alt.Y("y:Q", axis=None, scale=y_scale)
    edges = (
        alt.Chart(alt.Data(values=lines))
        .mark_rule(color="#8c959f", opacity=0.6)
        .encode(x=x, y=y, x2="x2:Q", y2="y2:Q")
    )
    pick = alt.selection_point(name=SELECTION, fields=["key"], on="click")
    dots = (
        alt.Chart(alt.Data(values=points))
        .mark_circle(opacity=0.95, stroke="#1d2329")
        .encode(
            x=x,
            y=y,
            size=alt.Size("count:Q", scale=alt.Scale(range=[180, 1400]), legend=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=["root", "clean", "tainted"], range=["#1d2329", "#1565c0", "#c62828"]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            strokeWidth=alt.condition("datum.selected", alt.value(3), alt.value(0)),
            tooltip=[
                alt.Tooltip("text:N", title="node"),
                alt.Tooltip("count:Q", title="nodes"),
                alt.Tooltip("tainted:Q", title="tainted"),
                alt.Tooltip("hint:N", title=" "),
            ],
        )
        .add_params(pick)
    )
    labels = (
        alt.Chart(alt.Data(values=points))
        .mark_text(align="center", baseline="top", dy=14, fontSize=11)
        .encode(
            x=x,
            y=y,
            text="text:N",
            color=alt.condition("datum.tainted > 0", alt.value("#c62828"), alt.value("#1d2329")),
        )
    )
    layers_ = [edges, dots, labels]
    if len(lines) <= 30:  # beyond that, relationship names are noise
        layers_.insert(
            1,
            alt.Chart(alt.Data(values=lines))
            .mark_text(fontSize=9, color="#57606a", dy=-6)
            .encode(
                x=alt.X("mx:Q", axis=None, scale=x_scale),
                y=alt.Y("my:Q", axis=None, scale=y_scale),
                text="rel:N",
            ),
        )
    return alt.layer(*layers_).properties(height=min(900, max(260, 48 * tallest)))
