"""The diagnostic models as MLflow registered models (pyfunc), with `champion` and `challenger`.

Each of `diagnostics.models.MODEL_NAMES` is registered as `warrant-<name>`. A version is the model's
code (identified by the hash of the modules it runs) plus the parameters it pins (the assumptions it
owns), logged as a model-from-code: no pickle, the entry point `registry/model_code.py` and the
configuration are the artifact. `mlflow.pyfunc.load_model("models:/warrant-attribution@champion")`
gives a model whose `predict` takes the frame the post-mortem fed it (see
`diagnostics.postmortem.model_inputs`) and returns one row of canonical JSON per call.

A version runs only on the code it was registered with: loading one whose code hash differs from the
installed code is refused, because its results could not be reproduced. New code is registered as a
new version (`warrant models sync`) and promoted by a person (`warrant models promote`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import io
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
import polars as pl
import pyarrow as pa

from diagnostics import models as diagnostic
from diagnostics.assumptions import Assumptions
from diagnostics.metrics import CampaignMap
from graph.errors import InvalidGraphInput, NotFound, WarrantError
from registry.tracking import MODEL_PREFIX, MODELS_EXPERIMENT, Registry

ALIASES = ("champion", "challenger")
_ENTRY_POINT = Path(__file__).with_name("model_code.py")


class ModelCodeMismatch(WarrantError):
    """A model version registered from other code than the code installed here."""


def registered_name(name: str) -> str:
    if name not in diagnostic.MODEL_NAMES:
        raise InvalidGraphInput(f"no diagnostic model {name!r} (models: {', '.join(diagnostic.MODEL_NAMES)})")
    return MODEL_PREFIX + name


def code_version(name: str) -> str:
    """sha256 over the source of the modules the model runs, and of this wrapper."""
    digest = hashlib.sha256()
    for module in (*diagnostic.MODEL_MODULES[name], "registry.models"):
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise WarrantError(f"cannot find the source of {module} to version model {name}")
        digest.update(module.encode() + b"\0" + Path(spec.origin).read_bytes())
    return digest.hexdigest()[:16]


def params_key(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


class DiagnosticModel(mlflow.pyfunc.PythonModel):
    """One diagnostic model: its name, the parameters it pins and the code version it ran."""

    # MLflow would wrap `predict` in type-hint validation, which rejects the dict of tables the
    # scorecard takes; the attribute is MLflow's own opt-out (see PythonModel.__init_subclass__).
    _skip_type_hint_validation = True

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})

    def load_context(self, context: Any) -> None:
        self.config = dict(context.model_config or {})

    @property
    def name(self) -> str:
        return str(self.config["name"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.config.get("params", {}))

    def assumptions(self, base: Assumptions | None = None) -> Assumptions:
        """`base` (default: the defaults) with this version's parameters."""
        data = (base or Assumptions()).model_dump(mode="json")
        return Assumptions.model_validate({**data, **self.params})

    def run(self, *args: Any) -> Any:
        """The model on the engine's typed inputs; the engine passes the run's assumption set last."""
        return getattr(diagnostic.BUILTIN, self.name)(*args)

    # Unannotated on purpose: MLflow reads annotations here to infer a signature and warns that
    # `Any` gives none; the inputs are frames of several shapes, documented below.
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        """pyfunc entry: the frame (or, for the scorecard, the dict of tables with `campaigns` and
        `context`) the post-mortem fed the model; one row with the result as canonical JSON."""
        a = self.assumptions()
        if self.name == "scorecard":
            output = self._score(model_input, a)
        else:
            output = self.run(_polars(model_input), a)
        return pd.DataFrame(
            {
                "model": [self.name],
                "code_version": [self.config.get("code_version", "")],
                "output": [diagnostic.output_json(self.name, output)],
            }
        )

    def _score(self, model_input: Any, a: Assumptions) -> Any:
        if not isinstance(model_input, Mapping) or "campaigns" not in model_input:
            raise ValueError(
                "the scorecard model takes a dict of tables with 'campaigns' and 'context' frames"
            )
        tables = {k: _polars(v) for k, v in model_input.items() if k not in ("campaigns", "context")}
        campaigns = _polars(model_input["campaigns"]).to_dicts()
        for c in campaigns:
            c["platforms"] = json.loads(c.get("platforms") or "[]")
        context = _polars(model_input["context"]).row(0, named=True)
        as_of = dt.datetime.fromisoformat(context["as_of"]) if context.get("as_of") else None
        cmap = CampaignMap.from_campaigns_json(campaigns)
        return self.run(tables, cmap, context["campaign_id"], a, as_of)


