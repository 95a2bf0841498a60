"""Post-mortem runs and lineage traces as OpenLineage run events, for Marquez, DataHub and the like.

Warrant keeps its own provenance in the graph; OpenLineage is how other catalogues see it. The events
are built from the client's own models (`openlineage.client.event_v2`, `facet_v2`) so they follow
the spec version the client pins, and are sent with the client's transports.

Naming, the same in `postmortem_event` and `trace_events` so that what one sent and what the other
re-sends land on the same datasets, jobs and runs:

- A snapshot is the dataset `snapshot/<table>/<sha256>`. Warrant identifies a snapshot by the sha256
  of its content and never changes it, so the content hash is the name, not a version of some
  longer-lived "table" dataset: two campaigns' snapshots of one table through one mapping coexist,
  and runs read old ones after new ones exist, which a per-table dataset with versions would blur
  into one "latest". The table leads so a catalogue lists them by table. The sha256 is also given as
  the `version` facet for consumers that key on it.
- An extract is `extract/<file>/<sha256>`, a source `source/<id>`: the same reasoning.
- Each finding is a dataset of its own, `finding/<id>`, and so is the post-mortem, `postmortem/<id>`.
  One dataset per finding is what lets a catalogue answer "what did this finding rest on" and join
  a decision's trace, which starts from findings and never sees the post-mortem node.
- A diagnostic run is the job `diagnostic_run/<Warrant run id>`. Warrant's run id is a hash of what
  the run read and assumed, so it already names a reproducible recipe, and a trace (which does not
  carry the campaign) can name the job exactly as the post-mortem did; an OpenLineage run that
  turned up under two job names would be two different things to a consumer. The campaign and the
  post-mortem travel as run tags.
- The run id is a UUID (the spec requires one): uuid5 of Warrant's id, so re-emitting is idempotent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from importlib import metadata
from typing import Any
from urllib.parse import urljoin

import requests
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    external_query_run,
    input_statistics_input_dataset,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    processing_engine_run,
    tags_dataset,
    tags_run,
)
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG

from graph.errors import WarrantError
from graph.lineage import Lineage
from graph.settings import Settings


def _version() -> str:
    try:
        return metadata.version("warrant")
    except metadata.PackageNotFoundError:
        return "unknown"


WARRANT_VERSION = _version()
# The spec wants a URI naming the producer; Warrant has no public URL yet, so a URN (change it to
# the repository URL with the tag once there is one).
PRODUCER = f"urn:warrant:producer:{WARRANT_VERSION}"
# uuid5 namespace of Warrant's run ids: fixed forever, or re-emits stop being idempotent.
RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:warrant:openlineage:run")

ACTIVITIES = frozenset({"DiagnosticRun", "Approval", "Execution"})
AGENTS = frozenset({"Person", "ModelVersion"})
_DERIVED = ("WAS_DERIVED_FROM", "JUSTIFIED_BY")


class LineageEmitError(WarrantError):
    """The OpenLineage endpoint or file did not take the event."""


def run_uuid(warrant_id: str) -> str:
    """The OpenLineage run id of a Warrant activity: the same id always gives the same UUID."""
    return str(uuid.uuid5(RUN_NAMESPACE, warrant_id))


def snapshot_dataset(*, table: str, sha256: str) -> str:
    return f"snapshot/{table or 'untabled'}/{sha256}"


def dataset_name(label: str, node_id: str, props: dict[str, Any]) -> str:
    """The OpenLineage dataset name of a Warrant entity (see the module docstring for why)."""
    if label == "Snapshot":
        return snapshot_dataset(table=props.get("table", ""), sha256=props.get("sha256") or node_id)
    if label == "Extract" and props.get("sha256"):
        return f"extract/{props.get('file') or 'unnamed'}/{props['sha256']}"
    return f"{label.lower()}/{node_id}"


def diagnostic_job(run_id: str) -> str:
    return f"diagnostic_run/{run_id}"


def postmortem_event(
    *,
    namespace: str,
    run_id: str,
    postmortem_id: str,
    campaign_id: str,
    snapshots: list[dict[str, Any]],
    findings: list[dict[str, Any]],
    started: datetime,
    ended: datetime,
    mlflow_run_id: str | None,
    event_type: str = "COMPLETE",
) -> RunEvent:
    """One post-mortem run: the snapshots it read in, the post-mortem and its findings out."""
    state = RunState(event_type)
    inputs = [
        _input(
            namespace,
            snapshot_dataset(table=s.get("table", ""), sha256=s["sha256"]),
            _snapshot_facets(s),
            rows=s.get("rows"),
        )
        for s in snapshots
    ]
    outputs = [
        _output(
            namespace,
            f"postmortem/{postmortem_id}",
            {"documentation": _doc(f"Post-mortem of {campaign_id}")},
        )
    ]
    outputs += [_output(namespace, f"finding/{f['id']}", _finding_facets(f)) for f in findings]
    tags = [
        ("warrant.run_id", run_id),
        ("warrant.postmortem_id", postmortem_id),
        ("warrant.campaign_id", campaign_id),
    ]
    return RunEvent(
        eventType=state,
        eventTime=_rfc3339(started if state in (RunState.START, RunState.RUNNING) else ended),
        producer=PRODUCER,
        run=Run(
            runId=run_uuid(run_id),
            facets=_run_facets(tags, mlflow_run_id, started=started, ended=ended),
        ),
        job=Job(namespace=namespace, name=diagnostic_job(run_id), facets=_job_facets("POSTMORTEM")),
        inputs=inputs,
        outputs=outputs,
    )


def trace_events(lineage: Lineage, namespace: str) -> list[RunEvent]:
    """A trace as COMPLETE run events, so a catalogue can draw the whole chain.

    One event per activity in the trace (inputs: the entities it used; outputs: those it generated),
    and one per entity derived from other entities with no activity of its own in between: an
    `ingest/...` job per snapshot (its extracts in, the snapshot out), `derive/...` for the rest
    (extract from its source, decision from the findings that justify it).
    """
    nodes = lineage.nodes
    used: dict[str, list[str]] = {}
    generated: dict[str, list[str]] = {}
    derived: dict[str, list[str]] = {}
    generator: set[str] = set()
    for src, rel, dst in sorted(lineage.edges):
        if src not in nodes or dst not in nodes:
            continue
        src_label, dst_label = nodes[src]["label"], nodes[dst]["label"]
        if src_label in ACTIVITIES and rel == "USED":
            used.setdefault(src, []).append(dst)
        elif dst_label in ACTIVITIES and rel == "WAS_GENERATED_BY":
            generated.setdefault(dst, []).append(src)
            generator.add(src)
        elif rel in _DERIVED and _is_entity(src_label) and _is_entity(dst_label):
            derived.setdefault(src, []).append(dst)

    events = []
    for node_id in sorted(nodes):
        label, props = nodes[node_id]["label"], nodes[node_id]["properties"]
        if label in ACTIVITIES:
            events.append(_activity_event(lineage, namespace, node_id, used.get(node_id, []), generated))
        elif node_id in derived and node_id not in generator:
            kind = "ingest" if label == "Snapshot" else "derive"
            name = dataset_name(label, node_id, props)
            events.append(
                RunEvent(
                    eventType=RunState.COMPLETE,
                    eventTime=_event_time(props, lineage),
                    producer=PRODUCER,
                    run=Run(
                        runId=run_uuid(f"{kind}:{node_id}"),
                        facets=_run_facets([("warrant.entity_id", node_id)], None),
                    ),
                    job=Job(namespace=namespace, name=f"{kind}/{name}", facets=_job_facets(kind.upper())),
                    inputs=[_node_input(lineage, namespace, i) for i in derived[node_id]],
                    outputs=[_node_output(lineage, namespace, node_id)],
                )
            )
    return events


def emit(settings: Settings, event: RunEvent) -> str | None:
    """Send `event` where the settings say: the HTTP endpoint, else the JSON-lines file, else nowhere.

    Returns where it went (for the user), or None when OpenLineage is off.
    """
    if settings.openlineage_url:
        url = settings.openlineage_url
        try:
            transport = HttpTransport(HttpConfig(url=url, timeout=10.0, retry=_RETRY))
        except ValueError:
            raise LineageEmitError(f"WARRANT_OPENLINEAGE_URL: {url!r} is not an http(s) URL") from None
        try:
            transport.emit(event)
        except requests.HTTPError as exc:
            body = (exc.response.text or "").strip().splitlines() if exc.response is not None else []
            status = exc.response.status_code if exc.response is not None else "?"
            detail = f": {body[0][:200]}" if body else ""
            raise LineageEmitError(
                f"OpenLineage endpoint {url} refused the event (HTTP {status}){detail}"
            ) from None
        except requests.RequestException as exc:
            raise LineageEmitError(f"OpenLineage endpoint {url} unreachable: {_reason(exc)}") from None
        finally:
            transport.close()
        return f"sent to {urljoin(url, transport.endpoint)}"
    if settings.openlineage_file:
        path = settings.openlineage_file
        try:
            FileTransport(FileConfig(log_file_path=str(path), append=True)).emit(event)
        except RuntimeError as exc:
            raise LineageEmitError(f"WARRANT_OPENLINEAGE_FILE: {_first_line(exc)}") from None
        return f"appended to {path}"
    return None


# A few quick retries on 5xx and refused connections: a post-mortem should not hang on a catalogue.
_RETRY = {**DEFAULT_RETRY_CONFIG, "total": 2, "connect": 2, "read": 2, "backoff_factor": 0.2}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _reason(exc: requests.RequestException) -> str:
    """The useful end of a requests error ("[Errno 111] Connection refused"), not urllib3's whole story."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    text = _first_line(getattr(inner, "reason", None) or inner)
    return text.rsplit(": ", 1)[-1] if "[Errno" in text else text


