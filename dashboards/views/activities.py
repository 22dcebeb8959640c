"""Activities (活动管理): the list by status, new plans, and one activity's detail.

Every rule is in ``operational.services.activities`` (the state machine, who decides, attendance
once with its points, cost arithmetic). The page shows only the actions the activity's state
allows (the service refuses the others anyway), records attendance one card at a time with
immediate feedback or from a pasted / uploaded list with a result per line, and keeps cost lines
with totals, the average per attendee and plan vs actual as a chart.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import REVIEW_ROLES, require_page
from dashboards.cardlists import uploaded_card_numbers
from dashboards.feedback import error_text, problems_by_field, show_error
from dashboards.i18n import (
    DISPLAY_TIMEZONE,
    current_locale,
    dictionary_label,
    format_datetime,
    format_int,
    format_money,
    t,
)
from operational.db import session_scope
from operational.models.engagement import ACTIVITY_STATUSES
from operational.services import activities
from operational.services.common import (
    Conflict,
    ServiceError,
    ValidationFailed,
    dictionary_codes,
)

FLASH_KEY = "activities_flash"  # (kind, message) shown once after a rerun
SELECT_KEY = "activities_current"  # the selectbox of the activity shown in detail
PENDING_SELECT_KEY = "activities_select_next"  # an activity to show after the rerun
LIST_RESULT_KEY = "activities_list_result"  # {"code": str, "rows": [...], "summary": str}
PLAN_FIELDS = (
    "code",
    "name",
    "activity_type",
    "starts_at",
    "ends_at",
    "place",
    "expected_headcount",
    "expected_cost",
    "points_per_attendee",
    "plan_text",
)


# -- helpers ------------------------------------------------------------------------------------
def _status_label(status: str) -> str:
    return t(f"activities.status.{status}")


def _type_label(code: str) -> str:
    return dictionary_label("activity_type", code, current_locale())


def _show(error: ServiceError) -> None:
    """The error in the user's language; a refused transition names the state and actions."""
    if isinstance(error, ValidationFailed):
        _show_problems(error)
        return
    if isinstance(error, Conflict) and error.code == "activity_wrong_state":
        allowed = [a for a in str(error.params.get("allowed", "")).split(", ") if a]
        error = Conflict(
            error.message,
            code=error.code,
            field=error.field,
            activity=error.params.get("activity", ""),
            status=_status_label(str(error.params.get("status"))),
            action=t(f"activities.action.{error.params.get('action')}"),
            allowed=("、" if current_locale() == "zh_CN" else ", ").join(
                t(f"activities.action.{a}") for a in allowed
            )
            or "—",
        )
    show_error(error)


def _show_problems(error: ValidationFailed) -> None:
    lines = []
    for field_name, messages in problems_by_field(error).items():
        key = f"activities.field.{field_name}"
        label = t(key) if key in _labels() else field_name
        lines.extend(f"- {label}: {message}" for message in messages)
    st.error("\n".join(lines), icon=":material/error:")


def _labels() -> set[str]:
    from dashboards.i18n import STRINGS

    return set(STRINGS.get(current_locale(), {}))


def _flash(kind: str, message: str, *, select: str | None = None) -> None:
    st.session_state[FLASH_KEY] = (kind, message)
    if select:
        st.session_state[PENDING_SELECT_KEY] = select
    st.rerun()


def _local(value: datetime) -> datetime:
    return value.astimezone(DISPLAY_TIMEZONE)


def _window(summary: activities.ActivitySummary) -> str:
    start, end = _local(summary.starts_at), _local(summary.ends_at)
    until = end.strftime("%H:%M") if end.date() == start.date() else format_datetime(end)
    return f"{format_datetime(summary.starts_at)} – {until}"


