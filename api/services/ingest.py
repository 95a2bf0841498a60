"""Use case: ingest export files into a content-addressed snapshot, with quality gates and provenance.

The order is what makes a failed ingest leave nothing behind: everything that can fail on the
input (reading, mapping, types, blocking gates) runs before anything is stored; then the Parquet
file is written under its final name (atomically), then every graph node and edge is written in
one unit of work; if that fails, the file written here is removed again. Identical content gives
the identical snapshot id, and a second ingest of it changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, Field

from graph.connect import store_for
from graph.errors import InvalidGraphInput
from graph.model import Campaign, Extract, QualityCheck, Rel, Snapshot, Source, timestamp
from graph.settings import Settings
from graph.store import GraphStore, Tx
from ingest.errors import IngestError
from ingest.gates import FILE, Context, GateResult, Location, blocking_failures, run_gates
from ingest.mapping import Mapping, dimension_name, load_mapping
from ingest.readers import Export, read_export
from ingest.schema import SCHEMA_VERSION
from ingest.snapshot import SnapshotFiles, canonical, content_sha256
from ingest.transform import to_unified

Progress = Callable[[str, int, int], None]
"""progress(step, done, total): called as the ingest advances, for a progress bar."""


class FileReport(BaseModel):
    path: str
    extract_id: str
    sha256: str
    size: int
    rows: int
    format: str
    encoding: str | None = None
    delimiter: str | None = None


class IngestReport(BaseModel):
    """What an ingest produced, or (with `error`) why it stopped."""

    snapshot_id: str | None
    created: bool
    table: str
    mapping: str
    rows: int
    files: list[FileReport]
    gates: list[GateResult]
    campaign_id: str | None = None
    path: str | None = None
    seconds: float = 0.0
    error: dict[str, Any] | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)


class GateFailure(IngestError):
    """A blocking quality gate failed: no snapshot was made. Carries the whole report."""

    def __init__(self, report: IngestReport, failed: GateResult) -> None:
        where = failed.location
        super().__init__(
            f"quality gate {failed.name} failed: {failed.message}",
            file=where.file if where else None,
            row=where.row if where else None,
            column=where.column if where else None,
        )
        self.report = report


def ingest(
    settings: Settings,
    paths: Sequence[Path],
    mapping: str | Path,
    *,
    campaign_id: str | None = None,
    progress: Progress | None = None,
    store: GraphStore | None = None,
) -> IngestReport:
    """Ingest `paths` (one export, or several parts of it) with one mapping into one snapshot."""
    started = time.perf_counter()
    step = progress or (lambda _step, _done, _total: None)
    spec = load_mapping(mapping)
    if not paths:
        raise IngestError("no files to ingest")
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise IngestError("no such file", file=missing[0])

    files: list[FileReport] = []
    frames: list[pl.DataFrame] = []
    for done, path in enumerate(paths):
        step(f"reading {Path(path).name}", done, len(paths))
        # Only the unified rows and the file's identity are kept: the raw frame is freed here.
        export = read_export(
            Path(path), fmt=spec.format, csv_options=spec.csv, max_bytes=settings.ingest_max_bytes
        )
        frames.append(to_unified(export, spec).with_columns(pl.lit(str(path)).alias(FILE)))
        files.append(_file_report(export))
        del export
    step("checking", len(paths), len(paths))
    rows = pl.concat(frames, how="vertical")
    del frames
    table = canonical(rows, spec.model)
    sha = content_sha256(table, spec.table)

    with store_for(settings, store) as graph:
        report = IngestReport(
            snapshot_id=sha,
            created=False,
            table=spec.table,
            mapping=spec.name,
            rows=table.num_rows,
            files=files,
            gates=[],
            campaign_id=campaign_id,
        )
        snapshots = SnapshotFiles(settings.snapshots_dir)
        if graph.properties_of([sha]):
            report.gates = _stored_gates(graph, sha)
            if not snapshots.exists(sha):  # the file was removed by hand: content-addressed, so restore it
                snapshots.write(table, sha)
            if campaign_id:
                graph.unit_of_work(lambda tx: _join_campaign(tx, sha, campaign_id))
        else:
            report.gates = run_gates(rows, spec, _context(graph, snapshots, campaign_id))
            failures = blocking_failures(report.gates)
            if failures:
                report.snapshot_id = None
                raise GateFailure(report, failures[0])
            step("writing snapshot", len(paths), len(paths))
            wrote = not snapshots.exists(sha)
            snapshots.write(table, sha)
            try:
                graph.unit_of_work(
                    lambda tx: _record(tx, spec, sha, table.num_rows, files, report, campaign_id)
                )
            except BaseException:
                if wrote:
                    snapshots.delete(sha)
                raise
            report.created = True
        report.path = str(snapshots.path(sha))
        report.seconds = round(time.perf_counter() - started, 3)
        report.defaults = {"gates": {g.name: g.threshold for g in report.gates if g.threshold is not None}}
        step("done", len(paths), len(paths))
        return report


def _file_report(export: Export) -> FileReport:
    return FileReport(
        path=str(export.path),
        extract_id=f"extract:{export.sha256}",
        sha256=export.sha256,
        size=export.size,
        rows=export.frame.height,
        format=export.format,
        encoding=export.encoding,
        delimiter=export.delimiter,
    )


def _context(store: GraphStore, snapshots: SnapshotFiles, campaign_id: str | None) -> Context:
    """The campaign's snapshots so far, by table, for the cross-source gates."""
    context = Context(campaign_id=campaign_id)
    if not campaign_id:
        return context
    campaign = store.properties_of([campaign_id]).get(campaign_id)
    if campaign and campaign[1].get("start") and campaign[1].get("end"):
        context.period = (
            date.fromisoformat(campaign[1]["start"][:10]),
            date.fromisoformat(campaign[1]["end"][:10]),
        )
    by_table: dict[str, list[pl.DataFrame]] = {}
    for snapshot_id, (label, props) in store.linked(campaign_id, Rel.PART_OF).items():
        if label != "Snapshot":
            continue
        if props.get("attribution_window"):
            context.windows[props.get("source", snapshot_id)] = props["attribution_window"]
        if props.get("table") in ("ad_performance", "leads") and snapshots.exists(snapshot_id):
            by_table.setdefault(props["table"], []).append(snapshots.read(snapshot_id))
    context.others = {t: pl.concat(frames, how="diagonal_relaxed") for t, frames in by_table.items()}
    return context