def scorecard_input(
    tables: Mapping[str, pl.DataFrame],
    campaigns: list[dict[str, Any]],
    campaign_id: str,
    as_of: str | None = None,
) -> dict[str, pl.DataFrame]:
    """The scorecard model's pyfunc input: the tables, the campaigns and which one to score."""
    rows = [{**c, "platforms": json.dumps(c.get("platforms") or [])} for c in campaigns]
    return {
        **tables,
        "campaigns": pl.DataFrame(rows),
        "context": pl.DataFrame({"campaign_id": [campaign_id], "as_of": [as_of]}),
    }


def _polars(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pd.DataFrame):
        return pl.from_arrow(pa.Table.from_pandas(frame, preserve_index=False))  # type: ignore[return-value]
    raise ValueError(f"a diagnostic model takes a polars or pandas DataFrame, not {type(frame).__name__}")


# --- registering, promoting, resolving --------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """A model version the post-mortem will run, and how it was asked for."""

    name: str
    registered: str
    version: str
    alias: str | None
    code_version: str
    params: dict[str, Any]
    model: DiagnosticModel

    @property
    def node_id(self) -> str:
        return f"model:{self.registered}:{self.version}"

    @property
    def ref(self) -> str:
        return f"{self.registered}@{self.alias}" if self.alias else f"{self.registered}/{self.version}"


def register(reg: Registry, name: str, params: Mapping[str, Any] | None = None) -> str:
    """Register the installed code of `name` with `params` (default: the defaults) as a new version,
    unless an identical one exists; return the version. Champion is set when there is none."""
    full = registered_name(name)
    pinned = dict(params) if params is not None else diagnostic.model_params(name, Assumptions())
    Assumptions.model_validate({**Assumptions().model_dump(mode="json"), **pinned})  # refuse bad params
    unknown = set(pinned) - set(diagnostic.MODEL_PARAMS[name])
    if unknown:
        raise InvalidGraphInput(
            f"model {name} does not own {', '.join(sorted(unknown))} "
            f"(its parameters: {', '.join(diagnostic.MODEL_PARAMS[name])})"
        )
    code = code_version(name)
    existing = _find(reg, full, code, params_key(pinned))
    version = existing or _log(reg, name, full, code, pinned)
    client: Any = reg.client
    if "champion" not in client.get_registered_model(full).aliases:
        client.set_registered_model_alias(full, "champion", version)
    return version


def _find(reg: Registry, full: str, code: str, key: str) -> str | None:
    client: Any = reg.client
    try:
        versions = client.search_model_versions(f"name = '{full}'")  # names come from MODEL_NAMES only
    except Exception:
        return None
    for v in versions:
        if v.tags.get("warrant.code_version") == code and v.tags.get("warrant.params_key") == key:
            return str(v.version)
    return None


def _log(reg: Registry, name: str, full: str, code: str, params: dict[str, Any]) -> str:
    config = {"name": name, "params": params, "code_version": code}
    with mlflow.start_run(experiment_id=reg.experiment_id(MODELS_EXPERIMENT), run_name=f"{name} {code}"):
        mlflow.log_params(
            {k: json.dumps(v) if not isinstance(v, int | float | str) else v for k, v in params.items()}
        )
        mlflow.set_tags({"warrant.model": name, "warrant.code_version": code})
        with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints "Successfully registered..."
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(_ENTRY_POINT),
                model_config=config,
                pip_requirements=["warrant"],
                registered_model_name=full,
            )
    version = str(info.registered_model_version)
    client: Any = reg.client
    client.set_model_version_tag(full, version, "warrant.code_version", code)
    client.set_model_version_tag(full, version, "warrant.params_key", params_key(params))
    client.update_model_version(
        full, version, description=f"{name} on code {code} with {json.dumps(params, sort_keys=True)}"
    )
    return version


def sync(reg: Registry, *, promote: bool = False) -> dict[str, tuple[str, bool]]:
    """Register the installed code of every model with default parameters; with `promote`, make
    those versions champion. Returns {name: (version, promoted)}."""
    out = {}
    for name in diagnostic.MODEL_NAMES:
        version = register(reg, name)
        promoted = False
        if promote and _alias_version(reg, registered_name(name), "champion") != version:
            promote_version(reg, name, version, "champion")
            promoted = True
        out[name] = (version, promoted)
    return out


