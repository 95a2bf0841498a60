"""The approval gates: Cedar policies loaded from `policies/`, validated against the schema, hashed,
and evaluated into verdicts that say, in plain language, which policies decided and why.

Loading splits each `.cedar` file into its policies (top-level `;`, outside strings and comments) so
every error names a file and a line: a syntax error from the parser, a schema error from the
validator (mapped back through the policy's position), a policy without `@id` or `@reason`. The
set's sha256 covers the schema, the policy files and the freeze windows: what a verdict records is
exactly the text that judged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cedarpy
import yaml

from graph.errors import ConfigurationError


def _default_dir() -> Path:
    """`policies/` beside the packages in a checkout (or an editable install); a wheel installs the
    same files under `<prefix>/share/warrant/policies`."""
    checkout = Path(__file__).resolve().parent.parent / "policies"
    installed = Path(sys.prefix) / "share" / "warrant" / "policies"
    return checkout if checkout.is_dir() or not installed.is_dir() else installed


DEFAULT_DIR = _default_dir()
NAMESPACE = "Warrant"
ROLES = ("analyst", "governance_lead", "auditor", "admin")


class PolicyError(ConfigurationError):
    """A policy file that does not parse or does not fit the schema: it stops start-up."""


@dataclass(frozen=True)
class Policy:
    id: str
    effect: str  # permit | forbid
    reason: str
    file: str
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Freeze:
    name: str
    start: dt.date
    end: dt.date

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class PolicySet:
    """A validated set: the policies in evaluation order, the schema, the freezes, and its hash."""

    policies: tuple[Policy, ...]
    schema: str
    freezes: tuple[Freeze, ...]
    sha256: str
    directory: Path
    _text: str = field(repr=False, default="")

    @property
    def version_id(self) -> str:
        return f"policy:{self.sha256[:16]}"

    def in_freeze(self, day: dt.date) -> Freeze | None:
        return next((f for f in self.freezes if f.covers(day)), None)


def load(directory: Path = DEFAULT_DIR) -> PolicySet:
    """Read, check and hash the policy folder; any problem raises `PolicyError` with file and line."""
    schema_path = directory / "schema.cedarschema"
    if not schema_path.is_file():
        raise PolicyError(f"{schema_path}: the policy schema is missing")
    schema = schema_path.read_text(encoding="utf-8")
    try:
        cedarpy.Schema.from_str(schema)
    except Exception as exc:  # cedarpy raises ValueError or its own errors for a bad schema
        raise PolicyError(f"{schema_path}: {_first_line(exc)}") from None
    files = sorted(directory.glob("*.cedar"))
    if not files:
        raise PolicyError(f"{directory}: no .cedar policy file")
    policies: list[Policy] = []
    for path in files:
        policies += _parse_file(path)
    seen: dict[str, Policy] = {}
    for p in policies:
        if p.id in seen:
            raise PolicyError(f"{p.where}: @id {p.id!r} is already used at {seen[p.id].where}")
        seen[p.id] = p
    text = "\n".join(p.text for p in policies)
    result = cedarpy.validate_policies(text, schema)
    if not result.validation_passed:
        first = result.errors[0]
        where = _by_cedar_id(policies, first.policy_id)
        raise PolicyError(f"{where.where if where else directory}: {first.error} (policy {first.policy_id})")
    freezes = _freezes(directory / "freezes.yaml")
    digest = hashlib.sha256()
    for path in [schema_path, *files, directory / "freezes.yaml"]:
        if path.exists():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return PolicySet(tuple(policies), schema, freezes, digest.hexdigest(), directory, text)


def _by_cedar_id(policies: Sequence[Policy], cedar_id: str) -> Policy | None:
    """Cedar names policies `policyN` by position, or by their @id annotation."""
    match = re.fullmatch(r"policy(\d+)", cedar_id)
    if match and int(match.group(1)) < len(policies):
        return policies[int(match.group(1))]
    return next((p for p in policies if p.id == cedar_id), None)


def _parse_file(path: Path) -> list[Policy]:
    out = []
    source = path.read_text(encoding="utf-8")
    for line, text in _statements(source, path):
        where = f"{path.name}:{line}"
        try:
            est = json.loads(cedarpy.policies_to_json_str(text))
        except ValueError as exc:
            raise PolicyError(f"{path}:{line}: {_first_line(exc)}") from None
        static = list(est.get("staticPolicies", {}).values())
        if len(static) != 1:
            raise PolicyError(f"{path}:{line}: expected one policy here, found {len(static)}")
        annotations = static[0].get("annotations") or {}
        for needed in ("id", "reason"):
            if not annotations.get(needed):
                raise PolicyError(f'{path}:{line}: every policy needs @{needed}("...") ({where})')
        out.append(
            Policy(
                id=str(annotations["id"]),
                effect=str(static[0]["effect"]),
                reason=str(annotations["reason"]),
                file=path.name,
                line=line,
                text=text,
            )
        )
    return out


def _statements(source: str, path: Path) -> list[tuple[int, str]]:
    """Split Cedar text at top-level semicolons; each piece with the line its first token is on."""
    out: list[tuple[int, str]] = []
    start: int | None = None
    i, line, depth = 0, 1, 0
    current_start_line = 1
    while i < len(source):
        ch = source[i]
        if ch == "\n":
            line += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
            continue
        elif ch == '"':
            i += 1
            while i < len(source) and source[i] != '"':
                if source[i] == "\\":
                    i += 1
                elif source[i] == "\n":
                    line += 1
                i += 1
        elif not ch.isspace() and start is None:
            start, current_start_line = i, line
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ";" and depth == 0 and start is not None:
            out.append((current_start_line, source[start : i + 1]))
            start = None
        i += 1
    if start is not None and source[start:].strip():
        raise PolicyError(f"{path}:{current_start_line}: a policy does not end with ';'")
    return out


def _freezes(path: Path) -> tuple[Freeze, ...]:
    if not path.exists():
        return ()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rows = data.get("freezes") or []
        freezes = tuple(Freeze(str(r["name"]), _date(r["start"]), _date(r["end"])) for r in rows)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PolicyError(
            f"{path}: each freeze needs name, start and end dates ({_first_line(exc)})"
        ) from None
    for f in freezes:
        if f.end < f.start:
            raise PolicyError(f"{path}: freeze {f.name!r} ends before it starts")
    return freezes


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """One authorisation answer, as stored with what it allowed or refused."""

    allowed: bool
    action: str
    principal: str
    resource: str
    policies: tuple[str, ...]  # the @ids that determined it
    reasons: tuple[str, ...]  # their @reason sentences, or why nothing permitted
    policy_sha256: str

    def sentence(self) -> str:
        verb = "allowed" if self.allowed else "refused"
        return f"{self.action} by {self.principal} on {self.resource} {verb}: " + " ".join(self.reasons)


def _uid(kind: str, ident: str) -> dict[str, Any]:
    return {"__entity": {"type": f"{NAMESPACE}::{kind}", "id": ident}}


def evaluate(
    policies: PolicySet,
    principal: Principal,
    action: str,
    decision: Mapping[str, Any],
    *,
    people: Sequence[Principal] = (),
    today: dt.date | None = None,
    two_approver_threshold: int = 50_000,
) -> Verdict:
    """`decision`: id, kind, state, proposer, amount, budget_share_bp, approvers (ids), evidence
    (findings, all_checked, any_tainted, gates_passed, any_drifted)."""
    everyone = {p.id: p for p in [*people, principal]}
    for pid in [decision["proposer"], *decision.get("approvers", [])]:
        everyone.setdefault(pid, Principal(pid, ()))
    entities = [
        {
            "uid": {"type": f"{NAMESPACE}::Person", "id": p.id},
            "attrs": {"roles": list(p.roles)},
            "parents": [],
        }
        for p in everyone.values()
    ]
    approvers = sorted(set(decision.get("approvers", [])))
    evidence = decision.get("evidence", {})
    entities.append(
        {
            "uid": {"type": f"{NAMESPACE}::Decision", "id": decision["id"]},
            "attrs": {
                "kind": decision["kind"],
                "state": decision["state"],
                "proposer": _uid("Person", decision["proposer"]),
                "amount": round(decision.get("amount") or 0),
                "budget_share_bp": int(decision.get("budget_share_bp") or 0),
                "approvals": len(approvers),
                "approvers": [_uid("Person", a) for a in approvers],
                "evidence": {
                    "findings": int(evidence.get("findings", 0)),
                    "all_checked": bool(evidence.get("all_checked", False)),
                    "any_tainted": bool(evidence.get("any_tainted", True)),
                    "gates_passed": bool(evidence.get("gates_passed", False)),
                    "any_drifted": bool(evidence.get("any_drifted", True)),
                },
            },
            "parents": [],
        }
    )
    day = today or dt.datetime.now(dt.UTC).date()
    request = {
        "principal": f'{NAMESPACE}::Person::"{_escape(principal.id)}"',
        "action": f'{NAMESPACE}::Action::"{action}"',
        "resource": f'{NAMESPACE}::Decision::"{_escape(decision["id"])}"',
        "context": {
            "in_freeze": policies.in_freeze(day) is not None,
            "two_approver_threshold": two_approver_threshold,
        },
    }
    result = cedarpy.is_authorized(request, policies._text, entities, policies.schema)
    if result.diagnostics.errors:
        raise PolicyError(f"policy evaluation failed: {result.diagnostics.errors[0]}")
    decided = [p for p in (_by_cedar_id(policies.policies, r) for r in result.diagnostics.reasons) if p]
    reasons = tuple(p.reason for p in decided)
    if not result.allowed and not decided:
        reasons = (
            f"no policy lets a person with roles {', '.join(principal.roles) or 'none'} "
            f"{action} a decision that is {decision['state']}.",
        )
    return Verdict(
        allowed=result.allowed,
        action=action,
        principal=principal.id,
        resource=str(decision["id"]),
        policies=tuple(p.id for p in decided),
        reasons=reasons,
        policy_sha256=policies.sha256,
    )


AREAS = ("library", "data", "postmortems", "decisions", "lineage", "audit", "operations")
AREA_ACTIONS = ("view", "ingest", "ingest_path", "analyse", "taint", "decide", "monitor")


def evaluate_area(policies: PolicySet, principal: Principal, action: str, area: str) -> Verdict:
    """May `principal` use a family of routes (`area`) for `action` at all? Every HTTP route asks
    this first; what a decision itself allows is judged again by `evaluate` with its evidence."""
    if action not in AREA_ACTIONS or area not in AREAS:
        raise PolicyError(f"unknown route action {action!r} on {area!r}")
    entities = [
        {
            "uid": {"type": f"{NAMESPACE}::Person", "id": principal.id},
            "attrs": {"roles": list(principal.roles)},
            "parents": [],
        },
        {"uid": {"type": f"{NAMESPACE}::Area", "id": area}, "attrs": {}, "parents": []},
    ]
    request = {
        "principal": f'{NAMESPACE}::Person::"{_escape(principal.id)}"',
        "action": f'{NAMESPACE}::Action::"{action}"',
        "resource": f'{NAMESPACE}::Area::"{area}"',
        "context": {},
    }
    result = cedarpy.is_authorized(request, policies._text, entities, policies.schema)
    if result.diagnostics.errors:
        raise PolicyError(f"policy evaluation failed: {result.diagnostics.errors[0]}")
    decided = [p for p in (_by_cedar_id(policies.policies, r) for r in result.diagnostics.reasons) if p]
    reasons = tuple(p.reason for p in decided) or (
        f"no policy lets a person with roles {', '.join(principal.roles) or 'none'} {action} in {area}.",
    )
    return Verdict(
        allowed=result.allowed,
        action=action,
        principal=principal.id,
        resource=area,
        policies=tuple(p.id for p in decided),
        reasons=reasons,
        policy_sha256=policies.sha256,
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
