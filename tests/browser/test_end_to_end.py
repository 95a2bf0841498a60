"""One decision's life in a real browser: an analyst signs in, searches the library, opens the
post-mortem and proposes a decision from its findings; a governance lead approves it; an auditor
traces it to its source export and sees the approval in the audit chain. Debian's Chromium, headless,
driven by Playwright; the UI (`streamlit run ui/app.py`) and the API are real servers on the demo.

Every page is photographed into test-artifacts/browser/ (CI keeps the folder), and any error the
page raises, or any exception the UI prints, fails the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.services import decisions, keys
from api.services.postmortem import PostMortemRun
from graph.connect import open_store
from graph.settings import Settings
from graph.store import GraphStore
from tests.browser.ui_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, streamlit_ui
from tests.demo import demo_database
from tests.http_server import client, serving

TITLE = "Restart the nurture sequence with an owner"
WAIT = 60_000  # ms: a Streamlit rerun on a loaded 2-core machine
expect.set_options(timeout=WAIT)


@dataclass
class World:
    api: str
    ui: str
    run: PostMortemRun
    tokens: dict[str, str]
    settings: Settings


@dataclass
class Session:
    """A browser page that remembers what went wrong on it."""

    page: Page
    shots: Path
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        self.page.wait_for_timeout(500)  # let charts finish drawing
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        exceptions = self.page.locator('[data-testid="stException"]')
        if exceptions.count():
            self.errors.append(f"{name}: the UI printed an exception: {exceptions.first.inner_text()[:500]}")
        assert not self.errors, self.errors


@pytest.fixture(scope="module")
def world(
    embedded_settings: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (scripts/install-chromium)")
    with demo_database(embedded_settings, admin_store, tmp_path_factory, "browser") as (settings, run):
        people = {"analyst": "priya", "governance_lead": "lena", "auditor": "avi"}
        tokens = {}
        with open_store(settings) as store:
            for role, person in people.items():
                decisions.add_person(settings, person, person.title(), [role])
                _, tokens[role] = keys.create(settings, person, [role], name="browser test", store=store)
            with serving(settings, store) as api:
                log = tmp_path_factory.mktemp("ui") / "streamlit.log"
                with streamlit_ui(api, log) as ui:
                    yield World(api, ui, run, tokens, settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def session(browser: Browser) -> Iterator[Session]:
    shots = ARTIFACTS / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    tab = Session(page, shots)
    page.on("pageerror", lambda exc: tab.errors.append(f"page error: {exc}"))
    try:
        yield tab
    finally:
        page.screenshot(path=str(shots / "last.png"), full_page=True)  # where it stood, if it failed
        context.close()


def _sign_in(tab: Session, ui: str, token: str, who: str) -> None:
    tab.page.goto(ui)
    tab.page.get_by_label("API key").fill(token)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_text(f"Signed in as {who}")).to_be_visible()


def _sign_out(tab: Session) -> None:
    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.page.get_by_label("API key")).to_be_visible()


def _choose(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).first.click()


def test_a_decision_from_search_to_approval_to_its_source_export(world: World, session: Session) -> None:
    page = session.page

    # The analyst finds the post-mortem, opens it and proposes a decision from a finding.
    _sign_in(session, world.ui, world.tokens["analyst"], "Priya")
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    session.shot("01-analyst-library")
    search = page.get_by_label("Search the library")
    search.fill("nurture")
    search.press("Enter")
    highlighted = page.locator("blockquote strong", has_text=re.compile("nurture", re.IGNORECASE))
    expect(highlighted.first).to_be_visible()  # a snippet with the term highlighted
    session.shot("02-analyst-search")
    page.get_by_role("button", name="Open post-mortem").first.click()
    expect(page.get_by_role("heading", name="KPI scorecard")).to_be_visible()
    session.shot("03-analyst-postmortem")
    page.get_by_role("tab", name="Propose a decision").click()
    _choose(page, "Kind", "process change")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Justifying findings").click()
    page.get_by_role("option").filter(has_not_text="(hypothesis)").first.click()  # passed its checks
    page.keyboard.press("Escape")  # a multiselect stays open for more
    page.get_by_role("button", name="Propose decision").click()
    expect(page.get_by_text(re.compile("proposed", re.IGNORECASE)).first).to_be_visible()
    session.shot("04-analyst-proposed")
    with client(world.api, world.tokens["auditor"]) as http:
        [decision] = [d for d in http.get("/v1/decisions").json() if d["title"] == TITLE]
    assert decision["state"] == "pending_approval" and decision["proposer"] == "priya"
    _sign_out(session)

    # The governance lead reads it with its evidence and the policies' verdict, and approves.
    _sign_in(session, world.ui, world.tokens["governance_lead"], "Lena")
    page.get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", name="Approvals")).to_be_visible()
    expect(page.get_by_text(TITLE).first).to_be_visible()
    page.get_by_label("Comment").fill("Evidence holds; Priya owns the restart.")
    session.shot("05-lead-approval")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(re.compile("approved", re.IGNORECASE)).first).to_be_visible()
    session.shot("06-lead-approved")
    with client(world.api, world.tokens["auditor"]) as http:
        approved = http.get(f"/v1/decisions/{decision['id']}").json()
    assert approved["decision"]["state"] == "approved" and approved["decision"]["approvers"] == ["lena"]
    _sign_out(session)

    # The auditor traces the decision to the export it stands on and sees the approval audited.
    _sign_in(session, world.ui, world.tokens["auditor"], "Avi")
    page.get_by_role("link", name="Lineage").click()
    page.get_by_label("Node id").fill(decision["id"])
    page.get_by_label("Node id").press("Enter")
    page.get_by_role("button", name="Trace", exact=True).click()
    expect(page.get_by_role("heading", name="Audit events about this node")).to_be_visible()
    session.shot("07-auditor-lineage-collapsed")
    with client(world.api, world.tokens["auditor"]) as http:
        trace = http.get("/v1/lineage/trace", params={"id": decision["id"]}).json()
    extracts = [n for n in trace["nodes"].values() if n.get("label") == "Extract"]
    assert extracts, "the decision's trace reaches no export"
    _choose(page, "Expand layers", re.compile(r"^Extract"))
    page.keyboard.press("Escape")
    expect(page.get_by_text(extracts[0]["properties"]["file"]).first).to_be_visible()
    expect(page.get_by_text("decision.approve").first).to_be_visible()
    session.shot("08-auditor-lineage-source")
