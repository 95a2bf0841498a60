"""Lineage benchmark: how fast `trace` and `impact` answer on a production-shaped graph.

Why this exists: an auditor's trace (Decision -> ... -> Source) and the impact set of a bad source
are interactive operations (CLI, UI), so they carry latency targets on a graph of the size we
expect: trace median < 10 ms and impact median < 50 ms at 100,000 nodes. This measures them end
to end, through Bolt and the embedded server, the way the CLI and the API call them.

What it does:
1. Starts a fresh embedded server in a temporary home, so a developer's data is never touched,
   and creates a database of its own; at the end it stops that server and deletes the home.
   `--home DIR` attaches to the server of that home instead, and drops the benchmark's database
   afterwards (`--keep` keeps it); that server is left running.
2. Builds a lineage graph shaped like production through the public store API (`merge`, `link`,
   `unlink`), so the write path is timed as well: Sources -> Extracts -> Snapshots ->
   DiagnosticRuns (also USED a ModelVersion) -> Findings -> Decisions. It is built in two eras; in
   the second, some earlier decisions are approved (a revision) and some justifications retracted
   (a closed edge), so `as_of` reads at the boundary see a past that differs from the present.
3. Times `trace`, `trace(as_of=...)`, `impact` and `impact(as_of=...)` after a warm-up, and two
   peers (not targets): the portable Cypher path query of the Neo4j dialect on the same server
   (what lineage ran before ArcadeDB got its own traversal), and networkx reachability on the
   whole graph fetched once, in memory. networkx also checks that every store answer names the
   same nodes.

It reports and never asserts: the exit code is 0 whether targets are met or missed.

    .venv/bin/python -m tests.bench.bench_lineage [--nodes 100000] [--repeat 200] [--home DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx

from graph.connect import open_store
from graph.dialect import Neo4jDialect
from graph.lineage import Lineage, impact, trace
from graph.model import (
    LINEAGE_RELS,
    Decision,
    DiagnosticRun,
    Extract,
    Finding,
    ModelVersion,
    Node,
    Rel,
    Snapshot,
    Source,
    timestamp,
    utc_now,
)
from graph.store import Edge, GraphStore
from tests.bench.server import bench_database

T = TypeVar("T")

TRACE_TARGET_MS = 10.0
IMPACT_TARGET_MS = 50.0
WARMUP = 20
PORTABLE_CALLS = 50  # the portable Cypher peer is slow on ArcadeDB: fewer calls
_NOW = "9999-12-31T23:59:59.999999Z"
LAYERS = ("Source", "Extract", "Snapshot", "ModelVersion", "DiagnosticRun", "Finding", "Decision")
APPROVED_SHARE = 0.10  # of era-1 decisions, approved in era 2 (one revision each)
RETRACTED_SHARE = 0.01  # of era-1 decisions, one justification closed in era 2
_SOURCE_KINDS = ("ad_platform", "crm", "web_analytics", "email")
_CATEGORIES = ("attribution", "creative_fatigue", "audience_overlap", "pacing", "tracking_gap")


# -- the shape of the graph --------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """Nodes per label, in the proportions we expect in production: each source feeds five
    extracts, snapshots harmonise 1-2 extracts, runs use 1-3 snapshots and one model version, each
    run yields eight findings and decisions rest on 1-3 findings. That gives a source an impact of
    300-800 nodes (about 600 on average) and a decision a trace of about a dozen."""

    sources: int
    extracts: int
    snapshots: int
    models: int
    runs: int
    findings: int
    decisions: int

    @classmethod
    def for_total(cls, total: int) -> Shape:
        def part(share: float) -> int:
            return max(1, round(total * share))

        layers = {
            "sources": part(0.0025),
            "extracts": part(0.0125),
            "snapshots": part(0.025),
            "models": part(0.00025),
            "runs": part(0.05),
            "findings": part(0.40),
        }
        return cls(**layers, decisions=max(1, total - sum(layers.values())))

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


@dataclass
class Layer:
    """One label's nodes and the edges from them to their parents, split by era (1 or 2)."""

    name: str
    nodes: dict[int, list[Node]] = field(default_factory=lambda: {1: [], 2: []})
    edges: dict[int, list[Edge]] = field(default_factory=lambda: {1: [], 2: []})


