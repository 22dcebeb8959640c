"""ClubCRM's Streamlit app. Only the router: the pages live in dashboards/views/.

Until someone signs in, only the sign-in form is shown (whatever the address). Then the
navigation holds only the pages the user's role may open. To add a page: a row in
:data:`NAVIGATION` here, and the roles that may open it in ``dashboards.auth.PAGE_ROLES`` (same
``url_path``; a page without an entry there is an error); the page itself starts with
``actor = require_page("<url_path>")``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards.auth import current_actor, may_open, sign_in_form
from dashboards.i18n import t
from dashboards.layout import account_box, locale_switch

PAGES = Path(__file__).parent / "views"
#: section label key -> pages as (url_path, file in pages/, title key, icon)
NAVIGATION: dict[str, list[tuple[str, str, str, str]]] = {
    "nav.dashboards": [
        ("overview", "overview.py", "nav.overview", ":material/dashboard:"),
        ("dash_members", "dash_members.py", "nav.dash_members", ":material/groups:"),
        ("dash_purchases", "dash_purchases.py", "nav.dash_purchases", ":material/payments:"),
        ("dash_points", "dash_points.py", "nav.dash_points", ":material/stars:"),
        ("dash_activities", "dash_activities.py", "nav.dash_activities", ":material/celebration:"),
        ("dash_care", "dash_care.py", "nav.dash_care", ":material/favorite:"),
        ("dash_complaints", "dash_complaints.py", "nav.dash_complaints", ":material/report:"),
        ("dash_segments", "dash_segments.py", "nav.dash_segments", ":material/donut_small:"),
        ("dash_member360", "dash_member360.py", "nav.dash_member360", ":material/person:"),
        ("dash_predictions", "dash_predictions.py", "nav.dash_predictions", ":material/insights:"),
    ],
    "nav.operations": [
        ("members", "members.py", "nav.members", ":material/person_search:"),
        ("apply", "apply.py", "nav.apply", ":material/person_add:"),
        ("review", "review.py", "nav.review", ":material/fact_check:"),
        ("import", "import_members.py", "nav.import", ":material/upload_file:"),
        ("cards", "cards.py", "nav.cards", ":material/credit_card:"),
        ("exits", "exits.py", "nav.exits", ":material/logout:"),
        ("notices", "notices.py", "nav.notices", ":material/notifications:"),
        ("points", "points.py", "nav.points", ":material/loyalty:"),
        ("points_approval", "points_approval.py", "nav.points_approval", ":material/approval:"),
        ("redemption", "redemption.py", "nav.redemption", ":material/redeem:"),
        ("purchases", "purchases.py", "nav.purchases", ":material/shopping_cart:"),
        ("complaints", "complaints.py", "nav.complaints", ":material/support_agent:"),
        ("activities", "activities.py", "nav.activities", ":material/event:"),
        ("care", "care.py", "nav.care", ":material/volunteer_activism:"),
        ("merchants", "merchants.py", "nav.merchants", ":material/storefront:"),
        ("readers", "readers.py", "nav.readers", ":material/contactless:"),
    ],
    "nav.admin": [
        ("point_rules", "point_rules.py", "nav.point_rules", ":material/rule:"),
        ("dictionary", "dictionary.py", "nav.dictionary", ":material/menu_book:"),
        ("accounts", "accounts.py", "nav.accounts", ":material/manage_accounts:"),
        ("status", "status.py", "nav.status", ":material/monitor_heart:"),
    ],
    "nav.analysis": [
        ("sql", "sql.py", "nav.sql", ":material/terminal:"),
    ],
}
DEFAULT_PAGE = "overview"


def sections(role: str | None) -> dict[str, list[st.Page]]:
    """The navigation for ``role`` (every page when None), empty sections left out."""
    built = {
        t(section): [
            st.Page(
                PAGES / file,
                title=t(title),
                icon=icon,
                url_path=url_path,
                default=url_path == DEFAULT_PAGE,
            )
            for url_path, file, title, icon in pages
            if role is None or may_open(role, url_path)
        ]
        for section, pages in NAVIGATION.items()
    }
    return {section: pages for section, pages in built.items() if pages}


st.set_page_config(page_title="ClubCRM", page_icon=":material/groups:", layout="wide")
locale_switch()
actor = current_actor()
if actor is None:
    # Every page stays registered (hidden, never run), so a bookmarked address opens once signed
    # in; until then only the form shows.
    st.navigation(sections(None), position="hidden")
    sign_in_form()
else:
    account_box(actor)
    st.navigation(sections(actor.role)).run()