# -- the plan form (new or edit) ----------------------------------------------------------------
def _plan_form(form_key: str, types: list[str], current: activities.ActivitySummary | None):
    """The plan's inputs; returns (submitted, data)."""
    today = datetime.now(DISPLAY_TIMEZONE).date()
    start = _local(current.starts_at) if current else None
    end = _local(current.ends_at) if current else None
    labels = {code: _type_label(code) for code in types}
    if current and current.activity_type not in labels:
        labels[current.activity_type] = _type_label(current.activity_type)
    with st.form(form_key):
        data: dict[str, object] = {}
        if current is None:
            data["code"] = st.text_input(
                t("activities.field.code"), help=t("activities.code_help"), key=f"{form_key}_code"
            )
        data["name"] = st.text_input(
            t("activities.field.name"),
            value=current.name if current else "",
            key=f"{form_key}_name",
        )
        type_codes = list(labels)
        data["activity_type"] = st.selectbox(
            t("activities.field.activity_type"),
            type_codes,
            index=type_codes.index(current.activity_type) if current else 0,
            format_func=labels.__getitem__,
            key=f"{form_key}_type",
        )
        left, right = st.columns(2)
        start_day = left.date_input(
            t("activities.start_day"),
            value=start.date() if start else today + timedelta(days=7),
            key=f"{form_key}_start_day",
        )
        start_time = right.time_input(
            t("activities.start_time"),
            value=start.time() if start else time(14, 0),
            key=f"{form_key}_start_time",
        )
        end_day = left.date_input(
            t("activities.end_day"),
            value=end.date() if end else today + timedelta(days=7),
            key=f"{form_key}_end_day",
        )
        end_time = right.time_input(
            t("activities.end_time"),
            value=end.time() if end else time(17, 0),
            key=f"{form_key}_end_time",
        )
        data["place"] = st.text_input(
            t("activities.field.place"),
            value=(current.place or "") if current else "",
            key=f"{form_key}_place",
        )
        left, middle, right = st.columns(3)
        data["expected_headcount"] = int(
            left.number_input(
                t("activities.field.expected_headcount"),
                min_value=0,
                step=1,
                value=current.expected_headcount if current else 0,
                key=f"{form_key}_headcount",
            )
        )
        data["expected_cost"] = middle.text_input(
            t("activities.field.expected_cost"),
            value=str(current.expected_cost) if current else "",
            key=f"{form_key}_cost",
        )
        data["points_per_attendee"] = int(
            right.number_input(
                t("activities.field.points_per_attendee"),
                min_value=0,
                step=1,
                value=current.points_per_attendee if current else 0,
                help=t("activities.points_help"),
                key=f"{form_key}_points",
            )
        )
        data["plan_text"] = st.text_area(
            t("activities.field.plan_text"),
            value=(current.plan_text or "") if current else "",
            key=f"{form_key}_text",
        )
        submitted = st.form_submit_button(
            t("activities.plan.submit" if current is None else "activities.edit.submit"),
            type="primary",
        )
    data["starts_at"] = datetime.combine(start_day, start_time) if start_day else None
    data["ends_at"] = datetime.combine(end_day, end_time) if end_day else None
    return submitted, data


def _create(url: str, data: dict[str, object]) -> None:
    try:
        with session_scope(url) as session:
            done = activities.plan_activity(session, actor, data)
    except ServiceError as error:
        _show(error)
        return
    _flash("success", t("activities.plan.done", code=done.code, name=done.name), select=done.code)


def _edit(url: str, code: str, data: dict[str, object]) -> None:
    try:
        with session_scope(url) as session:
            activities.update_plan(session, actor, code, data)
    except ServiceError as error:
        _show(error)
        return
    _flash("success", t("activities.edit.done", code=code))


# -- actions ------------------------------------------------------------------------------------
def _act(url: str, code: str, action: str, **kwargs: object) -> None:
    move = {
        "submit": activities.submit,
        "approve": activities.approve,
        "reject": activities.reject,
        "start": activities.start,
        "close": activities.close,
    }[action]
    try:
        with session_scope(url) as session:
            done = move(session, actor, code, **kwargs)
    except ServiceError as error:
        _show(error)
        return
    st.session_state.pop("activities_reject_reason", None)
    _flash(
        "success",
        t("activities.moved", code=code, action=t(f"activities.action.{action}"),
          status=_status_label(done.status)),
    )  # fmt: skip


