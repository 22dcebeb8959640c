"""Merchants (商家): find merchants or services, a merchant's file, new/edit, record a use.

Every rule is in ``operational.services.merchants`` (unique codes, dictionary types, service
periods, discounts, tier restrictions, idempotent uses). Recording a use gets an idempotency key
kept in the session while the form's values stay the same, so a double click records once.
"""

from __future__ import annotations

from datetime import date, datetime, time
from uuid import uuid4

import pandas as pd
import plotly.express as px
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import REVIEW_ROLES, require_page
from dashboards.feedback import show_error
from dashboards.i18n import (
    DISPLAY_TIMEZONE,
    current_locale,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    t,
)
from operational.db import session_scope
from operational.services import merchants
from operational.services.common import ServiceError, dictionary_codes
from operational.services.merchants import IMPORTANCE_LEVELS, MerchantRow, ServiceRow

FLASH_KEY = "merchants_flash"
CURRENT_KEY = "merchants_current"  # the merchant code whose file is shown
PICK_KEY = "merchants_pick"
PENDING_PICK_KEY = "merchants_pending_pick"
FILTER_KEY = "merchants_filter"
SERVICE_FILTER_KEY = "merchants_service_filter"
USE_SUBMISSION_KEY = "merchants_use_submission"  # {"values": [...], "key": str, "done": bool}
RENEWAL_DAYS = 30


def _today() -> date:
    return datetime.now(DISPLAY_TIMEZONE).date()


def _choices(url: str) -> dict[str, list[str]]:
    with session_scope(url) as session:
        return {
            "merchant_type": dictionary_codes(session, "merchant_type"),
            "region": dictionary_codes(session, "region"),
            "tier": dictionary_codes(session, "tier"),
        }


