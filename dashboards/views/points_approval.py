"""Points approval (积分审批): pending points entries; reviewers approve or reject each.

Maker-checker: ``points.approve_entry`` refuses the person who entered the adjustment
(``same_person``); the page shows that refusal as it is. Every rule is in
``operational.services.points``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import show_error
from dashboards.i18n import format_datetime, format_int, t
from operational.db import session_scope
from operational.services import points
from operational.services.common import ServiceError
from operational.services.points import PendingEntryRow

FLASH_KEY = "points_approval_flash"


def _pending(url: str) -> list[PendingEntryRow]:
    with session_scope(url) as session:
        return points.pending_entries(session)


def _label(row: PendingEntryRow) -> str:
    return t(
        "approval.entry",
        member_no=row.member_no,
        name=row.member_name,
        points=format_int(row.points),
        created_by=row.created_by or "",
    )


actor = require_page("points_approval")
settings = get_settings()
st.title(t("approval.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

pending = _pending(settings.database_url)
if not pending:
    st.info(t("approval.none"), icon=":material/inbox:")
    st.stop()

st.caption(t("approval.count", count=format_int(len(pending))))
st.dataframe(
    pd.DataFrame(
        {
            t("approval.col.member"): [f"{p.member_no} · {p.member_name}" for p in pending],
            t("col.points"): [p.points for p in pending],
            t("col.event_type"): [t(f"event.{p.event_type}") for p in pending],
            t("col.reason"): [p.reason or "" for p in pending],
            t("col.card_no"): [p.card_no or "" for p in pending],
            t("points.col.created_by"): [p.created_by or "" for p in pending],
            t("col.created_at"): [format_datetime(p.created_at) for p in pending],
        }
    ),
    hide_index=True,
    key="points_approval_pending",
)

# labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
labels = {p.id: _label(p) for p in pending}
chosen = st.selectbox(
    t("approval.pick"),
    list(labels),
    format_func=labels.__getitem__,
    key="points_approval_pick",
)
with st.form("points_approval_decide"):
    st.markdown(f"**{labels[chosen]}**")
    reason = st.text_input(t("approval.reject_reason"), key="points_approval_reason")
    approve_column, reject_column = st.columns(2)
    approve = approve_column.form_submit_button(
        t("approval.approve"), type="primary", icon=":material/check:"
    )
    reject = reject_column.form_submit_button(t("approval.reject"), icon=":material/close:")
if approve or reject:
    entry = labels[chosen]
    try:
        with session_scope(settings.database_url) as session:
            if approve:
                points.approve_entry(session, actor, chosen)
            else:
                points.reject_entry(session, actor, chosen, reason=reason)
    except ServiceError as error:
        show_error(error)
    else:
        key = "approval.approved" if approve else "approval.rejected"
        st.session_state[FLASH_KEY] = t(key, entry=entry)
        st.rerun()
