"""The UI's tests: Streamlit's AppTest runs `ui/app.py` in-process against a real API server on the
demo (sample S, seed 7, one post-mortem run), built once for the package; no mocks.

Each test signs in as one role (`people_with_keys`: `<role>-1`), plus "analyst+lead", a person who
holds both roles (to be refused approving their own proposal). Tests that write make their own
decision, so no test depends on another's order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from api.services import decisions, keys
from graph.connect import open_store
from graph.settings import Settings
from graph.store import GraphStore
from tests.demo import demo_database
from tests.http_server import client, people_with_keys, serving

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
TIMEOUT = 60  # seconds per script run: the machine is shared and a first read of MLflow is slow


@dataclass
class UiDemo:
    base: str
    tokens: dict[str, str]
    postmortem_id: str
    settings: Settings

    def http(self, role: str) -> httpx.Client:
        return client(self.base, self.tokens[role])


@pytest.fixture(scope="package")
def demo(
    embedded_settings: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiDemo]:
    with (
        demo_database(embedded_settings, admin_store, tmp_path_factory, "ui") as (settings, run),
        open_store(settings) as store,
    ):
        tokens = people_with_keys(settings, store)
        decisions.add_person(settings, "dana", "Dana Both", ["analyst", "governance_lead"])
        _, tokens["analyst+lead"] = keys.create(
            settings, "dana", ["analyst", "governance_lead"], name="both roles", store=store
        )
        with serving(settings, store) as base:
            yield UiDemo(base, tokens, run.postmortem_id, settings)


@pytest.fixture
def ui(demo: UiDemo, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """`ui("analyst")`: the app, run once and signed in with that role's key (`ui()`: signed out)."""
    monkeypatch.setenv("WARRANT_API_URL", demo.base)

    def start(role: str | None = None, *, key: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        if role or key:
            sign_in(at, key or demo.tokens[role or ""])
        return at

    return start


def sign_in(at: AppTest, key: str) -> AppTest:
    at.sidebar.text_input(key="api_key_input").input(key)
    at.button(key="sign_in").click().run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Go to a screen (`library`, `postmortem`, `approvals`, `lineage`) as its menu entry would."""
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def page_titles(at: AppTest) -> list[str]:
    """The menu: the titles of the pages `st.navigation` registered for this session."""
    return [str(p.get("page_name")) for p in at._registered_pages.values()]


def plain(markdown: str) -> str:
    """Markdown without its backslash escapes: the text as the reader sees it."""
    return re.sub(r"\\(.)", r"\1", markdown)


def texts(at: AppTest) -> str:
    """Everything written on the screen, in one string without Markdown escapes, for "the user sees
    ..." assertions (badges and highlights keep their Markdown, e.g. `:red-badge[FLAGGED]`)."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success")
    return plain("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))
