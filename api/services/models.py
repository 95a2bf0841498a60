"""Use cases of the model registry: list the diagnostic models, register the installed code,
promote a version to an alias, and open the stock MLflow UI on the store."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from pydantic import BaseModel

from graph.errors import WarrantError
from graph.settings import Settings


class ModelRow(BaseModel):
    name: str
    version: str
    aliases: list[str]
    code_version: str
    installed_code: bool
    params: str
    drift: str | None = None


def list_models(settings: Settings) -> list[ModelRow]:
    from diagnostics.models import MODEL_NAMES
    from registry import models as registered
    from registry.tracking import registry

    rows = []
    with registry(settings) as reg:
        client: Any = reg.client
        for name in MODEL_NAMES:
            full = registered.registered_name(name)
            installed = registered.code_version(name)
            versions = client.search_model_versions(f"name = '{full}'")
            if not versions:
                continue  # not registered yet: the first post-mortem registers it
            aliases = client.get_registered_model(full).aliases
            for v in sorted(versions, key=lambda v: int(v.version)):
                rows.append(
                    ModelRow(
                        name=full,
                        version=str(v.version),
                        aliases=sorted(a for a, ver in aliases.items() if str(ver) == str(v.version)),
                        code_version=v.tags.get("warrant.code_version", ""),
                        installed_code=v.tags.get("warrant.code_version") == installed,
                        params=(v.description or "").partition(" with ")[2],
                        drift=v.tags.get("warrant.drift"),
                    )
                )
    return rows


def sync(settings: Settings, *, promote: bool) -> dict[str, tuple[str, bool]]:
    from registry import models as registered
    from registry.tracking import registry

    with registry(settings) as reg:
        return registered.sync(reg, promote=promote)


def register(settings: Settings, name: str, sets: list[str], alias: str | None) -> str:
    """A version of `name` pinning other parameters (`sets`: KEY=VALUE among those it owns)."""
    from diagnostics.assumptions import Assumptions
    from diagnostics.models import model_params
    from registry import assumption_sets
    from registry import models as registered
    from registry.tracking import registry

    changes = assumption_sets.parse_sets(sets)
    params = assumption_sets.deep_merge(model_params(name, Assumptions()), changes)
    with registry(settings) as reg:
        version = registered.register(reg, name, params)
        if alias:
            registered.promote_version(reg, name, version, alias)
        return version


def promote(settings: Settings, name: str, version: str, alias: str) -> None:
    from registry import models as registered
    from registry.tracking import registry

    with registry(settings) as reg:
        registered.promote_version(reg, name, version, alias)


def mlflow_ui_command(settings: Settings, host: str, port: int) -> list[str]:
    """The stock `mlflow ui` on Warrant's store (or the tracking server's, when one is set)."""
    from registry.tracking import tracking_uri

    uri, artifacts = tracking_uri(settings)
    if not uri.startswith("sqlite:"):
        raise WarrantError(f"MLFLOW_TRACKING_URI is {uri}: open that server's own UI instead")
    executable = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or shutil.which("mlflow")
    if executable is None:
        raise WarrantError("the mlflow command is not installed in this environment")
    command = [executable, "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
    if artifacts:
        command += ["--default-artifact-root", artifacts]
    return command


def mlflow_ui(settings: Settings, host: str, port: int) -> None:
    """Become the stock `mlflow ui` (exec, so Ctrl-C and signals reach it directly). MLflow's
    background job runner is switched off: Warrant submits no MLflow jobs, and it would leave
    worker processes behind a parent that is stopped."""
    settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    command = mlflow_ui_command(settings, host, port)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    sys.stdout.flush()
    os.execve(command[0], command, env)  # noqa: S606
