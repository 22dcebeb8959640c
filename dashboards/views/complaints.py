"""Complaints (投诉处理): log a complaint, work on one (steps, closing), find, overdue, chart.

Every rule is in ``operational.services.complaints`` (service levels, the pending → in progress
→ done state machine, overdue, points on closing, locking). The page shows the member's context
as soon as a member or card number is typed, keeps what the clerk typed when something is
refused, and passes the version it showed so a complaint changed meanwhile is not overwritten.
Managers and admins edit the service levels in an expander.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
import plotly.express as px
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import error_text, problems_by_field
from dashboards.i18n import (
    DISPLAY_TIMEZONE,
    current_locale,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    format_money,
    t,
)
from operational.db import session_scope
from operational.models.engagement import COMPLAINT_STATUSES
from operational.services import complaints
from operational.services.common import ServiceError, ValidationFailed, dictionary_codes

FLASH_KEY = "complaints_flash"
OPEN_KEY = "complaints_open"  # the complaint number the "work" tab shows
LOG_GENERATION = "complaints_log_generation"  # a new number clears the log form
STEP_GENERATION = "complaints_step_generation"
LOGGED_KEY = "complaints_logged"  # {"values": [...], "complaint_no": str}
FILTERS_KEY = "complaints_filters"
TABS_KEY = "complaints_tab"  # the open tab (its label)
SWITCH_KEY = "complaints_switch_tab"  # the tab to show on the next run (a complaint just opened)
LEVEL_ROLES = complaints.LEVEL_ROLES


def _now_local() -> datetime:
    return datetime.now(DISPLAY_TIMEZONE).replace(second=0, microsecond=0, tzinfo=None)


def _show_error(error: ServiceError) -> None:
    """The error, each problem with this page's label of its field."""
    if isinstance(error, ValidationFailed) and error.problems:
        lines = []
        for field, messages in problems_by_field(error).items():
            key = f"complaints.field.{field}"
            label = t(key) if key in _labels() else field
            lines.extend(f"- {label}: {message}" for message in messages)
        st.error("\n".join(lines), icon=":material/error:")
    else:
        st.error(error_text(error), icon=":material/error:")


def _labels() -> set[str]:
    from dashboards.i18n import STRINGS

    return set(STRINGS.get(current_locale(), {}))


def _labeller(labels: dict, none_label: str = ""):
    """A selectbox's format_func from labels made now (a format_func may also run outside the
    page's run, e.g. in AppTest, where the locale is not known)."""
    return lambda value: none_label if value is None else labels[value]


def _codes(url: str, category: str) -> list[str]:
    with session_scope(url) as session:
        return dictionary_codes(session, category)


def _label(category: str, code: str | None) -> str:
    return dictionary_label(category, code, current_locale())


def _status(code: str) -> str:
    return t(f"complaints.status.{code}")


def _importance(code: str) -> str:
    return t(f"complaints.importance.{code}")


def _flag(row: complaints.ComplaintRow) -> str:
    if row.overdue:
        return t("complaints.flag.overdue")
    if row.closed_late:
        return t("complaints.flag.closed_late")
    return ""


def _rows_table(rows: list[complaints.ComplaintRow], key: str) -> None:
    st.dataframe(
        pd.DataFrame(
            {
                t("complaints.col.complaint_no"): [r.complaint_no for r in rows],
                t("complaints.col.received_at"): [format_datetime(r.received_at) for r in rows],
                t("complaints.col.member"): [
                    f"{r.member_no} · {r.member_name}" if r.member_no else "" for r in rows
                ],
                t("complaints.col.type"): [
                    _label("complaint_type", r.complaint_type) for r in rows
                ],
                t("complaints.col.channel"): [_label("complaint_channel", r.channel) for r in rows],
                t("complaints.col.importance"): [_importance(r.importance) for r in rows],
                t("complaints.col.status"): [_status(r.status) for r in rows],
                t("complaints.col.due_at"): [format_datetime(r.due_at) for r in rows],
                t("complaints.col.overdue"): [_flag(r) for r in rows],
                t("complaints.col.steps"): [r.steps for r in rows],
                t("complaints.col.satisfaction"): [
                    "" if r.satisfaction is None else "★" * r.satisfaction for r in rows
                ],
                t("complaints.col.receiver"): [r.receiver for r in rows],
                t("complaints.col.content"): [
                    r.content if len(r.content) <= 60 else r.content[:59] + "…" for r in rows
                ],
            }
        ),
        hide_index=True,
        key=key,
    )


