"""Pieces every page shares: the sidebar language switch and who is signed in."""

from __future__ import annotations

import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import current_display_name, sign_out
from dashboards.i18n import LOCALE_NAMES, LOCALE_STATE_KEY, LOCALES, normalize_locale, t
from operational.services.common import Actor


def locale_switch() -> str:
    """Sidebar switch between Chinese and English; starts from CLUBCRM_LOCALE."""
    if st.session_state.get(LOCALE_STATE_KEY) not in LOCALES:
        st.session_state[LOCALE_STATE_KEY] = normalize_locale(get_settings().locale)
    # A bilingual, fixed label: anyone can find the switch whatever the current language.
    return st.sidebar.radio(
        "语言 / Language",
        LOCALES,
        format_func=LOCALE_NAMES.__getitem__,
        key=LOCALE_STATE_KEY,
        horizontal=True,
    )


def account_box(actor: Actor) -> None:
    """Sidebar: who is signed in, their role, and the sign-out button."""
    name = current_display_name() or actor.username
    shown = name if name == actor.username else f"{name} ({actor.username})"
    with st.sidebar:
        st.markdown(t("auth.signed_in_as", name=shown))
        st.caption(t("auth.role", role=t(f"role.{actor.role}")))
        st.button(t("auth.sign_out"), key="sign_out", icon=":material/logout:", on_click=sign_out)
