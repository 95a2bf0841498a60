"""The HTTP API: one FastAPI app over the service layer (`create_app`), served by `warrant serve`.

At start-up the policy set is loaded (a bad policy file stops the server with file and line) and
one graph store is opened for every request to share (the driver pools its connections). Each
request gets an id (echoed as `X-Request-ID` and in every problem), one access-log line, a body
limit, Prometheus metrics, and, when it changed something with a key, a `key.used` audit event."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import problems
from api.http.cache import ReadCache
from api.http.routes import data, decisions, library, lineage, operations, postmortems
from api.http.security import allow
from api.services import decisions as decision_service
from graph.connect import open_store
from graph.settings import Settings
from graph.store import GraphStore

log = logging.getLogger("warrant.api")
PREFIX = "/v1"
ROUTERS = (
    operations.router,
    data.router,
    postmortems.router,
    decisions.router,
    lineage.router,
    library.router,
)
WRITES = ("POST", "PUT", "PATCH", "DELETE")
UPLOAD_PREFIX = "/v1/ingest"


class BodyLimit:
    """Refuse a body over the limit before reading it all (Content-Length), or as soon as a
    streamed body passes it; uploads have their own, larger limit."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        upload = path.startswith(UPLOAD_PREFIX)
        limit = self.settings.api_max_upload_bytes if upload else self.settings.api_max_body_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, send, limit, upload)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _too_large(scope, send, limit, upload)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Send, limit: int, upload: bool) -> None:
    what = "upload" if upload else "request body"
    request = Request(scope)
    response = problems.problem(
        request,
        413,
        "too-large",
        "Request too large",
        f"the {what} is over the limit of {limit:,} bytes"
        + (" (WARRANT_API_MAX_UPLOAD_BYTES)" if upload else " (WARRANT_API_MAX_BODY_BYTES)"),
        limit=limit,
    )
    await response(scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


class Observe:
    """Request id, metrics and one log line per request; a successful write drops the now-reads
    of the read cache. (The key a write was made with is audited inside the write itself:
    `security.caller` sets `graph.store.before_commit`.)

    Plain ASGI (not `@app.middleware`), which costs no task and no stream wrapping per request."""

    def __init__(
        self, app: ASGIApp, *, owner: FastAPI, templates: dict[int, str], requests: Any, latency: Any
    ) -> None:
        self.app = app
        self.owner = owner
        self.templates = templates
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = given or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        method = scope["method"]
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode("latin-1"))]
                if method in WRITES and status < 400:
                    self.owner.state.read_cache.written()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = self.templates.get(id(scope.get("route")), "unmatched")
            self.requests.labels(method, route, str(status)).inc()
            self.latency.labels(method, route).observe(seconds)
            who = state.get("caller")
            log.info(
                "%s %s %s %d %.1fms %s",
                rid,
                method,
                scope["path"],
                status,
                seconds * 1000,
                who.person if who else "-",
            )


def create_app(settings: Settings | None = None, *, store: GraphStore | None = None) -> FastAPI:
    """The app; `store` lets a test share its own graph store (otherwise one is opened at start)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.policies = decision_service.policies(settings)  # a bad file stops start-up here
        if store is None:
            with open_store(settings) as opened:
                app.state.store = opened
                yield
        else:
            app.state.store = store
            yield

    app = FastAPI(
        title="Warrant",
        version="1",
        summary="Marketing campaign post-mortems as a governed knowledge graph.",
        description="Every route needs an API key (`warrant keys create`) and is authorised by the "
        "Cedar policies in `policies/`; errors are RFC 9457 problem details.",
        lifespan=lifespan,
        openapi_url=None,  # served below, behind a key like every other route
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.key_cache = {}
    app.state.buckets = {}
    app.state.read_cache = ReadCache()
    app.state.verdicts = {}
    registry = CollectorRegistry()
    app.state.metrics = registry
    requests = Counter(
        "warrant_http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "warrant_http_request_seconds",
        "HTTP request latency",
        ["method", "route"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    )
    problems.install(app)
    templates: dict[int, str] = {}

    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(Observe, owner=app, templates=templates, requests=requests, latency=latency)
    if settings.api_cors_origins:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "If-Match"],
            expose_headers=["ETag", "X-Request-ID"],
        )
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)

    @app.get("/v1/openapi.json", include_in_schema=False, dependencies=[allow("view", "operations")])
    def openapi() -> dict[str, Any]:
        """The OpenAPI document (a key is needed here too: no route answers anonymously)."""
        return app.openapi()

    templates.update({id(r): path for path, r in api_routes(app)})  # metric labels: route templates

    return app


def api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """Every route with its full path: the routers' (FastAPI may nest included routers) and the
    app's own."""
    nested = [(PREFIX + r.path, r) for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    return nested + [(r.path, r) for r in app.routes if isinstance(r, APIRoute)]