def _show_member(member: complaints.MemberContext) -> None:
    st.markdown(
        f"**{t('complaints.member.heading', member_no=member.member_no, name=member.name)}**"
    )
    tier, status, balance, card = st.columns(4)
    tier.metric(t("complaints.member.tier"), _label("tier", member.tier))
    status.metric(t("complaints.member.status"), t(f"status.{member.status}"))
    balance.metric(t("complaints.member.points"), format_int(member.points_balance))
    card.metric(t("complaints.member.card"), member.card_no or "—")
    st.caption(t("complaints.member.purchases"))
    if member.recent_purchases:
        st.dataframe(
            pd.DataFrame(
                {
                    t("complaints.col.purchase_no"): [
                        p.purchase_no for p in member.recent_purchases
                    ],
                    t("complaints.col.purchased_at"): [
                        format_date(p.purchased_at) for p in member.recent_purchases
                    ],
                    t("complaints.col.product"): [p.product for p in member.recent_purchases],
                    t("complaints.col.amount"): [
                        format_money(p.amount) for p in member.recent_purchases
                    ],
                    t("complaints.col.paid_amount"): [
                        format_money(p.paid_amount) for p in member.recent_purchases
                    ],
                }
            ),
            hide_index=True,
        )
    else:
        st.write(t("complaints.member.no_purchases"))
    st.caption(t("complaints.member.complaints"))
    if member.complaints:
        st.dataframe(
            pd.DataFrame(
                {
                    t("complaints.col.complaint_no"): [c.complaint_no for c in member.complaints],
                    t("complaints.col.received_at"): [
                        format_datetime(c.received_at) for c in member.complaints
                    ],
                    t("complaints.col.type"): [
                        _label("complaint_type", c.complaint_type) for c in member.complaints
                    ],
                    t("complaints.col.status"): [_status(c.status) for c in member.complaints],
                    t("complaints.col.satisfaction"): [
                        "" if c.satisfaction is None else "★" * c.satisfaction
                        for c in member.complaints
                    ],
                }
            ),
            hide_index=True,
        )
    else:
        st.write(t("complaints.member.no_complaints"))


def _combine(day: date | None, moment: time | None) -> datetime | None:
    """A club-local naive datetime from a date and a time input (None without a date)."""
    if day is None:
        return None
    return datetime.combine(day, moment or time())