def _label(lineage: Lineage, node_id: str) -> str:
    return lineage.nodes[node_id]["label"]


def _is_entity(label: str) -> bool:
    return label not in ACTIVITIES and label not in AGENTS


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("OpenLineage event times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _event_time(props: dict[str, Any], lineage: Lineage) -> str:
    """When the activity happened, as stored: a re-export of the same trace gives the same events."""
    stamp = props.get("created_at") or lineage.as_of
    if stamp:
        return _rfc3339(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    return _rfc3339(datetime.now(UTC))


def _doc(text: str) -> documentation_dataset.DocumentationDatasetFacet:
    return documentation_dataset.DocumentationDatasetFacet(description=text, producer=PRODUCER)


def _dataset_tags(values: dict[str, Any]) -> tags_dataset.TagsDatasetFacet:
    return tags_dataset.TagsDatasetFacet(
        tags=[
            tags_dataset.TagsDatasetFacetFields(key=k, value=str(v), source="WARRANT")
            for k, v in values.items()
            if v not in (None, "")
        ],
        producer=PRODUCER,
    )


def _snapshot_facets(s: dict[str, Any]) -> dict[str, DatasetFacet]:
    facets: dict[str, DatasetFacet] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=s["sha256"], producer=PRODUCER
        ),
        "tags": _dataset_tags(
            {
                "warrant.id": s.get("id"),
                "table": s.get("table"),
                "mapping": s.get("mapping"),
                "source": s.get("source"),
            }
        ),
    }
    if s.get("source"):
        facets["dataSource"] = datasource_dataset.DatasourceDatasetFacet(name=s["source"], producer=PRODUCER)
    return facets


