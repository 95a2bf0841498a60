"""Who is signed in, and the API client they use, kept in `st.session_state` for the browser session.

The key lives only in session state (never in the URL, never in a widget once signed in). Values that
cannot change (a post-mortem's logged report data and HTML) are kept per session too, so the reruns
Streamlit does on every click do not fetch them again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from ui.client import DEFAULT_URL, Api, ApiError

T = TypeVar("T")

KEY = "warrant_key"
ME = "warrant_me"
SIGN_IN_ERROR = "warrant_sign_in_error"
KEY_INPUT = "api_key_input"
OPEN_POSTMORTEM = "open_postmortem"
LINEAGE_NODE = "lineage_node"
_FROZEN = "warrant_frozen"
_CLIENT = "warrant_client"


def api_url() -> str:
    return os.environ.get("WARRANT_API_URL", DEFAULT_URL).strip() or DEFAULT_URL


def api() -> Api:
    """The signed-in caller's client, one per session (its connections are reused across reruns)."""
    key = st.session_state.get(KEY)
    if not key:
        raise RuntimeError("not signed in")
    held = st.session_state.get(_CLIENT)
    if held is None or held[0] != (api_url(), key):
        if held is not None:
            held[1].close()
        held = st.session_state[_CLIENT] = ((api_url(), key), Api(api_url(), key))
    return held[1]


def me() -> dict[str, Any] | None:
    return st.session_state.get(ME)


def roles() -> set[str]:
    found = me()
    return set(found.get("roles", [])) if found else set()


def sign_in() -> None:
    """Form callback: ask the API who the typed key speaks for; keep the key only if it answers."""
    key = (st.session_state.get(KEY_INPUT) or "").strip()
    st.session_state[KEY_INPUT] = ""
    st.session_state.pop(SIGN_IN_ERROR, None)
    if not key:
        st.session_state[SIGN_IN_ERROR] = "Type an API key first (`warrant keys create` makes one)."
        return
    try:
        with Api(api_url(), key) as client:
            found = client.me()
    except ApiError as exc:
        st.session_state[SIGN_IN_ERROR] = (
            exc.detail if exc.unreachable else f"The API refused this key: {exc.detail}"
        )
        return
    st.session_state[KEY] = key
    st.session_state[ME] = found


def sign_out() -> None:
    """Button callback: forget the key and everything the screens kept (searches, choices, cached
    report data), so the next person at this browser starts clean."""
    held = st.session_state.get(_CLIENT)
    if held is not None:
        held[1].close()
    for name in list(st.session_state.keys()):
        del st.session_state[name]


def frozen(name: tuple[Any, ...], fetch: Callable[[], T]) -> T:
    """`fetch()` once per session for a value that never changes (logged report data, HTML)."""
    store: dict[tuple[Any, ...], Any] = st.session_state.setdefault(_FROZEN, {})
    if name not in store:
        store[name] = fetch()
    return store[name]


def show_error(exc: ApiError, what: str = "") -> None:
    """An API problem as the user should read it: the API's own detail, verbatim."""
    if exc.unreachable:
        st.error(exc.detail, icon=":material/cloud_off:")
    elif exc.status == 401:
        st.error(
            f"Your API key was refused: {exc.detail}. Sign out and sign in again.", icon=":material/key_off:"
        )
    else:
        prefix = f"{what}: " if what else ""
        st.error(f"{prefix}{exc.detail}", icon=":material/block:")


def call(fetch: Callable[[], T], what: str = "") -> T | None:
    """`fetch()`, or None after showing why it failed."""
    try:
        return fetch()
    except ApiError as exc:
        show_error(exc, what)
        return None
