"""Decisions and approvals: propose, read (with an ETag), and act on a version (`If-Match`).

A change to a decision must name the version the caller saw (`If-Match: "<version>"`, the ETag of
`GET /decisions/{id}`): without it the answer is 428, with a stale one 412, so two governance
leads deciding on one screen never overwrite each other."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, Field

from api.http import deps
from api.http.problems import PreconditionFailed, PreconditionRequired
from api.http.security import allow
from api.services import decisions as service
from api.services.keys import Caller
from graph.errors import ConcurrentModification
from graph.settings import Settings
from graph.store import GraphStore

router = APIRouter(tags=["decisions"])


class Proposal(BaseModel):
    kind: Literal["budget_reallocation", "pause", "creative_change", "audience_change", "process_change"]
    title: str = Field(min_length=1, max_length=300)
    findings: list[str] = Field(min_length=1, max_length=50)
    amount: float | None = Field(None, gt=0, le=1e12)
    from_channel: str | None = Field(None, max_length=100)
    to_channel: str | None = Field(None, max_length=100)
    budget_share_bp: int | None = Field(None, ge=0, le=10_000)
    period_days: int | None = Field(None, ge=1, le=3650)
    rationale: str = Field("", max_length=5000)


class Act(BaseModel):
    comment: str = Field("", max_length=5000)
    adapter: Literal["file", "simulated"] = Field("file", description="execute only: where the change goes.")


class TransitionView(BaseModel):
    decision: dict[str, Any]
    allowed_by: list[str]
    reason: str
    approval: dict[str, Any] | None = None


def etag(decision: dict[str, Any]) -> str:
    return f'"{decision["version"]}"'


def _version(if_match: str | None) -> int:
    if not if_match:
        raise PreconditionRequired(
            "send If-Match with the ETag of GET /v1/decisions/{id} (the version you decided on)"
        )
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise PreconditionFailed(f'If-Match {if_match!r} is not a decision version (an ETag such as "3")')
    return int(text)


@router.get("/decisions", response_model=list[dict[str, Any]], dependencies=[allow("view", "decisions")])
def list_decisions(
    state: str | None = None,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Any:
    """Every decision, or those in one state (e.g. `pending_approval`: the approval queue)."""
    return service.list_decisions(settings, state, store=store)


@router.post("/decisions", response_model=dict[str, Any], status_code=201)
def propose(
    body: Proposal,
    response: Response,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("decide", "decisions"),
) -> Any:
    """Draft a decision justified by findings, proposed by the caller (a budget reallocation is
    priced on its post-mortem's response curves: its promise)."""
    decision = service.propose(settings, by=who.person, store=store, **body.model_dump())
    response.headers["ETag"] = etag(decision)
    return decision


@router.get(
    "/decisions/{decision_id}", response_model=service.DecisionView, dependencies=[allow("view", "decisions")]
)
def get_decision(
    decision_id: str,
    response: Response,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Any:
    """A decision with its justifying findings and approvals; the ETag is its version."""
    view = service.show(settings, decision_id, store=store)
    response.headers["ETag"] = etag(view.decision)
    return view


@router.get("/decisions/{decision_id}/verdicts", response_model=service.Verdicts)
def verdicts(
    decision_id: str,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("view", "decisions"),
) -> Any:
    """What the policies would say now if the caller took each action, with their plain-language
    reasons: a screen shows why before anyone clicks. The verdict that counts is taken with the action."""
    return service.verdicts(settings, decision_id, by=who.person, store=store)


@router.post(
    "/decisions/{decision_id}/{action}",
    response_model=TransitionView,
    responses={
        403: {"description": "The policies refused (problem details name them and why)."},
        412: {"description": "If-Match names an older version."},
        428: {"description": "If-Match missing."},
    },
)
def act(
    decision_id: str,
    action: Literal["submit", "approve", "reject", "execute", "verify", "rollback"],
    response: Response,
    body: Act | None = None,
    if_match: str | None = Header(None, description="The ETag (version) the caller decided on."),
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("decide", "decisions"),
) -> Any:
    """Submit, approve, reject, execute, verify or roll back, as the caller, on the version they saw.
    Execution happens exactly once: calling it again on an executed decision resumes or returns it."""
    version = _version(if_match)
    body = body or Act()
    if action == "execute":
        current = service.show(settings, decision_id, store=store).decision
        if current["version"] != version and current["state"] != "executed":
            raise PreconditionFailed(f"{decision_id} is at version {current['version']}, not {version}")
        done_ = service.execute(settings, decision_id, by=who.person, adapter=body.adapter, store=store)
        response.headers["ETag"] = etag(done_)
        return TransitionView(decision=done_, allowed_by=[], reason="executed and confirmed by the platform")
    try:
        done = service.act(
            settings,
            decision_id,
            action,
            by=who.person,
            expected_version=version,
            comment=body.comment,
            store=store,
        )
    except ConcurrentModification as exc:
        raise PreconditionFailed(str(exc)) from None
    response.headers["ETag"] = etag(done.decision)
    return TransitionView(
        decision=done.decision,
        allowed_by=list(done.verdict.policies),
        reason=" ".join(done.verdict.reasons),
        approval=done.approval.model_dump() if done.approval else None,
    )
