"""Redemption (积分兑付): active plans, redeeming for a member, a member's redemptions, stats.

Every rule is in ``operational.services.redemption`` (plan period, stock, never below zero,
one transaction). Each redemption submission gets an idempotency key kept in the session while
the form's values stay the same, so a double click redeems once; "New redemption" starts a fresh
key on purpose. Reviewers and admins also create plans here.
"""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import REVIEW_ROLES, require_page
from dashboards.feedback import show_error
from dashboards.i18n import DISPLAY_TIMEZONE, format_date, format_datetime, format_int, t
from operational.db import session_scope
from operational.services import points, redemption
from operational.services.common import ServiceError

FLASH_KEY = "redemption_flash"
SUBMISSION_KEY = "redemption_submission"  # {"values": [...], "key": str, "done": bool}
HISTORY_KEY = "redemption_member"  # the member number whose redemptions are shown


def _today():
    return datetime.now(DISPLAY_TIMEZONE).date()


def _clean(number: str) -> str:
    return "".join(number.split()).upper()


def _submission(values: list) -> dict:
    current = st.session_state.get(SUBMISSION_KEY)
    if not current or current["values"] != values:
        current = {"values": values, "key": uuid4().hex, "done": False}
        st.session_state[SUBMISSION_KEY] = current
    return current


def _plans(url: str) -> list[dict]:
    with session_scope(url) as session:
        return [
            {
                "code": p.code,
                "item": p.item,
                "cost": p.points_cost,
                "stock": p.stock,
                "starts_on": p.starts_on,
                "ends_on": p.ends_on,
            }
            for p in redemption.active_plans(session, today=_today())
        ]


def _period(plan: dict) -> str:
    end = format_date(plan["ends_on"]) if plan["ends_on"] else t("redeem.open_end")
    return f"{format_date(plan['starts_on'])} – {end}"


def _redeem(url: str, member_no: str, plan: dict, quantity: int) -> None:
    plan_code = plan["code"]
    sent = _submission([member_no, plan_code, quantity])
    repeated = sent["done"]
    try:
        with session_scope(url) as session:
            done = redemption.redeem(
                session,
                actor,
                member_no=member_no,
                plan_code=plan_code,
                quantity=quantity,
                idempotency_key=f"dashboard:{sent['key']}",
            )
            message = t(
                "redeem.done",
                member_no=member_no,
                quantity=format_int(done.quantity),
                item=plan["item"],
                points=format_int(done.points),
                balance=format_int(points.balance_of(session, done.member_id)),
            )
    except ServiceError as error:
        show_error(error)
        return
    sent["done"] = True
    st.session_state[FLASH_KEY] = t("redeem.already") if repeated else message
    st.session_state[HISTORY_KEY] = member_no
    st.rerun()


def _show_history(url: str, member_no: str) -> None:
    with session_scope(url) as session:
        member = points.member_points(session, member_no)
        if member is None:
            st.warning(t("points.not_found", number=member_no))
            return
        balance = member.balance
        records = redemption.member_redemptions(session, member_no)
    st.caption(t("redeem.history_balance", member_no=member_no, balance=format_int(balance)))
    if not records:
        st.info(t("redeem.no_history", member_no=member_no))
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("redeem.col.redeemed_at"): [format_datetime(r.redeemed_at) for r in records],
                t("redeem.col.code"): [r.plan_code for r in records],
                t("redeem.col.item"): [r.item for r in records],
                t("redeem.col.quantity"): [r.quantity for r in records],
                t("col.points"): [r.points for r in records],
                t("redeem.col.redeemed_by"): [r.redeemed_by or "" for r in records],
            }
        ),
        hide_index=True,
        key="redemption_history",
    )