# -- log a complaint ------------------------------------------------------------------------------
def _log_tab(url: str) -> None:
    generation = st.session_state.setdefault(LOG_GENERATION, 0)
    suffix = f"{generation}"
    number = st.text_input(
        t("complaints.field.member_or_card"), key=f"complaints_log_member_{suffix}"
    )
    if number.strip():
        with session_scope(url) as session:
            member = complaints.member_context(session, actor, number)
        if member is None:
            st.warning(t("complaints.log.unknown", number=number.strip()))
        else:
            with st.container(border=True):
                _show_member(member)
    else:
        st.caption(t("complaints.log.anonymous"))
    channels = _codes(url, "complaint_channel")
    kinds = _codes(url, "complaint_type")
    now = _now_local()
    st.session_state.setdefault(f"complaints_log_day_{suffix}", now.date())
    st.session_state.setdefault(f"complaints_log_time_{suffix}", now.time())
    st.session_state.setdefault(f"complaints_log_receiver_{suffix}", actor.username)
    with st.form(f"complaints_log_form_{suffix}"):
        left, middle, right = st.columns(3)
        channel = left.selectbox(
            t("complaints.field.channel"),
            channels,
            format_func=_labeller({c: _label("complaint_channel", c) for c in channels}),
            key=f"complaints_log_channel_{suffix}",
        )
        kind = middle.selectbox(
            t("complaints.field.complaint_type"),
            kinds,
            format_func=_labeller({c: _label("complaint_type", c) for c in kinds}),
            key=f"complaints_log_type_{suffix}",
        )
        importance = right.selectbox(
            t("complaints.field.importance"),
            complaints.IMPORTANCE_ORDER,
            index=complaints.IMPORTANCE_ORDER.index("normal"),
            format_func=_labeller({i: _importance(i) for i in complaints.IMPORTANCE_ORDER}),
            key=f"complaints_log_importance_{suffix}",
        )
        content = st.text_area(
            t("complaints.field.content"), key=f"complaints_log_content_{suffix}"
        )
        left, middle, right = st.columns(3)
        receiver = left.text_input(
            t("complaints.field.receiver"), key=f"complaints_log_receiver_{suffix}"
        )
        day = middle.date_input(
            t("complaints.field.received_on"),
            max_value=now.date(),
            key=f"complaints_log_day_{suffix}",
        )
        moment = right.time_input(
            t("complaints.field.received_time"), step=60, key=f"complaints_log_time_{suffix}"
        )
        submitted = st.form_submit_button(t("complaints.log.submit"), type="primary")
    if not submitted:
        return
    values = [number.strip(), channel, kind, importance, content, receiver, str(day), str(moment)]
    logged = st.session_state.get(LOGGED_KEY)
    if logged and logged["values"] == values:  # a double click, or the same form sent again
        st.info(t("complaints.log.already", complaint_no=logged["complaint_no"]))
        return
    try:
        with session_scope(url) as session:
            row = complaints.log_complaint(
                session,
                actor,
                {
                    "member_or_card": number,
                    "channel": channel,
                    "complaint_type": kind,
                    "importance": importance,
                    "content": content,
                    "receiver": receiver,
                    "received_at": _combine(day, moment),
                },
            )
    except ServiceError as error:
        _show_error(error)
        return
    st.session_state[LOGGED_KEY] = {"values": values, "complaint_no": row.complaint_no}
    st.session_state[LOG_GENERATION] = generation + 1
    st.session_state[OPEN_KEY] = row.complaint_no
    st.session_state[SWITCH_KEY] = t("complaints.tab.work")
    st.session_state[FLASH_KEY] = t(
        "complaints.log.done", complaint_no=row.complaint_no, due=format_datetime(row.due_at)
    )
    st.rerun()


# -- work on a complaint --------------------------------------------------------------------------
def _work_tab(url: str) -> None:
    with st.form("complaints_open_form"):
        wanted = st.text_input(t("complaints.open.number"), key="complaints_open_no")
        opened = st.form_submit_button(t("complaints.open.submit"))
    if opened and wanted.strip():
        st.session_state[OPEN_KEY] = "".join(wanted.split()).upper()
    number = st.session_state.get(OPEN_KEY)
    if not number:
        st.caption(t("complaints.open.hint"))
        return
    try:
        with session_scope(url) as session:
            detail = complaints.complaint_detail(session, actor, number)
    except ServiceError as error:
        _show_error(error)
        return
    row = detail.row
    st.subheader(
        t("complaints.detail.heading", complaint_no=row.complaint_no, status=_status(row.status))
    )
    first, second, third, fourth = st.columns([1, 2, 1, 1])
    first.metric(t("complaints.col.importance"), _importance(row.importance))
    second.metric(t("complaints.detail.due"), format_datetime(row.due_at))
    third.metric(
        t("complaints.col.overdue"),
        t("complaints.detail.overdue")
        if row.overdue
        else t("complaints.detail.closed_late")
        if row.closed_late
        else t("complaints.detail.on_time"),
    )
    fourth.metric(t("complaints.col.steps"), format_int(row.steps))
    facts = {
        t("complaints.field.channel"): _label("complaint_channel", row.channel),
        t("complaints.field.complaint_type"): _label("complaint_type", row.complaint_type),
        t("complaints.field.receiver"): row.receiver,
        t("complaints.field.received_at"): format_datetime(row.received_at),
    }
    st.markdown("  \n".join(f"**{label}**：{value}" for label, value in facts.items()))
    with st.container(border=True):
        st.write(row.content)
    if row.status == "done":
        st.success(
            t(
                "complaints.detail.closed",
                closed_at=format_datetime(row.closed_at),
                closed_by=row.closed_by or "",
                satisfaction="★" * (row.satisfaction or 0),
            )
        )
    if detail.points is not None:
        st.caption(
            t(
                "complaints.detail.points",
                points=format_int(detail.points.points),
                status=t(f"complaints.detail.points_status.{detail.points.status}"),
            )
        )
    if detail.member is not None:
        with st.container(border=True):
            _show_member(detail.member)
    else:
        st.caption(t("complaints.detail.anonymous"))

    st.markdown(f"**{t('complaints.steps')}**")
    if detail.steps:
        st.dataframe(
            pd.DataFrame(
                {
                    t("complaints.col.handled_at"): [
                        format_datetime(s.handled_at) for s in detail.steps
                    ],
                    t("complaints.col.handler"): [s.handler for s in detail.steps],
                    t("complaints.col.department"): [
                        t("complaints.steps.closing") if s.is_closing_note else s.department
                        for s in detail.steps
                    ],
                    t("complaints.col.opinion"): [s.opinion for s in detail.steps],
                    t("complaints.col.expected_completion"): [
                        format_date(s.expected_completion) if s.expected_completion else ""
                        for s in detail.steps
                    ],
                }
            ),
            hide_index=True,
            key="complaints_steps",
        )
    else:
        st.caption(t("complaints.steps.none"))
    if row.status != "done":
        _step_form(url, row)
    if row.status == "in_progress":
        _close_form(url, row)
    elif row.status == "pending":
        st.info(t("complaints.close.needs_step"))


