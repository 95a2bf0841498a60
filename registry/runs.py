"""Every post-mortem as an MLflow run: params (the whole assumption set and the model versions),
metrics (the scorecard and what was found), snapshots as dataset inputs, artifacts (the HTML report,
findings, each model's output) and tags that point back into the graph.

The run is logged before the graph is written: if MLflow fails, nothing reaches the graph; if the
graph write fails after, `fail()` marks the MLflow run FAILED so no one mistakes it for a result.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset

from diagnostics.assumptions import Assumptions
from diagnostics.models import output_json
from diagnostics.postmortem import PostMortemResult
from registry.models import Resolved
from registry.tracking import POSTMORTEM_EXPERIMENT, Registry, unavailable

# MLflow's dataset table keeps 36 characters of digest; the full sha256 is in the input's tags.
DIGEST_CHARS = 36


@dataclass(frozen=True)
class SnapshotInput:
    """A snapshot the run read, and the extracts it was made from (its MLflow dataset source)."""

    id: str
    table: str
    mapping: str
    rows: int | None
    extracts: list[dict[str, Any]]  # id, path (the snapshot file when an extract has no path)


def flat_params(a: Assumptions) -> dict[str, str]:
    """The assumption set as MLflow params: nested keys dotted, tuples as JSON."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}{k}.", v)
        else:
            out[prefix.rstrip(".")] = json.dumps(value) if isinstance(value, list) else str(value)

    walk("", a.model_dump(mode="json"))
    return out


def model_outputs(result: PostMortemResult) -> dict[str, str]:
    """Each diagnostic model's output in the run, as the model's own canonical JSON."""
    return {
        "attribution": output_json("attribution", result.attribution.get("results")),
        "drivers": output_json("drivers", result.drivers),
        "response": output_json("response", result.reallocation),
        "fatigue": output_json("fatigue", result.fatigue),
        "scorecard": output_json("scorecard", result.scorecard),
    }


def metrics(result: PostMortemResult) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in result.scorecard.rows:
        if row.actual.value is not None:
            out[f"scorecard.{row.metric}.actual"] = float(row.actual.value)
        if row.plan is not None:
            out[f"scorecard.{row.metric}.plan"] = float(row.plan)
        if row.variance is not None and row.variance.value is not None:
            out[f"scorecard.{row.metric}.variance"] = float(row.variance.value)
    labels = [f.label for f in result.findings]
    out["findings"] = float(len(labels))
    for label in sorted(set(labels)):
        out[f"findings.{label}"] = float(labels.count(label))
    out["action_items"] = float(len(result.plan.items))
    for step, seconds in result.seconds.items():
        out[f"seconds.{step.replace(' ', '_')}"] = float(seconds)
    return out


def log_postmortem(
    reg: Registry,
    *,
    postmortem_id: str,
    run_node: str,
    result: PostMortemResult,
    overrides: Mapping[str, Any],
    resolved: Mapping[str, Resolved],
    snapshots: Sequence[SnapshotInput],
    findings: list[dict[str, Any]],
    report_html: str,
    report_data: dict[str, Any],
    drift: list[dict[str, Any]],
    replay_of: str | None = None,
) -> str:
    """Log the run; returns its MLflow run id. Any MLflow failure becomes `RegistryUnavailable`."""
    tags = {
        "warrant.campaign": result.campaign_id,
        "warrant.postmortem_id": postmortem_id,
        "warrant.diagnostic_run": run_node,
        "warrant.snapshots": ",".join(s.id for s in snapshots),
        "warrant.baselines": ",".join(result.baseline_ids),
        "warrant.code_version": next(iter(resolved.values())).code_version if resolved else "",
        **({"warrant.replay_of": replay_of} if replay_of else {}),
    }
    params = flat_params(result.assumptions)
    params.update({f"model.{name}": f"{r.registered}/{r.version}" for name, r in resolved.items()})
    try:
        experiment = reg.experiment_id(POSTMORTEM_EXPERIMENT)
        with mlflow.start_run(experiment_id=experiment, run_name=postmortem_id, tags=tags) as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics(result))
            datasets, tag_list = (
                zip(*[_dataset(s) for s in snapshots], strict=True) if snapshots else ((), ())
            )
            mlflow.log_inputs(
                datasets=list(datasets), contexts=["postmortem"] * len(datasets), tags_list=list(tag_list)
            )
            with contextlib.redirect_stderr(io.StringIO()):
                mlflow.log_text(report_html, "report.html")
                mlflow.log_dict(report_data, "report_data.json")  # the same numbers, for the UI's charts
                mlflow.log_dict({"findings": findings}, "findings.json")
                mlflow.log_dict(
                    {
                        "assumptions": result.assumptions.model_dump(mode="json"),
                        "set_explicitly": dict(overrides),
                        "models": {
                            n: {"version": r.version, "alias": r.alias, "params": r.params}
                            for n, r in resolved.items()
                        },
                    },
                    "assumptions.json",
                )
                for name, text in model_outputs(result).items():
                    mlflow.log_text(text, f"outputs/{name}.json")
                if drift:
                    mlflow.log_dict({"drift": drift}, "drift.json")
            return str(run.info.run_id)
    except Exception as exc:
        raise unavailable(reg.uri, exc) from None


def _dataset(s: SnapshotInput) -> tuple[MetaDataset, dict[str, str]]:
    source = resolve_dataset_source(s.extracts[0]["path"])  # the service gives every input a path
    dataset = MetaDataset(source=source, name=f"{s.table}/{s.mapping}", digest=s.id[:DIGEST_CHARS])
    tags = {
        "warrant.snapshot": s.id,
        "warrant.table": s.table,
        "warrant.rows": str(s.rows if s.rows is not None else ""),
        "warrant.extracts": ",".join(e["id"] for e in s.extracts),
    }
    return dataset, tags


def fail(reg: Registry, mlflow_run_id: str, reason: str) -> None:
    """Mark a logged run FAILED after the graph refused it (best effort: the graph is the record)."""
    with contextlib.suppress(Exception):
        client: Any = reg.client
        client.set_tag(mlflow_run_id, "warrant.failure", reason[:500])
        client.set_terminated(mlflow_run_id, status="FAILED")


def read_output(reg: Registry, mlflow_run_id: str, name: str) -> str:
    """A model's output (`outputs/<name>.json`) as the post-mortem logged it: what a decision's
    promise is priced from, so it is the run's own numbers, not a recomputation."""
    return read_artifact(reg, mlflow_run_id, f"outputs/{name}.json")


def has_artifact(reg: Registry, mlflow_run_id: str, path: str) -> bool:
    """Whether a run logged `path` (a top-level artifact): runs logged by older code lack some."""
    try:
        listed = reg.client.list_artifacts(mlflow_run_id)  # type: ignore[attr-defined]
    except Exception as exc:
        raise unavailable(reg.uri, exc) from exc
    return any(item.path == path for item in listed)


def read_artifact(reg: Registry, mlflow_run_id: str, path: str) -> str:
    """A text artifact of a run, as logged."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="warrant-output-") as tmp:
        try:
            local = reg.client.download_artifacts(  # type: ignore[attr-defined]
                mlflow_run_id, path, tmp
            )
        except Exception as exc:
            raise unavailable(reg.uri, exc) from exc
        return Path(local).read_text(encoding="utf-8")
