"""Post-mortems: run, list, read, publish, the HTML report, replay (with its diff), findings and
action items (owner and due date, status, expected effect)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.http import deps
from api.http.security import allow
from api.services import decisions as decision_service
from api.services import postmortem as postmortem_service
from api.services import reports
from api.services.keys import Caller
from diagnostics.report import ReportData
from graph.settings import Settings
from graph.store import GraphStore
from registry.diff import ReplayDiff

router = APIRouter(tags=["post-mortems"])


class RunRequest(BaseModel):
    campaign_id: str = Field(min_length=1, max_length=200)
    overrides: dict[str, Any] = Field(default_factory=dict, description="Assumptions set explicitly.")
    models: dict[str, str] = Field(default_factory=dict, description="Model name -> alias or vN.")


class ReplayRequest(BaseModel):
    sets: list[str] = Field(default_factory=list, max_length=50, description="KEY=VALUE assumption changes.")
    models: list[str] = Field(default_factory=list, max_length=10, description="NAME@ALIAS or NAME/VERSION.")


class ReplayResult(BaseModel):
    run: postmortem_service.PostMortemRun
    diff: ReplayDiff


class Assignment(BaseModel):
    owner: str = Field(min_length=1, max_length=200, description="A named person, never 'the team'.")
    due: dt.date


class StatusChange(BaseModel):
    status: Literal["open", "in_progress", "done", "dropped"]


class Expectation(BaseModel):
    metric: Literal["leads_per_day", "spend_per_day", "clicks_per_day", "cpl", "cpc", "ctr"]
    direction: Literal["up", "down"]
    size: float = Field(gt=0, le=10, description="Relative change, 0.1 for 10%.")
    by: dt.date
    channels: list[str] = Field(default_factory=list, max_length=20)


@router.post("/postmortems", response_model=postmortem_service.PostMortemRun, status_code=201)
def run(
    body: RunRequest,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    _: Caller = allow("analyse", "postmortems"),
) -> Any:
    """Run the post-mortem of a campaign on its latest snapshots (idempotent: the same inputs give
    the same post-mortem)."""
    done, _result = postmortem_service.run_postmortem(
        settings, body.campaign_id, overrides=body.overrides, models=body.models or None, store=store
    )
    return done


@router.get("/postmortems", response_model=list[dict[str, Any]], dependencies=[allow("view", "postmortems")])
def list_postmortems(campaign_id: str | None = None, store: GraphStore = Depends(deps.store)) -> Any:
    """Every post-mortem, newest first."""
    return reports.list_postmortems(store, campaign_id=campaign_id)


@router.get(
    "/postmortems/{postmortem_id}",
    response_model=reports.PostMortemView,
    dependencies=[allow("view", "postmortems")],
)
def get_postmortem(postmortem_id: str, store: GraphStore = Depends(deps.store)) -> Any:
    """A post-mortem with its findings (and their three checks) and its action plan."""
    return reports.show(store, postmortem_id)


@router.get(
    "/postmortems/{postmortem_id}/report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}},
    dependencies=[allow("view", "postmortems")],
)
def report(
    postmortem_id: str, settings: Settings = Depends(deps.settings), store: GraphStore = Depends(deps.store)
) -> HTMLResponse:
    """The self-contained HTML report, as logged with the run."""
    return HTMLResponse(reports.report_html(settings, store, postmortem_id))


@router.get(
    "/postmortems/{postmortem_id}/data",
    response_model=ReportData,
    dependencies=[allow("view", "postmortems")],
)
def data(
    postmortem_id: str, settings: Settings = Depends(deps.settings), store: GraphStore = Depends(deps.store)
) -> Any:
    """The report's numbers as structured data (what the HTML report draws), as logged with the run."""
    return reports.report_data(settings, store, postmortem_id)


@router.post(
    "/postmortems/{postmortem_id}/publish",
    response_model=dict[str, Any],
    dependencies=[allow("analyse", "postmortems")],
)
def publish(
    postmortem_id: str, settings: Settings = Depends(deps.settings), store: GraphStore = Depends(deps.store)
) -> Any:
    """Publish; refused (409) while an action item lacks a named owner or a due date."""
    return postmortem_service.publish(settings, postmortem_id, store=store).model_dump(
        exclude={"search_text"}
    )


@router.post(
    "/postmortems/{postmortem_id}/replay",
    response_model=ReplayResult,
    status_code=201,
    dependencies=[allow("analyse", "postmortems")],
)
def replay(
    postmortem_id: str,
    body: ReplayRequest,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Any:
    """Run it again on the same snapshots under other assumptions or models; the diff says which
    findings were added, removed or changed, and why."""
    done = postmortem_service.replay(settings, postmortem_id, sets=body.sets, models=body.models, store=store)
    return ReplayResult(run=done.run, diff=done.diff)


@router.get(
    "/postmortems/{postmortem_id}/diff",
    response_model=ReplayDiff,
    dependencies=[allow("view", "postmortems")],
)
def diff(
    postmortem_id: str,
    against: str = Query(
        ..., min_length=1, max_length=512, description="Another post-mortem of the campaign."
    ),
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Any:
    """This post-mortem against another of the same campaign, finding by finding, with the
    assumption or model changes that explain each difference."""
    return postmortem_service.compare(settings, postmortem_id, against, store=store)


@router.get(
    "/findings/{finding_id:path}", response_model=dict[str, Any], dependencies=[allow("view", "postmortems")]
)
def get_finding(finding_id: str, store: GraphStore = Depends(deps.store)) -> Any:
    """One finding with its checks, taint and drift marks."""
    return reports.finding(store, finding_id)


@router.put(
    "/action-items/{action_id:path}/assignment",
    response_model=dict[str, Any],
    dependencies=[allow("analyse", "postmortems")],
)
def assign(
    action_id: str,
    body: Assignment,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
) -> Any:
    """Name the person who owns an action item and its due date."""
    return postmortem_service.assign_action(
        settings, action_id, body.owner, body.due, store=store
    ).model_dump()


@router.put("/action-items/{action_id:path}/status", response_model=dict[str, Any])
def set_status(
    action_id: str,
    body: StatusChange,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("analyse", "postmortems"),
) -> Any:
    """Move an action item along open, in_progress, done (or dropped)."""
    return reports.set_action_status(settings, action_id, body.status, by=who.person, store=store)


@router.put("/action-items/{action_id:path}/expectation", response_model=dict[str, Any])
def expect(
    action_id: str,
    body: Expectation,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    who: Caller = allow("analyse", "postmortems"),
) -> Any:
    """Give an action item its expected effect; monitoring marks it achieved or missed."""
    return decision_service.expect(settings, action_id, body.model_dump(), by=who.person, store=store)
