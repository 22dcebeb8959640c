"""Purchases (销售成交): find purchases and see one in full, record a purchase, add a payment,
change a purchase's descriptive fields.

Every rule is in ``operational.services.purchases`` (points only when fully paid, once; a return
reverses the original's points; money fixed once fully paid; a non-member's purchase raises an
automatic application). Recording is idempotent on the purchase number. Each payment submission
gets an idempotency key kept in the session while the form's values stay the same, so a double
click records one payment; "New payment" starts a fresh key on purpose.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from uuid import uuid4

import pandas as pd
import plotly.express as px
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import error_text
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
from operational.models.sales import PURCHASE_TYPES
from operational.services import cards, purchases
from operational.services.common import (
    Problem,
    ServiceError,
    ValidationFailed,
    dictionary_codes,
)

FLASH_KEY = "purchases_flash"
FILTERS_KEY = "purchases_filters"  # the last search's filters
SELECTED_KEY = "purchases_selected"  # a purchase number to show next (set before a rerun)
PICK_KEY = "purchases_pick"  # the results' selectbox
PAYMENT_KEY = "purchases_payment_submission"  # {"values": [...], "key": str, "done": bool}
LOADED_KEY = "purchases_update_loaded"  # the purchase being changed: {field: value}
RECORD_FIELDS = (
    "purchase_no",
    "member_or_card",
    "customer_name",
    "customer_mobile",
    "customer_id_number",
    "product",
    "quantity",
    "amount",
    "discount",
    "paid_amount",
    "salesperson",
    "regional_manager",
    "dealer",
    "returns_purchase_no",
    "invoice_no",
)


# -- messages -----------------------------------------------------------------------------------
def _has(key: str) -> bool:
    return key in STRINGS.get(current_locale(), {})


def _problem_message(code: str, params: dict, fallback: str) -> str:
    """``purchases.problem.<code>`` when this page defines it, else the shared rendering."""
    key = f"purchases.problem.{code}"
    if _has(key):
        try:
            return t(key, **{k: ("" if v is None else v) for k, v in params.items()})
        except (KeyError, IndexError, ValueError):
            return fallback
    return error_text(ServiceError(fallback, code=code, **params))


def _field_label(field: str | None) -> str:
    for key in (f"purchases.field.{field}", f"field.{field}"):
        if field and _has(key):
            return t(key)
    return field or ""


def show_error(error: ServiceError) -> None:
    """Every problem of a refusal, each with its field's label, in the reader's language."""
    if isinstance(error, ValidationFailed) and error.problems:
        lines = [
            f"- {_field_label(p.field)}{t('purchases.colon')}"
            f"{_problem_message(p.code, p.params, p.message)}"
            for p in error.problems
        ]
        st.error("\n".join(lines), icon=":material/error:")
    else:
        st.error(_problem_message(error.code, error.params, error.message), icon=":material/error:")


def _refuse(field: str, code: str, message: str) -> None:
    show_error(ValidationFailed([Problem(field, code, message)]))


# -- helpers ------------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(DISPLAY_TIMEZONE)


def _local_text(day: date | None, moment: time | None) -> str | None:
    """The club-local 'YYYY-MM-DD HH:MM' the services read (None when no day was given)."""
    if day is None:
        return None
    return datetime.combine(day, moment or time(0)).strftime("%Y-%m-%d %H:%M")


def _codes(url: str) -> tuple[list[str], list[str]]:
    with session_scope(url) as session:
        return dictionary_codes(session, "region"), dictionary_codes(session, "sales_channel")


def _choices(codes: list[str], current: str | None = None) -> list[str]:
    """'' (none) first, then the dictionary codes; a current value outside them is kept."""
    options = ["", *codes]
    if current and current not in options:
        options.append(current)
    return options


def _ratio(value: Decimal | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _type_label(kind: str) -> str:
    return t(f"purchase_type.{kind}")


# -- find -------------------------------------------------------------------------------------
def _search(url: str, filters: dict) -> list[purchases.PurchaseRow] | None:
    try:
        with session_scope(url) as session:
            return purchases.search_purchases(session, actor, **filters)
    except ServiceError as error:
        show_error(error)
        return None


def _results_table(rows: list[purchases.PurchaseRow], locale: str) -> None:
    st.dataframe(
        pd.DataFrame(
            {
                t("col.purchase_no"): [r.purchase_no for r in rows],
                t("col.purchased_at"): [format_datetime(r.purchased_at) for r in rows],
                t("purchases.col.buyer"): [
                    f"{r.member_no} · {r.buyer_name}"
                    if r.member_no
                    else f"{r.buyer_name or ''} {t('purchases.non_member')}"
                    for r in rows
                ],
                t("col.product"): [r.product for r in rows],
                t("col.purchase_type"): [_type_label(r.purchase_type) for r in rows],
                t("col.amount"): [format_money(r.amount) for r in rows],
                t("col.paid_amount"): [format_money(r.paid_amount) for r in rows],
                t("purchases.col.arrears"): [format_money(r.arrears) for r in rows],
                t("purchases.col.paid_ratio"): [_ratio(r.paid_ratio) for r in rows],
                t("purchases.col.due_on"): [
                    format_date(r.due_on) + (f" {t('purchases.overdue')}" if r.overdue else "")
                    for r in rows
                ],
                t("col.region"): [dictionary_label("region", r.region, locale) for r in rows],
                t("purchases.col.channel"): [
                    dictionary_label("sales_channel", r.channel, locale) for r in rows
                ],
                t("col.salesperson"): [r.salesperson or "" for r in rows],
            }
        ),
        hide_index=True,
        key="purchases_results",
    )


def _amount_by_month(rows: list[purchases.PurchaseRow]) -> None:
    """A member's purchase amounts per club-local month (returns count negative)."""
    frame = pd.DataFrame(
        {
            "month": [r.purchased_at.astimezone(DISPLAY_TIMEZONE).strftime("%Y-%m") for r in rows],
            "amount": [float(r.amount) for r in rows],
            "paid": [float(r.paid_amount) for r in rows],
        }
    )
    monthly = frame.groupby("month", as_index=False).sum().sort_values("month")
    figure = px.bar(
        monthly,
        x="month",
        y=["amount", "paid"],
        barmode="group",
        title=t("purchases.chart.title"),
        labels={"month": t("purchases.chart.month"), "value": t("purchases.chart.yuan")},
    )
    names = {"amount": t("col.amount"), "paid": t("col.paid_amount")}
    figure.for_each_trace(lambda trace: trace.update(name=names.get(trace.name, trace.name)))
    figure.update_layout(legend_title_text="", xaxis_type="category")
    st.plotly_chart(figure, key="purchases_by_month")