def _finding_facets(f: dict[str, Any]) -> dict[str, DatasetFacet]:
    return {
        "documentation": _doc(f.get("title") or f["id"]),
        "tags": _dataset_tags({"warrant.id": f["id"], "category": f.get("category")}),
    }


def _entity_facets(label: str, node_id: str, props: dict[str, Any]) -> dict[str, DatasetFacet]:
    if label == "Snapshot":
        return _snapshot_facets({**props, "id": node_id, "sha256": props.get("sha256") or node_id})
    if label == "Finding":
        return _finding_facets({**props, "id": node_id})
    facets: dict[str, DatasetFacet] = {"tags": _dataset_tags({"warrant.id": node_id, "label": label})}
    text = next((props[k] for k in ("title", "name", "file") if props.get(k)), None)
    if text:
        facets["documentation"] = _doc(str(text))
    if label == "Extract" and props.get("sha256"):
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=props["sha256"], producer=PRODUCER
        )
    return facets


def _input(
    namespace: str, name: str, facets: dict[str, DatasetFacet], *, rows: int | None = None
) -> InputDataset:
    input_facets: dict[str, InputDatasetFacet] = {}
    if isinstance(rows, int):
        input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=rows, producer=PRODUCER
        )
    return InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=input_facets)


def _output(
    namespace: str, name: str, facets: dict[str, DatasetFacet], *, rows: int | None = None
) -> OutputDataset:
    output_facets: dict[str, OutputDatasetFacet] = {}
    if isinstance(rows, int):
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=rows, producer=PRODUCER
            )
        )
    return OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=output_facets)


