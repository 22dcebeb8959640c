"""Members: find a member (number, card, mobile, name, ID number) and show their file.

Everything goes through ``operational.services.members``; this page holds no SQL.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from clubcrm.settings import Settings, get_settings
from dashboards.i18n import (
    current_locale,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    format_money,
    t,
)
from operational.db import session_scope
from operational.services.members import (
    MemberDetail,
    MemberSummary,
    get_member_detail,
    search_members,
)

RESULT_LIMIT = 50
QUERY_KEY = "members_query"
ARCHIVED_KEY = "members_include_archived"


def _search(settings: Settings, query: str, include_archived: bool) -> list[MemberSummary]:
    with session_scope(settings.database_url) as session:
        # One more than shown, to tell the clerk when the list is cut.
        return search_members(
            session, query, limit=RESULT_LIMIT + 1, include_archived=include_archived
        )


def _detail(settings: Settings, member_no: str) -> MemberDetail | None:
    with session_scope(settings.database_url) as session:
        return get_member_detail(session, member_no)


def _search_form() -> tuple[str, bool]:
    with st.form("member_search"):
        query_column, button_column = st.columns([5, 1], vertical_alignment="bottom")
        query = query_column.text_input(
            t("members.query"), value=st.session_state.get(QUERY_KEY, ""), key="members_query_input"
        )
        submitted = button_column.form_submit_button(t("members.search"), type="primary")
        include_archived = st.checkbox(
            t("members.include_archived"), value=st.session_state.get(ARCHIVED_KEY, False)
        )
    if submitted:
        st.session_state[QUERY_KEY] = query.strip()
        st.session_state[ARCHIVED_KEY] = include_archived
    return st.session_state.get(QUERY_KEY, ""), st.session_state.get(ARCHIVED_KEY, False)


def _results_table(results: list[MemberSummary], locale: str) -> None:
    frame = pd.DataFrame(
        {
            t("col.member_no"): [r.member_no for r in results],
            t("col.name"): [r.name for r in results],
            t("col.tier"): [dictionary_label("tier", r.tier, locale) for r in results],
            t("col.status"): [t(f"status.{r.status}") for r in results],
            t("col.main_card"): [r.main_card_no or "" for r in results],
            t("col.mobile"): [r.mobile_masked or "" for r in results],
            t("col.region"): [dictionary_label("region", r.region, locale) for r in results],
            t("col.joined_at"): [format_date(r.joined_at) for r in results],
            t("col.matched_on"): [t(f"matched.{r.matched_on}") for r in results],
        }
    )
    st.dataframe(frame, hide_index=True, key="member_results")


def _table(rows: list[dict[str, object]]) -> None:
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption(t("detail.none"))


def _show_detail(member: MemberDetail, locale: str) -> None:
    st.subheader(f"{member.name} · {member.member_no}")
    if member.is_incomplete:
        st.warning(t("detail.incomplete"))
    balance, pending, complaints, tier, status = st.columns(5)
    balance.metric(t("detail.points_balance"), format_int(member.points_balance))
    pending.metric(t("detail.points_pending"), format_int(member.points_pending))
    complaints.metric(t("detail.open_complaints"), format_int(member.open_complaints))
    tier.metric(t("col.tier"), dictionary_label("tier", member.tier, locale))
    status.metric(t("col.status"), t(f"status.{member.status}"))

    profile, cards, purchases, points, history = st.tabs(
        [
            t("detail.profile"),
            t("detail.cards"),
            t("detail.purchases"),
            t("detail.points"),
            t("detail.history"),
        ]
    )
    with profile:
        fields = {
            t("detail.gender"): t(f"gender.{member.gender}") if member.gender else "",
            t("detail.birthday"): format_date(member.birthday),
            t("detail.id_number"): member.id_number or "",
            t("col.mobile"): member.mobile or "",
            t("detail.home_phone"): member.home_phone or "",
            t("detail.email"): member.email or "",
            t("detail.address"): member.address or "",
            t("col.region"): dictionary_label("region", member.region, locale),
            t("detail.channel"): dictionary_label("application_channel", member.channel, locale),
            t("col.joined_at"): format_date(member.joined_at),
        }
        st.dataframe(
            pd.DataFrame({t("col.field"): list(fields), t("col.value"): list(fields.values())}),
            hide_index=True,
        )
    with cards:
        _table(
            [
                {
                    t("col.card_no"): card.card_no,
                    t("col.kind"): t(f"kind.{card.kind}"),
                    t("col.card_type"): dictionary_label("card_type", card.card_type, locale),
                    t("col.status"): t(f"card_status.{card.status}"),
                    t("col.issued_at"): format_date(card.issued_at),
                    t("col.expires_on"): format_date(card.expires_on),
                    t("col.ended_at"): format_date(card.ended_at),
                    t("col.parent_card"): card.parent_card_no or "",
                }
                for card in member.cards
            ]
        )
    with purchases:
        _table(
            [
                {
                    t("col.purchased_at"): format_datetime(purchase.purchased_at),
                    t("col.purchase_no"): purchase.purchase_no,
                    t("col.product"): purchase.product,
                    t("col.amount"): format_money(purchase.amount),
                    t("col.paid_amount"): format_money(purchase.paid_amount),
                    t("col.purchase_type"): t(f"purchase_type.{purchase.purchase_type}"),
                    t("col.salesperson"): purchase.salesperson or "",
                }
                for purchase in member.recent_purchases
            ]
        )
    with points:
        _table(
            [
                {
                    t("col.created_at"): format_datetime(entry.created_at),
                    t("col.points"): f"{entry.points:+,}",
                    t("col.event_type"): t(f"event.{entry.event_type}"),
                    t("col.status"): t(f"point_status.{entry.status}"),
                    t("col.posted_at"): format_datetime(entry.posted_at),
                    t("col.reason"): entry.reason or entry.reference or "",
                }
                for entry in member.recent_point_entries
            ]
        )
    with history:
        _table(
            [
                {
                    t("col.changed_at"): format_datetime(change.changed_at),
                    t("col.changed_by"): change.changed_by,
                    t("col.field"): change.field,
                    t("col.old_value"): change.old_value or "",
                    t("col.new_value"): change.new_value or "",
                }
                for change in member.changes
            ]
        )


settings = get_settings()
locale = current_locale()
st.title(t("members.title"))
query, include_archived = _search_form()
if not query:
    st.info(t("members.hint"), icon=":material/search:")
    st.stop()

try:
    results = _search(settings, query, include_archived)
except SQLAlchemyError as exc:
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    st.error(t("members.db_unavailable", error=reason), icon=":material/error:")
    st.stop()

if not results:
    st.warning(t("members.no_match", query=query))
    st.stop()
if len(results) > RESULT_LIMIT:
    results = results[:RESULT_LIMIT]
    st.caption(t("members.more", count=RESULT_LIMIT))
else:
    st.caption(t("members.found", count=format_int(len(results))))
_results_table(results, locale)

names = {r.member_no: f"{r.member_no} · {r.name}" for r in results}
chosen = (
    results[0].member_no
    if len(results) == 1
    else st.selectbox(
        t("members.pick"), list(names), format_func=names.__getitem__, key="members_pick"
    )
)
detail = _detail(settings, chosen)
if detail is not None:
    _show_detail(detail, locale)