def _step_form(url: str, row: complaints.ComplaintRow) -> None:
    generation = st.session_state.setdefault(STEP_GENERATION, 0)
    suffix = f"{generation}"
    now = _now_local()
    st.session_state.setdefault(f"complaints_step_handler_{suffix}", actor.username)
    st.session_state.setdefault(f"complaints_step_day_{suffix}", now.date())
    st.session_state.setdefault(f"complaints_step_time_{suffix}", now.time())
    st.markdown(f"**{t('complaints.step.heading')}**")
    with st.form(f"complaints_step_form_{suffix}"):
        left, right = st.columns(2)
        handler = left.text_input(
            t("complaints.field.handler"), key=f"complaints_step_handler_{suffix}"
        )
        department = right.text_input(
            t("complaints.field.department"), key=f"complaints_step_department_{suffix}"
        )
        opinion = st.text_area(
            t("complaints.field.opinion"), key=f"complaints_step_opinion_{suffix}"
        )
        left, middle, right = st.columns(3)
        day = left.date_input(
            t("complaints.field.handled_on"),
            max_value=now.date(),
            key=f"complaints_step_day_{suffix}",
        )
        moment = middle.time_input(
            t("complaints.field.handled_time"), step=60, key=f"complaints_step_time_{suffix}"
        )
        expected = right.date_input(
            t("complaints.field.expected_completion"),
            value=None,
            key=f"complaints_step_expected_{suffix}",
        )
        submitted = st.form_submit_button(t("complaints.step.submit"), type="primary")
    if not submitted:
        return
    try:
        with session_scope(url) as session:
            complaints.add_step(
                session,
                actor,
                row.complaint_no,
                handler=handler,
                department=department,
                opinion=opinion,
                handled_at=_combine(day, moment),
                # the end of the expected day, so "today" is never before the step
                expected_completion=_combine(expected, time(23, 59)),
                expected_version=row.version,
            )
    except ServiceError as error:
        _show_error(error)
        return
    st.session_state[STEP_GENERATION] = generation + 1
    st.session_state[FLASH_KEY] = t("complaints.step.done", complaint_no=row.complaint_no)
    st.rerun()


