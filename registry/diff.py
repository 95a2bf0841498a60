"""What a replay changed: findings added, removed and changed, effect-size deltas, the scorecard, and
which assumptions or model versions caused each change.

Findings are matched by their logical id (the engine's deterministic id, without the run prefix), so
the same analysis on the same data pairs up across runs. A cause is an assumption that the finding's
kind reads (`diagnostics.models.FINDING_ASSUMPTIONS`, plus the checks') and that differs between the
two runs, or a change of the model version that produces that kind of finding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from diagnostics.models import CHECK_ASSUMPTIONS, FINDING_ASSUMPTIONS, FINDING_MODEL

_COMPARED = (
    "title",
    "category",
    "statement",
    "effect_size",
    "sample_size_ok",
    "confounders_ok",
    "actionable",
)
_TOLERANCE = 1e-9


class FindingChange(BaseModel):
    id: str
    kind: str
    change: Literal["added", "removed", "changed"]
    title: str
    fields: list[str] = []
    effect_before: float | None = None
    effect_after: float | None = None
    effect_delta: float | None = None
    causes: list[str] = []


class ReplayDiff(BaseModel):
    original: str
    replay: str
    assumptions_changed: dict[str, tuple[Any, Any]]
    models_changed: dict[str, tuple[str, str]]
    findings: list[FindingChange]
    unchanged: int
    scorecard_compared: bool
    scorecard_changed: dict[str, tuple[float | None, float | None]]

    def lines(self) -> list[str]:
        out = [f"replay {self.replay} of {self.original}"]
        for key, (before, after) in sorted(self.assumptions_changed.items()):
            out.append(f"assumption {key}: {before} -> {after}")
        for name, (before, after) in sorted(self.models_changed.items()):
            out.append(f"model {name}: {before} -> {after}")
        if not self.assumptions_changed and not self.models_changed:
            out.append("same assumptions and model versions")
        for c in self.findings:
            effect = ""
            if c.effect_delta is not None:
                effect = f" effect {_num(c.effect_before)} -> {_num(c.effect_after)} ({c.effect_delta:+.4g})"
            elif c.change == "changed" and c.fields:
                effect = f" ({', '.join(c.fields)})"
            cause = f"  caused by: {', '.join(c.causes)}" if c.causes else ""
            out.append(f"{c.change.upper():<8} {c.id}: {c.title}{effect}{cause}")
        out.append(f"{self.unchanged} finding(s) unchanged")
        if not self.scorecard_compared:
            out.append("scorecard: not compared (the original run has no MLflow record)")
        elif self.scorecard_changed:
            for metric, (before, after) in sorted(self.scorecard_changed.items()):
                out.append(f"scorecard {metric}: {_num(before)} -> {_num(after)}")
        else:
            out.append("scorecard: unchanged")
        return out


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
    return bool(a == b)


def diff(
    *,
    original: str,
    replay: str,
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    assumptions_before: Mapping[str, Any],
    assumptions_after: Mapping[str, Any],
    models_before: Mapping[str, str],
    models_after: Mapping[str, str],
    scorecard_before: Mapping[str, float] | None,
    scorecard_after: Mapping[str, float] | None,
) -> ReplayDiff:
    """`before`/`after`: findings by logical id (properties as stored: title, kind, effect_size, ...);
    assumptions as JSON dicts; models as {name: version}; scorecards as {metric: value}."""
    changed_keys = {
        k: (assumptions_before.get(k), assumptions_after.get(k))
        for k in sorted(set(assumptions_before) | set(assumptions_after))
        if assumptions_before.get(k) != assumptions_after.get(k)
    }
    changed_models = {
        n: (models_before.get(n, "-"), models_after.get(n, "-"))
        for n in sorted(set(models_before) | set(models_after))
        if models_before.get(n) != models_after.get(n)
    }
    changes: list[FindingChange] = []
    unchanged = 0
    for fid in sorted(set(before) | set(after)):
        old, new = before.get(fid), after.get(fid)
        kind = str((new or old or {}).get("kind", ""))
        causes = _causes(kind, changed_keys, changed_models)
        if old is None or new is None:
            present = new if new is not None else old
            assert present is not None
            changes.append(
                FindingChange(
                    id=fid,
                    kind=kind,
                    change="added" if old is None else "removed",
                    title=str(present.get("title", "")),
                    effect_before=None if old is None else old.get("effect_size"),
                    effect_after=None if new is None else new.get("effect_size"),
                    causes=causes,
                )
            )
            continue
        fields = [f for f in _COMPARED if not _same(old.get(f), new.get(f))]
        if not fields:
            unchanged += 1
            continue
        e0, e1 = old.get("effect_size"), new.get("effect_size")
        delta = e1 - e0 if isinstance(e0, int | float) and isinstance(e1, int | float) else None
        changes.append(
            FindingChange(
                id=fid,
                kind=kind,
                change="changed",
                title=str(new.get("title", "")),
                fields=fields,
                effect_before=e0,
                effect_after=e1,
                effect_delta=delta if "effect_size" in fields else None,
                causes=causes,
            )
        )
    compared = scorecard_before is not None and scorecard_after is not None
    card: dict[str, tuple[float | None, float | None]] = {}
    if compared:
        assert scorecard_before is not None and scorecard_after is not None
        for metric in sorted(set(scorecard_before) | set(scorecard_after)):
            b, a = scorecard_before.get(metric), scorecard_after.get(metric)
            if b is None or a is None or not _same(float(b), float(a)):
                card[metric] = (b, a)
    return ReplayDiff(
        original=original,
        replay=replay,
        assumptions_changed=changed_keys,
        models_changed=changed_models,
        findings=changes,
        unchanged=unchanged,
        scorecard_compared=compared,
        scorecard_changed=card,
    )


def _causes(kind: str, keys: Mapping[str, Any], models: Mapping[str, Any]) -> list[str]:
    reads = set(FINDING_ASSUMPTIONS.get(kind, ())) | set(CHECK_ASSUMPTIONS)
    out = [f"{k} ({keys[k][0]} -> {keys[k][1]})" for k in sorted(keys) if k in reads]
    model = FINDING_MODEL.get(kind)
    if model in models:
        out.append(f"model {model} ({models[model][0]} -> {models[model][1]})")
    if not out and (keys or models):
        out = ["indirect: " + ", ".join([*sorted(keys), *(f"model {m}" for m in sorted(models))])]
    return out
