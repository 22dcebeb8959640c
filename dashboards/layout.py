"""Pieces every page shares: the sidebar language switch."""

from __future__ import annotations

import streamlit as st

from clubcrm.settings import get_settings
from dashboards.i18n import LOCALE_NAMES, LOCALE_STATE_KEY, LOCALES, normalize_locale


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
