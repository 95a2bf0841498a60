"""A small typed client of the Warrant HTTP API: the only way the UI reaches Warrant (DESIGN.md).

One method per route the screens use. Every failure becomes an `ApiError` carrying the RFC 9457
problem's status, title and detail; the screens show `detail` verbatim, because the API writes it for
the person at the keyboard (it is the reason a policy refused, or what to fix). An API that cannot be
reached is an `ApiError` too (status 0), so a screen has one thing to catch.

Node ids hold ':' and '/', so path parameters are percent-quoted with nothing left safe, and lineage
and audit take the id as a query parameter, as the API expects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8470"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
REPLAY_TIMEOUT = httpx.Timeout(300.0, connect=5.0)  # a replay re-runs the whole post-mortem


class ApiError(Exception):
    """An API problem (RFC 9457) or an unreachable API (`status` 0)."""

    def __init__(self, status: int, title: str, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body or {}

    @property
    def unreachable(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class Decision:
    """A decision as `GET /decisions/{id}` returns it, with its ETag (the version to act on)."""

    decision: dict[str, Any]
    findings: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    etag: str


def q(node_id: str) -> str:
    """A node id as one path segment."""
    return quote(node_id, safe="")


class Api:
    """The API at `base_url`, called with one API key (`Authorization: Bearer <key>`)."""

    def __init__(self, base_url: str, key: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + "/v1",
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            timeout=TIMEOUT,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiError(
                0, "API timed out", f"the Warrant API at {self.base_url} did not answer in time ({exc})"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(
                0,
                "API unreachable",
                f"cannot reach the Warrant API at {self.base_url} ({exc}); is `warrant serve` running, "
                "and is WARRANT_API_URL right?",
            ) from None
        if response.status_code >= 400:
            raise _problem(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    # -- who --------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The key's person, name and roles (what the screens are shaped by)."""
        return dict(self._json("GET", "/me"))

    def notifications(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/notifications"))

    # -- library ----------------------------------------------------------------------------

    def search(
        self,
        text: str = "",
        *,
        channels: list[str] | None = None,
        categories: list[str] | None = None,
        statuses: list[str] | None = None,
        outcomes: list[str] | None = None,
        tags: list[str] | None = None,
        campaign: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        page: int = 1,
        page_size: int = 10,
    ) -> dict[str, Any]:
        """One page of the library (`LibraryPage`): hits with highlighted snippets, facets, total."""
        params: list[tuple[str, str]] = [("text", text), ("page", str(page)), ("page_size", str(page_size))]
        for name, values in (
            ("channel", channels),
            ("category", categories),
            ("status", statuses),
            ("outcome", outcomes),
            ("tag", tags),
        ):
            params += [(name, v) for v in values or []]
        if campaign:
            params.append(("campaign", campaign))
        if date_from:
            params.append(("date_from", date_from.isoformat()))
        if date_to:
            params.append(("date_to", date_to.isoformat()))
        return dict(self._json("GET", "/library/search", params=params))

    def similar(self, postmortem_id: str, limit: int = 5) -> list[dict[str, Any]]:
        return list(self._json("GET", "/library/similar", params={"id": postmortem_id, "limit": limit}))

    # -- post-mortems -----------------------------------------------------------------------

    def postmortems(self, campaign_id: str | None = None) -> list[dict[str, Any]]:
        params = {"campaign_id": campaign_id} if campaign_id else None
        return list(self._json("GET", "/postmortems", params=params))

    def postmortem(self, postmortem_id: str) -> dict[str, Any]:
        """`PostMortemView`: the stored post-mortem with its findings and action items."""
        return dict(self._json("GET", f"/postmortems/{q(postmortem_id)}"))

    def postmortem_data(self, postmortem_id: str) -> dict[str, Any]:
        """`ReportData`: the figures the HTML report draws, as the run logged them."""
        return dict(self._json("GET", f"/postmortems/{q(postmortem_id)}/data"))

    def report_html(self, postmortem_id: str) -> bytes:
        return self._send("GET", f"/postmortems/{q(postmortem_id)}/report").content

    def replay(self, postmortem_id: str, sets: list[str], models: list[str] | None = None) -> dict[str, Any]:
        body = {"sets": sets, "models": models or []}
        return dict(
            self._json("POST", f"/postmortems/{q(postmortem_id)}/replay", json=body, timeout=REPLAY_TIMEOUT)
        )

    def diff(self, postmortem_id: str, against: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/postmortems/{q(postmortem_id)}/diff", params={"against": against}))

    def finding(self, finding_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/findings/{q(finding_id)}"))

    def assign(self, action_id: str, owner: str, due: dt.date) -> dict[str, Any]:
        body = {"owner": owner, "due": due.isoformat()}
        return dict(self._json("PUT", f"/action-items/{q(action_id)}/assignment", json=body))

    def set_status(self, action_id: str, status: str) -> dict[str, Any]:
        return dict(self._json("PUT", f"/action-items/{q(action_id)}/status", json={"status": status}))

    # -- decisions --------------------------------------------------------------------------

    def decisions(self, state: str | None = None) -> list[dict[str, Any]]:
        return list(self._json("GET", "/decisions", params={"state": state} if state else None))

    def decision(self, decision_id: str) -> Decision:
        response = self._send("GET", f"/decisions/{q(decision_id)}")
        body = response.json()
        return Decision(
            decision=body["decision"],
            findings=body.get("findings", []),
            approvals=body.get("approvals", []),
            etag=response.headers.get("ETag", f'"{body["decision"].get("version", "")}"'),
        )

    def verdicts(self, decision_id: str) -> dict[str, Any]:
        """What the policies would say if the caller took each action now (plain-language reasons)."""
        return dict(self._json("GET", f"/decisions/{q(decision_id)}/verdicts"))

    def propose(self, **fields: Any) -> dict[str, Any]:
        """A draft decision (kind, title, findings, and for a budget reallocation amount and channels)."""
        body = {k: v for k, v in fields.items() if v is not None}
        return dict(self._json("POST", "/decisions", json=body))

    def act(self, decision_id: str, action: str, etag: str, comment: str = "") -> dict[str, Any]:
        """Submit, approve, reject, ... on the version the caller saw (`If-Match`)."""
        return dict(
            self._json(
                "POST",
                f"/decisions/{q(decision_id)}/{q(action)}",
                json={"comment": comment},
                headers={"If-Match": etag},
            )
        )

    # -- lineage and audit ------------------------------------------------------------------

    def lineage(
        self, node_id: str, direction: str = "trace", as_of: dt.datetime | None = None
    ) -> dict[str, Any]:
        """`trace` (back to the sources) or `impact` (forward), as the graph stood at `as_of`."""
        if direction not in ("trace", "impact"):
            raise ValueError(f"direction is trace or impact, not {direction!r}")
        params = {"id": node_id}
        if as_of is not None:
            params["as_of"] = as_of.isoformat()
        return dict(self._json("GET", f"/lineage/{direction}", params=params))

    def audit_verify(self) -> dict[str, Any]:
        return dict(self._json("GET", "/audit/verify"))

    def audit_events(self, subject: str, limit: int = 100) -> list[dict[str, Any]]:
        return list(self._json("GET", "/audit/events", params={"subject": subject, "limit": limit}))


def _problem(response: httpx.Response) -> ApiError:
    """The problem document of a failed response (or the best that can be said without one)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        title = str(body.get("title") or response.reason_phrase)
        detail = str(body.get("detail") or title)
        return ApiError(int(body.get("status") or response.status_code), title, detail, body)
    text = response.text.strip()[:300] or response.reason_phrase
    return ApiError(response.status_code, response.reason_phrase, text)