def _rows(props: dict[str, Any]) -> int | None:
    rows = props.get("rows", props.get("row_count"))
    return rows if isinstance(rows, int) else None


def _node_input(lineage: Lineage, namespace: str, node_id: str) -> InputDataset:
    label, props = lineage.nodes[node_id]["label"], lineage.nodes[node_id]["properties"]
    facets = _entity_facets(label, node_id, props)
    return _input(namespace, dataset_name(label, node_id, props), facets, rows=_rows(props))


def _node_output(lineage: Lineage, namespace: str, node_id: str) -> OutputDataset:
    label, props = lineage.nodes[node_id]["label"], lineage.nodes[node_id]["properties"]
    facets = _entity_facets(label, node_id, props)
    return _output(namespace, dataset_name(label, node_id, props), facets, rows=_rows(props))


def _activity_event(
    lineage: Lineage, namespace: str, node_id: str, used: list[str], generated: dict[str, list[str]]
) -> RunEvent:
    label, props = lineage.nodes[node_id]["label"], lineage.nodes[node_id]["properties"]
    entities = [i for i in used if _is_entity(lineage.nodes[i]["label"])]
    agents = [i for i in used if not _is_entity(lineage.nodes[i]["label"])]
    key = "warrant.run_id" if label == "DiagnosticRun" else "warrant.activity_id"
    tags = [(key, node_id)]
    tags += [
        ("warrant.postmortem_id", o) for o in generated.get(node_id, []) if _label(lineage, o) == "PostMortem"
    ]
    # Agents it used (the model versions a run resolved) are no datasets: they are named as tags.
    tags += [(f"warrant.{_label(lineage, a).lower()}", a) for a in agents]
    if label == "DiagnosticRun":
        job, kind = diagnostic_job(node_id), "POSTMORTEM"
    else:
        job, kind = f"{label.lower()}/{node_id}", label.upper()
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=_event_time(props, lineage),
        producer=PRODUCER,
        run=Run(runId=run_uuid(node_id), facets=_run_facets(tags, props.get("mlflow_run_id"))),
        job=Job(namespace=namespace, name=job, facets=_job_facets(kind)),
        inputs=[_node_input(lineage, namespace, i) for i in entities],
        outputs=[_node_output(lineage, namespace, o) for o in generated.get(node_id, [])],
    )


def _run_facets(
    tags: list[tuple[str, str]],
    mlflow_run_id: str | None,
    *,
    started: datetime | None = None,
    ended: datetime | None = None,
) -> dict[str, RunFacet]:
    facets: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=WARRANT_VERSION, name="warrant", producer=PRODUCER
        ),
        "tags": tags_run.TagsRunFacet(
            tags=[tags_run.TagsRunFacetFields(key=k, value=v, source="WARRANT") for k, v in sorted(tags)],
            producer=PRODUCER,
        ),
    }
    if mlflow_run_id:
        # The MLflow run that holds the run's parameters, metrics and report: the "external system
        # run" this facet exists to name.
        facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=mlflow_run_id, source="mlflow", producer=PRODUCER
        )
    if started is not None:
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=_rfc3339(started),
            nominalEndTime=_rfc3339(ended) if ended else None,
            producer=PRODUCER,
        )
    return facets


def _job_facets(kind: str) -> dict[str, JobFacet]:
    return {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="WARRANT", jobType=kind, producer=PRODUCER
        )
    }
