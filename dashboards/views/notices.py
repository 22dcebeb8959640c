"""Notices to retry (通知补发): notices that did not reach the member, and another try.

The list is ``lifecycle.notifications_to_retry`` (oldest try first); a retry is
``lifecycle.retry_notification`` with a method and whether the member was reached. A method the
member withdrew consent for is refused by the service (code ``no_consent``) and shown as such.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import show_error
from dashboards.i18n import current_locale, dictionary_label, format_datetime, format_int, t
from operational.db import session_scope
from operational.services import lifecycle
from operational.services.common import ServiceError, dictionary_codes

FLASH_KEY = "notices_flash"


def _load(url: str) -> tuple[list[lifecycle.RetryItem], dict[int, dict[str, bool]], list[str]]:
    with session_scope(url) as session:
        items = lifecycle.notifications_to_retry(session)
        consents = {
            member_id: lifecycle.current_consents(session, member_id)
            for member_id in {item.member_id for item in items}
        }
        return items, consents, dictionary_codes(session, "notice_method")


def _granted(consents: dict[str, bool]) -> str:
    channels = [dictionary_label("notice_method", c, locale) for c, ok in consents.items() if ok]
    return "、".join(channels) if locale == "zh_CN" else ", ".join(channels)


actor = require_page("notices")
settings = get_settings()
locale = current_locale()
st.title(t("notices.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

items, consents, methods = _load(settings.database_url)
if not items:
    st.info(t("notices.none"), icon=":material/done_all:")
    st.stop()

st.caption(t("notices.count", count=format_int(len(items))))
st.dataframe(
    pd.DataFrame(
        {
            t("col.member_no"): [i.member_no for i in items],
            t("col.name"): [i.name for i in items],
            t("col.status"): [t(f"status.{i.member_status}") for i in items],
            t("notices.col.kind"): [t(f"notices.kind.{i.kind}") for i in items],
            t("notices.col.method"): [
                dictionary_label("notice_method", i.method, locale) for i in items
            ],
            t("notices.col.attempts"): [i.attempts for i in items],
            t("notices.col.last_attempt"): [format_datetime(i.attempted_at) for i in items],
            t("col.mobile"): [i.mobile_masked or "" for i in items],
            t("notices.col.consents"): [_granted(consents[i.member_id]) or "–" for i in items],
        }
    ),
    hide_index=True,
    key="notices_list",
)

labels = {
    i.notification_id: f"{i.member_no} · {i.name} · {t(f'notices.kind.{i.kind}')}" for i in items
}
chosen = st.selectbox(
    t("notices.pick"), list(labels), format_func=labels.__getitem__, key="notices_pick"
)
with st.form("notices_retry"):
    method = st.selectbox(
        t("notices.method"),
        methods,
        format_func=lambda code: dictionary_label("notice_method", code, locale),
        key="notices_method",
    )
    reached = st.checkbox(t("notices.reached"), key="notices_reached")
    submitted = st.form_submit_button(t("notices.submit"), type="primary")
if submitted:
    try:
        with session_scope(settings.database_url) as session:
            note = lifecycle.retry_notification(
                session, actor, chosen, method=method, reached=reached
            )
            status, attempts = note.status, note.attempts
    except ServiceError as error:
        if error.code == "no_consent":
            st.error(
                t(
                    "notices.no_consent",
                    member=labels[chosen],
                    method=dictionary_label("notice_method", method, locale),
                ),
                icon=":material/do_not_disturb_on:",
            )
        else:
            show_error(error)
    else:
        key = "notices.reached_done" if status == "notified" else "notices.retry_again"
        st.session_state[FLASH_KEY] = t(key, member=labels[chosen], attempts=attempts)
        st.rerun()
