"""Sidebar pieces about who is using the app: sign-in (only when the host configured `st.login`) and what
the workspace link means."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from streamlit.errors import StreamlitAPIException

from components import state


def _providers() -> list[str | None]:
    """Named providers (`[auth.google]`, …) of the secrets' `[auth]` section, or [None] for its default one."""
    try:
        section = st.secrets.get("auth") or {}
    except (FileNotFoundError, StreamlitAPIException):
        section = {}
    named = [name for name, value in section.items() if isinstance(value, Mapping)]
    return named or [None]


def _login(provider: str | None) -> None:
    try:
        st.login(provider) if provider else st.login()
    except StreamlitAPIException as exc:  # e.g. Authlib missing, or an incomplete [auth] section
        st.error(f"Sign-in is not working on this server: {exc}")


def sidebar() -> None:
    """Sign-in/out buttons when sign-in is configured, and a line on keeping the workspace link private."""
    signed_in = state.sign_in_configured() and st.user.get("is_logged_in")
    if signed_in:
        st.caption(f"Signed in as **{st.user.get('name') or st.user.get('email') or 'you'}**: your runs and "
                   "uploads follow your account.")
        if st.button("Sign out", icon=":material/logout:"):
            st.logout()
        return
    if state.sign_in_configured():
        for provider in _providers():
            label = f"Sign in with {provider.title()}" if provider else "Sign in"
            if st.button(label, icon=":material/login:", key=f"login-{provider}"):
                _login(provider)
    st.caption("Your runs and uploads are private to this page's link: bookmark it to come back, and keep it "
               "to yourself. To show results, use *Share read-only link* on the Compare page.")