def _actions(url: str, summary: activities.ActivitySummary) -> None:
    allowed = summary.allowed_actions
    code = summary.code
    columns = st.columns(4)
    if "submit" in allowed and columns[0].button(
        t("activities.button.submit"), type="primary", key="activities_do_submit"
    ):
        _act(url, code, "submit")
    if "start" in allowed and columns[0].button(
        t("activities.button.start"), type="primary", key="activities_do_start"
    ):
        _act(url, code, "start")
    if "close" in allowed and columns[0].button(
        t("activities.button.close"), key="activities_do_close"
    ):
        _act(url, code, "close")
    if {"approve", "reject"} & set(allowed):
        if actor.role not in REVIEW_ROLES:
            st.info(t("activities.waiting_review"), icon=":material/hourglass_top:")
            return
        if summary.created_by == actor.username:  # maker-checker: the service refuses it too
            st.info(t("activities.own_plan"), icon=":material/person_off:")
            return
        if columns[0].button(
            t("activities.button.approve"), type="primary", key="activities_do_approve"
        ):
            _act(url, code, "approve")
        with st.form("activities_reject"):
            reason = st.text_input(t("activities.reject_reason"), key="activities_reject_reason")
            rejected = st.form_submit_button(t("activities.button.reject"))
        if rejected:
            _act(url, code, "reject", reason=reason)


def _header(summary: activities.ActivitySummary) -> None:
    st.subheader(f"{summary.code} · {summary.name}")
    st.markdown(
        t(
            "activities.detail.line",
            status=_status_label(summary.status),
            type=_type_label(summary.activity_type),
            window=_window(summary),
            place=summary.place or "—",
        )
    )
    facts = [
        t("activities.detail.created", by=summary.created_by or "—",
          at=format_datetime(summary.created_at)),
    ]  # fmt: skip
    if summary.decided_at:
        outcome = "approved" if summary.status != "rejected" else "rejected"
        facts.append(
            t(
                f"activities.detail.{outcome}",
                by=summary.decided_by or "—",
                at=format_datetime(summary.decided_at),
                note=summary.decision_note or "—",
            )
        )
    if summary.closed_at:
        facts.append(t("activities.detail.closed", at=format_datetime(summary.closed_at)))
    st.caption("  \n".join(facts))
    if summary.status == "rejected" and summary.decision_note:
        st.warning(t("activities.rejected_because", reason=summary.decision_note))
    left, middle, right = st.columns(3)
    left.metric(t("activities.field.expected_headcount"), format_int(summary.expected_headcount))
    middle.metric(t("activities.field.expected_cost"), format_money(summary.expected_cost))
    right.metric(
        t("activities.field.points_per_attendee"),
        format_int(summary.points_per_attendee)
        if summary.points_per_attendee
        else t("activities.rule_points"),
    )
    if summary.plan_text:
        with st.expander(t("activities.field.plan_text")):
            st.write(summary.plan_text)


# -- attendance ---------------------------------------------------------------------------------
def _attend_one(url: str, code: str, number: str) -> None:
    if not number.strip():
        st.warning(t("activities.attend.empty"))
        return
    try:
        with session_scope(url) as session:
            done = activities.record_attendance(session, actor, code, number, source="single")
    except ServiceError as error:
        _show(error)
        return
    points = _points_text(done.points, done.points_status)
    if done.status == "already":
        message = t("activities.attend.already", member_no=done.member_no, name=done.member_name)
        kind = "info"
    else:
        message = t(
            "activities.attend.done", member_no=done.member_no, name=done.member_name, points=points
        )
        kind = "success"
    st.session_state.pop("activities_attend_number", None)  # ready for the next card
    _flash(kind, message)


def _points_text(points: int | None, status: str | None) -> str:
    if points is None:
        return t("activities.points.none")
    return t(
        "activities.points.amount", points=format_int(points), status=t(f"point_status.{status}")
    )


