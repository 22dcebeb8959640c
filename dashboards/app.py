"""ClubCRM's Streamlit app. Only the router: the pages live in dashboards/pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards.i18n import t
from dashboards.layout import locale_switch

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="ClubCRM", page_icon=":material/groups:", layout="wide")
locale_switch()
page = st.navigation(
    {
        t("nav.dashboards"): [
            st.Page(
                PAGES / "overview.py",
                title=t("nav.overview"),
                icon=":material/dashboard:",
                url_path="overview",
                default=True,
            ),
        ],
        t("nav.operations"): [
            st.Page(
                PAGES / "members.py",
                title=t("nav.members"),
                icon=":material/person_search:",
                url_path="members",
            ),
        ],
    }
)
page.run()
