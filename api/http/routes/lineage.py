"""Lineage: trace any node back to its sources, its impact forward, and taint a bad source.

Node ids hold `:` and `/` (a finding about an ad), so they travel as a query parameter."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from api.http import deps
from api.http.security import allow
from api.services import lineage as service
from api.services.keys import Caller
from graph.settings import Settings
from graph.store import GraphStore

router = APIRouter(tags=["lineage"])


class LineageView(BaseModel):
    root: str
    direction: str
    as_of: str | None
    nodes: dict[str, dict[str, Any]]
    edges: list[tuple[str, str, str]]


class TaintRequest(BaseModel):
    id: str = Field(
        min_length=1, max_length=512, description="The bad node (a source, an extract, a snapshot)."
    )
    reason: str = Field(min_length=3, max_length=2000)


class TaintView(BaseModel):
    origin: str
    reason: str
    flagged: list[str]
    already_tainted: list[str]


def _view(found: Any) -> LineageView:
    return LineageView(
        root=found.root,
        direction=found.direction,
        as_of=found.as_of,
        nodes=found.nodes,
        edges=[tuple(e) for e in found.edges],
    )


NODE = Query(..., min_length=1, max_length=512, description="A node id.")
AS_OF = Query(None, description="The graph as it stood then (what an approver was shown).")


@router.get("/lineage/trace", response_model=LineageView, dependencies=[allow("view", "lineage")])
async def trace(
    request: Request,
    id: str = NODE,
    as_of: dt.datetime | None = AS_OF,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Response:
    """Everything the node rests on, back to the source exports."""
    moment = _utc(as_of)
    return await _cached(
        request, ("trace", id, moment), moment, lambda: service.trace(settings, id, moment, store=store)
    )


@router.get("/lineage/impact", response_model=LineageView, dependencies=[allow("view", "lineage")])
async def impact(
    request: Request,
    id: str = NODE,
    as_of: dt.datetime | None = AS_OF,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Response:
    """Everything the node fed: the findings and decisions a bad source would taint."""
    moment = _utc(as_of)
    return await _cached(
        request, ("impact", id, moment), moment, lambda: service.impact(settings, id, moment, store=store)
    )


async def _cached(request: Request, key: tuple[Any, ...], moment: dt.datetime | None, walk: Any) -> Response:
    """The serialised walk from the app's read cache (a walk as of a past time never changes)."""
    historical = moment is not None and moment < dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    body = await request.app.state.read_cache.fetch(
        key, historical=historical, compute=lambda: _view(walk()).model_dump_json().encode()
    )
    return Response(body, media_type="application/json")


@router.post("/lineage/taint", response_model=TaintView)
def taint(
    body: TaintRequest,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("taint", "lineage"),
) -> Any:
    """Mark a bad node and everything downstream of it; approved, unexecuted decisions it reaches go
    back to pending approval and their people are notified."""
    done = service.taint(settings, body.id, body.reason, by=who.person, store=store)
    return TaintView(
        origin=done.origin,
        reason=done.reason,
        flagged=list(done.flagged),
        already_tainted=list(done.already_tainted),
    )


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
