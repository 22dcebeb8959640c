"""Exits (退会): pending exit requests; reviewers approve (archive) or reject them.

Staff see the list (they request exits on the member's file); reviewers and admins decide each
request (``lifecycle.review_exit``: archive with a notice, or back to active) and may run the
automatic contact-invalid rule now (``lifecycle.flag_contact_invalid_exits``). The page only
reads the list; every rule is in ``operational.services.lifecycle``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import REVIEW_ROLES, require_page
from dashboards.feedback import show_error
from dashboards.i18n import (
    DISPLAY_TIMEZONE,
    current_locale,
    dictionary_label,
    format_datetime,
    format_int,
    t,
)
from operational.db import session_scope
from operational.services import lifecycle
from operational.services.common import ServiceError, dictionary_codes
from operational.services.lifecycle import PendingExit

FLASH_KEY = "exits_flash"


def _pending(url: str) -> tuple[list[PendingExit], list[str]]:
    """Pending requests, oldest first, and the notice methods of the dictionary."""
    with session_scope(url) as session:
        return lifecycle.pending_exits(session), dictionary_codes(session, "notice_method")


def _label(item: PendingExit) -> str:
    return f"{item.member_no} · {item.name}"


actor = require_page("exits")
settings = get_settings()
locale = current_locale()
deciding = actor.role in REVIEW_ROLES
st.title(t("exits.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

if deciding:
    with st.expander(t("exits.rule.title"), icon=":material/rule:"):
        st.caption(t("exits.rule.help"))
        if st.button(t("exits.rule.run"), key="exits_run_rule"):
            try:
                with session_scope(settings.database_url) as session:
                    flagged = len(
                        lifecycle.flag_contact_invalid_exits(
                            session, today=datetime.now(DISPLAY_TIMEZONE).date()
                        )
                    )
            except ServiceError as error:
                show_error(error)
            else:
                st.session_state[FLASH_KEY] = t("exits.rule.flagged", count=format_int(flagged))
                st.rerun()

pending, methods = _pending(settings.database_url)
if not pending:
    st.info(t("exits.none"), icon=":material/inbox:")
    st.stop()

st.caption(t("exits.count", count=format_int(len(pending))))
st.dataframe(
    pd.DataFrame(
        {
            t("col.member_no"): [p.member_no for p in pending],
            t("col.name"): [p.name for p in pending],
            t("exits.col.type"): [
                dictionary_label("exit_type", p.exit_type, locale) for p in pending
            ],
            t("exits.col.how"): [
                t("exits.automatic") if p.is_automatic else t("exits.manual") for p in pending
            ],
            t("col.reason"): [p.reason or "" for p in pending],
            t("exits.col.requested_by"): [p.requested_by or "" for p in pending],
            t("exits.col.requested_at"): [format_datetime(p.requested_at) for p in pending],
        }
    ),
    hide_index=True,
    key="exits_pending",
)

if not deciding:
    st.caption(t("exits.reviewers_decide"))
    st.stop()

by_id = {p.request_id: p for p in pending}
chosen = st.selectbox(
    t("exits.pick"), list(by_id), format_func=lambda i: _label(by_id[i]), key="exits_pick"
)
with st.form("exits_decide"):
    st.markdown(f"**{_label(by_id[chosen])}**")
    method = st.selectbox(
        t("exits.notice_method"),
        methods,
        format_func=lambda code: dictionary_label("notice_method", code, locale),
        key="exits_method",
    )
    reached = st.checkbox(t("exits.reached"), key="exits_reached")
    approve_column, reject_column = st.columns(2)
    approve = approve_column.form_submit_button(
        t("exits.approve"), type="primary", icon=":material/archive:"
    )
    reject = reject_column.form_submit_button(t("exits.reject"), icon=":material/undo:")
if approve or reject:
    item = by_id[chosen]
    try:
        with session_scope(settings.database_url) as session:
            lifecycle.review_exit(
                session,
                actor,
                chosen,
                bool(approve),
                notify_method=method if approve else None,
                notified=reached,
            )
    except ServiceError as error:
        show_error(error)
    else:
        key = "exits.approved" if approve else "exits.rejected"
        st.session_state[FLASH_KEY] = t(key, member=_label(item))
        st.rerun()
