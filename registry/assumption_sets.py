"""Assumption sets: how a run's full `Assumptions` is put together, and `--set key=value` parsing.

The run's set is layered, and the layers are recorded: the defaults (DOMAIN.md), then the parameters
pinned by each model version the run resolved, then what the user set explicitly, which wins. A
replay keeps the original's explicit choices and adds its own, so swapping a model version changes
exactly that model's parameters and nothing the user chose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from diagnostics.assumptions import Assumptions
from graph.errors import InvalidGraphInput


def keys() -> list[str]:
    """Every settable key, nested ones dotted (`scorecard.flag`)."""
    out: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}{k}.", v)
        else:
            out.append(prefix.rstrip("."))

    walk("", Assumptions().model_dump(mode="json"))
    return sorted(out)


def deep_merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """`["attribution_window_days=7", "scorecard.flag=0.2"]` -> nested overrides, each key checked."""
    valid = set(keys())
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidGraphInput(f"--set {item!r}: use KEY=VALUE (e.g. attribution_window_days=7)")
        if key not in valid:
            raise InvalidGraphInput(
                f"--set {key}: no such assumption (assumptions: {', '.join(sorted(valid))})"
            )
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    check(out)
    return out


def check(overrides: Mapping[str, Any]) -> Assumptions:
    """The defaults with `overrides`, validated; a bad value is one line naming the key."""
    try:
        return Assumptions.model_validate(deep_merge(Assumptions().model_dump(mode="json"), overrides))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "assumptions"
        raise InvalidGraphInput(f"assumption {where}: {err['msg']}") from None


def overrides_of(assumptions: Assumptions | None) -> dict[str, Any]:
    """The top-level keys where `assumptions` differs from the defaults (what a caller chose)."""
    if assumptions is None:
        return {}
    given, defaults = assumptions.model_dump(mode="json"), Assumptions().model_dump(mode="json")
    return {k: v for k, v in given.items() if defaults.get(k) != v}


def layered(model_params: Iterable[Mapping[str, Any]], overrides: Mapping[str, Any]) -> Assumptions:
    """Defaults, then the model versions' parameters, then the explicit overrides."""
    data = Assumptions().model_dump(mode="json")
    for params in model_params:
        data = deep_merge(data, params)
    data = deep_merge(data, overrides)
    try:
        return Assumptions.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InvalidGraphInput(f"assumption {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
