"""Points dashboard: points issued, redeemed and expired each month, and the outstanding
liability (in points and in yuan)."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards.charts import data_table, kpi_row, no_data, show, style, with_labels
from dashboards.data import points as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import t

PAGE = "dash_points"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.points.title"))
options = load(settings, data.options)
publication_caption(*load(settings, publication))
filters = filter_bar(
    PAGE,
    options,
    locale,
    channel_kind="application_channel",
    channel_label="dash.filter.application_channel",
)
numbers = load(settings, data.load, filters)
kpi_row(numbers.kpis, locale)

st.subheader(t("dash.points.by_month"))
monthly = numbers.by_month
if monthly.empty:
    no_data()
else:
    figure = go.Figure()
    for column, sign in (("issued", 1), ("redeemed", -1), ("expired", -1)):
        figure.add_bar(
            x=monthly["points_month"], y=monthly[column] * sign, name=t(f"dash.col.{column}")
        )
    figure.add_scatter(
        x=monthly["points_month"],
        y=monthly["outstanding"],
        name=t("dash.col.outstanding"),
        mode="lines+markers",
        yaxis="y2",
    )
    figure.update_layout(
        barmode="relative",
        yaxis={"title": t("dash.col.points_per_month")},
        yaxis2={
            "title": t("dash.col.outstanding"),
            "overlaying": "y",
            "side": "right",
            "tickformat": ",d",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.15},
    )
    show(style(figure, locale, x="month", y="int", height=420), f"{PAGE}.by_month")
data_table(
    monthly,
    [
        ("points_month", "month"),
        ("issued", "int"),
        ("redeemed", "int"),
        ("expired", "int"),
        ("net_change", "int"),
        ("outstanding", "int"),
    ],
    key=f"{PAGE}.by_month",
    locale=locale,
    file_stem="points_by_month",
)

left, right = st.columns(2)
with left:
    st.subheader(t("dash.points.by_event"))
    if numbers.by_event.empty:
        no_data()
    else:
        frame = with_labels(numbers.by_event, {"event_type": "event_type"}, locale)
        long = frame.melt(
            id_vars=["event_type"],
            value_vars=["issued", "spent"],
            var_name="direction",
            value_name="points",
        )
        long["direction"] = [t(f"dash.col.{name}") for name in long["direction"]]
        figure = px.bar(
            long,
            x="points",
            y="event_type",
            color="direction",
            orientation="h",
            barmode="group",
            labels={"points": t("dash.col.points"), "event_type": t("dash.col.event_type")},
        )
        show(style(figure, locale, x="int", legend=""), f"{PAGE}.by_event")
    data_table(
        numbers.by_event,
        [("event_type", "label:event_type"), ("issued", "int"), ("spent", "int")],
        key=f"{PAGE}.by_event",
        locale=locale,
        file_stem="points_by_event",
    )
with right:
    st.subheader(t("dash.points.by_tier"))
    if numbers.outstanding_by_tier.empty:
        no_data()
    else:
        figure = px.pie(
            with_labels(numbers.outstanding_by_tier, {"tier": "tier"}, locale),
            names="tier",
            values="outstanding",
            hole=0.5,
            labels={"tier": t("dash.col.tier"), "outstanding": t("dash.col.outstanding")},
        )
        figure.update_traces(texttemplate="%{label}<br>%{value:,d}")
        show(style(figure, locale, legend=t("dash.col.tier")), f"{PAGE}.by_tier")
    data_table(
        numbers.outstanding_by_tier,
        [("tier", "label:tier"), ("outstanding", "int"), ("members", "int")],
        key=f"{PAGE}.by_tier",
        locale=locale,
        file_stem="points_outstanding_by_tier",
    )