def _flash(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _period(row: ServiceRow) -> str:
    end = format_date(row.ends_on) if row.ends_on else t("merchants.open_end")
    return f"{format_date(row.starts_on)} – {end}"


def _restriction(code: str | None) -> str:
    if not code:
        return t("merchants.restriction.none")
    tier = code.removeprefix(merchants.RESTRICTION_PREFIX)
    return t("merchants.restriction.tier", tier=dictionary_label("tier", tier, locale))


def _discount(row: ServiceRow) -> str:
    if row.discount is None:
        return ""
    off = int(round((1 - row.discount) * 100))
    return t("merchants.discount_shown", rate=f"{row.discount:.2f}", off=off)


def _merchant_frame(rows: list[MerchantRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("merchants.col.code"): [r.code for r in rows],
            t("merchants.col.name"): [r.name for r in rows],
            t("merchants.col.type"): [
                dictionary_label("merchant_type", r.merchant_type, locale) for r in rows
            ],
            t("merchants.col.importance"): [
                t(f"merchants.importance.{r.importance}") for r in rows
            ],
            t("col.region"): [dictionary_label("region", r.region, locale) for r in rows],
            t("merchants.col.contact"): [r.contact or "" for r in rows],
            t("merchants.col.phone"): [
                " / ".join(p for p in (r.phone1, r.phone2) if p) for r in rows
            ],
            t("merchants.col.contract_ends_on"): [format_date(r.contract_ends_on) for r in rows],
            t("merchants.col.services"): [r.services for r in rows],
            t("merchants.col.active"): [
                t("merchants.yes") if r.active else t("merchants.no") for r in rows
            ],
        }
    )


def _service_frame(rows: list[ServiceRow], *, with_merchant: bool) -> pd.DataFrame:
    columns: dict[str, list] = {}
    if with_merchant:
        columns[t("merchants.col.merchant")] = [
            f"{r.merchant_code} · {r.merchant_name}" for r in rows
        ]
    columns.update(
        {
            t("merchants.col.service"): [r.name for r in rows],
            t("merchants.col.period"): [_period(r) for r in rows],
            t("merchants.col.restriction"): [_restriction(r.member_restriction) for r in rows],
            t("merchants.col.discount"): [_discount(r) for r in rows],
            t("merchants.col.rating"): ["★" * r.rating if r.rating else "" for r in rows],
            t("merchants.col.members"): [r.members for r in rows],
            t("merchants.col.uses"): [r.uses for r in rows],
            t("merchants.col.content"): [r.content or "" for r in rows],
        }
    )
    return pd.DataFrame(columns)


def _merchant_fields(prefix: str, current: MerchantRow | None) -> dict:
    """The merchant inputs (inside a form); keys start with ``prefix``."""
    type_codes = list(choices["merchant_type"])
    if current is not None and current.merchant_type not in type_codes:
        type_codes.append(current.merchant_type)  # retired type: kept until changed
    region_codes = [""] + list(choices["region"])
    if current is not None and current.region and current.region not in region_codes:
        region_codes.append(current.region)
    left, right = st.columns(2)
    values = {
        "name": left.text_input(
            t("merchants.field.name"), value=current.name if current else "", key=f"{prefix}_name"
        ),
        "merchant_type": right.selectbox(
            t("merchants.field.type"),
            type_codes,
            index=type_codes.index(current.merchant_type) if current else None,
            format_func=lambda c: dictionary_label("merchant_type", c, locale),
            placeholder=t("merchants.choose"),
            key=f"{prefix}_type",
        ),
        "importance": left.selectbox(
            t("merchants.field.importance"),
            IMPORTANCE_LEVELS,
            index=IMPORTANCE_LEVELS.index(current.importance if current else "normal"),
            format_func=importance_labels.__getitem__,
            key=f"{prefix}_importance",
        ),
        "region": right.selectbox(
            t("merchants.field.region"),
            region_codes,
            index=region_codes.index(current.region or "") if current else 0,
            format_func=lambda c: dictionary_label("region", c, locale) if c else "–",
            key=f"{prefix}_region",
        ),
        "contact": left.text_input(
            t("merchants.field.contact"),
            value=(current.contact or "") if current else "",
            key=f"{prefix}_contact",
        ),
        "parent_company": right.text_input(
            t("merchants.field.parent_company"),
            value=(current.parent_company or "") if current else "",
            key=f"{prefix}_parent",
        ),
        "phone1": left.text_input(
            t("merchants.field.phone1"),
            value=(current.phone1 or "") if current else "",
            key=f"{prefix}_phone1",
        ),
        "phone2": right.text_input(
            t("merchants.field.phone2"),
            value=(current.phone2 or "") if current else "",
            key=f"{prefix}_phone2",
        ),
        "address": st.text_input(
            t("merchants.field.address"),
            value=(current.address or "") if current else "",
            key=f"{prefix}_address",
        ),
        "contract_ends_on": st.date_input(
            t("merchants.field.contract_ends_on"),
            value=current.contract_ends_on if current else None,
            key=f"{prefix}_contract",
        ),
    }
    values["region"] = values["region"] or None
    return values


def _service_fields(prefix: str, current: ServiceRow | None) -> dict:
    restrictions = [""] + [f"{merchants.RESTRICTION_PREFIX}{c}" for c in choices["tier"]]
    if current is not None and current.member_restriction not in restrictions:
        restrictions.append(current.member_restriction or "")
    # labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
    restriction_labels = {c: _restriction(c or None) for c in restrictions}
    ratings = [None, 1, 2, 3, 4, 5]
    left, right = st.columns(2)
    values = {
        "name": st.text_input(
            t("merchants.field.service_name"),
            value=current.name if current else "",
            key=f"{prefix}_name",
        ),
        "starts_on": left.date_input(
            t("merchants.field.starts_on"),
            value=current.starts_on if current else _today(),
            key=f"{prefix}_start",
        ),
        "ends_on": right.date_input(
            t("merchants.field.ends_on"),
            value=current.ends_on if current else None,
            key=f"{prefix}_end",
        ),
        "member_restriction": left.selectbox(
            t("merchants.field.restriction"),
            restrictions,
            index=restrictions.index(current.member_restriction or "") if current else 0,
            format_func=restriction_labels.__getitem__,
            key=f"{prefix}_restriction",
        ),
        "discount": right.text_input(
            t("merchants.field.service_discount"),
            value=(f"{current.discount:.2f}" if current and current.discount else ""),
            help=t("merchants.field.discount_help"),
            key=f"{prefix}_discount",
        ),
        "content": st.text_area(
            t("merchants.field.content"),
            value=(current.content or "") if current else "",
            key=f"{prefix}_content",
        ),
    }
    if current is not None:  # feedback and rating come after the service has run a while
        values["quarterly_feedback"] = st.text_area(
            t("merchants.field.feedback"),
            value=current.quarterly_feedback or "",
            key=f"{prefix}_feedback",
        )
        values["rating"] = st.selectbox(
            t("merchants.field.service_rating"),
            ratings,
            index=ratings.index(current.rating),
            format_func=lambda r: "–" if r is None else "★" * r,
            key=f"{prefix}_rating",
        )
    return values


def _use_submission(values: list) -> dict:
    current = st.session_state.get(USE_SUBMISSION_KEY)
    if not current or current["values"] != values:
        current = {"values": values, "key": uuid4().hex, "done": False}
        st.session_state[USE_SUBMISSION_KEY] = current
    return current


def _used_at(day: date, at: time | None) -> datetime:
    """Club-local time of the use: now when today without a time, noon on another day."""
    if at is None:
        if day == _today():
            return datetime.now(DISPLAY_TIMEZONE)
        at = time(12)
    return datetime.combine(day, at, DISPLAY_TIMEZONE)


def _show_detail(code: str) -> None:
    try:
        with session_scope(url) as session:
            detail = merchants.merchant_detail(session, code)
    except ServiceError as error:
        show_error(error)
        return
    merchant = detail.merchant
    st.subheader(f"{merchant.code} · {merchant.name}")
    if not merchant.active:
        st.warning(t("merchants.inactive_note"), icon=":material/block:")
    services_metric, members_metric, uses_metric, contract_metric = st.columns(4)
    services_metric.metric(t("merchants.col.services"), format_int(len(detail.services)))
    members_metric.metric(t("merchants.col.members"), format_int(detail.members))
    uses_metric.metric(t("merchants.col.uses"), format_int(detail.uses))
    contract_metric.metric(
        t("merchants.col.contract_ends_on"), format_date(merchant.contract_ends_on) or "–"
    )
    st.dataframe(
        pd.DataFrame(
            {
                t("col.field"): [
                    t("merchants.col.type"),
                    t("merchants.col.importance"),
                    t("col.region"),
                    t("merchants.col.contact"),
                    t("merchants.field.phone1"),
                    t("merchants.field.phone2"),
                    t("merchants.field.address"),
                    t("merchants.field.parent_company"),
                ],
                t("col.value"): [
                    dictionary_label("merchant_type", merchant.merchant_type, locale),
                    t(f"merchants.importance.{merchant.importance}"),
                    dictionary_label("region", merchant.region, locale) or "–",
                    merchant.contact or "–",
                    merchant.phone1 or "–",
                    merchant.phone2 or "–",
                    merchant.address or "–",
                    merchant.parent_company or "–",
                ],
            }
        ),
        hide_index=True,
        key="merchants_profile",
    )
    st.markdown(f"**{t('merchants.services')}**")
    if detail.services:
        st.dataframe(
            _service_frame(detail.services, with_merchant=False),
            hide_index=True,
            key="merchants_detail_services",
        )
        if detail.uses:
            chart = pd.DataFrame(
                {
                    t("merchants.col.service"): [s.name for s in detail.services],
                    t("merchants.col.uses"): [s.uses for s in detail.services],
                    t("merchants.col.members"): [s.members for s in detail.services],
                }
            ).melt(
                id_vars=t("merchants.col.service"),
                var_name=t("merchants.chart.measure"),
                value_name=t("merchants.chart.count"),
            )
            st.plotly_chart(
                px.bar(
                    chart,
                    x=t("merchants.col.service"),
                    y=t("merchants.chart.count"),
                    color=t("merchants.chart.measure"),
                    barmode="group",
                    title=t("merchants.chart.participation"),
                ),
                key="merchants_participation_chart",
            )
    else:
        st.caption(t("merchants.no_services"))
    if detail.recent_uses:
        st.markdown(f"**{t('merchants.recent_uses')}**")
        st.dataframe(
            pd.DataFrame(
                {
                    t("merchants.col.used_at"): [
                        format_datetime(u.used_at) for u in detail.recent_uses
                    ],
                    t("merchants.col.service"): [u.service_name for u in detail.recent_uses],
                    t("col.member_no"): [u.member_no for u in detail.recent_uses],
                    t("col.name"): [u.member_name for u in detail.recent_uses],
                    t("merchants.col.source"): [
                        t(f"merchants.source.{u.source}") for u in detail.recent_uses
                    ],
                }
            ),
            hide_index=True,
            key="merchants_recent_uses",
        )

    _record_use_form(merchant, detail.services)
    _edit_merchant_form(merchant)
    _service_forms(merchant, detail.services)


def _record_use_form(merchant: MerchantRow, services: list[ServiceRow]) -> None:
    if not merchant.active or not services:
        return
    st.markdown(f"**{t('merchants.use.title')}**")
    labels = {s.service_id: f"{s.name} ({_period(s)})" for s in services}
    with st.form("merchants_use"):
        service_id = st.selectbox(
            t("merchants.use.service"),
            list(labels),
            format_func=labels.__getitem__,
            key="merchants_use_service",
        )
        who = st.text_input(t("merchants.use.member_or_card"), key="merchants_use_member")
        day_column, time_column = st.columns(2)
        day = day_column.date_input(t("merchants.use.day"), value=_today(), key="merchants_use_day")
        at = time_column.time_input(t("merchants.use.time"), value=None, key="merchants_use_time")
        submitted = st.form_submit_button(t("merchants.use.submit"), type="primary")
    if not submitted:
        return
    if not who.strip():
        st.warning(t("merchants.use.member_required"))
        return
    sent = _use_submission([service_id, who.strip(), str(day), str(at)])
    repeated = sent["done"]
    try:
        with session_scope(url) as session:
            use = merchants.record_service_use(
                session,
                actor,
                service_id=service_id,
                member_or_card=who,
                used_at=_used_at(day, at),
                idempotency_key=f"dashboard:{sent['key']}",
            )
            message = t(
                "merchants.use.done",
                service=labels[service_id],
                when=format_datetime(use.used_at),
            )
    except ServiceError as error:
        show_error(error)
        return
    sent["done"] = True
    _flash(t("merchants.use.already") if repeated else message)


def _edit_merchant_form(merchant: MerchantRow) -> None:
    with st.expander(t("merchants.edit.title"), icon=":material/edit:"):
        with st.form(f"merchants_edit_{merchant.code}"):
            values = _merchant_fields(f"merchants_edit_{merchant.code}", merchant)
            saved = st.form_submit_button(t("merchants.edit.submit"), type="primary")
        if saved:
            try:
                with session_scope(url) as session:
                    merchants.update_merchant(session, actor, merchant.code, **values)
            except ServiceError as error:
                show_error(error)
            else:
                _flash(t("merchants.edit.done", code=merchant.code))
        if actor.role in REVIEW_ROLES:
            label = t("merchants.deactivate") if merchant.active else t("merchants.reactivate")
            if st.button(label, key=f"merchants_active_{merchant.code}"):
                change = (
                    merchants.deactivate_merchant
                    if merchant.active
                    else merchants.reactivate_merchant
                )
                try:
                    with session_scope(url) as session:
                        change(session, actor, merchant.code)
                except ServiceError as error:
                    show_error(error)
                else:
                    _flash(
                        t(
                            "merchants.deactivated" if merchant.active else "merchants.reactivated",
                            code=merchant.code,
                        )
                    )


def _service_forms(merchant: MerchantRow, services: list[ServiceRow]) -> None:
    with st.expander(t("merchants.service.new_title"), icon=":material/add:"):
        prefix = f"merchants_new_service_{merchant.code}"
        with st.form(prefix):
            values = _service_fields(prefix, None)
            created = st.form_submit_button(t("merchants.service.create"), type="primary")
        if created:
            try:
                with session_scope(url) as session:
                    merchants.add_service(session, actor, merchant_code=merchant.code, **values)
            except ServiceError as error:
                show_error(error)
            else:
                _flash(t("merchants.service.created", name=values["name"].strip()))
    if not services:
        return
    with st.expander(t("merchants.service.edit_title"), icon=":material/edit_note:"):
        labels = {s.service_id: f"{s.name} ({_period(s)})" for s in services}
        service_id = st.selectbox(
            t("merchants.use.service"),
            list(labels),
            format_func=labels.__getitem__,
            key=f"merchants_edit_service_pick_{merchant.code}",
        )
        current = next(s for s in services if s.service_id == service_id)
        prefix = f"merchants_edit_service_{service_id}"
        with st.form(prefix):
            values = _service_fields(prefix, current)
            saved = st.form_submit_button(t("merchants.service.save"), type="primary")
        if saved:
            try:
                with session_scope(url) as session:
                    merchants.update_service(session, actor, service_id, **values)
            except ServiceError as error:
                show_error(error)
            else:
                _flash(t("merchants.service.saved", name=values["name"].strip()))


# -- the page ------------------------------------------------------------------------------------
actor = require_page("merchants")
url = get_settings().database_url
locale = current_locale()
st.title(t("merchants.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")
if PENDING_PICK_KEY in st.session_state:
    st.session_state[CURRENT_KEY] = st.session_state.pop(PENDING_PICK_KEY)
    st.session_state.pop(PICK_KEY, None)
choices = _choices(url)
# labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
importance_labels = {c: t(f"merchants.importance.{c}") for c in IMPORTANCE_LEVELS}
all_label = t("merchants.all")

with session_scope(url) as session:
    ending = merchants.contracts_ending(session, within_days=RENEWAL_DAYS, today=_today())
if ending:
    st.warning(
        t(
            "merchants.renewals",
            days=RENEWAL_DAYS,
            merchants="; ".join(
                f"{m.code} · {m.name} ({format_date(m.contract_ends_on)})" for m in ending
            ),
        ),
        icon=":material/event_busy:",
    )

find_tab, services_tab, new_tab = st.tabs(
    [t("merchants.tab.merchants"), t("merchants.tab.services"), t("merchants.tab.new")]
)

with find_tab:
    with st.form("merchants_search"):
        text_column, type_column, region_column = st.columns([2, 1, 1])
        text = text_column.text_input(t("merchants.search.text"), key="merchants_search_text")
        merchant_type = type_column.selectbox(
            t("merchants.field.type"),
            [""] + choices["merchant_type"],
            format_func=lambda c: dictionary_label("merchant_type", c, locale) if c else all_label,
            key="merchants_search_type",
        )
        region = region_column.selectbox(
            t("merchants.field.region"),
            [""] + choices["region"],
            format_func=lambda c: dictionary_label("region", c, locale) if c else all_label,
            key="merchants_search_region",
        )
        before_column, inactive_column = st.columns(2)
        ends_before = before_column.date_input(
            t("merchants.search.ends_before"), value=None, key="merchants_search_before"
        )
        include_inactive = inactive_column.checkbox(
            t("merchants.search.include_inactive"), key="merchants_search_inactive"
        )
        if st.form_submit_button(t("merchants.search.submit"), type="primary"):
            st.session_state[FILTER_KEY] = {
                "text": text,
                "merchant_type": merchant_type or None,
                "region": region or None,
                "contract_ends_before": ends_before,
                "include_inactive": include_inactive,
            }
    with session_scope(url) as session:
        found = merchants.search_merchants(session, **st.session_state.get(FILTER_KEY, {}))
    if found:
        st.caption(t("merchants.found", count=format_int(len(found))))
        st.dataframe(_merchant_frame(found), hide_index=True, key="merchants_results")
    else:
        st.info(t("merchants.none_found"), icon=":material/storefront:")
    codes = [m.code for m in found]
    current_code = st.session_state.get(CURRENT_KEY)
    if current_code and current_code not in codes:
        codes.insert(0, current_code)
    if codes:
        names = {m.code: m.name for m in found}
        picked = st.selectbox(
            t("merchants.pick"),
            codes,
            index=codes.index(current_code) if current_code in codes else None,
            format_func=lambda c: f"{c} · {names[c]}" if c in names else c,
            placeholder=t("merchants.choose"),
            key=PICK_KEY,
        )
        if picked:
            st.session_state[CURRENT_KEY] = picked
            _show_detail(picked)

with services_tab:
    with st.form("merchants_service_search"):
        text_column, day_column, merchant_column = st.columns([2, 1, 1])
        words = text_column.text_input(
            t("merchants.search.service_text"), key="merchants_service_text"
        )
        active_on = day_column.date_input(
            t("merchants.search.active_on"), value=None, key="merchants_service_day"
        )
        merchant_code = merchant_column.text_input(
            t("merchants.search.merchant_code"), key="merchants_service_merchant"
        )
        if st.form_submit_button(t("merchants.search.service_submit"), type="primary"):
            st.session_state[SERVICE_FILTER_KEY] = {
                "text": words,
                "active_on": active_on,
                "merchant_code": merchant_code.strip() or None,
            }
    criteria = st.session_state.get(SERVICE_FILTER_KEY)
    if criteria is None:
        st.caption(t("merchants.search.service_hint"))
    else:
        with session_scope(url) as session:
            services_found = merchants.search_services(session, **criteria)
        if services_found:
            st.caption(t("merchants.services_found", count=format_int(len(services_found))))
            st.dataframe(
                _service_frame(services_found, with_merchant=True),
                hide_index=True,
                key="merchants_service_results",
            )
        else:
            st.info(t("merchants.no_service_found"), icon=":material/search_off:")

with new_tab:
    with st.form("merchants_new"):
        code = st.text_input(t("merchants.field.code"), key="merchants_new_code")
        new_values = _merchant_fields("merchants_new", None)
        create = st.form_submit_button(t("merchants.new.submit"), type="primary")
    if create:
        try:
            with session_scope(url) as session:
                created = merchants.create_merchant(session, actor, code=code, **new_values)
                created_code, created_name = created.code, created.name
        except ServiceError as error:
            show_error(error)
        else:
            st.session_state[PENDING_PICK_KEY] = created_code
            _flash(t("merchants.new.done", code=created_code, name=created_name))