def promote_version(reg: Registry, name: str, version: str, alias: str) -> None:
    if alias not in ALIASES:
        raise InvalidGraphInput(f"alias must be one of {', '.join(ALIASES)}, not {alias!r}")
    full = registered_name(name)
    client: Any = reg.client
    try:
        client.get_model_version(full, version)
    except Exception:
        raise NotFound(f"no version {version} of {full}") from None
    client.set_registered_model_alias(full, alias, version)


def _alias_version(reg: Registry, full: str, alias: str) -> str | None:
    client: Any = reg.client
    try:
        return str(client.get_model_version_by_alias(full, alias).version)
    except Exception:
        return None


def parse_ref(text: str) -> tuple[str, str]:
    """`attribution@challenger`, `warrant-attribution@champion` or `attribution/3` -> (name, ref)."""
    for sep in ("@", "/"):
        if sep in text:
            name, ref = text.split(sep, 1)
            name = name.removeprefix(MODEL_PREFIX)
            registered_name(name)
            if not ref:
                break
            return name, ref if sep == "@" else f"v{ref}"
    raise InvalidGraphInput(f"{text!r} is not a model reference: use NAME@ALIAS or NAME/VERSION")


_cache: dict[tuple[str, str, str], DiagnosticModel] = {}
_cache_lock = threading.Lock()


def resolve(reg: Registry, refs: Mapping[str, str] | None = None) -> dict[str, Resolved]:
    """Every model by alias (default `champion`) or version (`v3`), loaded through MLflow.

    A model with no version yet is registered from the installed code first (it becomes champion),
    so a fresh home works without a setup step."""
    refs = dict(refs or {})
    out = {}
    for name in diagnostic.MODEL_NAMES:
        full = registered_name(name)
        ref = refs.get(name, "champion")
        if ref.startswith("v") and ref[1:].isdigit():
            version, alias = ref[1:], None
        else:
            if ref not in ALIASES:
                raise InvalidGraphInput(f"alias must be one of {', '.join(ALIASES)}, not {ref!r}")
            version, alias = _alias_version(reg, full, ref), ref
            if version is None and ref == "champion":
                version = register(reg, name)
            if version is None:
                raise NotFound(f"{full} has no {ref} version (warrant models promote {name} VERSION {ref})")
        out[name] = _load(reg, name, full, version, alias)
    return out


def _load(reg: Registry, name: str, full: str, version: str, alias: str | None) -> Resolved:
    key = (reg.uri, full, version)
    with _cache_lock:
        model = _cache.get(key)
    if model is None:
        try:
            loaded = mlflow.pyfunc.load_model(f"models:/{full}/{version}")
        except Exception as exc:
            raise NotFound(
                f"cannot load {full} version {version}: {str(exc).splitlines()[0][:200]}"
            ) from None
        model = loaded.unwrap_python_model()
        with _cache_lock:
            _cache[key] = model
    installed = code_version(name)
    registered = str(model.config.get("code_version", ""))
    if registered != installed:
        raise ModelCodeMismatch(
            f"{full} version {version} was registered from code {registered}; the code installed here is "
            f"{installed}, so its results could not be reproduced. Register the installed code "
            f"(warrant models sync) and promote it (warrant models promote {name} VERSION champion)."
        )
    return Resolved(
        name=name,
        registered=full,
        version=version,
        alias=alias,
        code_version=registered,
        params=model.params,
        model=model,
    )


def engine_models(resolved: Mapping[str, Resolved]) -> diagnostic.Models:
    """The engine's model entry points, each served by its resolved version."""
    return diagnostic.Models(**{name: r.model.run for name, r in resolved.items()})


def mark_drift(reg: Registry, resolved: Mapping[str, Resolved], drifted: Mapping[str, str]) -> None:
    """Tag the MLflow versions whose inputs drifted (the graph holds the mark; this mirrors it so
    the stock MLflow UI shows it too). Best effort: the graph write already succeeded."""
    client: Any = reg.client
    for name, reason in drifted.items():
        r = resolved.get(name)
        if r is None:
            continue
        with contextlib.suppress(Exception):
            client.set_model_version_tag(r.registered, r.version, "warrant.drift", reason[:5000])
