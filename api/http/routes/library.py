"""The post-mortem library: full-text search with facets, highlights and pages, and "similar"."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request, Response

from api.http import deps
from api.http.security import allow
from api.services import library as service
from graph.library import LibraryPage, LibraryQuery, SimilarHit
from graph.settings import Settings
from graph.store import GraphStore

router = APIRouter(tags=["library"])


@router.get(
    "/library/search",
    response_model=LibraryPage,
    dependencies=[allow("view", "library")],
)
async def search(
    request: Request,
    text: str = Query("", max_length=500, description="Lucene syntax; empty: browse, newest first."),
    channel: list[str] = Query([], max_length=50, description="Only these channels (repeatable)."),
    category: list[str] = Query([], max_length=50, description="Only these failure categories."),
    status: list[str] = Query([], max_length=2, description="draft and/or published."),
    outcome: list[str] = Query([], max_length=20, description="Scorecard outcome (e.g. flagged)."),
    tag: list[str] = Query([], max_length=50),
    campaign: str | None = Query(None, max_length=200),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page: int = Query(1, ge=1, le=10_000),
    page_size: int = Query(20, ge=1, le=100),
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Response:
    """Post-mortems, findings and action items matching the text and filters: one page of hits
    with highlighted snippets and follow-up, the total, and facet counts over every match."""
    query = LibraryQuery.of(
        text=text,
        channels=channel,
        categories=category,
        statuses=status,
        outcomes=outcome,
        tags=tag,
        campaign=campaign,
        date_from=date_from,
        date_to=date_to,
        page=page,
        page_size=page_size,
    )
    body = await request.app.state.read_cache.fetch(
        ("search", query.model_dump_json()),
        historical=False,
        compute=lambda: service.search(settings, query, store=store).model_dump_json().encode(),
    )
    return Response(body, media_type="application/json")


@router.get(
    "/library/similar",
    response_model=list[SimilarHit],
    dependencies=[allow("view", "library")],
)
def similar(
    id: str = Query(..., min_length=1, max_length=512, description="A post-mortem id."),
    limit: int = Query(5, ge=1, le=50),
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> list[SimilarHit]:
    """The post-mortems most like this one, each with the channels, categories and terms it shares."""
    return service.similar(settings, id, limit=limit, store=store)
