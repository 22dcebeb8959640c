"""Members: find a member (number, card, mobile, name, ID number), show their file, act on it.

The file shows the profile, cards, purchases, points, consents and the change history; below
it a clerk edits the profile, records consents, requests an exit, issues, replaces or reports
cards, and a reviewer restores an archived member. Every rule is in the services
(``operational.services.members``, ``.lifecycle``, ``.cards``), each action one
``session_scope``; the page only reads a member's version, consents and open exit request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clubcrm.settings import Settings, get_settings
from dashboards.auth import REVIEW_ROLES, require_page
from dashboards.feedback import problems_by_field, show_error
from dashboards.i18n import (
    DISPLAY_TIMEZONE,
    STRINGS,
    current_locale,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    format_money,
    t,
)
from operational.db import session_scope
from operational.services import cards as card_service
from operational.services import lifecycle
from operational.services.common import (
    PII_REVEAL_ROLES,
    Actor,
    NotFound,
    ServiceError,
    ValidationFailed,
    dictionary_codes,
)
from operational.services.lifecycle import ConsentRecord
from operational.services.members import (
    MemberDetail,
    MemberSummary,
    get_member_detail,
    search_members,
)
from operational.validation import CONSENT_CHANNELS

RESULT_LIMIT = 50
QUERY_KEY = "members_query"
ARCHIVED_KEY = "members_include_archived"
#: The member whose full personal numbers the user asked to see (one member at a time).
REVEALED_KEY = "members_revealed_for"
#: A message to show once after an action reran the page ("saved", "card issued"…).
FLASH_KEY = "members_flash"
#: Where a consent came from (member_consents.source), as recorded from the desk.
CONSENT_SOURCES = ("desk", "phone_call", "form", "letter")
#: Replacement reasons a clerk picks (a tier change replaces the card by itself).
DESK_REPLACE_REASONS = ("request", "damaged", "lost")
EDIT_FIELDS = (
    "name",
    "id_number",
    "mobile",
    "home_phone",
    "email",
    "address",
    "region",
    "industry",
)


def _search(settings: Settings, query: str, include_archived: bool) -> list[MemberSummary]:
    with session_scope(settings.database_url) as session:
        # One more than shown, to tell the clerk when the list is cut.
        return search_members(
            session, query, limit=RESULT_LIMIT + 1, include_archived=include_archived
        )


def _detail(
    settings: Settings, member_no: str, revealed_to: Actor | None = None
) -> MemberDetail | None:
    """The member's file; personal numbers in full only for ``revealed_to`` (the view is logged
    under their username, committed with this unit of work)."""
    with session_scope(settings.database_url) as session:
        if revealed_to is None:
            return get_member_detail(session, member_no)
        return get_member_detail(
            session, member_no, reveal_pii=True, viewed_by=revealed_to.username
        )


def _reveal(member_no: str) -> None:
    st.session_state[REVEALED_KEY] = member_no


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


def _show_detail(member: MemberDetail, locale: str) -> Any:
    """The file's metrics and tabs; returns the (still empty) consents tab."""
    st.subheader(f"{member.name} · {member.member_no}")
    if member.is_incomplete:
        st.warning(t("detail.incomplete"))
    balance, pending, complaints, tier, status = st.columns(5)
    balance.metric(t("detail.points_balance"), format_int(member.points_balance))
    pending.metric(t("detail.points_pending"), format_int(member.points_pending))
    complaints.metric(t("detail.open_complaints"), format_int(member.open_complaints))
    tier.metric(t("col.tier"), dictionary_label("tier", member.tier, locale))
    status.metric(t("col.status"), t(f"status.{member.status}"))

    profile, cards, purchases, points, history, consents = st.tabs(
        [
            t("detail.profile"),
            t("detail.cards"),
            t("detail.purchases"),
            t("detail.points"),
            t("detail.history"),
            t("member.consents"),
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
                    t("col.field"): _field_label(change.field),
                    t("col.old_value"): _change_value(change.field, change.old_value, locale),
                    t("col.new_value"): _change_value(change.field, change.new_value, locale),
                }
                for change in member.changes
            ]
        )
    return consents