def _show_detail(url: str, purchase_no: str, locale: str) -> None:
    try:
        with session_scope(url) as session:
            detail = purchases.purchase_detail(session, actor, purchase_no)
    except ServiceError as error:
        show_error(error)
        return
    row = detail.row
    st.markdown(
        f"#### {t('purchases.detail.title', purchase_no=row.purchase_no)} · "
        f"{_type_label(row.purchase_type)}"
    )
    columns = st.columns(4)
    columns[0].metric(t("col.amount"), format_money(row.amount))
    columns[1].metric(t("col.paid_amount"), format_money(row.paid_amount))
    columns[2].metric(t("purchases.col.arrears"), format_money(row.arrears))
    columns[3].metric(t("purchases.col.paid_ratio"), _ratio(row.paid_ratio))
    buyer = (
        f"{row.member_no} · {row.buyer_name}"
        if row.member_no
        else t(
            "purchases.detail.non_member",
            name=detail.customer_name or "",
            mobile=detail.customer_mobile or "",
            application=detail.application_label or "–",
        )
    )
    facts = {
        t("purchases.col.buyer"): buyer,
        t("col.purchased_at"): format_datetime(row.purchased_at),
        t("col.product"): row.product,
        t("purchases.field.quantity"): format_int(row.quantity),
        t("purchases.field.discount"): format_money(row.discount),
        t("col.region"): dictionary_label("region", row.region, locale),
        t("purchases.col.channel"): dictionary_label("sales_channel", row.channel, locale),
        t("col.salesperson"): row.salesperson or "",
        t("purchases.field.regional_manager"): detail.regional_manager or "",
        t("purchases.field.dealer"): detail.dealer or "",
        t("purchases.col.due_on"): format_date(row.due_on)
        + (f" {t('purchases.overdue')}" if row.overdue else ""),
        t("purchases.field.invoice_no"): detail.invoice_no or "",
        t("purchases.field.cross_group"): t("purchases.yes")
        if detail.cross_group
        else t("purchases.no"),
        t("purchases.detail.fully_paid_at"): format_datetime(row.fully_paid_at) or "–",
        t("purchases.detail.created"): f"{format_datetime(detail.created_at)} "
        f"({detail.created_by or ''})",
    }
    if detail.returns_purchase_no:
        facts[t("purchases.detail.returns")] = detail.returns_purchase_no
    st.dataframe(
        pd.DataFrame({t("col.field"): list(facts), t("col.value"): list(facts.values())}),
        hide_index=True,
        key="purchases_detail_facts",
    )

    st.markdown(f"**{t('purchases.detail.payments')}**")
    if detail.payments:
        st.dataframe(
            pd.DataFrame(
                {
                    t("purchases.col.paid_at"): [
                        format_datetime(p.paid_at) for p in detail.payments
                    ],
                    t("col.amount"): [format_money(p.amount) for p in detail.payments],
                    t("purchases.field.method"): [p.method or "" for p in detail.payments],
                }
            ),
            hide_index=True,
            key="purchases_detail_payments",
        )
    else:
        st.caption(t("purchases.detail.no_payments"))

    st.markdown(f"**{t('purchases.detail.points')}**")
    entry = detail.points
    if entry is not None:
        st.write(
            t(
                "purchases.detail.points_entry",
                points=format_int(entry.points),
                status=t(f"point_status.{entry.status}"),
                posted_at=format_datetime(entry.posted_at) or "–",
                expires_on=format_date(entry.expires_on) or "–",
                entry=entry.entry_id,
            )
        )
        if entry.reversal_entry_id is not None:
            st.warning(
                t(
                    "purchases.detail.points_reversed",
                    taken=format_int(entry.reversed_points),
                    shortfall=format_int(entry.shortfall),
                ),
                icon=":material/undo:",
            )
    elif row.purchase_type == "return":
        st.caption(t("purchases.detail.return_earns_nothing"))
    elif row.member_no is None:
        st.caption(
            t("purchases.detail.non_member_points", points=format_int(detail.points_to_earn))
        )
    elif detail.points_to_earn < 1:
        st.caption(t("purchases.detail.too_small"))
    else:
        st.caption(t("purchases.detail.points_when_paid", points=format_int(detail.points_to_earn)))

    if detail.returns:
        st.markdown(f"**{t('purchases.detail.returned_by')}**")
        st.dataframe(
            pd.DataFrame(
                {
                    t("col.purchase_no"): [r.purchase_no for r in detail.returns],
                    t("col.purchased_at"): [
                        format_datetime(r.purchased_at) for r in detail.returns
                    ],
                    t("col.product"): [r.product for r in detail.returns],
                    t("col.amount"): [format_money(r.amount) for r in detail.returns],
                }
            ),
            hide_index=True,
            key="purchases_detail_returns",
        )


