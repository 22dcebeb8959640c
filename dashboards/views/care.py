"""Care (关怀): manual care, saved segments, cares and their members, a member's cares,
results and responses, and the effect of care (treated vs control) with channel shares.

Every rule is in ``operational.services.care`` (consent, archived members, control groups,
outbox). After a manual SMS or e-mail care the page hands the queued messages to the outbox at
once, so the clerk sees the result; letters and the other channels are marked by hand here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
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
from operational.services import care
from operational.services.common import ServiceError, dictionary_codes

FLASH_KEY = "care_flash"
CARE_KEY = "care_selected"  # the care whose members are shown
MEMBER_KEY = "care_member_no"  # the member whose cares are shown
SEGMENT_PREVIEW_KEY = "care_segment_preview"


def _today():
    return datetime.now(DISPLAY_TIMEZONE).date()


def _channel(code: str) -> str:
    return dictionary_label("care_channel", code, current_locale())


def _trigger(code: str) -> str:
    return t(f"care.trigger.{code}")


def _status(code: str) -> str:
    return t(f"care.status.{code}")


def _flash(kind: str, message: str) -> None:
    st.session_state[FLASH_KEY] = (kind, message)


def _numbers(items: list[str]) -> str:
    shown = ", ".join(items[:20])
    return shown + (" …" if len(items) > 20 else "")


# -- manual care --------------------------------------------------------------------------------
def _send(url: str, values: dict) -> None:
    try:
        with session_scope(url) as session:
            summary = care.send_care(
                session,
                actor,
                channel=values["channel"],
                title=values["title"],
                content=values["content"],
                member_numbers=values["numbers"] if values["numbers"].strip() else None,
                segment_id=values["segment_id"],
            )
        delivery = None
        if summary.queued:
            with session_scope(url) as session:
                delivery = care.deliver_outbox(session)
    except ServiceError as error:
        show_error(error)
        return
    lines = []
    if summary.care_id is None:
        lines.append(t("care.sent_nobody"))
    else:
        lines.append(
            t("care.sent", count=format_int(len(summary.contacted)), care_id=summary.care_id)
        )
    if delivery is not None:
        lines.append(
            t(
                "care.delivered",
                delivered=format_int(delivery.delivered),
                failed=format_int(delivery.failed),
            )
        )
    for key, numbers in (
        ("care.skipped_no_consent", summary.skipped_no_consent),
        ("care.skipped_inactive", summary.skipped_inactive),
        ("care.skipped_no_address", summary.skipped_no_address),
    ):
        if numbers:
            lines.append(t(key, count=format_int(len(numbers)), numbers=_numbers(numbers)))
    _flash("success" if summary.care_id else "warning", "  \n".join(lines))
    if summary.care_id is not None:
        st.session_state[CARE_KEY] = summary.care_id
    st.rerun()


def _send_tab(url: str, segments: list[care.SegmentRow], channels: list[str]) -> None:
    # labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
    segment_names: dict[int | None, str] = {None: t("care.no_segment")}
    segment_names.update({s.id: s.name for s in segments})
    channel_labels = {code: _channel(code) for code in channels}
    with st.form("care_send"):
        numbers = st.text_area(t("care.numbers"), key="care_numbers", help=t("care.numbers_help"))
        segment_id = st.selectbox(
            t("care.segment"),
            list(segment_names),
            format_func=segment_names.__getitem__,
            key="care_segment",
        )
        channel = st.selectbox(
            t("care.channel"), channels, format_func=channel_labels.__getitem__, key="care_channel"
        )
        title = st.text_input(t("care.title_input"), key="care_title")
        content = st.text_area(t("care.content"), key="care_content")
        submitted = st.form_submit_button(t("care.send"), type="primary")
    if submitted:
        _send(
            url,
            {
                "numbers": numbers,
                "segment_id": segment_id,
                "channel": channel,
                "title": title,
                "content": content,
            },
        )


# -- segments -----------------------------------------------------------------------------------
def _criteria_text(criteria: dict) -> str:
    locale = current_locale()
    parts = []
    if criteria.get("tiers"):
        tiers = ", ".join(dictionary_label("tier", c, locale) for c in criteria["tiers"])
        parts.append(f"{t('care.seg.tiers')}: {tiers}")
    if criteria.get("regions"):
        regions = ", ".join(dictionary_label("region", c, locale) for c in criteria["regions"])
        parts.append(f"{t('care.seg.regions')}: {regions}")
    if criteria.get("genders"):
        genders = ", ".join(t(f"care.gender.{g}") for g in criteria["genders"])
        parts.append(f"{t('care.seg.genders')}: {genders}")
    if criteria.get("age_min") is not None or criteria.get("age_max") is not None:
        low, high = criteria.get("age_min", ""), criteria.get("age_max", "")
        parts.append(f"{t('care.seg.age')}: {low}–{high}")
    if criteria.get("joined_from") or criteria.get("joined_to"):
        start, end = criteria.get("joined_from", ""), criteria.get("joined_to", "")
        parts.append(f"{t('care.seg.joined')}: {start} – {end}")
    if criteria.get("min_points"):
        parts.append(f"{t('care.seg.min_points')}: {format_int(criteria['min_points'])}")
    return "; ".join(parts) or t("care.seg.everyone")


def _segments_tab(url: str, segments: list[care.SegmentRow], tiers, regions) -> None:
    if segments:
        st.dataframe(
            pd.DataFrame(
                {
                    t("care.col.segment"): [s.name for s in segments],
                    t("care.col.criteria"): [_criteria_text(s.criteria) for s in segments],
                    t("care.col.created_by"): [s.created_by or "" for s in segments],
                    t("care.col.created_at"): [format_datetime(s.created_at) for s in segments],
                }
            ),
            hide_index=True,
            key="care_segments_table",
        )
    else:
        st.caption(t("care.no_segments"))
    locale = current_locale()
    tier_labels = {c: dictionary_label("tier", c, locale) for c in tiers}
    region_labels = {c: dictionary_label("region", c, locale) for c in regions}
    gender_labels = {g: t(f"care.gender.{g}") for g in ("M", "F")}
    with st.form("care_segment_form"):
        name = st.text_input(t("care.seg.name"), key="care_seg_name")
        left, right = st.columns(2)
        chosen_tiers = left.multiselect(
            t("care.seg.tiers"),
            tiers,
            format_func=tier_labels.__getitem__,
            key="care_seg_tiers",
        )
        chosen_regions = right.multiselect(
            t("care.seg.regions"),
            regions,
            format_func=region_labels.__getitem__,
            key="care_seg_regions",
        )
        genders = left.multiselect(
            t("care.seg.genders"),
            list(gender_labels),
            format_func=gender_labels.__getitem__,
            key="care_seg_genders",
        )
        min_points = right.number_input(
            t("care.seg.min_points"), min_value=0, value=None, step=100, key="care_seg_points"
        )
        age_min = left.number_input(
            t("care.seg.age_min"), min_value=0, max_value=130, value=None, key="care_seg_age_min"
        )
        age_max = right.number_input(
            t("care.seg.age_max"), min_value=0, max_value=130, value=None, key="care_seg_age_max"
        )
        joined_from = left.date_input(
            t("care.seg.joined_from"), value=None, key="care_seg_joined_from"
        )
        joined_to = right.date_input(t("care.seg.joined_to"), value=None, key="care_seg_joined_to")
        preview = st.form_submit_button(t("care.seg.preview"))
        save = st.form_submit_button(t("care.seg.save"), type="primary")
    criteria = {
        "tiers": chosen_tiers,
        "regions": chosen_regions,
        "genders": genders,
        "age_min": age_min,
        "age_max": age_max,
        "joined_from": joined_from,
        "joined_to": joined_to,
        "min_points": min_points,
    }
    if preview:
        try:
            with session_scope(url) as session:
                count = care.preview_segment(session, criteria)
            st.info(t("care.seg.count", count=format_int(count)))
        except ServiceError as error:
            show_error(error)
    if save:
        try:
            with session_scope(url) as session:
                saved = care.save_segment(session, actor, name, criteria)
                count = care.preview_segment(session, saved.criteria)
        except ServiceError as error:
            show_error(error)
            return
        _flash("success", t("care.seg.saved", name=saved.name, count=format_int(count)))
        st.rerun()


# -- cares and their members --------------------------------------------------------------------
def _cares_tab(url: str) -> None:
    today = _today()
    left, right = st.columns(2)
    since = left.date_input(t("care.from"), value=today - timedelta(days=30), key="care_list_from")
    until = right.date_input(t("care.to"), value=today, key="care_list_to")
    with session_scope(url) as session:
        cares = care.list_cares(session, since=since, until=until)
    if not cares:
        st.info(t("care.no_cares"), icon=":material/inbox:")
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("care.col.id"): [c.id for c in cares],
                t("care.col.run_on"): [format_date(c.run_on) for c in cares],
                t("care.col.trigger"): [_trigger(c.trigger) for c in cares],
                t("care.col.channel"): [_channel(c.channel) for c in cares],
                t("care.col.title"): [c.title for c in cares],
                t("care.col.contacts"): [c.contacts for c in cares],
                t("care.col.controls"): [c.controls for c in cares],
                t("care.col.sent"): [c.sent for c in cares],
                t("care.col.failed"): [c.failed for c in cares],
                t("care.col.pending"): [c.pending for c in cares],
                t("care.col.responded"): [c.responded for c in cares],
                t("care.col.segment"): [c.segment_name or "" for c in cares],
            }
        ),
        hide_index=True,
        key="care_cares_table",
    )
    labels = {
        c.id: f"#{c.id} · {format_date(c.run_on)} · {_trigger(c.trigger)} · {c.title}"
        for c in cares
    }
    ids = list(labels)
    wanted = st.session_state.get(CARE_KEY)
    chosen = st.selectbox(
        t("care.choose_care"),
        ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=labels.__getitem__,
        key="care_choose",
    )
    st.session_state[CARE_KEY] = chosen
    with session_scope(url) as session:
        members = care.care_members(session, chosen)
    selected = next(c for c in cares if c.id == chosen)
    st.dataframe(
        pd.DataFrame(
            {
                t("care.col.contact"): [m.contact_id for m in members],
                t("col.member_no"): [m.member_no for m in members],
                t("care.col.name"): [m.name for m in members],
                t("care.col.status"): [_status(m.status) for m in members],
                t("care.col.contacted_at"): [format_datetime(m.contacted_at) for m in members],
                t("care.col.responded_at"): [format_datetime(m.responded_at) for m in members],
                t("care.col.response"): [m.response or "" for m in members],
                t("care.col.error"): [m.outbox_error or "" for m in members],
            }
        ),
        hide_index=True,
        key="care_members_table",
    )
    _record_form(url, selected, members)


def _record_form(url: str, selected: care.CareRow, members: list[care.CareMemberRow]) -> None:
    open_contacts = {m.contact_id: m for m in members if m.responded_at is None}
    if not open_contacts:
        return
    st.markdown(f"**{t('care.record')}**")
    contact_labels = {
        m.contact_id: f"{m.member_no} · {m.name} · {_status(m.status)}"
        for m in open_contacts.values()
    }
    with st.form("care_record"):
        contact_id = st.selectbox(
            t("care.contact"),
            list(contact_labels),
            format_func=contact_labels.__getitem__,
            key="care_record_contact",
        )
        response = st.text_input(t("care.response"), key="care_record_response")
        left, right = st.columns(2)
        day = left.date_input(t("care.responded_on"), value=_today(), key="care_record_day")
        at = right.time_input(t("care.responded_time"), value=None, key="care_record_time")
        respond = st.form_submit_button(t("care.record_response"), type="primary")
        record_only = selected.channel in care.RECORD_ONLY_CHANNELS
        mark_sent = st.form_submit_button(t("care.mark_sent")) if record_only else False
        mark_failed = st.form_submit_button(t("care.mark_failed")) if record_only else False
    try:
        if respond:
            when = datetime.combine(day, at) if at is not None else None
            if when is None and day != _today():
                when = datetime.combine(day, datetime.min.time().replace(hour=12))
            with session_scope(url) as session:
                result = care.record_response(
                    session, actor, contact_id, response=response, responded_at=when
                )
            message = t("care.responded")
            if result.points:
                message += " " + t(
                    "care.responded_points",
                    points=format_int(result.points),
                    status=t(f"care.points_status.{result.points_status}"),
                )
            _flash("success", message)
            st.rerun()
        if mark_sent or mark_failed:
            with session_scope(url) as session:
                care.mark_result(
                    session, actor, contact_id, status="sent" if mark_sent else "failed"
                )
            _flash("success", t("care.marked", status=_status("sent" if mark_sent else "failed")))
            st.rerun()
    except ServiceError as error:
        show_error(error)


# -- a member's cares ---------------------------------------------------------------------------
def _member_tab(url: str) -> None:
    with st.form("care_member_form"):
        wanted = st.text_input(t("care.member_no"), key="care_member_input")
        show = st.form_submit_button(t("care.member_show"))
    if show and wanted.strip():
        st.session_state[MEMBER_KEY] = wanted.strip()
    member_no = st.session_state.get(MEMBER_KEY)
    if not member_no:
        return
    try:
        with session_scope(url) as session:
            rows = care.member_cares(session, member_no)
    except ServiceError as error:
        show_error(error)
        return
    if not rows:
        st.info(t("care.member_none", member_no=member_no))
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("care.col.run_on"): [format_date(r.run_on) for r in rows],
                t("care.col.trigger"): [_trigger(r.trigger) for r in rows],
                t("care.col.channel"): [_channel(r.channel) for r in rows],
                t("care.col.title"): [r.title for r in rows],
                t("care.col.status"): [_status(r.status) for r in rows],
                t("care.col.responded_at"): [format_datetime(r.responded_at) for r in rows],
                t("care.col.response"): [r.response or "" for r in rows],
            }
        ),
        hide_index=True,
        key="care_member_table",
    )


# -- effect of care -----------------------------------------------------------------------------
def _stats_tab(url: str) -> None:
    today = _today()
    left, right = st.columns(2)
    since = left.date_input(
        t("care.from"), value=today.replace(day=1) - timedelta(days=365), key="care_stats_from"
    )
    until = right.date_input(t("care.to"), value=today, key="care_stats_to")
    with session_scope(url) as session:
        stats = care.care_stats(session, since=since, until=until)
    if not stats.by_trigger:
        st.info(t("care.no_stats"), icon=":material/insights:")
        return
    treated, control = t("care.treated"), t("care.control")
    rates = pd.DataFrame(
        [
            {
                t("care.col.trigger"): _trigger(r.trigger),
                t("care.group"): group,
                t("care.rate"): rate * 100 if rate is not None else None,
                t("care.col.members"): count,
            }
            for r in stats.by_trigger
            for group, rate, count in (
                (treated, r.treated_rate, r.treated),
                (control, r.control_rate, r.control),
            )
        ]
    )
    figure = px.bar(
        rates,
        x=t("care.col.trigger"),
        y=t("care.rate"),
        color=t("care.group"),
        barmode="group",
        hover_data=[t("care.col.members")],
        title=t("care.chart.rates"),
    )
    st.plotly_chart(figure, key="care_rates_chart")
    st.dataframe(
        pd.DataFrame(
            {
                t("care.col.trigger"): [_trigger(r.trigger) for r in stats.by_trigger],
                t("care.col.treated"): [r.treated for r in stats.by_trigger],
                t("care.col.treated_rate"): [_percent(r.treated_rate) for r in stats.by_trigger],
                t("care.col.controls"): [r.control for r in stats.by_trigger],
                t("care.col.control_rate"): [_percent(r.control_rate) for r in stats.by_trigger],
            }
        ),
        hide_index=True,
        key="care_rates_table",
    )
    if stats.by_channel_month:
        shares = pd.DataFrame(
            {
                t("care.month"): [r.month for r in stats.by_channel_month],
                t("care.col.channel"): [_channel(r.channel) for r in stats.by_channel_month],
                t("care.share"): [r.share * 100 for r in stats.by_channel_month],
                t("care.col.contacts"): [r.contacts for r in stats.by_channel_month],
            }
        )
        figure = px.bar(
            shares,
            x=t("care.month"),
            y=t("care.share"),
            color=t("care.col.channel"),
            hover_data=[t("care.col.contacts")],
            title=t("care.chart.shares"),
        )
        st.plotly_chart(figure, key="care_shares_chart")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


# -- the page -----------------------------------------------------------------------------------
actor = require_page("care")
url = get_settings().database_url
st.title(t("care.page_title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    kind, message = flash
    (st.success if kind == "success" else st.warning)(message)

with session_scope(url) as session:
    segments = care.list_segments(session)
    channels = dictionary_codes(session, "care_channel")
    tiers = dictionary_codes(session, "tier")
    regions = dictionary_codes(session, "region")

send_tab, segments_tab, cares_tab, member_tab, stats_tab = st.tabs(
    [
        t("care.tab.send"),
        t("care.tab.segments"),
        t("care.tab.cares"),
        t("care.tab.member"),
        t("care.tab.stats"),
    ]
)
with send_tab:
    _send_tab(url, segments, channels)
with segments_tab:
    _segments_tab(url, segments, tiers, regions)
with cares_tab:
    _cares_tab(url)
with member_tab:
    _member_tab(url)
with stats_tab:
    _stats_tab(url)