def _attend_list(url: str, code: str, numbers: list[str]) -> None:
    try:
        with session_scope(url) as session:
            result = activities.record_attendance_list(session, actor, code, numbers)
    except ServiceError as error:
        _show(error)
        return
    rows = []
    for line in result.lines:
        if line.status == "problem":
            problem = ServiceError(line.message or "", code=line.code, **line.params)
            why = error_text(problem)
        elif line.code == "listed_twice":
            why = t("activities.list.listed_twice")
        elif line.code == "already_recorded":
            why = t("activities.list.already_recorded")
        else:
            why = t("point_status." + line.points_status) if line.points_status else ""
        rows.append(
            {
                "line": line.line_no,
                "number": line.number,
                "status": line.status,
                "member": " ".join(x for x in (line.member_no, line.member_name) if x),
                "why": why,
            }
        )
    st.session_state[LIST_RESULT_KEY] = {
        "code": code,
        "rows": rows,
        "summary": t(
            "activities.list.summary",
            recorded=format_int(result.recorded),
            already=format_int(result.already),
            problems=format_int(result.problems),
        ),
    }
    st.session_state.pop("activities_list_text", None)
    _flash(
        "success" if not result.problems else "warning",
        st.session_state[LIST_RESULT_KEY]["summary"],
    )


def _attendance_tab(url: str, detail: activities.ActivityDetail) -> None:
    summary = detail.activity
    if "attend" in summary.allowed_actions:
        with st.form("activities_attend_one"):
            number = st.text_input(
                t("activities.attend.number"),
                help=t("activities.attend.help"),
                key="activities_attend_number",
            )
            one = st.form_submit_button(t("activities.attend.submit"), type="primary")
        if one:
            _attend_one(url, summary.code, number)
        with st.form("activities_attend_list"):
            text = st.text_area(
                t("activities.list.numbers"),
                help=t("activities.list.help"),
                key="activities_list_text",
            )
            upload = st.file_uploader(
                t("activities.list.upload"), type=["txt", "csv"], key="activities_list_upload"
            )
            many = st.form_submit_button(t("activities.list.submit"))
        if many:
            numbers = text.splitlines()
            if upload is not None:
                numbers += uploaded_card_numbers(upload.getvalue())
            if not any(n.strip() for n in numbers):
                st.warning(t("activities.list.empty"))
            else:
                _attend_list(url, summary.code, numbers)
    else:
        st.info(
            t("activities.attend.not_now", status=_status_label(summary.status)),
            icon=":material/block:",
        )
    result = st.session_state.get(LIST_RESULT_KEY)
    if result and result["code"] == summary.code and result["rows"]:
        st.markdown(f"**{t('activities.list.result')}** — {result['summary']}")
        rows = result["rows"]
        st.dataframe(
            pd.DataFrame(
                {
                    t("activities.col.line"): [r["line"] for r in rows],
                    t("activities.col.number"): [r["number"] for r in rows],
                    t("activities.col.outcome"): [
                        t(f"activities.outcome.{r['status']}") for r in rows
                    ],
                    t("activities.col.member"): [r["member"] for r in rows],
                    t("activities.col.why"): [r["why"] for r in rows],
                }
            ),
            hide_index=True,
            key="activities_list_table",
        )
    attendees = detail.attendees
    st.markdown(f"**{t('activities.attendees', count=format_int(len(attendees)))}**")
    if not attendees:
        st.caption(t("activities.no_attendees"))
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("activities.col.member_no"): [a.member_no for a in attendees],
                t("activities.col.name"): [a.member_name for a in attendees],
                t("activities.col.card_no"): [a.card_no or "" for a in attendees],
                t("activities.col.attended_at"): [
                    format_datetime(a.attended_at) for a in attendees
                ],
                t("activities.col.source"): [t(f"activities.source.{a.source}") for a in attendees],
                t("activities.col.points"): [
                    "" if a.points is None else a.points for a in attendees
                ],
                t("activities.col.points_status"): [
                    t(f"point_status.{a.points_status}") if a.points_status else ""
                    for a in attendees
                ],
                t("activities.col.recorded_by"): [a.recorded_by or "" for a in attendees],
            }
        ),
        hide_index=True,
        key="activities_attendees",
    )


# -- costs --------------------------------------------------------------------------------------
def _add_cost(url: str, code: str, kind: str, description: str, amount: str) -> None:
    try:
        with session_scope(url) as session:
            line = activities.add_cost(
                session, actor, code, kind=kind, description=description, amount=amount
            )
    except ServiceError as error:
        _show(error)
        return
    for key in ("activities_cost_description", "activities_cost_amount"):
        st.session_state.pop(key, None)
    _flash(
        "success",
        t("activities.cost.added", description=line.description,
          amount=format_money(line.amount), kind=t(f"activities.kind.{line.kind}")),
    )  # fmt: skip