# -- record -----------------------------------------------------------------------------------
def _record(url: str, values: dict) -> None:
    data = {field: values[field] for field in RECORD_FIELDS if field != "member_or_card"}
    data.update(
        region=values["region"] or None,
        channel=values["channel"] or None,
        purchase_type=values["purchase_type"],
        purchased_at=_local_text(values["purchased_on"], values["purchased_time"]),
        due_on=values["due_on"],
        cross_group=values["cross_group"],
    )
    if values["purchase_type"] == "return" and not (values["returns_purchase_no"] or "").strip():
        _refuse(
            "returns_purchase_no",
            "return_needs_original",
            "a return names the purchase it returns",
        )
        return
    try:
        with session_scope(url) as session:
            typed = (values["member_or_card"] or "").strip()
            if typed:
                data["member_no"] = cards.member_no_for(session, typed) or typed
            recorded = purchases.record_purchase(session, actor, data)
            detail = purchases.purchase_detail(session, actor, recorded.purchase_no)
    except ServiceError as error:
        show_error(error)
        return
    if not recorded.created:
        message = t("purchases.record.already", purchase_no=recorded.purchase_no)
    elif recorded.member_no:
        message = t(
            "purchases.record.done_member",
            purchase_no=recorded.purchase_no,
            member_no=recorded.member_no,
        )
    else:
        message = t(
            "purchases.record.done_application",
            purchase_no=recorded.purchase_no,
            application=recorded.application_label or "–",
        )
    if recorded.created and detail.points is not None and detail.row.purchase_type != "return":
        message += " " + t("purchases.points_posted", points=format_int(detail.points.points))
    if recorded.created and detail.returns_purchase_no:
        message += " " + _return_outcome(url, detail.returns_purchase_no)
    for field in (*RECORD_FIELDS, "region", "channel", "due_on", "cross_group"):
        st.session_state.pop(f"purchases_record_{field}", None)  # a blank form for the next one
    st.session_state[FLASH_KEY] = ("success", message)
    st.session_state[SELECTED_KEY] = recorded.purchase_no
    st.session_state[FILTERS_KEY] = {"purchase_no": recorded.purchase_no}
    st.rerun()


