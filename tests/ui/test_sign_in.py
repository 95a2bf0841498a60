"""Signing in: a refused key or an unreachable API is said plainly and opens nothing; once signed in,
the menu holds only the screens the key's roles use, and signing out closes them again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from tests.http_server import free_port
from tests.ui.conftest import page_titles, sign_in, texts


def test_a_refused_key_is_said_and_opens_nothing(ui: Callable[..., AppTest]) -> None:
    at = ui()
    assert page_titles(at) == ["Sign in"]
    assert "Sign in with your API key" in texts(at)
    sign_in(at, "wk_000000000000_not-a-real-key")
    errors = [e.value for e in at.sidebar.error]
    assert errors and errors[0].startswith("The API refused this key:")
    assert "valid API key is required" in errors[0]  # the API's own detail, verbatim
    assert page_titles(at) == ["Sign in"]
    assert at.sidebar.text_input(key="api_key_input").value == ""  # the typed key is not kept


def test_an_unreachable_api_is_said(ui: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    at = ui()
    monkeypatch.setenv("WARRANT_API_URL", f"http://127.0.0.1:{free_port()}")
    sign_in(at, "wk_anything")
    errors = [e.value for e in at.sidebar.error]
    assert errors and "cannot reach the Warrant API" in errors[0] and "WARRANT_API_URL" in errors[0]
    assert page_titles(at) == ["Sign in"]


@pytest.mark.parametrize(
    ("role", "pages"),
    [
        ("analyst", ["Library", "Post-mortem"]),
        ("governance_lead", ["Library", "Post-mortem", "Approvals"]),
        ("auditor", ["Library", "Post-mortem", "Lineage"]),
        ("admin", ["Library", "Post-mortem", "Approvals", "Lineage"]),
    ],
)
def test_the_menu_follows_the_roles(ui: Callable[..., AppTest], role: str, pages: list[str]) -> None:
    at = ui(role)
    assert page_titles(at) == pages
    sidebar = "\n".join(m.value for m in at.sidebar.markdown) + "\n".join(c.value for c in at.sidebar.caption)
    assert "Signed in as" in sidebar and f"Roles: {role}" in sidebar
    assert at.title[0].value == "Library"  # the first screen opens
    assert "api_key_input" not in [t.key for t in at.sidebar.text_input]  # nowhere to read the key back


def test_signing_out_closes_the_screens(ui: Callable[..., AppTest]) -> None:
    at = ui("analyst")
    at.button(key="sign_out").click().run()
    assert page_titles(at) == ["Sign in"]
    assert "warrant_key" not in at.session_state
