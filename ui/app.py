"""Warrant's Streamlit UI: `streamlit run ui/app.py` (the API at `WARRANT_API_URL`).

The entry point signs the caller in with an API key (sidebar; the key stays in session state, never
in the URL) and builds the navigation from the roles the key acts with, so each person sees only the
screens their work uses. The screens live in `ui/views/` (not `pages/`: a `pages/` folder next to
the entry point switches Streamlit into its older multipage mode, which `st.navigation` replaces).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, "") and str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # a checkout run without `pip install -e .`

from ui import navigation, session
from ui.markup import md

st.set_page_config(page_title="Warrant", page_icon=":material/verified:", layout="wide")


def sidebar() -> None:
    """Sign in, or who is signed in and a way out."""
    with st.sidebar:
        who = session.me()
        if who is None:
            with st.form("sign_in_form", border=False, enter_to_submit=True):
                st.text_input(
                    "API key",
                    key=session.KEY_INPUT,
                    type="password",
                    placeholder="wk_...",
                )
                st.form_submit_button("Sign in", key="sign_in", type="primary", on_click=session.sign_in)
            st.caption("An API key from `warrant keys create`, kept for this browser session only.")
            failed = st.session_state.get(session.SIGN_IN_ERROR)
            if failed:
                st.error(failed, icon=":material/key_off:")
            st.caption(f"API: {session.api_url()}")
            return
        st.markdown(f"Signed in as **{who.get('name') or who.get('person')}**")
        st.caption("Roles: " + (", ".join(who.get("roles", [])) or "none"))
        notices()
        st.button("Sign out", key="sign_out", on_click=session.sign_out)
        st.caption(f"API: {session.api_url()}")


def notices() -> None:
    """What the caller must see: decisions of theirs that were reopened (a source they rest on was
    tainted) or fell short of their promise. A refused key shows here first, on every screen."""
    found = session.call(lambda: session.api().notifications())
    unread = [n for n in found or [] if not n.get("read")]
    if not unread:
        return
    with st.expander(f"Notifications ({len(unread)})", icon=":material/notifications:"):
        for n in unread[:20]:
            st.markdown(f"{md(n.get('message', ''))}  \n:small[{md(n.get('created_at', '')[:16])}]")


def welcome() -> None:
    st.title("Warrant")
    st.markdown(
        "Campaign post-mortems as a governed knowledge graph: search the library, read a post-mortem "
        "and its evidence, approve the decisions it justifies, and trace any number back to its source."
    )
    st.info("Sign in with your API key in the sidebar.", icon=":material/key:")


def no_screens() -> None:
    st.title("Warrant")
    st.warning(
        "Your key acts with no role that uses these screens (analyst, governance_lead, auditor or admin). "
        "Ask an admin for a key with one of them."
    )


def pages() -> list[st.Page]:
    allowed = navigation.pages_for(session.roles())
    if session.me() is None:
        return [st.Page(welcome, title="Sign in", icon=":material/key:", url_path="sign-in", default=True)]
    if not allowed:
        return [st.Page(no_screens, title="Warrant", url_path="home", default=True)]
    return [
        st.Page(path, title=title, icon=icon, url_path=page, default=i == 0)
        for i, page in enumerate(allowed)
        for path, title, icon in [navigation.PAGE_FILES[page]]
    ]


current = st.navigation(pages())
sidebar()
current.run()