def _return_outcome(url: str, original_no: str) -> str:
    """What the return did to the original purchase's points."""
    with session_scope(url) as session:
        original = purchases.purchase_detail(session, actor, original_no)
    entry = original.points
    if entry is None or entry.reversal_entry_id is None:
        return t("purchases.return.no_points", purchase_no=original_no)
    if entry.shortfall:
        return t(
            "purchases.return.reversed_shortfall",
            purchase_no=original_no,
            taken=format_int(entry.reversed_points),
            shortfall=format_int(entry.shortfall),
        )
    return t(
        "purchases.return.reversed",
        purchase_no=original_no,
        taken=format_int(entry.reversed_points),
    )


# -- pay --------------------------------------------------------------------------------------
def _payment_submission(values: list) -> dict:
    current = st.session_state.get(PAYMENT_KEY)
    if not current or current["values"] != values:
        current = {"values": values, "key": uuid4().hex, "done": False}
        st.session_state[PAYMENT_KEY] = current
    return current


def _pay(url: str, purchase_no: str, amount: str, paid_at: str | None, method: str) -> None:
    if not purchase_no:
        _refuse("purchase_no", "required", "enter the purchase number")
        return
    sent = _payment_submission([purchase_no, amount.strip(), paid_at, method.strip()])
    try:
        with session_scope(url) as session:
            before = purchases.purchase_detail(session, actor, purchase_no)
            result = purchases.add_payment(
                session,
                actor,
                purchase_no,
                amount=amount,
                paid_at=paid_at,
                idempotency_key=f"dashboard:{sent['key']}",
                method=method or None,
            )
            after = purchases.purchase_detail(session, actor, result.purchase_no)
    except ServiceError as error:
        show_error(error)
        return
    sent["done"] = True
    row = after.row
    if not result.created:
        message = t("purchases.pay.already")
    else:
        message = t(
            "purchases.pay.done",
            purchase_no=row.purchase_no,
            paid=format_money(row.paid_amount),
            amount=format_money(row.amount),
            due=format_money(row.arrears),
        )
        if result.fully_paid and before.row.fully_paid_at is None:
            if after.points is not None:
                message += " " + t(
                    "purchases.points_posted", points=format_int(after.points.points)
                )
            elif row.member_no is None:
                message += " " + t("purchases.pay.paid_non_member")
            else:
                message += " " + t("purchases.pay.paid_no_points")
    st.session_state[FLASH_KEY] = ("success", message)
    st.session_state[SELECTED_KEY] = row.purchase_no
    st.rerun()


