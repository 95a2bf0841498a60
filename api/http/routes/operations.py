"""Health, readiness, metrics, the audit chain, monitoring and a caller's notifications.

Even these need a key: a probe or a Prometheus scraper sends one (both can set a header), so no
route says anything to an anonymous caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from api.http import deps
from api.http.problems import problem
from api.http.security import allow
from api.services import decisions as decision_service
from api.services import governance as governance_service
from api.services.keys import Caller
from graph.settings import Settings
from graph.store import GraphStore

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


class ChainStatus(BaseModel):
    ok: bool
    events: int
    head: str | None = None
    problem: str | None = None
    seq: int | None = None
    checkpoints: int = 0


class AuditEventView(BaseModel):
    seq: int
    action: str
    subject_id: str
    actor: str
    at: str
    hash: str
    payload: dict[str, Any]


class Me(BaseModel):
    person: str
    name: str
    roles: list[str]
    key_id: str


class MonitorReport(BaseModel):
    decisions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    proposed: list[str]


class Notice(BaseModel):
    id: str
    subject_id: str
    message: str
    created_at: str
    read: bool = False


@router.get("/health", response_model=Health, dependencies=[allow("view", "operations")])
def health() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"description": "A dependency is not ready (problem details)."}},
    dependencies=[allow("view", "operations")],
)
def ready(request: Request, store: GraphStore = Depends(deps.store)) -> Any:
    """The graph answers a query and the policy set is loaded."""
    checks = {"policies": request.app.state.policies.version_id}
    try:
        store.count("PolicyVersion")
        checks["graph"] = "ok"
    except Exception as exc:  # any failure of the store is "not ready", said in one line
        return problem(request, 503, "not-ready", "Not ready", f"graph: {exc}")
    return Readiness(status="ready", checks=checks)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    dependencies=[allow("view", "operations")],
)
def metrics(request: Request) -> Response:
    """Request counts and latencies by route, in Prometheus text format."""
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


@router.get("/audit/verify", response_model=ChainStatus, dependencies=[allow("view", "audit")])
def verify_audit(settings: Settings = Depends(deps.settings), store: GraphStore = Depends(deps.store)) -> Any:
    """Walk the audit hash chain (and the signed checkpoints) and name the first broken link."""
    v = governance_service.verify_chain(settings, store=store)
    return ChainStatus(
        ok=v.ok, events=v.events, head=v.head, problem=v.problem, seq=v.seq, checkpoints=v.checkpoints
    )


@router.get("/audit/events", response_model=list[AuditEventView], dependencies=[allow("view", "audit")])
def audit_events(
    subject: str = Query(min_length=1, max_length=500, description="The node the events are about."),
    limit: int = Query(100, ge=1, le=1000),
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Any:
    """What the audit chain recorded about one node, newest first."""
    return governance_service.events_about(settings, subject, limit, store=store)


@router.get("/me", response_model=Me)
def me(store: GraphStore = Depends(deps.store), who: Caller = allow("view", "operations")) -> Any:
    """Who the key speaks for and the roles it acts with: what a client shapes its screens by."""
    found = store.properties_of([who.person]).get(who.person)
    name = (found[1].get("name") if found else None) or who.person
    return Me(person=who.person, name=name, roles=list(who.roles), key_id=who.key_id)


@router.post("/monitor", response_model=MonitorReport, dependencies=[allow("monitor", "decisions")])
def monitor(settings: Settings = Depends(deps.settings), store: GraphStore = Depends(deps.store)) -> Any:
    """Hold executed decisions to their promise and check action items' expected effects now."""
    done = decision_service.monitor(settings, store=store)
    return MonitorReport(decisions=done.decisions, actions=done.actions, proposed=done.proposed)


@router.get("/notifications", response_model=list[Notice])
def notifications(
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("view", "decisions"),
) -> Any:
    """What the caller must see: decisions of theirs that were reopened or fell short."""
    return [Notice(**n) for n in decision_service.inbox(settings, who.person, store=store)]


@router.post("/notifications/{notification_id:path}/read", response_model=Notice)
def mark_read(
    notification_id: str,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("view", "decisions"),
) -> Any:
    """Mark one of the caller's notifications read."""
    return Notice(**decision_service.mark_read(settings, who.person, notification_id, store=store))