# -- what the file's actions need besides the file ---------------------------------------------
@dataclass(frozen=True)
class MemberState:
    """The bits of a member the action forms need (read through the services)."""

    version: int
    industry: str | None
    consents: dict[str, ConsentRecord]
    pending_exit: tuple[str, str | None, datetime] | None  # exit type, reason, requested at
    codes: dict[str, list[str]] = field(default_factory=dict)


def _state(settings: Settings, member_no: str) -> MemberState | None:
    with session_scope(settings.database_url) as session:
        try:
            editing = lifecycle.edit_state(session, member_no)
        except NotFound:
            return None
        pending = lifecycle.pending_exits(session, member_no=editing.member_no)
        return MemberState(
            version=editing.version,
            industry=editing.values.get("industry"),
            consents=lifecycle.consent_records(session, editing.member_no),
            pending_exit=(
                (pending[0].exit_type, pending[0].reason, pending[0].requested_at)
                if pending
                else None
            ),
            codes={
                "region": dictionary_codes(session, "region"),
                "exit_type": dictionary_codes(session, "exit_type"),
                "sub_card_type": dictionary_codes(session, "card_type", parent="sub"),
            },
        )


def _run(settings: Settings, action: Callable[[Session], object]) -> tuple[bool, object]:
    """Run one service call in its own unit of work; a refusal is shown, nothing is kept."""
    try:
        with session_scope(settings.database_url) as session:
            return True, action(session)
    except ServiceError as error:
        show_error(error)
        return False, error


def _done(message: str) -> None:
    """Remember the message and rerun, so the file shows the change."""
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _has_label(key: str) -> bool:
    return key in STRINGS.get(current_locale(), {})


def _field_label(name: str) -> str:
    for key in (f"field.{name}", f"member.field.{name}"):
        if _has_label(key):
            return t(key)
    return name


def _change_value(field_name: str, value: str | None, locale: str) -> str:
    if value is None:
        return ""
    if field_name == "status":
        return t(f"status.{value}")
    if field_name in ("region", "tier", "exit_type"):
        category = "region" if field_name == "region" else field_name
        return dictionary_label(category, value, locale)
    return value


def _today() -> date:
    return datetime.now(DISPLAY_TIMEZONE).date()


# -- the actions -------------------------------------------------------------------------------
def _archived_banner(member: MemberDetail, locale: str) -> None:
    st.error(
        t(
            "member.archived_banner",
            when=format_datetime(member.archived_at),
            exit_type=dictionary_label("exit_type", member.exit_type, locale) or "–",
        ),
        icon=":material/inventory_2:",
    )


def _edit_form(actor: Actor, member: MemberDetail, state: MemberState, locale: str) -> None:
    """Profile edit: only fields the clerk changed are sent, with the version the form showed."""
    number = member.member_no
    version_key = f"member_edit_version_{number}"
    errors_key = f"member_edit_errors_{number}"
    st.session_state.setdefault(version_key, state.version)
    errors: dict[str, list[str]] = st.session_state.get(errors_key, {})
    shown: dict[str, str] = {
        "name": member.name,
        "id_number": member.id_number or "",
        "mobile": member.mobile or "",
        "home_phone": member.home_phone or "",
        "email": member.email or "",
        "address": member.address or "",
        "region": member.region or "",
        "industry": state.industry or "",
    }
    values: dict[str, str] = {}
    with st.form(f"member_edit_{number}"):
        if not member.pii_revealed:
            st.caption(t("member.edit.masked_hint"))
        for name in EDIT_FIELDS:
            key = f"member_edit_{name}_{number}"
            if name == "region":
                options = ["", *state.codes.get("region", [])]
                if shown["region"] not in options:
                    options.append(shown["region"])
                values[name] = st.selectbox(
                    _field_label(name),
                    options,
                    index=options.index(shown["region"]),
                    format_func=lambda code: dictionary_label("region", code, locale) or "–",
                    key=key,
                )
            else:
                values[name] = st.text_input(_field_label(name), value=shown[name], key=key)
            for message in errors.get(name, []):
                st.error(message, icon=":material/error:")
        submitted = st.form_submit_button(t("member.edit.save"), type="primary")
    other = [m for f, ms in errors.items() if f not in EDIT_FIELDS for m in ms]
    for message in other:
        st.error(message, icon=":material/error:")
    if not submitted:
        return
    changes = {name: value for name, value in values.items() if value.strip() != shown[name]}
    if not changes:
        st.info(t("member.edit.nothing"))
        return
    try:
        with session_scope(settings.database_url) as session:
            written = lifecycle.update_profile(
                session,
                actor,
                number,
                changes,
                expected_version=st.session_state[version_key],
            )
            count = len(written)
    except ValidationFailed as error:
        st.session_state[errors_key] = problems_by_field(error)
        st.rerun()
    except ServiceError as error:
        show_error(error)
        return
    for key in [version_key, errors_key] + [f"member_edit_{n}_{number}" for n in EDIT_FIELDS]:
        st.session_state.pop(key, None)
    _done(t("member.edit.saved", count=count))


