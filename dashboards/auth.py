"""Signing in, who is signed in, and which roles may open which page.

- The router (``dashboards/app.py``) shows only :func:`sign_in_form` until someone is signed in,
  then builds the navigation with only the pages the role may open (:func:`may_open`).
- Every page starts with ``actor = require_page("<its url_path>")`` (or
  ``require_roles("reviewer", "admin")``): it gets the signed-in :class:`Actor` to pass to the
  services, or the page stops with a clear refusal.
- Who may open which page is :data:`PAGE_ROLES`, keyed by the page's ``url_path``. A page the
  router registers without an entry there is an error (fail closed, and loudly).

The signed-in user lives in ``st.session_state`` (server side) under :data:`SIGNED_IN_KEY` as a
plain dict; :func:`remember_sign_in` writes it (tests use it to start signed in).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from clubcrm.settings import get_settings
from dashboards.i18n import LOCALE_STATE_KEY, format_datetime, t
from operational.db import session_scope
from operational.models.reference import ROLES
from operational.services.accounts import account_display_name, authenticate
from operational.services.common import DECIDE_ROLES, ENTER_ROLES, Actor, ServiceError

SIGNED_IN_KEY = "signed_in_user"

ALL_ROLES = frozenset(ROLES)
#: Desk work on members: staff enter, reviewers decide, admins do both.
OPERATIONS_ROLES = frozenset(ENTER_ROLES)
#: Deciding applications (issue 3's review queue).
REVIEW_ROLES = frozenset(DECIDE_ROLES)

#: Reference data (the dictionary, points rules): admins only.
ADMIN_ROLES = frozenset({"admin"})
#: The manager dashboards (read-only warehouse; personal data masked there).
DASHBOARD_ROLES = frozenset({"manager", "analyst", "admin"})

#: Who may open each page, by the page's ``url_path``.
PAGE_ROLES: dict[str, frozenset[str]] = {
    # dashboards: every role
    "overview": ALL_ROLES,
    # manager dashboards: managers, analysts and admins
    "dash_members": DASHBOARD_ROLES,
    "dash_purchases": DASHBOARD_ROLES,
    "dash_points": DASHBOARD_ROLES,
    "dash_activities": DASHBOARD_ROLES,
    "dash_care": DASHBOARD_ROLES,
    "dash_complaints": DASHBOARD_ROLES,
    "dash_segments": DASHBOARD_ROLES,
    "dash_member360": DASHBOARD_ROLES,  # names masked for analysts on the page
    "dash_predictions": DASHBOARD_ROLES,
    # operations
    "members": OPERATIONS_ROLES,
    "apply": OPERATIONS_ROLES,
    "review": REVIEW_ROLES,
    "import": OPERATIONS_ROLES,
    "cards": OPERATIONS_ROLES,
    "exits": OPERATIONS_ROLES,  # staff request exits; reviewers decide them on the same page
    "notices": OPERATIONS_ROLES,
    "points": OPERATIONS_ROLES,
    "points_approval": REVIEW_ROLES,  # maker-checker: a second person posts big adjustments
    "redemption": OPERATIONS_ROLES,  # reviewers and admins also create plans there
    "purchases": OPERATIONS_ROLES,
    "complaints": OPERATIONS_ROLES | {"manager"},  # managers set the service levels there
    "activities": OPERATIONS_ROLES,  # staff plan and record; reviewers approve
    "care": OPERATIONS_ROLES,
    "merchants": OPERATIONS_ROLES,
    "readers": OPERATIONS_ROLES | {"manager"},
    "point_rules": ADMIN_ROLES,
    "dictionary": ADMIN_ROLES,
    "accounts": ADMIN_ROLES,
    "status": frozenset({"manager", "admin"}),
    "sql": frozenset({"analyst", "manager", "admin"}),
}


# -- the role table -----------------------------------------------------------------------------
def roles_for(url_path: str) -> frozenset[str]:
    """The roles that may open the page; a LookupError when the page is not in the table."""
    try:
        return PAGE_ROLES[url_path]
    except KeyError:
        raise LookupError(
            f"page {url_path!r} has no entry in dashboards.auth.PAGE_ROLES; "
            "add one saying which roles may open it"
        ) from None


def may_open(role: str, url_path: str) -> bool:
    return role in roles_for(url_path)


# -- who is signed in ---------------------------------------------------------------------------
def remember_sign_in(
    state: MutableMapping[str, Any], actor: Actor, name: str | None = None
) -> None:
    """Record ``actor`` as signed in, in ``state`` (``st.session_state`` or an AppTest's)."""
    state[SIGNED_IN_KEY] = {
        "username": actor.username,
        "role": actor.role,
        "display_name": name or actor.username,
    }


def _signed_in() -> dict[str, str] | None:
    entry = st.session_state.get(SIGNED_IN_KEY)
    if (
        isinstance(entry, dict)
        and isinstance(entry.get("username"), str)
        and entry.get("role") in ROLES
    ):
        return entry
    return None


def current_actor() -> Actor | None:
    """The signed-in user, or None."""
    entry = _signed_in()
    return None if entry is None else Actor(entry["username"], entry["role"])


def current_display_name() -> str | None:
    entry = _signed_in()
    return None if entry is None else entry.get("display_name") or entry["username"]


def require_roles(*roles: str) -> Actor:
    """The signed-in :class:`Actor` when their role is one of ``roles`` (any role when none is
    given); otherwise a clear refusal on the page and ``st.stop()``.

    Signed out, the page shows the sign-in form instead of its content (the router normally
    does that first; this covers a page run on its own, e.g. by a test).
    """
    actor = current_actor()
    if actor is None:
        st.info(t("auth.required"), icon=":material/lock:")
        sign_in_form()
        st.stop()
    if roles and actor.role not in roles:
        st.error(t("auth.not_allowed", role=t(f"role.{actor.role}")), icon=":material/block:")
        st.stop()
    return actor


def require_page(url_path: str) -> Actor:
    """:func:`require_roles` with the roles :data:`PAGE_ROLES` gives the page."""
    return require_roles(*sorted(roles_for(url_path)))


def sign_out() -> None:
    """Forget the signed-in user and everything the pages kept for them (not the language)."""
    for key in list(st.session_state.keys()):
        if key != LOCALE_STATE_KEY:
            del st.session_state[key]


# -- the sign-in form ---------------------------------------------------------------------------
def refusal_message(refusal: ServiceError) -> str:
    """A sign-in refusal in the reader's language."""
    if refusal.code == "locked":
        until = refusal.params.get("until")
        return t(
            "auth.locked",
            minutes=refusal.params.get("minutes", 15),
            until=format_datetime(until) if until else "",
        )
    if refusal.code == "inactive":
        return t("auth.inactive")
    return t("auth.bad_credentials")


def sign_in_form() -> Actor | None:
    """The sign-in form. On success the user is remembered and the app reruns."""
    st.title(t("auth.title"))
    with st.form("sign_in"):
        username = st.text_input(t("auth.username"), key="sign_in_username")
        password = st.text_input(t("auth.password"), type="password", key="sign_in_password")
        submitted = st.form_submit_button(t("auth.submit"), type="primary", icon=":material/login:")
    if not submitted:
        return None
    if not username.strip() or not password:
        st.warning(t("auth.missing"))
        return None

    refusal: ServiceError | None = None
    actor: Actor | None = None
    name: str | None = None
    try:
        with session_scope(get_settings().database_url) as session:
            try:
                actor = authenticate(session, username, password)
                name = account_display_name(session, actor.username)
            except ServiceError as exc:
                refusal = exc  # leaving the block commits the failed attempt (lockout count)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        st.error(t("auth.db_unavailable", error=reason), icon=":material/error:")
        return None
    if refusal is not None or actor is None:
        st.error(refusal_message(refusal) if refusal else t("auth.bad_credentials"))
        return None
    remember_sign_in(st.session_state, actor, name)
    st.rerun()
    return actor  # pragma: no cover - st.rerun() does not return
