"""A lineage trace as W3C PROV-JSON (https://www.w3.org/Submission/prov-json/), for PROV tools.

The graph already follows PROV (DESIGN.md, "The graph model"), so the mapping is by role: a node
is an activity (DiagnosticRun, Approval, Execution), an agent (Person; ModelVersion, a software
agent) or else an entity. An edge (a)-[r]->(b) means a depends on b, and which PROV relation it
is follows from the roles of a and b: activity on entity is `used`, entity on activity
`wasGeneratedBy`, entity on entity `wasDerivedFrom` (JUSTIFIED_BY included), activity on agent
`wasAssociatedWith`, entity on agent `wasAttributedTo`. A pair PROV has no relation for becomes the
generic `wasInfluencedBy`, so every edge is one relation; each keeps Warrant's type as `warrant:rel`.

The `created_by` string on a node names who made it: an agent (reused if the trace holds a node
with that id, else an `actor:` agent), the entity `wasAttributedTo` it and the activity
`wasAssociatedWith` it.

Ids hold ':' and '/', which a qualified name's local part must not: they are percent-encoded
(PROV-N allows `%XX` in local names), and each record keeps its original id as `warrant:id`.
"""

from __future__ import annotations

from typing import Any

from graph.lineage import Lineage

WARRANT_NS = "urn:warrant:node:"
ACTOR_NS = "urn:warrant:actor:"
PROV_NS = "http://www.w3.org/ns/prov#"

ACTIVITIES = frozenset({"DiagnosticRun", "Approval", "Execution"})
_AGENT_TYPES = {"Person": "prov:Person", "ModelVersion": "prov:SoftwareAgent"}
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_SKIP = frozenset({"id"})

# (role of the dependent, role of what it depends on) -> PROV relation and its two attribute names.
_RELATIONS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("activity", "entity"): ("used", "prov:activity", "prov:entity"),
    ("entity", "activity"): ("wasGeneratedBy", "prov:entity", "prov:activity"),
    ("entity", "entity"): ("wasDerivedFrom", "prov:generatedEntity", "prov:usedEntity"),
    ("activity", "agent"): ("wasAssociatedWith", "prov:activity", "prov:agent"),
    ("entity", "agent"): ("wasAttributedTo", "prov:entity", "prov:agent"),
    ("activity", "activity"): ("wasInformedBy", "prov:informed", "prov:informant"),
    ("agent", "agent"): ("actedOnBehalfOf", "prov:delegate", "prov:responsible"),
}
_INFLUENCE = ("wasInfluencedBy", "prov:influencee", "prov:influencer")


def role(label: str) -> str:
    """`activity`, `agent` or `entity`: the PROV kind of a node label."""
    if label in ACTIVITIES:
        return "activity"
    if label in _AGENT_TYPES:
        return "agent"
    return "entity"


def local_name(node_id: str) -> str:
    """`node_id` as a PROV-N local name: anything but letters, digits, '_', '-', '.' percent-encoded
    (and a leading '-' or '.', or a trailing '.', which a local name may not have there)."""
    out = [c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in node_id]
    if out and out[0] in "-.":
        out[0] = f"%{ord(out[0]):02X}"
    if out and out[-1] == ".":
        out[-1] = "%2E"
    return "".join(out)


def qualified_id(node_id: str) -> str:
    return f"warrant:{local_name(node_id)}"


def prov_json(lineage: Lineage) -> dict[str, Any]:
    """The trace as a PROV-JSON document (a JSON-ready dict)."""
    doc: dict[str, Any] = {"prefix": {"warrant": WARRANT_NS, "actor": ACTOR_NS, "prov": PROV_NS}}
    kinds: dict[str, dict[str, Any]] = {"entity": {}, "activity": {}, "agent": {}}
    roles: dict[str, str] = {}
    for node_id, node in sorted(lineage.nodes.items()):
        kind = role(node["label"])
        roles[node_id] = kind
        kinds[kind][qualified_id(node_id)] = _attributes(node_id, node["label"], node["properties"])

    relations: dict[str, dict[str, dict[str, Any]]] = {}

    def relate(name: str, first: tuple[str, str], second: tuple[str, str], rel: str) -> None:
        records = relations.setdefault(name, {})
        records[f"_:{name}{len(records) + 1}"] = {
            first[0]: first[1],
            second[0]: second[1],
            "warrant:rel": rel,
        }

    for src, rel, dst in sorted(lineage.edges):
        if src not in roles or dst not in roles:
            continue  # an edge out of the trace (the trace never yields one; a hand-built one might)
        name, first, second = _RELATIONS.get((roles[src], roles[dst]), _INFLUENCE)
        relate(name, (first, qualified_id(src)), (second, qualified_id(dst)), rel)

    agent_ids = {i for i, r in roles.items() if r == "agent"}
    for node_id, node in sorted(lineage.nodes.items()):
        actor = node["properties"].get("created_by")
        if not actor or roles[node_id] == "agent":
            continue
        if actor in agent_ids:
            agent = qualified_id(actor)
        else:
            agent = f"actor:{local_name(actor)}"
            kinds["agent"].setdefault(
                agent, {"prov:type": [_qname("warrant:Actor")], "prov:label": actor, "warrant:id": actor}
            )
        if roles[node_id] == "entity":
            relate(
                "wasAttributedTo", ("prov:entity", qualified_id(node_id)), ("prov:agent", agent), "created_by"
            )
        else:
            relate(
                "wasAssociatedWith",
                ("prov:activity", qualified_id(node_id)),
                ("prov:agent", agent),
                "created_by",
            )

    doc.update({kind: records for kind, records in kinds.items() if records})
    doc.update(relations)
    return doc


def _qname(name: str) -> dict[str, str]:
    return {"$": name, "type": "prov:QUALIFIED_NAME"}


def _attributes(node_id: str, label: str, props: dict[str, Any]) -> dict[str, Any]:
    types = [_qname(f"warrant:{label}")]
    if label in _AGENT_TYPES:
        types.append(_qname(_AGENT_TYPES[label]))
    title = next((props[k] for k in ("title", "name", "file") if props.get(k)), node_id)
    attrs: dict[str, Any] = {
        "prov:type": types,
        "prov:label": str(title),
        "warrant:id": node_id,
    }
    for key, value in sorted(props.items()):
        if key in _SKIP or value is None:
            continue
        if isinstance(value, bool | int | float | str):
            attrs[f"warrant:{key}"] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            attrs[f"warrant:{key}"] = list(value)
    return attrs