actor = require_page("redemption")
settings = get_settings()
url = settings.database_url
st.title(t("redeem.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

# -- active plans -------------------------------------------------------------------------------
st.subheader(t("redeem.plans"))
plans = _plans(url)
if plans:
    st.dataframe(
        pd.DataFrame(
            {
                t("redeem.col.code"): [p["code"] for p in plans],
                t("redeem.col.item"): [p["item"] for p in plans],
                t("redeem.col.cost"): [p["cost"] for p in plans],
                t("redeem.col.stock"): [p["stock"] for p in plans],
                t("redeem.col.period"): [_period(p) for p in plans],
            }
        ),
        hide_index=True,
        key="redemption_plans",
    )
else:
    st.info(t("redeem.no_plans"), icon=":material/inbox:")

# -- redeeming ----------------------------------------------------------------------------------
if plans:
    st.subheader(t("redeem.form"))
    # labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
    plan_labels = {
        p["code"]: f"{p['code']} · {p['item']} · {format_int(p['cost'])}"
        + (t("redeem.out_of_stock") if p["stock"] <= 0 else "")
        for p in plans
    }
    with st.form("redemption_redeem"):
        member_no = st.text_input(t("redeem.member_no"), key="redemption_member_no")
        plan_code = st.selectbox(
            t("redeem.plan"),
            list(plan_labels),
            format_func=plan_labels.__getitem__,
            key="redemption_plan",
        )
        quantity = st.number_input(
            t("redeem.quantity"), min_value=1, value=1, step=1, key="redemption_quantity"
        )
        submitted = st.form_submit_button(t("redeem.submit"), type="primary")
    if submitted:
        if not member_no.strip():
            st.warning(t("redeem.member_required"))
        else:
            by_code = {p["code"]: p for p in plans}
            _redeem(url, _clean(member_no), by_code[plan_code], int(quantity))
    if st.session_state.get(SUBMISSION_KEY, {}).get("done") and st.button(
        t("redeem.new"), key="redemption_new"
    ):
        st.session_state.pop(SUBMISSION_KEY, None)
        st.rerun()

# -- a member's redemptions ---------------------------------------------------------------------
st.subheader(t("redeem.history"))
with st.form("redemption_history_form"):
    wanted = st.text_input(t("redeem.member_no"), key="redemption_history_no")
    show = st.form_submit_button(t("redeem.history_submit"))
if show and wanted.strip():
    st.session_state[HISTORY_KEY] = _clean(wanted)
if st.session_state.get(HISTORY_KEY):
    _show_history(url, st.session_state[HISTORY_KEY])

# -- statistics ---------------------------------------------------------------------------------
st.subheader(t("redeem.stats"))
today = _today()
from_column, to_column = st.columns(2)
start = from_column.date_input(
    t("redeem.stats_from"), value=today.replace(day=1), key="redemption_stats_from"
)
end = to_column.date_input(t("redeem.stats_to"), value=today, key="redemption_stats_to")
with session_scope(url) as session:
    stats = redemption.redemption_stats(session, start=start, end=end)
if stats:
    st.dataframe(
        pd.DataFrame(
            {
                t("redeem.col.code"): [s.plan_code for s in stats],
                t("redeem.col.item"): [s.item for s in stats],
                t("redeem.col.count"): [s.count for s in stats],
                t("redeem.col.quantity"): [s.quantity for s in stats],
                t("col.points"): [s.points for s in stats],
            }
        ),
        hide_index=True,
        key="redemption_stats",
    )
else:
    st.caption(t("redeem.no_stats"))

# -- a new plan (reviewers, admins) -------------------------------------------------------------
if actor.role in REVIEW_ROLES:
    with st.expander(t("redeem.create"), icon=":material/add:"):
        with st.form("redemption_create"):
            code = st.text_input(t("redeem.create.code"), key="redemption_create_code")
            item = st.text_input(t("redeem.create.item"), key="redemption_create_item")
            cost = st.number_input(
                t("redeem.create.cost"), min_value=1, value=100, step=1, key="redemption_cost"
            )
            stock = st.number_input(
                t("redeem.create.stock"), min_value=0, value=10, step=1, key="redemption_stock"
            )
            starts_on = st.date_input(
                t("redeem.create.starts_on"), value=today, key="redemption_create_start"
            )
            ends_on = st.date_input(
                t("redeem.create.ends_on"), value=None, key="redemption_create_end"
            )
            visible = st.checkbox(
                t("redeem.create.visible"), value=True, key="redemption_create_visible"
            )
            create = st.form_submit_button(t("redeem.create.submit"), type="primary")
        if create:
            try:
                with session_scope(url) as session:
                    plan = redemption.create_plan(
                        session,
                        actor,
                        code=code,
                        item=item,
                        points_cost=int(cost),
                        stock=int(stock),
                        starts_on=starts_on,
                        ends_on=ends_on,
                        visible_on_website=visible,
                    )
                    done = t("redeem.create.done", code=plan.code, item=plan.item)
            except ServiceError as error:
                show_error(error)
            else:
                st.session_state[FLASH_KEY] = done
                st.rerun()
