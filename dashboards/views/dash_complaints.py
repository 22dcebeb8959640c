"""Complaints dashboard: volume, service levels (closed within the due time), overdue ones, by
type and channel."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards.charts import data_table, kpi_row, no_data, show, style, with_labels
from dashboards.data import complaints as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import t

PAGE = "dash_complaints"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.complaints.title"))
options = load(settings, data.options)
publication_caption(*load(settings, publication))
filters = filter_bar(
    PAGE,
    options,
    locale,
    channel_kind="complaint_channel",
    channel_label="dash.filter.complaint_channel",
)
numbers = load(settings, data.load, filters)
kpi_row(numbers.kpis, locale)
axis = {
    column: t(f"dash.col.{column}")
    for column in (
        "received_month",
        "complaints",
        "status",
        "complaint_type",
        "channel",
        "within_sla_share",
        "open_complaints",
        "overdue_complaints",
    )
}

left, right = st.columns(2)
with left:
    st.subheader(t("dash.complaints.by_month"))
    if numbers.by_month.empty:
        no_data()
    else:
        figure = px.bar(
            with_labels(numbers.by_month, {"status": "complaint_status"}, locale),
            x="received_month",
            y="complaints",
            color="status",
            labels=axis,
        )
        show(style(figure, locale, x="month", y="int", legend=axis["status"]), f"{PAGE}.by_month")
    data_table(
        numbers.by_month,
        [("received_month", "month"), ("status", "label:complaint_status"), ("complaints", "int")],
        key=f"{PAGE}.by_month",
        locale=locale,
        file_stem="complaints_by_month",
    )
with right:
    st.subheader(t("dash.complaints.service"))
    service = numbers.service_by_month.dropna(subset=["within_sla_share"])
    if service.empty:
        no_data()
    else:
        figure = px.line(
            service, x="received_month", y="within_sla_share", markers=True, labels=axis
        )
        show(style(figure, locale, x="month", y="percent"), f"{PAGE}.service")
    data_table(
        numbers.service_by_month,
        [
            ("received_month", "month"),
            ("closed_complaints", "int"),
            ("closed_within_sla", "int"),
            ("within_sla_share", "percent"),
            ("average_hours_to_close", "number"),
        ],
        key=f"{PAGE}.service",
        locale=locale,
        file_stem="complaint_service_levels",
    )

left, right = st.columns(2)
for column, frame, code, kind, name in (
    (left, numbers.by_type, "complaint_type", "complaint_type", "by_type"),
    (right, numbers.by_channel, "channel", "complaint_channel", "by_channel"),
):
    with column:
        st.subheader(t(f"dash.complaints.{name}"))
        if frame.empty:
            no_data()
        else:
            labelled = with_labels(frame, {code: kind}, locale)
            long = labelled.melt(
                id_vars=[code],
                value_vars=["complaints", "open_complaints", "overdue_complaints"],
                var_name="measure",
                value_name="count",
            )
            long["measure"] = [axis[measure] for measure in long["measure"]]
            figure = px.bar(
                long,
                x=code,
                y="count",
                color="measure",
                barmode="group",
                labels={code: axis[code], "count": axis["complaints"]},
            )
            show(style(figure, locale, y="int", legend=""), f"{PAGE}.{name}")
        spec = [
            (code, f"label:{kind}"),
            ("complaints", "int"),
            ("open_complaints", "int"),
            ("overdue_complaints", "int"),
        ]
        if "within_sla_share" in frame:
            spec.append(("within_sla_share", "percent"))
        data_table(frame, spec, key=f"{PAGE}.{name}", locale=locale, file_stem=f"complaints_{name}")

st.subheader(t("dash.complaints.overdue", count=len(numbers.overdue)))
data_table(
    numbers.overdue,
    [
        ("complaint_no", "text"),
        ("member_no", "text"),
        ("complaint_type", "label:complaint_type"),
        ("channel", "label:complaint_channel"),
        ("importance", "label:importance"),
        ("status", "label:complaint_status"),
        ("received_at", "datetime"),
        ("due_at", "datetime"),
        ("steps_count", "int"),
    ],
    key=f"{PAGE}.overdue",
    locale=locale,
    file_stem="complaints_overdue",
    expanded=True,
    title=t("dash.complaints.overdue_title"),
)