def _record(
    tx: Tx,
    spec: Mapping,
    sha: str,
    row_count: int,
    files: list[FileReport],
    report: IngestReport,
    campaign_id: str | None,
) -> None:
    """Every node and edge of one snapshot, in the caller's unit of work."""
    source_id = f"source:{dimension_name(spec.source.name)}"
    extract_ids = [f.extract_id for f in files]
    existing = tx.fetch(extract_ids)
    nodes: list[Any] = [Source(id=source_id, name=spec.source.name, kind=spec.source.kind)]
    for file in files:
        if file.extract_id in existing and existing[file.extract_id][0] != "Extract":
            raise InvalidGraphInput(
                f"id {file.extract_id!r} already names a {existing[file.extract_id][0]}, not an Extract"
            )
        if file.extract_id not in existing:  # the same bytes from another path: the same extract
            mtime = datetime.fromtimestamp(Path(file.path).stat().st_mtime, UTC)
            nodes.append(
                Extract(
                    id=file.extract_id,
                    file=Path(file.path).name,
                    path=str(Path(file.path).resolve()),
                    sha256=file.sha256,
                    rows=file.rows,
                    fetched_at=timestamp(mtime),
                    size=file.size,
                    format=file.format,
                    encoding=file.encoding,
                )
            )
    nodes.append(
        Snapshot(
            id=sha,
            sha256=sha,
            schema_version=SCHEMA_VERSION,
            row_count=row_count,
            quality_passed=all(g.status != "warn" for g in report.gates),
            table=spec.table,
            mapping=spec.name,
            source=spec.source.name,
            path=f"{sha}.parquet",
            attribution_window=str(spec.attribution_window) if spec.attribution_window else None,
        )
    )
    nodes += [_check_node(sha, gate) for gate in report.gates]
    tx.merge(nodes)
    edges = [(extract_id, Rel.WAS_DERIVED_FROM, source_id) for extract_id in dict.fromkeys(extract_ids)]
    edges += [(sha, Rel.WAS_DERIVED_FROM, extract_id) for extract_id in dict.fromkeys(extract_ids)]
    edges += [(f"qc:{sha[:16]}:{gate.name}", Rel.ABOUT, sha) for gate in report.gates]
    tx.link(edges)
    if campaign_id:
        _join_campaign(tx, sha, campaign_id)


def _join_campaign(tx: Tx, sha: str, campaign_id: str) -> None:
    if campaign_id not in tx.fetch([campaign_id]):
        tx.merge([Campaign(id=campaign_id, name=campaign_id)])
    tx.link([(sha, Rel.PART_OF, campaign_id)])


def _check_node(sha: str, gate: GateResult) -> QualityCheck:
    where = gate.location
    return QualityCheck(
        id=f"qc:{sha[:16]}:{gate.name}",
        name=gate.name,
        result=gate.status,
        value=gate.value,
        threshold=gate.threshold,
        blocking=gate.blocking,
        message=gate.message,
        blocks=gate.blocks,
        location=f"{where.file}:{where.row}: {where.column}" if where else None,
        details=json.dumps(gate.details, sort_keys=True, default=str),
    )


def _stored_gates(store: GraphStore, sha: str) -> list[GateResult]:
    """The gate results recorded when the snapshot was first made."""
    results = []
    for _, (label, props) in sorted(store.linked(sha, Rel.ABOUT).items()):
        if label != "QualityCheck":
            continue
        location = None
        if props.get("location"):
            head, column = props["location"].rsplit(": ", 1)
            file, row = head.rsplit(":", 1)
            location = Location(file=file, row=int(row), column=column)
        results.append(
            GateResult(
                name=props["name"],
                status=props["result"],
                blocking=props.get("blocking", False),
                message=props.get("message", ""),
                value=props.get("value"),
                threshold=props.get("threshold"),
                blocks=props.get("blocks") or [],
                location=location,
                details=json.loads(props.get("details") or "{}"),
            )
        )
    return results
