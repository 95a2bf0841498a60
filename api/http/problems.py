"""Errors as RFC 9457 problem details (`application/problem+json`), one shape for every failure.

Each Warrant error class maps to one status and one problem type; the detail is the message the
CLI prints (written for the person at the keyboard), and every problem names the request id that
the server's log line carries, so a user's report finds the log."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.errors import (
    ConcurrentModification,
    ConfigurationError,
    GraphUnavailable,
    InvalidGraphInput,
    NotFound,
    WarrantError,
)

log = logging.getLogger("warrant.api")
MEDIA_TYPE = "application/problem+json"


class Forbidden(WarrantError):
    """The policies refused the route to this caller."""

    def __init__(self, message: str, policies: list[str] | None = None) -> None:
        super().__init__(message)
        self.policies = policies or []


class PreconditionFailed(WarrantError):
    """`If-Match` names a version other than the current one."""


class PreconditionRequired(WarrantError):
    """A change to a decision without `If-Match`: the caller must say which version they saw."""


class TooLarge(WarrantError):
    """A request body over the limit."""


class TooManyRequests(WarrantError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _table() -> list[tuple[type[BaseException], int, str, str]]:
    """(error class, status, type slug, title), most specific first."""
    from api.services.ingest import GateFailure
    from api.services.keys import Unauthenticated
    from api.services.postmortem import NotPublishable
    from governance.decisions import Refused
    from governance.execution import PlatformError
    from ingest.errors import IngestError
    from registry.models import ModelCodeMismatch
    from registry.tracking import RegistryUnavailable

    return [
        (Unauthenticated, 401, "unauthenticated", "Authentication required"),
        (Forbidden, 403, "forbidden", "Not allowed by policy"),
        (Refused, 403, "forbidden", "Not allowed by policy"),
        (NotFound, 404, "not-found", "Not found"),
        (PreconditionFailed, 412, "precondition-failed", "The resource changed"),
        (PreconditionRequired, 428, "precondition-required", "If-Match required"),
        (ConcurrentModification, 409, "conflict", "Concurrent modification"),
        (NotPublishable, 409, "not-publishable", "Not publishable yet"),
        (TooLarge, 413, "too-large", "Request too large"),
        (TooManyRequests, 429, "rate-limited", "Too many requests"),
        (GateFailure, 422, "quality-gate-failed", "A blocking quality gate failed"),
        (IngestError, 422, "invalid-export", "The export cannot be read"),
        (InvalidGraphInput, 422, "invalid-input", "Invalid input"),
        (ModelCodeMismatch, 409, "model-code-mismatch", "Registered model differs from installed code"),
        (PlatformError, 502, "platform-error", "The ad platform failed"),
        (GraphUnavailable, 503, "graph-unavailable", "Graph unavailable"),
        (RegistryUnavailable, 503, "registry-unavailable", "Model registry unavailable"),
        (ConfigurationError, 500, "configuration", "Server misconfigured"),
        (WarrantError, 400, "bad-request", "Bad request"),
    ]


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def problem(request: Request, status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id(request),
        **extra,
    }
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    table = _table()

    @app.exception_handler(WarrantError)
    async def warrant_error(request: Request, exc: WarrantError) -> JSONResponse:
        for cls, status, slug, title in table:
            if isinstance(exc, cls):
                extra: dict[str, Any] = {}
                if hasattr(exc, "to_dict"):
                    extra["errors"] = [exc.to_dict()]  # type: ignore[attr-defined]
                if isinstance(exc, TooManyRequests):
                    extra["retry_after"] = exc.retry_after
                verdict = getattr(exc, "verdict", None)
                if verdict is not None:
                    extra["policies"] = list(verdict.policies)
                elif isinstance(exc, Forbidden):
                    extra["policies"] = exc.policies
                if status >= 500:
                    log.error("request %s failed: %s", request_id(request), exc)
                return problem(request, status, slug, title, str(exc), **extra)
        raise AssertionError("WarrantError is in the table")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        return problem(request, 422, "invalid-input", "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(request, exc.status_code, slug, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s crashed", request_id(request))
        return problem(
            request,
            500,
            "internal",
            "Internal error",
            f"unexpected error; the server log has the details under request id {request_id(request)}",
        )