def _remove_cost(url: str, code: str, cost_id: int) -> None:
    try:
        with session_scope(url) as session:
            activities.remove_cost(session, actor, code, cost_id)
    except ServiceError as error:
        _show(error)
        return
    _flash("success", t("activities.cost.removed"))


def _costs_tab(url: str, detail: activities.ActivityDetail) -> None:
    summary, costs = detail.activity, detail.costs
    editable = "costs" in summary.allowed_actions
    if editable:
        kinds = {"shared": t("activities.kind.shared"), "per_head": t("activities.kind.per_head")}
        with st.form("activities_cost"):
            left, middle, right = st.columns([1, 2, 1])
            kind = left.selectbox(
                t("activities.cost.kind"),
                list(kinds),
                format_func=kinds.__getitem__,
                key="activities_cost_kind",
            )
            description = middle.text_input(
                t("activities.cost.description"), key="activities_cost_description"
            )
            amount = right.text_input(t("activities.cost.amount"), key="activities_cost_amount")
            add = st.form_submit_button(t("activities.cost.submit"), type="primary")
        if add:
            _add_cost(url, summary.code, kind, description, amount)
    else:
        st.info(t("activities.cost.not_now"), icon=":material/block:")

    lines = costs.lines
    if lines:
        st.dataframe(
            pd.DataFrame(
                {
                    t("activities.cost.kind"): [t(f"activities.kind.{c.kind}") for c in lines],
                    t("activities.cost.description"): [c.description for c in lines],
                    t("activities.cost.amount"): [format_money(c.amount) for c in lines],
                    t("activities.cost.line_total"): [format_money(c.line_total) for c in lines],
                    t("activities.cost.recorded_at"): [
                        format_datetime(c.recorded_at) for c in lines
                    ],
                }
            ),
            hide_index=True,
            key="activities_cost_lines",
        )
        if editable:
            labels = {
                c.id: f"{c.description} · {format_money(c.amount)} · {t(f'activities.kind.{c.kind}')}"
                for c in lines
            }
            left, right = st.columns([3, 1])
            chosen = left.selectbox(
                t("activities.cost.pick"),
                list(labels),
                format_func=labels.__getitem__,
                key="activities_cost_pick",
            )
            if right.button(t("activities.cost.remove"), key="activities_cost_remove"):
                _remove_cost(url, summary.code, int(chosen))
    else:
        st.caption(t("activities.cost.none"))

    columns = st.columns(4)
    columns[0].metric(t("activities.cost.shared_total"), format_money(costs.shared_total))
    columns[1].metric(
        t("activities.cost.per_head_total"),
        format_money(costs.per_head_total),
        help=t(
            "activities.cost.per_head_help",
            rate=format_money(costs.per_head_rate),
            attendees=format_int(costs.attendees),
        ),
    )
    columns[2].metric(t("activities.cost.total"), format_money(costs.total))
    columns[3].metric(
        t("activities.cost.average"),
        format_money(costs.average_per_attendee)
        if costs.average_per_attendee is not None
        else t("activities.cost.no_average"),
    )
    st.markdown(f"**{t('activities.plan_vs_actual')}**")
    left, right = st.columns(2)
    left.metric(
        t("activities.headcount"),
        format_int(costs.attendees),
        delta=f"{costs.headcount_difference:+d}",
        delta_color="off",
        help=t("activities.vs_plan", plan=format_int(costs.expected_headcount)),
    )
    right.metric(
        t("activities.cost.total"),
        format_money(costs.total),
        delta=("+" if costs.cost_difference > 0 else "") + format_money(costs.cost_difference),
        delta_color="inverse",
        help=t("activities.vs_plan", plan=format_money(costs.expected_cost)),
    )
    plan, actual = t("activities.chart.plan"), t("activities.chart.actual")
    headcount, cost = t("activities.headcount"), t("activities.chart.cost")
    frame = pd.DataFrame(
        {
            "measure": [headcount, headcount, cost, cost],
            "kind": [plan, actual, plan, actual],
            "value": [
                costs.expected_headcount,
                costs.attendees,
                float(costs.expected_cost),
                float(costs.total),
            ],
        }
    )
    figure = px.bar(
        frame,
        x="kind",
        y="value",
        color="kind",
        facet_col="measure",
        labels={"kind": "", "value": "", "measure": ""},
    )
    figure.update_yaxes(matches=None, showticklabels=True)
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    figure.update_layout(showlegend=False, margin={"t": 30})
    st.plotly_chart(figure, key="activities_plan_vs_actual")


