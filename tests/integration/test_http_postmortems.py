"""The post-mortem routes end to end on the demo (sample S, seed 7) through a real server: read a
post-mortem with its findings and plan, its HTML report as logged, a finding, the action plan
(assignment, status, expected effect), publishing (409 until every item has an owner and a due
date), a replay with its diff and the same diff asked for later, snapshots with their checks, and
the library finding it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

import pytest

from api.services import decisions, keys
from api.services.postmortem import PostMortemRun
from graph.connect import open_store
from graph.settings import Settings
from graph.store import GraphStore
from tests.demo import CAMPAIGN, demo_database
from tests.http_server import client, serving


@dataclass
class Demo:
    base: str
    run: PostMortemRun
    analyst: str
    auditor: str


@pytest.fixture(scope="module")
def demo(
    embedded_settings: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    with demo_database(embedded_settings, admin_store, tmp_path_factory, "http") as (settings, run):
        decisions.add_person(settings, "priya", "Priya Raman", ["analyst"])
        decisions.add_person(settings, "avi", "Avi Auditor", ["auditor"])
        with open_store(settings) as store:
            _, analyst = keys.create(settings, "priya", ["analyst"], store=store)
            _, auditor = keys.create(settings, "avi", ["auditor"], store=store)
            with serving(settings, store) as base:
                yield Demo(base, run, analyst, auditor)


def test_a_post_mortem_its_report_and_its_findings(demo: Demo) -> None:
    pm = demo.run.postmortem_id
    with client(demo.base, demo.auditor) as http:
        view = http.get(f"/v1/postmortems/{pm}").json()
        report = http.get(f"/v1/postmortems/{pm}/report")
        listed = http.get("/v1/postmortems", params={"campaign_id": CAMPAIGN}).json()
        finding = http.get(f"/v1/findings/{view['findings'][0]['id']}")
        snapshots = http.get("/v1/snapshots", params={"campaign_id": CAMPAIGN}).json()
        one = http.get(f"/v1/snapshots/{snapshots[0]['id']}").json()
        found = http.get("/v1/library/search", params={"text": "nurture"}).json()
    assert view["campaign_id"] == CAMPAIGN and view["mlflow_run_id"] == demo.run.mlflow_run_id
    assert len(view["findings"]) == len(demo.run.findings) and len(view["action_items"]) == len(
        demo.run.action_items
    )
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert CAMPAIGN in report.text and "<html" in report.text.lower()
    assert [p["id"] for p in listed] == [pm]
    assert finding.status_code == 200 and {"sample_size_ok", "confounders_ok", "actionable"} <= set(
        finding.json()
    )
    assert {s["table"] for s in snapshots} >= {"ad_performance", "leads"}
    assert one["checks"] and one["extracts"] and CAMPAIGN in one["campaigns"]
    assert pm in [h["id"] for h in found["hits"]]


def test_the_report_data_is_the_html_reports_numbers(demo: Demo) -> None:
    """The UI draws from /data; it must be the run's own numbers, the ones the HTML report shows."""
    pm = demo.run.postmortem_id
    with client(demo.base, demo.auditor) as http:
        data = http.get(f"/v1/postmortems/{pm}/data").json()
        html = http.get(f"/v1/postmortems/{pm}/report").text
        missing = http.get("/v1/postmortems/postmortem:nope:0/data")
    assert data["title"] in html and data["tiles"] and data["funnel"]
    for tile in data["tiles"]:
        assert f">{escape(tile['actual'])}<" in html
    assert data["channel_rows"] and data["creative_rows"] and data["creative_columns"][0] == "creative"
    for row in data["creative_rows"]:
        assert f"<td>{escape(row[0])}</td>" in html  # the creative table is in the export too
    for model in range(len(data["attribution_models"])):
        total = sum(shares[model] for shares in data["attribution"].values())
        assert total == pytest.approx(1.0, abs=1e-6)  # each model attributes all conversions
    assert len(data["findings"]) == len(demo.run.findings) and data["waterfall"]
    assert missing.status_code == 404


def test_the_action_plan_is_assigned_then_published(demo: Demo) -> None:
    pm = demo.run.postmortem_id
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    with client(demo.base, demo.analyst) as http, client(demo.base, demo.auditor) as auditor:
        items = http.get(f"/v1/postmortems/{pm}").json()["action_items"]
        early = http.post(f"/v1/postmortems/{pm}/publish")
        assert early.status_code == 409 and "no named owner" in early.json()["detail"]
        assert (
            auditor.put(f"/v1/action-items/{items[0]['id']}/status", json={"status": "done"}).status_code
            == 403
        )
        team = http.put(
            f"/v1/action-items/{items[0]['id']}/assignment", json={"owner": "the team", "due": due}
        )
        assert team.status_code == 422 and "named person" in team.json()["detail"]
        for item in items:
            done = http.put(
                f"/v1/action-items/{item['id']}/assignment", json={"owner": "Priya Raman", "due": due}
            )
            assert done.status_code == 200, done.text
        moved = http.put(f"/v1/action-items/{items[0]['id']}/status", json={"status": "in_progress"})
        assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
        expect = {"metric": "cpl", "direction": "down", "size": 0.1, "by": due}
        expected = http.put(f"/v1/action-items/{items[0]['id']}/expectation", json=expect)
        assert expected.status_code == 200 and expected.json()["expect_baseline"] > 0
        published = http.post(f"/v1/postmortems/{pm}/publish")
        assert published.status_code == 200 and published.json()["status"] == "published"
        assert "search_text" not in published.json()  # the library's copy of its text stays inside


def test_a_replay_and_its_diff(demo: Demo) -> None:
    pm = demo.run.postmortem_id
    with client(demo.base, demo.analyst) as http:
        replayed = http.post(
            f"/v1/postmortems/{pm}/replay", json={"sets": ["attribution_window_days=7"]}, timeout=300
        )
        assert replayed.status_code == 201, replayed.text
        body = replayed.json()
        assert body["run"]["replay_of"] == pm and body["diff"]["assumptions_changed"]
        later = http.get(f"/v1/postmortems/{pm}/diff", params={"against": body["run"]["postmortem_id"]})
        bad = http.post(f"/v1/postmortems/{pm}/replay", json={"sets": ["no_such_thing=1"]})
    assert later.status_code == 200 and later.json() == body["diff"]
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