def _consents(actor: Actor, member: MemberDetail, state: MemberState) -> None:
    rows = [
        {
            t("member.consent.channel"): t(f"member.channel.{channel}"),
            t("member.consent.state"): t(
                "member.consent.granted"
                if record.granted
                else ("member.consent.withdrawn" if record.recorded_at else "member.consent.none")
            ),
            t("member.consent.recorded_at"): format_datetime(record.recorded_at),
            t("member.consent.source"): _source_label(record.source),
            t("member.consent.recorded_by"): record.recorded_by or "",
        }
        for channel, record in state.consents.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if member.status == "archived":
        return
    sources = {code: _source_label(code) for code in CONSENT_SOURCES}
    source = st.selectbox(
        t("member.consent.source"),
        list(sources),
        format_func=sources.__getitem__,
        key=f"member_consent_source_{member.member_no}",
    )
    columns = st.columns(len(CONSENT_CHANNELS))
    for column, channel in zip(columns, CONSENT_CHANNELS, strict=True):
        current = state.consents[channel].granted
        key = f"member_consent_{channel}_{member.member_no}"
        wanted = column.toggle(t(f"member.channel.{channel}"), value=current, key=key)
        if wanted == current:
            continue
        ok, _ = _run(
            settings,
            lambda session, channel=channel, wanted=wanted: lifecycle.set_consent(
                session, actor, member.member_no, channel, wanted, source=source
            ),
        )
        if not ok:
            st.session_state.pop(key, None)
            return
        _done(
            t(
                "member.consent.saved_granted" if wanted else "member.consent.saved_withdrawn",
                channel=t(f"member.channel.{channel}"),
            )
        )


def _source_label(source: str | None) -> str:
    if not source:
        return ""
    key = f"member.consent.source.{source}"
    return t(key) if _has_label(key) else source


def _exit_form(actor: Actor, member: MemberDetail, state: MemberState, locale: str) -> None:
    if state.pending_exit is not None:
        exit_type, reason, at = state.pending_exit
        st.info(
            t(
                "member.exit.pending",
                exit_type=dictionary_label("exit_type", exit_type, locale),
                when=format_datetime(at),
                reason=reason or "–",
            ),
            icon=":material/hourglass_top:",
        )
        return
    with st.form(f"member_exit_{member.member_no}"):
        exit_type = st.selectbox(
            t("member.exit.type"),
            state.codes.get("exit_type", []),
            format_func=lambda code: dictionary_label("exit_type", code, locale),
            key=f"member_exit_type_{member.member_no}",
        )
        reason = st.text_area(t("member.exit.reason"), key=f"member_exit_reason_{member.member_no}")
        submitted = st.form_submit_button(t("member.exit.submit"))
    if submitted:
        ok, _ = _run(
            settings,
            lambda session: lifecycle.request_exit(
                session, actor, member.member_no, exit_type, reason or None
            ),
        )
        if ok:
            _done(t("member.exit.requested"))


def _restore_form(actor: Actor, member: MemberDetail) -> None:
    with st.form(f"member_restore_{member.member_no}"):
        reason = st.text_input(
            t("member.restore.reason"), key=f"member_restore_reason_{member.member_no}"
        )
        submitted = st.form_submit_button(t("member.restore.submit"), type="primary")
    if submitted:
        ok, _ = _run(
            settings,
            lambda session: lifecycle.restore_member(session, actor, member.member_no, reason),
        )
        if ok:
            _done(t("member.restore.done"))


def _card_actions(actor: Actor, member: MemberDetail, state: MemberState, locale: str) -> None:
    number = member.member_no
    active = [card for card in member.cards if card.status == "active"]
    main = next((card for card in active if card.kind == "main"), None)
    if main is None:
        st.caption(t("member.cards.no_main"))
        if st.button(t("member.cards.issue_main"), key=f"member_issue_main_{number}"):
            ok, card = _run(
                settings, lambda session: card_service.issue_main_card(session, actor, number)
            )
            if ok:
                _done(t("member.cards.issued", card_no=card.card_no))
        return

    with st.form(f"member_sub_card_{number}"):
        st.markdown(f"**{t('member.cards.issue_sub')}**")
        card_type = st.selectbox(
            t("col.card_type"),
            state.codes.get("sub_card_type", []),
            format_func=lambda code: dictionary_label("card_type", code, locale),
            key=f"member_sub_type_{number}",
        )
        expires_on = st.date_input(
            t("col.expires_on"),
            value=_today() + timedelta(days=365),
            key=f"member_sub_expiry_{number}",
        )
        submitted = st.form_submit_button(t("member.cards.issue_sub"))
    if submitted:
        ok, card = _run(
            settings,
            lambda session: card_service.issue_sub_card(
                session, actor, number, card_type, expires_on
            ),
        )
        if ok:
            _done(t("member.cards.issued", card_no=card.card_no))

    with st.form(f"member_replace_{number}"):
        st.markdown(f"**{t('member.cards.replace', card_no=main.card_no)}**")
        reasons = {code: t(f"member.cards.reason.{code}") for code in DESK_REPLACE_REASONS}
        reason = st.selectbox(
            t("member.cards.replace_reason"),
            list(reasons),
            format_func=reasons.__getitem__,
            key=f"member_replace_reason_{number}",
        )
        submitted = st.form_submit_button(t("member.cards.replace_submit"))
    if submitted:
        ok, card = _run(
            settings,
            lambda session: card_service.replace_card(session, actor, main.card_no, reason=reason),
        )
        if ok:
            _done(t("member.cards.replaced", old=main.card_no, card_no=card.card_no))

    with st.form(f"member_loss_{number}"):
        st.markdown(f"**{t('member.cards.loss')}**")
        labels = {
            card.card_no: f"{card.card_no} · {t(f'kind.{card.kind}')} · "
            f"{dictionary_label('card_type', card.card_type, locale)}"
            for card in active
        }
        lost = st.selectbox(
            t("col.card_no"),
            list(labels),
            format_func=labels.__getitem__,
            key=f"member_loss_{number}",
        )
        submitted = st.form_submit_button(t("member.cards.loss_submit"))
    if submitted:
        ok, card = _run(settings, lambda session: card_service.report_loss(session, actor, lost))
        if ok:
            _done(
                t("member.cards.lost_main", old=lost, card_no=card.card_no)
                if card is not None
                else t("member.cards.lost_sub", old=lost)
            )


actor = require_page("members")
settings = get_settings()
locale = current_locale()
st.title(t("members.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")
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
may_reveal = actor.role in PII_REVEAL_ROLES
revealed = may_reveal and st.session_state.get(REVEALED_KEY) == chosen
detail = _detail(settings, chosen, actor if revealed else None)
state = _state(settings, chosen) if detail is not None else None
if detail is not None and state is not None:
    if detail.status == "archived":
        _archived_banner(detail, locale)
    consents_tab = _show_detail(detail, locale)
    if revealed:
        st.caption(t("members.revealed", user=actor.username))
    elif may_reveal and (detail.id_number or detail.mobile or detail.home_phone):
        st.button(
            t("members.reveal"),
            key="members_reveal",
            icon=":material/visibility:",
            on_click=_reveal,
            args=(chosen,),
        )
    with consents_tab:
        _consents(actor, detail, state)

    if detail.status == "archived":
        if actor.role in REVIEW_ROLES:
            st.subheader(t("member.restore.title"))
            _restore_form(actor, detail)
        else:
            st.caption(t("member.restore.reviewers_only"))
    else:
        st.subheader(t("member.actions"))
        with st.expander(t("member.edit.title"), icon=":material/edit:"):
            _edit_form(actor, detail, state, locale)
        with st.expander(t("member.cards.title"), icon=":material/credit_card:"):
            _card_actions(actor, detail, state, locale)
        with st.expander(t("member.exit.title"), icon=":material/logout:"):
            _exit_form(actor, detail, state, locale)