# -- update -----------------------------------------------------------------------------------
UPDATE_TEXT = ("product", "salesperson", "regional_manager", "dealer", "invoice_no")
UPDATE_MONEY = ("amount", "quantity", "discount")


def _load_for_update(url: str, purchase_no: str) -> None:
    try:
        with session_scope(url) as session:
            detail = purchases.purchase_detail(session, actor, purchase_no)
    except ServiceError as error:
        st.session_state.pop(LOADED_KEY, None)
        show_error(error)
        return
    row = detail.row
    loaded = {
        "purchase_no": row.purchase_no,
        "locked": detail.money_locked,
        "product": row.product,
        "salesperson": row.salesperson or "",
        "regional_manager": detail.regional_manager or "",
        "dealer": detail.dealer or "",
        "invoice_no": detail.invoice_no or "",
        "region": row.region or "",
        "channel": row.channel or "",
        "due_on": row.due_on,
        "cross_group": detail.cross_group,
        "amount": str(row.amount),
        "quantity": str(row.quantity),
        "discount": str(row.discount),
    }
    st.session_state[LOADED_KEY] = loaded
    for field, value in loaded.items():
        if field not in ("purchase_no", "locked"):
            st.session_state[f"purchases_update_{field}"] = value


def _update(url: str, loaded: dict, values: dict) -> None:
    changes = {
        field: value
        for field, value in values.items()
        if value != loaded[field] and not (loaded["locked"] and field in UPDATE_MONEY)
    }
    if not changes:
        st.info(t("purchases.update.nothing"))
        return
    try:
        with session_scope(url) as session:
            purchases.update_purchase(session, actor, loaded["purchase_no"], changes)
    except ServiceError as error:
        show_error(error)
        return
    labels = ", ".join(_field_label(field) for field in changes)
    st.session_state[FLASH_KEY] = (
        "success",
        t("purchases.update.done", purchase_no=loaded["purchase_no"], fields=labels),
    )
    st.session_state.pop(LOADED_KEY, None)
    st.session_state[SELECTED_KEY] = loaded["purchase_no"]
    st.rerun()


