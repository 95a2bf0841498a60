"""The HTTP API through a real uvicorn server on loopback, the embedded graph and the installed Cedar
policies: every route in the OpenAPI document refuses an anonymous call and the roles the policies
refuse; problems are RFC 9457 documents; decisions need If-Match; a bad or oversize upload stores
nothing; writes with a key are audited; rate limits answer 429 with Retry-After."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from api.http.app import api_routes, create_app
from api.http.security import authorised_by
from api.services import keys
from governance import audit
from governance import policy as gates
from graph.connect import open_store
from graph.model import DiagnosticRun, Finding, PostMortem, Rel, Snapshot, Source
from graph.settings import Settings
from graph.store import GraphStore
from tests.conftest import new_database
from tests.graphs import build_world
from tests.http_server import ROLES, client, people_with_keys, serving

PROBLEM = "application/problem+json"
UPLOAD_LIMIT = 200_000


@dataclass
class Api:
    base: str
    settings: Settings
    store: GraphStore
    tokens: dict[str, str]

    def as_(self, role: str | None) -> httpx.Client:
        return client(self.base, self.tokens[role] if role else None)


@pytest.fixture(scope="module")
def api(embedded_settings: Settings, admin_store: GraphStore) -> Iterator[Api]:
    name = new_database(admin_store)
    settings = Settings(
        home=embedded_settings.home, actor="test", graph_database=name, api_max_upload_bytes=UPLOAD_LIMIT
    )
    with open_store(settings) as store:
        build_world(store)
        tokens = people_with_keys(settings, store)
        with serving(settings, store) as base:
            yield Api(base, settings, store, tokens)
    admin_store.dialect.server_command(f"drop database {name}")


def _routes() -> list[tuple[str, APIRoute]]:
    return api_routes(create_app(Settings()))


def _checks(route: APIRoute) -> list[tuple[str, str]]:
    found = []
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        mark = authorised_by(dep.call) if dep.call else None
        if mark:
            found.append(mark)
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_exactly_one_policy_check() -> None:
    routes = _routes()
    assert len(routes) >= 26
    missing = [f"{sorted(r.methods)} {path}" for path, r in routes if len(_checks(r)) != 1]
    assert not missing, f"routes without exactly one allow(...) check: {missing}"


def _calls(api: Api) -> list[tuple[str, str, APIRoute]]:
    """(method, concrete path, route) for every operation of the OpenAPI document."""
    doc = api.as_("auditor").get("/v1/openapi.json").raise_for_status().json()
    by_path = {(path.replace(":path", ""), m): r for path, r in _routes() for m in r.methods}
    out = []
    for path, operations in sorted(doc["paths"].items()):
        concrete = re.sub(r"\{action\}", "approve", path)
        concrete = re.sub(r"\{[a-z_]+\}", "nothing-here", concrete)
        out += [(method.upper(), concrete, by_path[path, method.upper()]) for method in operations]
    return out


def _send(http: httpx.Client, method: str, path: str) -> httpx.Response:
    return http.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)


def test_every_route_refuses_an_anonymous_call(api: Api) -> None:
    calls = _calls(api)
    assert len(calls) >= 25
    with api.as_(None) as anonymous, client(api.base, "wk_0000_forged") as forged:
        for method, path, _ in calls:
            for http in (anonymous, forged):
                answer = _send(http, method, path)
                assert answer.status_code == 401, (method, path, answer.text)
                assert answer.headers["content-type"] == PROBLEM
                assert answer.json()["type"] == "/problems/unauthenticated"
    assert api.as_(None).get("/v1/openapi.json").status_code == 401


def test_every_route_refuses_the_roles_its_policy_refuses(api: Api) -> None:
    policies = gates.load()
    refused_somewhere = 0
    for method, path, route in _calls(api):
        [(action, area)] = _checks(route)
        for role in ROLES:
            verdict = gates.evaluate_area(policies, gates.Principal(f"{role}-1", (role,)), action, area)
            if verdict.allowed:
                continue
            refused_somewhere += 1
            with api.as_(role) as http:
                answer = _send(http, method, path)
            assert answer.status_code == 403, (role, method, path, answer.text)
            body = answer.json()
            assert body["type"] == "/problems/forbidden" and body["policies"] is not None
    writes = [c for c in _calls(api) if c[0] != "GET"]
    assert refused_somewhere >= len(writes)  # every write refuses at least one role (the auditor)


def test_problems_are_rfc_9457_documents_with_the_request_id(api: Api) -> None:
    with api.as_("analyst") as http:
        missing = http.get("/v1/decisions/decision:nope", headers={"X-Request-ID": "req-123"})
        invalid = http.post("/v1/decisions", json={"kind": "spend_it_all"})
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    body = missing.json()
    assert body["status"] == 404 and body["instance"] == "/v1/decisions/decision:nope"
    assert body["request_id"] == "req-123" == missing.headers["X-Request-ID"]
    assert "no decision 'decision:nope'" in body["detail"]
    assert invalid.status_code == 422 and {e["location"] for e in invalid.json()["errors"]} >= {"body.kind"}


def test_a_decision_changes_only_with_if_match_on_its_current_version(api: Api) -> None:
    proposal = {"kind": "pause", "title": "Pause the tired creative", "findings": ["f-ok"]}
    with api.as_("analyst") as analyst, api.as_("governance_lead") as lead:
        created = analyst.post("/v1/decisions", json=proposal)
        assert created.status_code == 201, created.text
        decision_id = created.json()["id"]
        assert created.headers["ETag"] == '"1"'
        assert analyst.post(f"/v1/decisions/{decision_id}/submit").status_code == 428
        assert (
            analyst.post(f"/v1/decisions/{decision_id}/submit", headers={"If-Match": '"7"'}).status_code
            == 412
        )
        submitted = analyst.post(f"/v1/decisions/{decision_id}/submit", headers={"If-Match": '"1"'})
        assert submitted.status_code == 200 and submitted.headers["ETag"] == '"2"'
        self_approval = analyst.post(f"/v1/decisions/{decision_id}/approve", headers={"If-Match": '"2"'})
        assert self_approval.status_code == 403  # the analyst is no governance lead (and proposed it)
        etag = lead.get(f"/v1/decisions/{decision_id}").headers["ETag"]
        approved = lead.post(
            f"/v1/decisions/{decision_id}/approve",
            headers={"If-Match": etag},
            json={"comment": "evidence holds"},
        )
        assert approved.status_code == 200, approved.text
        assert (
            approved.json()["decision"]["state"] == "approved"
            and "leads-decide" in approved.json()["allowed_by"]
        )
        stale = lead.post(f"/v1/decisions/{decision_id}/reject", headers={"If-Match": etag})
        assert stale.status_code == 412
    assert audit.verify(api.store).ok


def test_a_screen_learns_who_calls_what_the_policies_would_say_and_what_the_chain_recorded(api: Api) -> None:
    """What the UI stands on: the caller's roles, a verdict per action before anyone clicks (the same
    policies as the action itself), and the audit events about one node."""
    proposal = {"kind": "pause", "title": "Pause the tired creative again", "findings": ["f-ok"]}
    with api.as_("analyst") as analyst, api.as_("governance_lead") as lead, api.as_("auditor") as auditor:
        me = analyst.get("/v1/me").json()
        decision_id = analyst.post("/v1/decisions", json=proposal).json()["id"]
        analyst.post(f"/v1/decisions/{decision_id}/submit", headers={"If-Match": '"1"'})
        mine = analyst.get(f"/v1/decisions/{decision_id}/verdicts").json()
        leads = lead.get(f"/v1/decisions/{decision_id}/verdicts").json()
        approved = lead.post(f"/v1/decisions/{decision_id}/approve", headers={"If-Match": '"2"'})
        events = auditor.get("/v1/audit/events", params={"subject": decision_id}).json()
        chain = auditor.get("/v1/audit/verify").json()
        nothing = auditor.get("/v1/audit/events", params={"subject": "decision:none"}).json()
    assert me == {"person": "analyst-1", "name": "Analyst 1", "roles": ["analyst"], "key_id": me["key_id"]}
    assert mine["state"] == "pending_approval" and mine["version"] == 2
    assert not mine["verdicts"]["approve"]["allowed"] and mine["verdicts"]["approve"]["reasons"]
    approve = leads["verdicts"]["approve"]
    assert approve["allowed"] and "leads-decide" in approve["policies"]
    assert approved.status_code == 200  # the preview said so, and the action agrees
    assert [e["action"] for e in events] == ["decision.approve", "decision.submit", "decision.proposed"]
    assert events[-1]["actor"] == "analyst-1" and events[0]["payload"]["by"] == "governance_lead-1"
    assert [e["seq"] for e in events] == sorted((e["seq"] for e in events), reverse=True)
    assert chain["ok"] and chain["checkpoints"] == 0 and nothing == []


def _counts(store: GraphStore) -> tuple[int, int, int]:
    return store.count("Snapshot"), store.count("Extract"), store.count("QualityCheck")


def test_a_malformed_or_oversize_upload_is_refused_and_stores_nothing(api: Api, tmp_path: Path) -> None:
    before = _counts(api.store)
    uploads = api.settings.home.resolve() / "uploads"
    kept = set(uploads.iterdir()) if uploads.exists() else set()
    malformed = b"this,is,not\na salesforce,leads,report\n"
    oversize = b"Lead ID,Created Date\n" + b"00Q1,1/1/2026\n" * (UPLOAD_LIMIT // 10)
    with api.as_("analyst") as http:
        bad = http.post(
            "/v1/ingest", files={"files": ("leads.csv", malformed)}, data={"mapping": "salesforce_leads"}
        )
        big = http.post(
            "/v1/ingest", files={"files": ("leads.csv", oversize)}, data={"mapping": "salesforce_leads"}
        )
        path = http.post(
            "/v1/ingest", files={"files": ("x.csv", b"a\n1\n")}, data={"mapping": "../../etc/passwd"}
        )
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM, bad.text
    assert bad.json()["type"] == "/problems/invalid-export" and bad.json()["errors"][0]["file"] == "leads.csv"
    assert "uploads" not in bad.text  # the server's folders are nobody's business
    assert big.status_code == 413 and big.json()["limit"] == UPLOAD_LIMIT
    assert path.status_code == 422 and "built-in mapping name" in path.json()["detail"]
    assert _counts(api.store) == before
    assert (set(uploads.iterdir()) if uploads.exists() else set()) == kept


def test_only_admins_ingest_a_path_on_the_server(api: Api) -> None:
    body = {"paths": ["/etc/hostname"], "mapping": "salesforce_leads"}
    with api.as_("analyst") as analyst, api.as_("admin") as admin:
        assert analyst.post("/v1/ingest/path", json=body).status_code == 403
        refused = admin.post("/v1/ingest/path", json=body)
    assert refused.status_code == 422  # allowed to try; the file is no Salesforce export


def test_writes_with_a_key_are_audited_in_their_own_transaction_and_metrics_count_routes(api: Api) -> None:
    with api.as_("analyst") as http, api.as_("auditor") as auditor:
        created = http.post(
            "/v1/decisions",
            json={"kind": "process_change", "title": "Weekly UTM audit", "findings": ["f-ok"]},
        )
        rid = created.headers["X-Request-ID"]
        refused = auditor.post("/v1/decisions", json={"kind": "pause", "title": "No", "findings": ["f-ok"]})
        metrics = http.get("/v1/metrics").text
    events = [e for _, (_, e) in api.store.nodes("AuditEvent").items()]
    [used] = [e for e in events if e["action"] == "key.used" and rid in e["payload"]]
    [proposed] = [
        e for e in events if e["action"] == "decision.proposed" and created.json()["id"] == e["subject_id"]
    ]
    assert used["actor"] == "analyst-1" and used["subject_id"].startswith("apikey:")
    assert used["at"] == proposed["at"] and used["seq"] == proposed["seq"] + 1  # one transaction, in order
    assert not [e for e in events if refused.headers["X-Request-ID"] in e["payload"]]  # nothing written
    assert audit.verify(api.store).ok
    assert 'warrant_http_requests_total{method="POST",route="/v1/decisions",status="201"}' in metrics


def test_cors_is_closed_by_default(api: Api) -> None:
    with api.as_("analyst") as http:
        answer = http.options(
            "/v1/decisions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert "access-control-allow-origin" not in answer.headers


def test_a_revoked_key_is_refused_and_the_rate_limit_answers_429(api: Api) -> None:
    key, token = keys.create(api.settings, "analyst-1", ["analyst"], store=api.store)
    limited = api.settings.model_copy(update={"api_rate_per_minute": 60})  # a burst of 6
    with serving(limited, api.store) as base, client(base, token) as http:
        answers = [http.get("/v1/health") for _ in range(8)]
        assert [a.status_code for a in answers[:6]] == [200] * 6
        assert answers[-1].status_code == 429 and int(answers[-1].headers["Retry-After"]) >= 1
        keys.revoke(api.settings, key["id"], store=api.store)
        time.sleep(2.1)  # past the authentication cache
        assert http.get("/v1/health").status_code == 401


def test_a_taint_through_the_api_reopens_an_approved_decision_and_notifies(api: Api) -> None:
    api.store.merge(
        [
            Source(id="src-2", name="LinkedIn Ads", kind="ad_platform"),
            Snapshot(id="snap-2", sha256="d" * 64, schema_version="1"),
            DiagnosticRun(id="run-2", code_version="x"),
            Finding(
                id="f-two",
                title="LinkedIn leads stall",
                sample_size_ok=True,
                confounders_ok=True,
                actionable=True,
            ),
        ]
    )
    api.store.link(
        [
            ("snap-2", Rel.WAS_DERIVED_FROM, "src-2"),
            ("run-2", Rel.USED, "snap-2"),
            ("f-two", Rel.WAS_GENERATED_BY, "run-2"),
        ]
    )
    proposal = {"kind": "audience_change", "title": "Narrow the LinkedIn audience", "findings": ["f-two"]}
    with api.as_("analyst") as analyst, api.as_("governance_lead") as lead, api.as_("auditor") as auditor:
        decision_id = analyst.post("/v1/decisions", json=proposal).json()["id"]
        analyst.post(f"/v1/decisions/{decision_id}/submit", headers={"If-Match": '"1"'}).raise_for_status()
        lead.post(f"/v1/decisions/{decision_id}/approve", headers={"If-Match": '"2"'}).raise_for_status()
        taint = {"id": "src-2", "reason": "LinkedIn export double-counted leads"}
        assert auditor.post("/v1/lineage/taint", json=taint).status_code == 403  # auditors change nothing
        done = analyst.post("/v1/lineage/taint", json=taint)
        assert done.status_code == 200 and decision_id in done.json()["flagged"]
        assert lead.get(f"/v1/decisions/{decision_id}").json()["decision"]["state"] == "pending_approval"
        [note] = [n for n in lead.get("/v1/notifications").json() if n["subject_id"] == decision_id]
        assert "tainted" in note["message"]
        assert analyst.post(f"/v1/notifications/{note['id']}/read").status_code == 404  # not the analyst's
        assert lead.post(f"/v1/notifications/{note['id']}/read").json()["read"] is True
        assert not [n for n in lead.get("/v1/notifications").json() if n["id"] == note["id"]]
        trace = auditor.get("/v1/lineage/trace", params={"id": decision_id}).json()
        assert "src-2" in trace["nodes"] and trace["nodes"]["f-two"]["properties"]["tainted"] is True


def test_the_library_answers_searches_with_facets_and_refuses_bad_syntax(api: Api) -> None:
    api.store.merge(
        [
            PostMortem(
                id="postmortem:cmp-q9:1",
                title="Post-mortem of cmp-q9",
                campaign="cmp-q9",
                channels=["paid_social", "email"],
                categories=["creative"],
                outcome="flagged",
                search_text="cmp-q9\nCreative fatigue on <b>video</b> ads\nRotate the tired creative",
            ),
            PostMortem(
                id="postmortem:cmp-q8:1",
                title="Post-mortem of cmp-q8",
                campaign="cmp-q8",
                channels=["paid_search"],
                categories=["channel_mix"],
                search_text="cmp-q8\nBudget hog in search\nCap the hog",
            ),
        ]
    )
    with api.as_("auditor") as http:
        found = http.get("/v1/library/search", params={"text": "fatigue"})
        by_channel = http.get("/v1/library/search", params={"channel": "paid_search"})
        bad = http.get("/v1/library/search", params={"text": '"unbalanced'})
        similar = http.get("/v1/library/similar", params={"id": "postmortem:cmp-q9:1"})
    assert found.status_code == 200, found.text
    page = found.json()
    assert [h["id"] for h in page["hits"]] == ["postmortem:cmp-q9:1"] and page["total"] == 1
    snippet = " ".join(page["hits"][0]["snippets"])
    assert "<mark>fatigue</mark>" in snippet.lower() and "<b>" not in snippet  # stored HTML escaped
    assert [h["id"] for h in by_channel.json()["hits"]] == ["postmortem:cmp-q8:1"]
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert similar.status_code == 200
