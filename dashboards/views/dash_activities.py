"""Activities dashboard: attendance against plan, cost per attendee, cost against budget."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards.charts import data_table, kpi_row, no_data, show, style, with_labels
from dashboards.data import activities as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import t

PAGE = "dash_activities"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.activities.title"))
options = load(settings, data.options)
publication_caption(*load(settings, publication))
filters = filter_bar(
    PAGE,
    options,
    locale,
    channel_kind="activity_type",
    channel_label="dash.filter.activity_type",
    tier=False,
)
st.caption(t("dash.activities.scope"))
numbers = load(settings, data.load, filters)
kpi_row(numbers.kpis, locale)
monthly = numbers.by_month

left, right = st.columns(2)
with left:
    st.subheader(t("dash.activities.headcount"))
    if monthly.empty:
        no_data()
    else:
        figure = go.Figure()
        figure.add_bar(
            x=monthly["activity_month"],
            y=monthly["expected_headcount"],
            name=t("dash.col.expected_headcount"),
        )
        figure.add_bar(
            x=monthly["activity_month"], y=monthly["attendees"], name=t("dash.col.attendees")
        )
        figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.2})
        show(style(figure, locale, x="month", y="int"), f"{PAGE}.headcount")
with right:
    st.subheader(t("dash.activities.cost"))
    if monthly.empty:
        no_data()
    else:
        figure = go.Figure()
        figure.add_bar(
            x=monthly["activity_month"],
            y=monthly["expected_cost"],
            name=t("dash.col.expected_cost"),
        )
        figure.add_bar(
            x=monthly["activity_month"], y=monthly["actual_cost"], name=t("dash.col.actual_cost")
        )
        figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.2})
        show(style(figure, locale, x="month", y="money"), f"{PAGE}.cost")
data_table(
    monthly,
    [
        ("activity_month", "month"),
        ("activities", "int"),
        ("expected_headcount", "int"),
        ("attendees", "int"),
        ("expected_cost", "money"),
        ("actual_cost", "money"),
    ],
    key=f"{PAGE}.by_month",
    locale=locale,
    file_stem="activities_by_month",
)

st.subheader(t("dash.activities.by_type"))
if numbers.by_type.empty:
    no_data()
else:
    frame = with_labels(numbers.by_type, {"activity_type": "activity_type"}, locale)
    long = frame.melt(
        id_vars=["activity_type"],
        value_vars=["planned_cost_per_attendee", "cost_per_attendee"],
        var_name="measure",
        value_name="yuan",
    )
    long["measure"] = [t(f"dash.col.{name}") for name in long["measure"]]
    figure = px.bar(
        long,
        x="activity_type",
        y="yuan",
        color="measure",
        barmode="group",
        labels={"activity_type": t("dash.col.activity_type"), "yuan": t("dash.col.yuan")},
    )
    show(style(figure, locale, y="money", legend=""), f"{PAGE}.by_type")
data_table(
    numbers.by_type,
    [
        ("activity_type", "label:activity_type"),
        ("activities", "int"),
        ("attendees", "int"),
        ("actual_cost", "money"),
        ("cost_per_attendee", "money"),
        ("planned_cost_per_attendee", "money"),
    ],
    key=f"{PAGE}.by_type",
    locale=locale,
    file_stem="activities_by_type",
)

st.subheader(t("dash.activities.list", count=data.ACTIVITY_ROWS))
data_table(
    numbers.activities,
    [
        ("activity_code", "text"),
        ("activity_name", "text"),
        ("activity_type", "label:activity_type"),
        ("region", "label:region"),
        ("status", "label:activity_status"),
        ("activity_month", "month"),
        ("expected_headcount", "int"),
        ("attendees", "int"),
        ("headcount_attainment", "percent"),
        ("expected_cost", "money"),
        ("actual_cost", "money"),
        ("cost_difference", "money"),
        ("cost_per_attendee", "money"),
    ],
    key=f"{PAGE}.activities",
    locale=locale,
    file_stem="activities_plan_vs_actual",
    expanded=True,
    title=t("dash.activities.list_title"),
)