# -- the page -----------------------------------------------------------------------------------
actor = require_page("activities")
url = get_settings().database_url
st.title(t("activities.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    kind, message = flash
    getattr(st, kind)(message)

with session_scope(url) as session:
    counts = activities.status_counts(session)
    types = dictionary_codes(session, "activity_type")

# -- counts by status and the list --------------------------------------------------------------
for column, status in zip(st.columns(len(ACTIVITY_STATUSES)), ACTIVITY_STATUSES, strict=True):
    column.metric(_status_label(status), format_int(counts[status]))

# labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
status_labels = {"": t("activities.filter.all")} | {s: _status_label(s) for s in ACTIVITY_STATUSES}
type_labels = {"": t("activities.filter.all")} | {c: _type_label(c) for c in types}
left, middle, right = st.columns(3)
wanted_status = left.selectbox(
    t("activities.filter.status"),
    list(status_labels),
    format_func=status_labels.__getitem__,
    key="activities_filter_status",
)
wanted_type = middle.selectbox(
    t("activities.filter.type"),
    list(type_labels),
    format_func=type_labels.__getitem__,
    key="activities_filter_type",
)
wanted_text = right.text_input(t("activities.filter.text"), key="activities_filter_text")
with session_scope(url) as session:
    found = activities.search_activities(
        session, status=wanted_status or None, activity_type=wanted_type or None, text=wanted_text
    )
if found:
    st.dataframe(
        pd.DataFrame(
            {
                t("activities.col.code"): [a.code for a in found],
                t("activities.col.name"): [a.name for a in found],
                t("activities.col.type"): [_type_label(a.activity_type) for a in found],
                t("activities.col.window"): [_window(a) for a in found],
                t("activities.col.status"): [_status_label(a.status) for a in found],
                t("activities.col.expected"): [a.expected_headcount for a in found],
                t("activities.col.attendees"): [a.attendees for a in found],
            }
        ),
        hide_index=True,
        key="activities_list",
    )
else:
    st.info(t("activities.none_found"), icon=":material/inbox:")

# -- a new plan ---------------------------------------------------------------------------------
with st.expander(t("activities.plan.title"), icon=":material/add:"):
    submitted, plan_data = _plan_form("activities_new", types, None)
    if submitted:
        _create(url, plan_data)

# -- one activity -------------------------------------------------------------------------------
st.divider()
codes = [a.code for a in found]
pending = st.session_state.pop(PENDING_SELECT_KEY, None)
if pending:
    if pending not in codes:
        codes.insert(0, pending)
    st.session_state[SELECT_KEY] = pending
elif st.session_state.get(SELECT_KEY) and st.session_state[SELECT_KEY] not in codes:
    codes.insert(0, st.session_state[SELECT_KEY])
if not codes:
    st.stop()
names = {a.code: f"{a.code} · {a.name} · {_status_label(a.status)}" for a in found}
names |= {c: c for c in codes if c not in names}
current_code = st.selectbox(
    t("activities.pick"), codes, format_func=names.__getitem__, key=SELECT_KEY
)
try:
    with session_scope(url) as session:
        detail = activities.activity_detail(session, actor, current_code)
except ServiceError as error:
    _show(error)
    st.stop()

_header(detail.activity)
_actions(url, detail.activity)
if "edit" in detail.activity.allowed_actions:
    with st.expander(t("activities.edit.title"), icon=":material/edit:"):
        edited, edit_data = _plan_form(f"activities_edit_{current_code}", types, detail.activity)
        if edited:
            _edit(url, current_code, edit_data)

attendance_tab, costs_tab = st.tabs([t("activities.tab.attendance"), t("activities.tab.costs")])
with attendance_tab:
    _attendance_tab(url, detail)
with costs_tab:
    _costs_tab(url, detail)