def _close_form(url: str, row: complaints.ComplaintRow) -> None:
    st.markdown(f"**{t('complaints.close.heading')}**")
    with st.form("complaints_close_form"):
        satisfaction = st.radio(
            t("complaints.field.satisfaction"),
            [1, 2, 3, 4, 5],
            index=None,
            horizontal=True,
            format_func=_labeller({score: f"{score} " + "★" * score for score in range(1, 6)}),
            key="complaints_close_satisfaction",
        )
        note = st.text_area(t("complaints.field.note"), key="complaints_close_note")
        submitted = st.form_submit_button(t("complaints.close.submit"), type="primary")
    if not submitted:
        return
    try:
        with session_scope(url) as session:
            closed = complaints.close_complaint(
                session,
                actor,
                row.complaint_no,
                satisfaction=satisfaction,  # type: ignore[arg-type]  # None: refused as required
                note=note,
                expected_version=row.version,
            )
            detail = complaints.complaint_detail(session, actor, closed.complaint_no)
    except ServiceError as error:
        _show_error(error)
        return
    message = t(
        "complaints.close.done", complaint_no=closed.complaint_no, satisfaction=satisfaction
    )
    if detail.points is not None:
        message += " " + t(
            "complaints.close.points",
            points=format_int(detail.points.points),
            status=t(f"complaints.detail.points_status.{detail.points.status}"),
        )
    for key in ("complaints_close_satisfaction", "complaints_close_note"):
        st.session_state.pop(key, None)
    st.session_state[FLASH_KEY] = message
    st.rerun()


# -- find -----------------------------------------------------------------------------------------
def _find_tab(url: str) -> None:
    channels = [None, *_codes(url, "complaint_channel")]
    kinds = [None, *_codes(url, "complaint_type")]
    with st.form("complaints_find_form"):
        text = st.text_input(t("complaints.field.text"), key="complaints_find_text")
        first, second, third, fourth = st.columns(4)
        channel = first.selectbox(
            t("complaints.field.channel"),
            channels,
            format_func=_labeller(
                {c: _label("complaint_channel", c) for c in channels}, t("complaints.any")
            ),
            key="complaints_find_channel",
        )
        kind = second.selectbox(
            t("complaints.field.complaint_type"),
            kinds,
            format_func=_labeller(
                {c: _label("complaint_type", c) for c in kinds}, t("complaints.any")
            ),
            key="complaints_find_type",
        )
        status = third.selectbox(
            t("complaints.field.status"),
            [None, *COMPLAINT_STATUSES],
            format_func=_labeller({s: _status(s) for s in COMPLAINT_STATUSES}, t("complaints.any")),
            key="complaints_find_status",
        )
        overdue = fourth.selectbox(
            t("complaints.field.overdue"),
            [None, True, False],
            format_func=_labeller(
                {True: t("complaints.yes"), False: t("complaints.no")}, t("complaints.any")
            ),
            key="complaints_find_overdue",
        )
        first, second, third, fourth = st.columns(4)
        member_or_card = first.text_input(
            t("complaints.field.member_or_card"), key="complaints_find_member"
        )
        receiver = second.text_input(t("complaints.field.receiver"), key="complaints_find_receiver")
        department = third.text_input(
            t("complaints.field.department"), key="complaints_find_department"
        )
        handler = fourth.text_input(t("complaints.field.handler"), key="complaints_find_handler")
        first, second, third, fourth = st.columns(4)
        received_from = first.date_input(
            t("complaints.field.received_from"), value=None, key="complaints_find_received_from"
        )
        received_to = second.date_input(
            t("complaints.field.received_to"), value=None, key="complaints_find_received_to"
        )
        handled_from = third.date_input(
            t("complaints.field.handled_from"), value=None, key="complaints_find_handled_from"
        )
        handled_to = fourth.date_input(
            t("complaints.field.handled_to"), value=None, key="complaints_find_handled_to"
        )
        searched = st.form_submit_button(t("complaints.find.submit"), type="primary")
    if searched:
        st.session_state[FILTERS_KEY] = {
            "text": text,
            "channel": channel,
            "complaint_type": kind,
            "status": status,
            "overdue": overdue,
            "member_or_card": member_or_card,
            "receiver": receiver,
            "department": department,
            "handler": handler,
            "received_from": received_from,
            "received_to": received_to,
            "handled_from": handled_from,
            "handled_to": handled_to,
        }
    filters = st.session_state.get(FILTERS_KEY)
    if filters is None:
        return
    try:
        with session_scope(url) as session:
            rows = complaints.search_complaints(session, actor, **filters)
    except ServiceError as error:
        _show_error(error)
        return
    if not rows:
        st.info(t("complaints.find.none"))
        return
    st.caption(t("complaints.find.count", count=format_int(len(rows))))
    if len(rows) >= complaints.SEARCH_LIMIT:
        st.caption(t("complaints.find.more", count=format_int(complaints.SEARCH_LIMIT)))
    _rows_table(rows, "complaints_found")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    labels = {r.complaint_no: f"{r.complaint_no} · {r.content[:40]}" for r in rows}
    picked = left.selectbox(
        t("complaints.find.pick"),
        list(labels),
        format_func=labels.__getitem__,
        key="complaints_find_pick",
    )
    if right.button(t("complaints.find.open"), key="complaints_find_open"):
        st.session_state[OPEN_KEY] = picked
        st.session_state[SWITCH_KEY] = t("complaints.tab.work")
        st.session_state[FLASH_KEY] = t("complaints.find.opened", complaint_no=picked)
        st.rerun()


