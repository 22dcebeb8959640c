"""Overview (the manager's landing dashboard): headline KPIs with their change versus the
previous period, and monthly trends of members, activity, revenue, points, complaints and care.

Every number obeys the filter bar (period, region, tier, channel): region, tier and channel
choose members (their current region and tier, the channel they joined through), the period the
months (``dashboards.data.overview`` has the definitions). Every signed-in role may open it.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards.charts import (
    data_table,
    format_month,
    kpi_row_compared,
    no_data,
    show,
    style,
)
from dashboards.data import overview as data
from dashboards.filters import (
    default_recent_months,
    filter_bar,
    follow_new_months,
    load,
    publication_caption,
    start_page,
)
from dashboards.i18n import t

PAGE = "overview"
#: The page opens on the last year, compared with the year before.
RECENT_MONTHS = 12
#: chart -> the section of the warehouse it reads
CHARTS = {
    "new_members": "members",
    "active_in_month": "activity",
    "revenue": "revenue",
    "points": "points",
    "complaints": "complaints",
    "care": "care",
}

actor, settings, locale = start_page(PAGE)
st.title(t("overview.title"))
options = load(settings, data.options)
publication_caption(*load(settings, data.publication))
follow_new_months(PAGE, options)
default_recent_months(PAGE, options, RECENT_MONTHS)
filters = filter_bar(
    PAGE,
    options,
    locale,
    channel_kind="application_channel",
    channel_label="dash.filter.application_channel",
)
numbers = load(settings, data.load, filters, options.months)
previous = numbers.previous_period
previous_label = (
    f"{format_month(previous.first, locale)} – {format_month(previous.last, locale)}"
    if previous
    else None
)
kpi_row_compared(
    numbers.kpis,
    numbers.previous,
    locale,
    previous_label=previous_label,
    lower_is_better={"open_complaints_end"},
)
st.caption(
    t("dash.overview.compared", period=previous_label)
    if previous_label
    else t("dash.overview.no_previous")
)
frame = numbers.by_month
months = pd.to_datetime(frame["month"]) if not frame.empty else pd.Series(dtype="datetime64[ns]")


def _unavailable(chart: str) -> bool:
    """Says so when the warehouse lacks the chart's data (or the period has no month)."""
    if CHARTS[chart] in numbers.missing:
        st.caption(t("dash.overview.not_built"))
        return True
    if frame.empty or frame[_first_column(chart)].isna().all():
        no_data()
        return True
    return False


def _first_column(chart: str) -> str:
    return {
        "new_members": "new_members",
        "active_in_month": "active_in_month",
        "revenue": "revenue",
        "points": "points_issued",
        "complaints": "complaints_received",
        "care": "care_contacts",
    }[chart]


def _bars(column: str, name: str, color: str | None = None) -> go.Bar:
    return go.Bar(x=months, y=frame[column], name=name, marker_color=color)


def _line(column: str, name: str, color: str | None = None, **extra) -> go.Scatter:
    return go.Scatter(
        x=months, y=frame[column], name=name, mode="lines+markers", line_color=color, **extra
    )


def _chart(chart: str, traces: list, *, y: str, legend: bool = False, **layout) -> None:
    figure = go.Figure(traces)
    figure.update_layout(showlegend=legend, **layout)
    if legend:
        figure.update_layout(legend={"orientation": "h", "y": -0.2})
    show(style(figure, locale, x="month", y=y, height=320), f"{PAGE}.{chart}")


left, right = st.columns(2)
with left:
    st.subheader(t("dash.overview.new_members"))
    if not _unavailable("new_members"):
        _chart(
            "new_members",
            [
                _bars("new_members", t("dash.col.new_members")),
                _line("total_members", t("dash.col.total_members"), "#888", yaxis="y2"),
            ],
            y="int",
            legend=True,
            yaxis2={"overlaying": "y", "side": "right", "tickformat": ",d", "showgrid": False},
        )
with right:
    st.subheader(t("dash.overview.active_members"))
    if not _unavailable("active_in_month"):
        _chart(
            "active_in_month",
            [_line("active_in_month", t("dash.col.active_members"))],
            y="int",
        )

left, right = st.columns(2)
with left:
    st.subheader(t("dash.overview.revenue"))
    if not _unavailable("revenue"):
        _chart("revenue", [_bars("revenue", t("dash.col.revenue"))], y="money")
with right:
    st.subheader(t("dash.overview.points"))
    if not _unavailable("points"):
        _chart(
            "points",
            [
                _bars("points_issued", t("dash.col.points_issued")),
                _bars("points_redeemed", t("dash.col.points_redeemed")),
            ],
            y="int",
            legend=True,
            barmode="group",
        )

left, right = st.columns(2)
with left:
    st.subheader(t("dash.overview.complaints"))
    if not _unavailable("complaints"):
        _chart(
            "complaints",
            [
                _bars("complaints_received", t("dash.col.complaints_received")),
                _line("complaints_open", t("dash.col.complaints_open"), "#d62728"),
            ],
            y="int",
            legend=True,
        )
with right:
    st.subheader(t("dash.overview.care"))
    if not _unavailable("care"):
        _chart(
            "care",
            [_line("care_response_rate", t("dash.col.care_response_rate"), connectgaps=False)],
            y="percent",
        )

data_table(
    frame.dropna(axis="columns", how="all"),
    [
        ("month", "month"),
        ("new_members", "int"),
        ("total_members", "int"),
        ("active_in_month", "int"),
        ("revenue", "money"),
        ("purchases", "int"),
        ("points_issued", "int"),
        ("points_redeemed", "int"),
        ("complaints_received", "int"),
        ("complaints_open", "int"),
        ("care_contacts", "int"),
        ("care_responded", "int"),
        ("care_response_rate", "percent"),
    ],
    key=f"{PAGE}.by_month",
    locale=locale,
    file_stem="overview_by_month",
    title=t("dash.overview.table"),
)
