"""Where the registry lives, and one clear error when it cannot be reached.

Embedded (the default): a SQLite store and local artifacts under `$WARRANT_HOME/mlflow`, so a
laptop needs no server. Production: `MLFLOW_TRACKING_URI` names a tracking server, and its own
artifact store is used. MLflow keeps its URIs process-wide; `registry()` sets them for the
settings at hand each time, under a lock, so two homes in one process (the tests) never mix.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from graph.errors import WarrantError
from graph.settings import Settings

POSTMORTEM_EXPERIMENT = "warrant-postmortems"
MODELS_EXPERIMENT = "warrant-models"
MODEL_PREFIX = "warrant-"  # registered model names: warrant-attribution, warrant-drivers, ...

_lock = threading.RLock()


class RegistryUnavailable(WarrantError):
    """MLflow's store cannot be reached, or is locked by another writer."""


@dataclass(frozen=True)
class Registry:
    """An MLflow client bound to one tracking URI, with Warrant's experiments."""

    uri: str
    client: object  # mlflow.MlflowClient (typed loosely: mlflow is imported lazily, it costs ~3 s)
    artifact_root: str | None

    @property
    def embedded(self) -> bool:
        return self.uri.startswith("sqlite:")

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created on first use (with artifacts under the home when embedded)."""
        client = self.client
        found = client.get_experiment_by_name(name)  # type: ignore[attr-defined]
        if found is not None:
            return str(found.experiment_id)
        location = f"{self.artifact_root}/{name}" if self.artifact_root else None
        try:
            return str(client.create_experiment(name, artifact_location=location))  # type: ignore[attr-defined]
        except Exception:  # another process created it first
            found = client.get_experiment_by_name(name)  # type: ignore[attr-defined]
            if found is None:
                raise
            return str(found.experiment_id)


def tracking_uri(settings: Settings) -> tuple[str, str | None]:
    """The tracking URI and (embedded only) the artifact root."""
    remote = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if remote:
        return remote, None
    root = settings.mlflow_dir
    return f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()


def quiet() -> None:
    """MLflow's INFO lines and nudges are noise on a CLI that prints its own results."""
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # It logs a traceback for each database error and then raises it, and `unavailable()` already
    # reports that error in one line: the traceback buried the one line on a store that went away.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"mlflow(\..*)?$")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # A tracking server that is down should fail in seconds, not after MLflow's default 7 retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")


@contextmanager
def registry(settings: Settings) -> Iterator[Registry]:
    """The registry for `settings`, checked reachable; MLflow's global URIs point at it meanwhile."""
    uri, artifacts = tracking_uri(settings)
    with _lock:
        quiet()
        import mlflow
        from mlflow import MlflowClient

        if artifacts is not None:
            _prepare_embedded(settings.mlflow_dir)
        # MLflow also writes the URI into MLFLOW_TRACKING_URI for child processes; put the user's
        # value back, or the next `registry()` in this process would take ours for theirs.
        user = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        for name, value in user.items():
            _restore(name, value)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            client.search_experiments(max_results=1)
        except Exception as exc:
            raise unavailable(uri, exc) from None
        yield Registry(uri=uri, client=client, artifact_root=artifacts)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def unavailable(uri: str, exc: BaseException) -> RegistryUnavailable:
    """The one message a user sees whatever MLflow raised underneath."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "locked" in text.lower():
        hint = "another process holds the store's write lock; retry when it finishes"
    elif uri.startswith("sqlite:"):
        hint = f"check that {uri.removeprefix('sqlite:///')} is readable and writable"
    else:
        hint = "check that the tracking server is running and MLFLOW_TRACKING_URI is right"
    return RegistryUnavailable(f"MLflow registry at {uri} is unavailable ({text[:200]}): {hint}")


def _prepare_embedded(root: Path) -> None:
    try:
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegistryUnavailable(f"cannot create the MLflow store under {root}: {exc.strerror}") from None
    db = root / "mlflow.db"
    if db.exists():
        # MLflow waits on a locked SQLite file for as long as its pool allows; probe first, briefly,
        # so a held lock is reported at once instead of as a hang.
        try:
            with sqlite3.connect(db, timeout=2.0) as probe:
                probe.execute("BEGIN IMMEDIATE")
                probe.rollback()
        except sqlite3.OperationalError as exc:
            raise unavailable(f"sqlite:///{db}", exc) from None