# -- overdue, chart, service levels ---------------------------------------------------------------
def _overdue_tab(url: str) -> None:
    with session_scope(url) as session:
        rows = complaints.overdue_complaints(session)
    if not rows:
        st.success(t("complaints.overdue.none"))
        return
    st.warning(t("complaints.overdue.count", count=format_int(len(rows))))
    _rows_table(rows, "complaints_overdue")


def _chart_tab(url: str) -> None:
    with session_scope(url) as session:
        counts = complaints.open_complaints_by_type(session)
    if not counts:
        st.info(t("complaints.chart.none"))
        return
    frame = pd.DataFrame(
        {
            "type": [_label("complaint_type", c.complaint_type) for c in counts],
            "state": [
                t("complaints.chart.overdue") if c.overdue else t("complaints.chart.open")
                for c in counts
            ],
            "count": [c.count for c in counts],
        }
    )
    figure = px.bar(
        frame,
        x="type",
        y="count",
        color="state",
        barmode="stack",
        title=t("complaints.chart.title"),
        labels={
            "type": t("complaints.col.type"),
            "count": t("complaints.chart.count"),
            "state": t("complaints.chart.state"),
        },
        color_discrete_map={
            t("complaints.chart.open"): "#4C78A8",
            t("complaints.chart.overdue"): "#E45756",
        },
    )
    st.plotly_chart(figure, key="complaints_chart")


def _levels(url: str) -> None:
    with st.expander(t("complaints.levels.heading"), icon=":material/schedule:"):
        st.caption(t("complaints.levels.help"))
        with session_scope(url) as session:
            levels = complaints.service_levels(session)
        with st.form("complaints_levels_form"):
            columns = st.columns(len(levels))
            hours = {
                level.importance: column.number_input(
                    f"{_importance(level.importance)} · {t('complaints.field.due_hours')}",
                    min_value=1,
                    max_value=complaints.MAX_DUE_HOURS,
                    value=level.due_hours,
                    step=1,
                    key=f"complaints_level_{level.importance}",
                )
                for level, column in zip(levels, columns, strict=True)
            }
            saved = st.form_submit_button(t("complaints.levels.submit"))
        if not saved:
            return
        try:
            with session_scope(url) as session:
                for level in levels:
                    if int(hours[level.importance]) != level.due_hours:
                        complaints.set_service_level(
                            session, actor, level.importance, int(hours[level.importance])
                        )
        except ServiceError as error:
            _show_error(error)
            return
        st.session_state[FLASH_KEY] = t("complaints.levels.done")
        st.rerun()


actor = require_page("complaints")
url = get_settings().database_url
st.title(t("complaints.title"))
flash_box = st.container()  # always there, so the tabs keep their place (and their state)
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    flash_box.success(flash, icon=":material/check_circle:")

switch_to = st.session_state.pop(SWITCH_KEY, None)
if switch_to:
    st.session_state[TABS_KEY] = switch_to
log_tab, work_tab, find_tab, overdue_tab, chart_tab = st.tabs(
    [
        t("complaints.tab.log"),
        t("complaints.tab.work"),
        t("complaints.tab.find"),
        t("complaints.tab.overdue"),
        t("complaints.tab.chart"),
    ],
    key=TABS_KEY,
    on_change="rerun",
)
with log_tab:
    _log_tab(url)
with work_tab:
    _work_tab(url)
with find_tab:
    _find_tab(url)
with overdue_tab:
    _overdue_tab(url)
with chart_tab:
    _chart_tab(url)
if actor.role in LEVEL_ROLES:
    _levels(url)