@dataclass
class Plan:
    """The whole graph to write, in order, plus the era-2 changes to era-1 nodes."""

    shape: Shape
    layers: list[Layer]
    approvals: list[Decision]
    retractions: list[Edge]

    def ids(self, label: str, era: int | None = None) -> list[str]:
        layer = next(layer for layer in self.layers if layer.name == label)
        eras = (era,) if era else (1, 2)
        return [node.id for e in eras for node in layer.nodes[e]]


def _era1(count: int) -> int:
    """How many of a layer's nodes (the first ones) belong to era 1."""
    return (count + 1) // 2


def _near(
    rng: random.Random, child: int, children: int, parents: int, limit: int, k: int, width: int
) -> list[int]:
    """k distinct parents near the child's relative position: fan-out stays local, as when a
    team's runs use that team's snapshots, while windows overlap enough to share some parents."""
    center = (2 * child + 1) * parents // (2 * children)
    hi = min(limit, center + width + 1)
    lo = max(0, min(center - width, hi - 1))
    candidates = range(lo, hi)
    return rng.sample(candidates, min(k, len(candidates)))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_graph(shape: Shape, seed: int) -> Plan:
    """The graph as pydantic nodes and (src, rel, dst) edges, reproducible from `seed`."""
    rng = random.Random(seed)
    layers = {name: Layer(name) for name in LAYERS}

    def era_of(i: int, count: int) -> int:
        return 1 if i < _era1(count) else 2

    def limit(parent_count: int, era: int) -> int:
        # An era-1 node may only rest on era-1 nodes; an era-2 node on anything written before it.
        return _era1(parent_count) if era == 1 else parent_count

    src_ids = [f"src-{i:05d}" for i in range(shape.sources)]
    for i, sid in enumerate(src_ids):
        node = Source(id=sid, name=f"source {i}", kind=rng.choice(_SOURCE_KINDS))
        layers["Source"].nodes[era_of(i, shape.sources)].append(node)

    ext_ids = [f"ext-{i:06d}" for i in range(shape.extracts)]
    for i, eid in enumerate(ext_ids):
        era = era_of(i, shape.extracts)
        (src,) = _near(rng, i, shape.extracts, shape.sources, limit(shape.sources, era), 1, 0)
        node = Extract(
            id=eid,
            file=f"exports/{src_ids[src]}/2025-{1 + i % 12:02d}-{1 + i % 28:02d}.csv",
            sha256=_sha(f"extract {seed} {i}"),
            rows=rng.randint(1_000, 500_000),
            fetched_at="2025-06-01T00:00:00.000000Z",
        )
        layers["Extract"].nodes[era].append(node)
        layers["Extract"].edges[era].append((eid, Rel.WAS_DERIVED_FROM, src_ids[src]))

    snap_ids = [_sha(f"snapshot {seed} {i}") for i in range(shape.snapshots)]
    for i, snid in enumerate(snap_ids):
        era = era_of(i, shape.snapshots)
        node = Snapshot(id=snid, sha256=snid, schema_version="3", row_count=rng.randint(1_000, 2_000_000))
        layers["Snapshot"].nodes[era].append(node)
        picks = _near(
            rng, i, shape.snapshots, shape.extracts, limit(shape.extracts, era), rng.randint(1, 2), 2
        )
        layers["Snapshot"].edges[era].extend((snid, Rel.WAS_DERIVED_FROM, ext_ids[p]) for p in picks)

    mv_ids = [f"mv-{i:04d}" for i in range(shape.models)]
    for i, mid in enumerate(mv_ids):
        node = ModelVersion(id=mid, name=f"mmm-{i % 5}", model_version=str(1 + i // 5))
        layers["ModelVersion"].nodes[era_of(i, shape.models)].append(node)

    run_ids = [f"run-{i:06d}" for i in range(shape.runs)]
    for i, rid in enumerate(run_ids):
        era = era_of(i, shape.runs)
        node = DiagnosticRun(
            id=rid,
            mlflow_run_id=_sha(f"run {seed} {i}")[:32],
            assumption_set='{"adstock": 0.5, "saturation": "hill", "lag_days": 7}',
            code_version="9f1c2ab",
        )
        layers["DiagnosticRun"].nodes[era].append(node)
        picks = _near(rng, i, shape.runs, shape.snapshots, limit(shape.snapshots, era), rng.randint(1, 3), 2)
        model = rng.randrange(limit(shape.models, era))
        edges = [(rid, Rel.USED, snap_ids[p]) for p in picks] + [(rid, Rel.USED, mv_ids[model])]
        layers["DiagnosticRun"].edges[era].extend(edges)

    fnd_ids = [f"fnd-{i:07d}" for i in range(shape.findings)]
    for i, fid in enumerate(fnd_ids):
        era = era_of(i, shape.findings)
        (run,) = _near(rng, i, shape.findings, shape.runs, limit(shape.runs, era), 1, 0)
        node = Finding(
            id=fid,
            title=f"finding {i}",
            category=rng.choice(_CATEGORIES),
            statement=f"Channel {i % 17} under-delivered against plan in week {i % 52}.",
            effect_size=round(rng.uniform(-0.4, 0.4), 3),
            sample_size_ok=True,
        )
        layers["Finding"].nodes[era].append(node)
        layers["Finding"].edges[era].append((fid, Rel.WAS_GENERATED_BY, run_ids[run]))

    justified: dict[str, list[str]] = {}
    for i in range(shape.decisions):
        did = f"dec-{i:07d}"
        era = era_of(i, shape.decisions)
        node = Decision(
            id=did,
            kind="budget_shift",
            title=f"decision {i}",
            amount=float(rng.randrange(1_000, 100_000, 500)),
        )
        layers["Decision"].nodes[era].append(node)
        picks = _near(
            rng, i, shape.decisions, shape.findings, limit(shape.findings, era), rng.randint(1, 3), 4
        )
        justified[did] = [fnd_ids[p] for p in picks]
        layers["Decision"].edges[era].extend((did, Rel.JUSTIFIED_BY, fnd_ids[p]) for p in picks)

    era1_decisions = [d for d in layers["Decision"].nodes[1] if isinstance(d, Decision)]
    approved = rng.sample(era1_decisions, round(len(era1_decisions) * APPROVED_SHARE))
    approvals = [Decision(id=d.id, kind=d.kind, title=d.title, state="approved") for d in approved]
    several = [d.id for d in era1_decisions if len(justified[d.id]) > 1]
    retracted = rng.sample(several, min(len(several), round(len(era1_decisions) * RETRACTED_SHARE)))
    retractions = [(did, Rel.JUSTIFIED_BY, rng.choice(justified[did])) for did in retracted]
    return Plan(shape, [layers[name] for name in LAYERS], approvals, retractions)


# -- building it through the store -------------------------------------------------------------


@dataclass
class LayerStats:
    nodes: int = 0
    merge_s: float = 0.0
    edges: int = 0
    link_s: float = 0.0


@dataclass
class BuildStats:
    seconds: float = 0.0
    as_of: str = ""
    layers: dict[str, LayerStats] = field(default_factory=dict)
    approvals: int = 0
    approvals_s: float = 0.0
    retractions: int = 0
    retractions_s: float = 0.0


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def build(store: GraphStore, plan: Plan, batch: int) -> tuple[BuildStats, datetime]:
    """Write the plan era by era; returns the stats and the moment between the two eras."""
    stats = BuildStats(layers={name: LayerStats() for name in LAYERS})
    start = time.perf_counter()
    middle = utc_now()
    for era in (1, 2):
        for layer in plan.layers:
            nodes, edges = layer.nodes[era], layer.edges[era]
            counts = stats.layers[layer.name]
            t0 = time.perf_counter()
            for chunk in _chunks(nodes, batch):
                result = store.merge(chunk)
                if result.created != len(chunk):
                    raise RuntimeError(f"merge created {result.created} of {len(chunk)} {layer.name}")
            t1 = time.perf_counter()
            for chunk in _chunks(edges, batch):
                opened = store.link(chunk)
                if opened != len(chunk):
                    raise RuntimeError(f"link opened {opened} of {len(chunk)} {layer.name} edges")
            t2 = time.perf_counter()
            counts.nodes += len(nodes)
            counts.edges += len(edges)
            counts.merge_s += t1 - t0
            counts.link_s += t2 - t1
            _say(
                f"  era {era} {layer.name:<13} {len(nodes):>7} nodes {t1 - t0:7.1f} s"
                f"   {len(edges):>7} edges {t2 - t1:7.1f} s"
            )
        if era == 1:
            # Everything of era 1 is committed; era 2 starts strictly later.
            time.sleep(0.01)
            middle = utc_now()
            time.sleep(0.01)
    t0 = time.perf_counter()
    for chunk in _chunks(plan.approvals, batch):
        result = store.merge(chunk)
        if result.updated != len(chunk):
            raise RuntimeError(f"merge revised {result.updated} of {len(chunk)} approved decisions")
    stats.approvals, stats.approvals_s = len(plan.approvals), time.perf_counter() - t0
    t0 = time.perf_counter()
    for src, rel, dst in plan.retractions:
        store.unlink(src, rel, dst)
    stats.retractions, stats.retractions_s = len(plan.retractions), time.perf_counter() - t0
    _say(
        f"  era 2 approved {stats.approvals} decisions ({stats.approvals_s:.1f} s), "
        f"retracted {stats.retractions} justifications ({stats.retractions_s:.1f} s)"
    )
    stats.seconds = time.perf_counter() - start
    stats.as_of = middle.isoformat()
    return stats, middle


# -- the whole graph in memory, for the peer and the cross-check -------------------------------


@dataclass
class Fetched:
    now: nx.DiGraph
    then: nx.DiGraph
    seconds: float
    edges_by_type: dict[str, dict[str, int]]


def fetch_graph(store: GraphStore, at: str) -> Fetched:
    """All lineage edges in one read: the graph now (open edges) and as it stood at `at`."""
    types = "|".join(rel.value for rel in LINEAGE_RELS)
    t0 = time.perf_counter()
    rows = store.read(
        f"MATCH (a:Node)-[r:{types}]->(b:Node) "
        "RETURN a.id AS src, type(r) AS rel, b.id AS dst, r.valid_from AS vf, r.valid_to AS vt"
    )
    seconds = time.perf_counter() - t0
    now, then = nx.DiGraph(), nx.DiGraph()
    by_type: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = by_type.setdefault(row["rel"], {"open": 0, "closed": 0})
        counts["open" if row["vt"] is None else "closed"] += 1
        if row["vt"] is None:
            now.add_edge(row["src"], row["dst"])
        if row["vf"] <= at and (row["vt"] is None or row["vt"] > at):
            then.add_edge(row["src"], row["dst"])
    return Fetched(now, then, seconds, by_type)


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Series:
    """Latencies and result sizes (nodes, root included) of one operation."""

    name: str
    ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    mismatches: int = 0

    def summary(self) -> dict[str, float | int]:
        ordered = sorted(self.ms)
        return {
            "calls": len(ordered),
            "median_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 3),
            "mean_ms": round(statistics.fmean(ordered), 3),
            "min_ms": round(ordered[0], 3),
            "max_ms": round(ordered[-1], 3),
            "mean_nodes": round(statistics.fmean(self.sizes), 1),
            "max_nodes": max(self.sizes),
            "mismatches": self.mismatches,
        }


def _pick(rng: random.Random, population: Sequence[str], k: int) -> list[str]:
    return rng.sample(population, k) if k <= len(population) else rng.choices(population, k=k)


def time_store(
    name: str,
    call: Callable[[str], Lineage],
    ids: Sequence[str],
    warmup: Sequence[str],
    expected: Callable[[str], set[str]],
) -> Series:
    """Time `call` on each id after warming up; compare each answer's nodes with `expected`."""
    for node_id in warmup:
        call(node_id)
    series = Series(name)
    for node_id in ids:
        t0 = time.perf_counter()
        result = call(node_id)
        series.ms.append((time.perf_counter() - t0) * 1000)
        series.sizes.append(len(result.nodes))
        if set(result.nodes) != expected(node_id):
            series.mismatches += 1
    return series


def time_peer(name: str, call: Callable[[str], set[str]], ids: Sequence[str]) -> Series:
    series = Series(name)
    for node_id in ids:
        t0 = time.perf_counter()
        result = call(node_id)
        series.ms.append((time.perf_counter() - t0) * 1000)
        series.sizes.append(len(result) + 1)
    return series


def _reach(graph: nx.DiGraph, node_id: str, direction: str) -> set[str]:
    if node_id not in graph:
        return set()
    return nx.descendants(graph, node_id) if direction == "up" else nx.ancestors(graph, node_id)


# -- running -----------------------------------------------------------------------------------


def _say(line: str = "") -> None:
    print(line, flush=True)


def _table(rows: list[tuple[str, dict[str, Any]]]) -> None:
    _say(f"  {'operation':<34}{'calls':>6}{'median ms':>11}{'p95 ms':>10}{'mean ms':>10}{'mean nodes':>12}")
    for label, s in rows:
        _say(
            f"  {label:<34}{s['calls']:>6}{s['median_ms']:>11.2f}{s['p95_ms']:>10.2f}"
            f"{s['mean_ms']:>10.2f}{s['mean_nodes']:>12.1f}"
        )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Plan the graph, then benchmark on a database of our own (tests.bench.server cleans up)."""
    shape = Shape.for_total(args.nodes)
    figures: dict[str, Any] = {
        "config": {
            "nodes": args.nodes,
            "repeat": args.repeat,
            "batch": args.batch,
            "seed": args.seed,
            "warmup": WARMUP,
            "home": "(temporary)" if args.home is None else str(args.home),
        },
        "shape": asdict(shape),
    }
    home = args.home or "(temporary)"
    _say(f"lineage benchmark: {shape.total} nodes, seed {args.seed}, batch {args.batch}, home {home}")
    t0 = time.perf_counter()
    plan = plan_graph(shape, args.seed)
    _say(f"planned the graph in {time.perf_counter() - t0:.1f} s: {asdict(shape)}")
    with bench_database("lineage", home=args.home, keep=args.keep) as bench:
        figures["config"]["database"] = bench.database
        store = open_store(bench.settings, database=bench.database)
        try:
            figures.update(_bench(store, plan, args))
        finally:
            store.close()
    return figures


def _bench(store: GraphStore, plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    """Build the graph, time the four operations and the peer, print and return the figures."""
    _say("building:")
    stats, middle = build(store, plan, args.batch)
    _report_build(stats)

    fetched = fetch_graph(store, timestamp(middle))
    counts = {label: store.count(label) for label in LAYERS}
    _say(f"stored: {sum(counts.values())} nodes {counts}")
    _say(f"        edges {fetched.edges_by_type}")
    _say(f"fetched all lineage edges for networkx in {fetched.seconds:.1f} s")

    rng = random.Random(args.seed + 1)
    decisions, sources = plan.ids("Decision"), plan.ids("Source")
    old_decisions, old_sources = plan.ids("Decision", 1), plan.ids("Source", 1)
    _say(f"timing {args.repeat} calls per operation after {WARMUP} warm-up calls (as_of = {stats.as_of})")
    ops = [
        ("trace", "trace (Decision -> sources)", decisions, fetched.now, "up", None),
        ("trace_as_of", "trace as_of middle", old_decisions, fetched.then, "up", middle),
        ("impact", "impact (Source -> downstream)", sources, fetched.now, "down", None),
        ("impact_as_of", "impact as_of middle", old_sources, fetched.then, "down", middle),
    ]
    measured: dict[str, Series] = {}
    labels: dict[str, str] = {}
    peer: dict[str, Series] = {}
    portable: dict[str, Series] = {}
    for key, label, population, graph, direction, as_of in ops:
        walk = trace if direction == "up" else impact
        ids = _pick(rng, population, args.repeat)
        measured[key] = time_store(
            key,
            lambda i, walk=walk, as_of=as_of: walk(store, i, as_of=as_of),
            ids,
            _pick(rng, population, WARMUP),
            lambda i, g=graph, d=direction: {i} | _reach(g, i, d),
        )
        labels[key] = label
        if as_of is None:
            peer[key] = time_peer(key, lambda i, g=graph, d=direction: _reach(g, i, d), ids)
            way = "upstream" if direction == "up" else "downstream"
            portable[key] = time_peer(
                key,
                lambda i, w=way: (
                    set(Neo4jDialect().reachable(store.driver, store.database, i, w, _NOW)[0]) - {i}
                ),
                ids[:PORTABLE_CALLS],
            )

    summaries = {key: s.summary() for key, s in measured.items()}
    peer_summaries = {key: s.summary() for key, s in peer.items()}
    _say()
    _say("graph store (through Bolt, as callers see it):")
    _table([(labels[k], s) for k, s in summaries.items()])
    portable_summaries = {key: s.summary() for key, s in portable.items()}
    _say()
    _say("peer: the portable Cypher path query (Neo4j dialect) on the same server, same ids:")
    _table([(f"cypher {labels[k]}", s) for k, s in portable_summaries.items()])
    _say()
    _say("in-memory peer, networkx on the whole fetched graph (for scale; not a target):")
    _table([(f"nx {labels[k]}", s) for k, s in peer_summaries.items()])
    mismatched = {k: s.mismatches for k, s in measured.items() if s.mismatches}
    _say()
    _say(
        f"cross-check against networkx: {sum(mismatched.values())} answers differ {mismatched}"
        if mismatched
        else "cross-check against networkx: every answer names the same nodes"
    )
    targets = {
        "trace": _verdict("trace", summaries["trace"]["median_ms"], TRACE_TARGET_MS),
        "impact": _verdict("impact", summaries["impact"]["median_ms"], IMPACT_TARGET_MS),
    }
    for key, target in (("trace_as_of", TRACE_TARGET_MS), ("impact_as_of", IMPACT_TARGET_MS)):
        _verdict(f"{key} (same target, informative)", summaries[key]["median_ms"], target)
    return {
        "build": asdict(stats),
        "counts": {"nodes": counts, "edges": fetched.edges_by_type},
        "operations": summaries,
        "peer": peer_summaries,
        "portable_cypher": portable_summaries,
        "targets": targets,
    }


def _report_build(stats: BuildStats) -> None:
    nodes = sum(s.nodes for s in stats.layers.values())
    edges = sum(s.edges for s in stats.layers.values())
    merge_s = sum(s.merge_s for s in stats.layers.values())
    link_s = sum(s.link_s for s in stats.layers.values())
    _say(
        f"built {nodes} nodes and {edges} edges in {stats.seconds:.1f} s "
        f"(merge {merge_s:.1f} s = {nodes / max(merge_s, 1e-9):.0f} nodes/s, "
        f"link {link_s:.1f} s = {edges / max(link_s, 1e-9):.0f} edges/s)"
    )
    for name, s in stats.layers.items():
        _say(
            f"  {name:<13} {s.nodes:>7} nodes {s.nodes / max(s.merge_s, 1e-9):>8.0f}/s"
            f"   {s.edges:>7} edges {s.edges / max(s.link_s, 1e-9):>8.0f}/s"
        )


def _verdict(what: str, median_ms: float, target_ms: float) -> dict[str, Any]:
    met = median_ms < target_ms
    _say(f"{'PASS' if met else 'MISS'} {what} median {median_ms:.2f} ms (target < {target_ms:g} ms)")
    return {"median_ms": median_ms, "target_ms": target_ms, "met": met}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_lineage",
        description="Time lineage trace and impact on a production-shaped graph (reports, never fails).",
    )
    parser.add_argument("--nodes", type=int, default=100_000, help="graph size (default 100000)")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per operation")
    parser.add_argument(
        "--home", type=Path, default=None, help="WARRANT_HOME to attach to (default: a fresh temp dir)"
    )
    parser.add_argument("--batch", type=int, default=2_000, help="nodes or edges per merge/link call")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the graph and the picks")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the benchmark database (and temporary home)"
    )
    args = parser.parse_args(argv)
    if args.nodes < 20 or args.repeat < 1 or args.batch < 1:
        parser.error("--nodes must be >= 20, --repeat and --batch >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        _say(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