# -- the page ---------------------------------------------------------------------------------
actor = require_page("purchases")
url = get_settings().database_url
locale = current_locale()
st.title(t("purchases.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash[1], icon=":material/check_circle:")

regions, channels = _codes(url)
region_label = {code: dictionary_label("region", code, locale) or "–" for code in regions}
channel_label = {code: dictionary_label("sales_channel", code, locale) for code in channels}
# labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
type_labels = {kind: _type_label(kind) for kind in PURCHASE_TYPES}
type_filter_labels = {"": t("purchases.all"), **type_labels}
find_tab, record_tab, pay_tab, update_tab = st.tabs(
    [
        t("purchases.tab.find"),
        t("purchases.tab.record"),
        t("purchases.tab.pay"),
        t("purchases.tab.update"),
    ]
)

with find_tab:
    with st.form("purchases_search"):
        first, second, third = st.columns(3)
        member_or_card = first.text_input(
            t("purchases.field.member_or_card"), key="purchases_find_member"
        )
        purchase_no = second.text_input(t("purchases.field.purchase_no"), key="purchases_find_no")
        product = third.text_input(t("purchases.field.product"), key="purchases_find_product")
        salesperson = first.text_input(
            t("purchases.field.salesperson"), key="purchases_find_salesperson"
        )
        kind = second.selectbox(
            t("purchases.field.purchase_type"),
            ["", *PURCHASE_TYPES],
            format_func=type_filter_labels.__getitem__,
            key="purchases_find_type",
        )
        since = third.date_input(t("purchases.since"), value=None, key="purchases_find_since")
        until = first.date_input(t("purchases.until"), value=None, key="purchases_find_until")
        unpaid_only = second.checkbox(t("purchases.unpaid_only"), key="purchases_find_unpaid")
        searched = st.form_submit_button(t("purchases.search"), type="primary")
    if searched:
        st.session_state[FILTERS_KEY] = {
            "member_or_card": member_or_card.strip() or None,
            "purchase_no": purchase_no.strip() or None,
            "product": product.strip() or None,
            "salesperson": salesperson.strip() or None,
            "purchase_type": kind or None,
            "since": since,
            "until": until,
            "unpaid_only": unpaid_only,
        }
        st.session_state.pop(SELECTED_KEY, None)
    filters = st.session_state.get(FILTERS_KEY)
    if filters is not None:
        rows = _search(url, filters)
        if rows is not None and not rows:
            st.info(t("purchases.no_match"))
        elif rows:
            shown = t("purchases.found", count=format_int(len(rows)))
            if len(rows) >= purchases.SEARCH_LIMIT:
                shown += " " + t("purchases.more", count=format_int(purchases.SEARCH_LIMIT))
            st.caption(shown)
            _results_table(rows, locale)
            if filters.get("member_or_card"):
                _amount_by_month(rows)
            numbers = [r.purchase_no for r in rows]
            wanted = st.session_state.pop(SELECTED_KEY, None)  # asked for by a flash (one shot)
            if wanted in numbers:
                st.session_state[PICK_KEY] = wanted
            elif st.session_state.get(PICK_KEY) not in numbers:
                st.session_state[PICK_KEY] = numbers[0]
            chosen = st.selectbox(t("purchases.pick"), numbers, key=PICK_KEY)
            _show_detail(url, chosen, locale)
    else:
        st.caption(t("purchases.hint"))

with record_tab:
    st.caption(t("purchases.record.help"))
    with st.form("purchases_record"):
        first, second, third = st.columns(3)
        values: dict[str, object] = {}
        values["purchase_no"] = first.text_input(
            t("purchases.field.purchase_no"), key="purchases_record_purchase_no"
        )
        values["purchase_type"] = second.radio(
            t("purchases.field.purchase_type"),
            list(PURCHASE_TYPES),
            format_func=type_labels.__getitem__,
            horizontal=True,
            key="purchases_record_purchase_type",
        )
        values["returns_purchase_no"] = third.text_input(
            t("purchases.field.returns_purchase_no"), key="purchases_record_returns_purchase_no"
        )
        values["member_or_card"] = first.text_input(
            t("purchases.field.member_or_card"), key="purchases_record_member_or_card"
        )
        values["customer_name"] = second.text_input(
            t("purchases.field.customer_name"), key="purchases_record_customer_name"
        )
        values["customer_mobile"] = third.text_input(
            t("purchases.field.customer_mobile"), key="purchases_record_customer_mobile"
        )
        values["customer_id_number"] = first.text_input(
            t("purchases.field.customer_id_number"), key="purchases_record_customer_id_number"
        )
        values["product"] = second.text_input(
            t("purchases.field.product"), key="purchases_record_product"
        )
        values["quantity"] = third.text_input(
            t("purchases.field.quantity"), value="1", key="purchases_record_quantity"
        )
        values["amount"] = first.text_input(
            t("purchases.field.amount"),
            help=t("purchases.amount_help"),
            key="purchases_record_amount",
        )
        values["discount"] = second.text_input(
            t("purchases.field.discount"), key="purchases_record_discount"
        )
        values["paid_amount"] = third.text_input(
            t("purchases.field.paid_amount"), key="purchases_record_paid_amount"
        )
        values["region"] = first.selectbox(
            t("purchases.field.region"),
            _choices(regions),
            format_func=lambda c: region_label.get(c, c) if c else "–",
            key="purchases_record_region",
        )
        values["channel"] = second.selectbox(
            t("purchases.field.channel"),
            _choices(channels),
            format_func=lambda c: channel_label.get(c, c) if c else "–",
            key="purchases_record_channel",
        )
        values["salesperson"] = third.text_input(
            t("purchases.field.salesperson"), key="purchases_record_salesperson"
        )
        values["regional_manager"] = first.text_input(
            t("purchases.field.regional_manager"), key="purchases_record_regional_manager"
        )
        values["dealer"] = second.text_input(
            t("purchases.field.dealer"), key="purchases_record_dealer"
        )
        values["invoice_no"] = third.text_input(
            t("purchases.field.invoice_no"), key="purchases_record_invoice_no"
        )
        now = _now()
        values["purchased_on"] = first.date_input(
            t("purchases.field.purchased_on"), value=now.date(), key="purchases_record_on"
        )
        values["purchased_time"] = second.time_input(
            t("purchases.field.purchased_time"),
            value=now.time().replace(second=0, microsecond=0),
            key="purchases_record_time",
        )
        values["due_on"] = third.date_input(
            t("purchases.field.due_on"), value=None, key="purchases_record_due_on"
        )
        values["cross_group"] = first.checkbox(
            t("purchases.field.cross_group"), key="purchases_record_cross_group"
        )
        recorded = st.form_submit_button(t("purchases.record.submit"), type="primary")
    if recorded:
        _record(url, values)

with pay_tab:
    st.caption(t("purchases.pay.help"))
    with st.form("purchases_pay"):
        first, second = st.columns(2)
        pay_no = first.text_input(t("purchases.field.purchase_no"), key="purchases_pay_no")
        pay_amount = second.text_input(t("purchases.field.payment"), key="purchases_pay_amount")
        now = _now()
        pay_day = first.date_input(
            t("purchases.field.paid_on"), value=now.date(), key="purchases_pay_on"
        )
        pay_time = second.time_input(
            t("purchases.field.paid_time"),
            value=now.time().replace(second=0, microsecond=0),
            key="purchases_pay_time",
        )
        pay_method = first.text_input(t("purchases.field.method"), key="purchases_pay_method")
        paid = st.form_submit_button(t("purchases.pay.submit"), type="primary")
    if paid:
        _pay(url, pay_no.strip(), pay_amount, _local_text(pay_day, pay_time), pay_method)
    if st.session_state.get(PAYMENT_KEY, {}).get("done") and st.button(
        t("purchases.pay.new"), key="purchases_pay_new"
    ):
        st.session_state.pop(PAYMENT_KEY, None)
        st.rerun()

with update_tab:
    with st.form("purchases_update_find"):
        wanted = st.text_input(t("purchases.field.purchase_no"), key="purchases_update_no")
        load = st.form_submit_button(t("purchases.update.load"))
    if load:
        if wanted.strip():
            _load_for_update(url, wanted.strip())
        else:
            _refuse("purchase_no", "required", "enter the purchase number")
    loaded = st.session_state.get(LOADED_KEY)
    if loaded:
        st.markdown(f"**{t('purchases.update.editing', purchase_no=loaded['purchase_no'])}**")
        if loaded["locked"]:
            st.caption(t("purchases.update.money_locked"))
        with st.form("purchases_update"):
            first, second = st.columns(2)
            changed: dict[str, object] = {}
            for index, field in enumerate(UPDATE_TEXT):
                column = first if index % 2 == 0 else second
                changed[field] = column.text_input(
                    t(f"purchases.field.{field}"), key=f"purchases_update_{field}"
                )
            changed["region"] = second.selectbox(
                t("purchases.field.region"),
                _choices(regions, loaded["region"]),
                format_func=lambda c: region_label.get(c, c) if c else "–",
                key="purchases_update_region",
            )
            changed["channel"] = first.selectbox(
                t("purchases.field.channel"),
                _choices(channels, loaded["channel"]),
                format_func=lambda c: channel_label.get(c, c) if c else "–",
                key="purchases_update_channel",
            )
            changed["due_on"] = second.date_input(
                t("purchases.field.due_on"), key="purchases_update_due_on"
            )
            changed["cross_group"] = first.checkbox(
                t("purchases.field.cross_group"), key="purchases_update_cross_group"
            )
            for index, field in enumerate(UPDATE_MONEY):
                column = second if index % 2 == 0 else first
                changed[field] = column.text_input(
                    t(f"purchases.field.{field}"),
                    disabled=loaded["locked"],
                    key=f"purchases_update_{field}",
                )
            save = st.form_submit_button(t("purchases.update.submit"), type="primary")
        if save:
            _update(url, loaded, changed)
