"""The Post-mortem screen: KPI tiles in their status colours, funnel, attribution and driver charts,
channel and creative tables, callouts, findings with their three check badges and category, the
action plan (analysts edit owner, due date and status, and it persists through the API; "the team"
is refused with the API's reason; auditors get no edit controls), replay and diff, the HTML export."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import UiDemo, open_page, plain, texts

RED, GRAY = MetricProto.MetricColor.RED, MetricProto.MetricColor.GRAY


def test_the_figures_of_a_post_mortem(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    at = open_page(ui("analyst"), "postmortem")
    at.selectbox(key="pm_picker").set_value(demo.postmortem_id).run()
    shown = texts(at)
    assert plain(at.header[0].value) == "Post-mortem: cmp-2026q3"
    tiles = {m.label: m for m in at.metric}
    assert {"Leads", "Pipeline", "Cost per lead", "Spend", "ROMI"} <= set(tiles)
    assert tiles["Leads"].value == "675" and tiles["Leads"].proto.delta == "-42%"
    assert tiles["Leads"].proto.color == RED  # fewer leads than planned: adverse, red
    assert (
        tiles["Cost per lead"].proto.delta == "+73%" and tiles["Cost per lead"].proto.color == RED
    )  # CPL up
    assert tiles["Spend"].proto.color == GRAY  # on track
    assert tiles["ROMI"].value == "n/a"  # insufficient data is never a bare number
    assert ":red-badge[FLAGGED]" in shown and ":green-badge[ON TRACK]" in shown
    assert "95% interval [73.5, 85.5]" in shown and "insufficient data: 6 < 50 needed" in shown
    assert "Callouts" in shown and "money impact **568,084 [357,393, 856,679]**" in shown
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]  # the Altair charts, as sent
    assert len(charts) == 3  # funnel, attribution, waterfall
    assert "yOffset" in charts[0]["encoding"] and charts[2]["encoding"]["x2"] == {"field": "end"}
    tables = [d.value for d in at.dataframe]
    assert list(tables[0].columns)[:2] == ["channel", "spend"] and "paid_social" in set(tables[0]["channel"])
    assert list(tables[1].columns)[:2] == ["creative", "spend"] and len(tables[1]) > 5

    assert "Findings (14)" in shown and "8 pass the three checks" in shown
    nurture = (
        ":green-badge[finding] :violet-badge[workflow_alignment] **The Nurture sequence stopped for 13 days**"
    )
    assert nurture in shown
    assert (
        ":green-badge[:material/check: sample size] :green-badge[:material/check: no confounder] "
        ":green-badge[:material/check: actionable]" in shown
    )
    assert ":red-badge[:material/close: confounder to confirm]" in shown  # a hypothesis's failed check
    assert ":gray-badge[hypothesis]" in shown

    plan = at.table[0].value
    assert list(plan.columns)[:5] == ["#", "action", "owner", "due", "status"]
    assert len(plan) == 5 and "Restore Impression->Click conversion in paid_social" in set(plan["action"])
    assert at.download_button[0].proto.label == "Download HTML report"


def test_an_analyst_assigns_an_action_item_and_it_persists(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    with demo.http("analyst") as http:
        item = http.get(f"/v1/postmortems/{demo.postmortem_id}").json()["action_items"][1]
    due = dt.date.today() + dt.timedelta(days=45)
    at = open_page(ui("analyst"), "postmortem")
    at.selectbox(key="pm_picker").set_value(demo.postmortem_id).run()
    at.selectbox(key="ai_pick").set_value(item["id"]).run()
    at.text_input(key="ai_owner_1").input("Priya Raman")
    at.date_input(key="ai_due_1").set_value(due)
    at.selectbox(key="ai_status_1").set_value("in_progress")
    at.button(key="ai_save").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == [f"Saved: {item['title']}"]
    row = at.table[0].value.iloc[1]
    assert (row["owner"], row["due"], row["status"]) == ("Priya Raman", due.isoformat(), "in_progress")
    with demo.http("auditor") as http:
        stored = {
            i["id"]: i for i in http.get(f"/v1/postmortems/{demo.postmortem_id}").json()["action_items"]
        }
    assert stored[item["id"]]["owner"] == "Priya Raman"
    assert stored[item["id"]]["due"] == due.isoformat() and stored[item["id"]]["status"] == "in_progress"

    at.text_input(key="ai_owner_1").input("the team")
    at.button(key="ai_save").click().run()
    errors = [e.value for e in at.error]
    assert errors == [
        "Not saved: owner 'the team' is not a named person: an action needs someone who will do it"
    ]
    with demo.http("auditor") as http:
        again = {i["id"]: i for i in http.get(f"/v1/postmortems/{demo.postmortem_id}").json()["action_items"]}
    assert again[item["id"]]["owner"] == "Priya Raman"


def test_an_auditor_reads_without_edit_controls(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    at = open_page(ui("auditor"), "postmortem")
    at.selectbox(key="pm_picker").set_value(demo.postmortem_id).run()
    assert "Propose a decision" not in [t.label for t in at.tabs]
    keys = {w.key for w in [*at.button, *at.text_input, *at.date_input, *at.selectbox]}
    assert not keys & {"ai_save", "ai_owner_0", "ai_due_0", "ai_pick", "prop_go", "replay_go"}
    assert "Edit an action item" not in texts(at)
    assert len(at.table[0].value) == 5  # the plan is there to read
    assert any(b.label == "Trace finding" for b in at.button)  # auditors can follow a finding to lineage


def test_replay_then_diff(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    at = open_page(ui("analyst"), "postmortem")
    at.selectbox(key="pm_picker").set_value(demo.postmortem_id).run()
    at.text_area(key="replay_sets").input("attribution_window_days=7")
    at.button(key="replay_go").click().run(timeout=600)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = texts(at)
    assert "Replayed as postmortem:cmp-2026q3:" in shown
    assert "assumption `attribution_window_days`: 30 -> 7" in shown
    replayed = next(s.value for s in at.success if s.value.startswith("Replayed as "))
    other = replayed.removeprefix("Replayed as ").removesuffix(".")
    at.selectbox(key="diff_against").set_value(other)
    at.button(key="diff_go").click().run()
    assert not at.error
    assert "**Inputs changed**" in texts(at) and "findings changed" in texts(at)


def test_a_run_without_report_data_falls_back_to_the_graph(ui: Callable[..., AppTest], demo: UiDemo) -> None:
    """A post-mortem logged before runs kept their report data: the API's 404 detail is shown, and
    the findings (with their checks) and the action plan come from the graph."""
    with demo.http("analyst") as http:
        done = http.post(
            f"/v1/postmortems/{demo.postmortem_id}/replay", json={"sets": ["confidence=0.9"]}, timeout=600
        )
        assert done.status_code == 201, done.text
        older = done.json()["run"]
    logged = list(demo.settings.mlflow_dir.glob(f"**/{older['mlflow_run_id']}/artifacts/report_data.json"))
    assert len(logged) == 1, (older, sorted(demo.settings.mlflow_dir.glob("**/report_data.json")))
    logged[0].unlink()  # as a run logged before report data existed
    at = open_page(ui("auditor"), "postmortem")
    at.selectbox(key="pm_picker").set_value(older["postmortem_id"]).run()
    assert not at.exception and not at.error
    shown = texts(at)
    assert "was logged before runs kept their report data" in shown  # the API's detail, verbatim
    assert "Showing the findings and action plan the graph holds." in shown
    assert not at.metric and not at.get("vega_lite_chart")  # no figures to draw
    assert "Findings (14)" in shown and ":green-badge[:material/check: sample size]" in shown
    assert len(at.table[0].value) == 5  # the action plan, from the graph
