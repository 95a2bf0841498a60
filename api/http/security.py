"""Who is calling, and may they use this route: every route declares `allow(action, area)`.

The key is read from `Authorization: Bearer wk_...` (or `X-API-Key`), turned into its person and
roles, and the route's (action, area) is put to the same Cedar policy set the CLI uses. A route
without an `allow` dependency fails `tests/integration/test_http_routes.py`; what a decision
allows is judged again, with its evidence, by the governance engine the route calls."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.http.problems import Forbidden, TooManyRequests
from api.services import keys
from governance import policy as gates
from graph.store import before_commit

bearer = HTTPBearer(auto_error=False, description="An API key: `warrant keys create --person ... --role ...`")
header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key, as a header.")

_CACHE_SECONDS = 2.0  # a revoked key stops working within this long


async def caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    api_key: str | None = Depends(header),
) -> keys.Caller:
    """Async, so the common case (a key seen in the last seconds) costs no thread hop; the lookup
    itself (a blocking driver call) runs in the thread pool."""
    token = credentials.credentials if credentials else api_key
    state = request.app.state
    now = time.monotonic()
    digest = hashlib.sha256(token.encode()).hexdigest() if token else ""
    cached = state.key_cache.get(digest) if token else None
    if cached is not None and now - cached[0] < _CACHE_SECONDS:
        who: keys.Caller = cached[1]
    else:
        who = await run_in_threadpool(keys.authenticate, state.store, token)
        state.key_cache[digest] = (now, who)
    _rate(request, who, now)
    request.state.caller = who
    # A request that may write audits its key inside every write it makes (None for reads).
    writes = request.method in ("POST", "PUT", "PATCH", "DELETE")
    hook = (
        keys.audit_writes(who, request.method, request.url.path, request.state.request_id) if writes else None
    )
    before_commit.set(hook)
    return who


def _rate(request: Request, who: keys.Caller, now: float) -> None:
    """A token bucket per key: `api_rate_per_minute` a minute, with a burst of a tenth of that."""
    per_second = request.app.state.settings.api_rate_per_minute / 60
    burst = max(1.0, request.app.state.settings.api_rate_per_minute / 10)
    buckets: dict[str, tuple[float, float]] = request.app.state.buckets
    level, last = buckets.get(who.key_id, (burst, now))
    level = min(burst, level + (now - last) * per_second)
    if level < 1:
        wait = int((1 - level) / per_second) + 1
        raise TooManyRequests(f"key {who.key_id} is over its rate limit; retry in {wait} s", retry_after=wait)
    buckets[who.key_id] = (level - 1, now)


def allow(action: str, area: str) -> Any:
    """The dependency that authorises a route: the caller's roles against (action, area)."""
    if action not in gates.AREA_ACTIONS or area not in gates.AREAS:
        raise ValueError(f"unknown route action {action!r} on {area!r}")

    async def check(request: Request, who: keys.Caller = Depends(caller)) -> keys.Caller:
        # The policy set is fixed for the process's life: one evaluation per caller, action and area.
        verdicts = request.app.state.verdicts
        key = (who.person, who.roles, action, area)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = gates.evaluate_area(
                request.app.state.policies, who.principal, action, area
            )
        if not verdict.allowed:
            raise Forbidden(verdict.sentence(), list(verdict.policies))
        return who

    check.warrant_route = (action, area)  # type: ignore[attr-defined]
    return Depends(check)


def authorised_by(dependant_call: Callable[..., Any]) -> tuple[str, str] | None:
    """The (action, area) a dependency checks, if it is an `allow` check."""
    return getattr(dependant_call, "warrant_route", None)
