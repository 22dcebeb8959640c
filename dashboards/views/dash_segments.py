"""Segments dashboard: RFM segments, ABC / Pareto, loyalty stages, and the value-changing and
problem members (thank the first, talk to the last)."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards.charts import data_table, kpi_row, no_data, show, style, with_labels
from dashboards.data import segments as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import format_date, t

PAGE = "dash_segments"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.segments.title"))
options = load(settings, data.options)
publication_caption(*load(settings, publication))
filters = filter_bar(
    PAGE,
    options,
    locale,
    channel_kind="application_channel",
    channel_label="dash.filter.application_channel",
    period=False,
)
numbers = load(settings, data.load, filters)
start, end = numbers.window
if start is not None and end is not None:
    st.caption(t("dash.segments.window", start=format_date(start), end=format_date(end)))
kpi_row(numbers.kpis, locale)

left, right = st.columns(2)
with left:
    st.subheader(t("dash.segments.rfm"))
    if numbers.rfm.empty:
        no_data()
    else:
        frame = with_labels(numbers.rfm, {"rfm_segment": "rfm_segment"}, locale)
        figure = px.bar(
            frame,
            x="members",
            y="rfm_segment",
            orientation="h",
            category_orders={"rfm_segment": list(frame["rfm_segment"])},
            labels={"members": t("dash.col.members"), "rfm_segment": t("dash.col.rfm_segment")},
        )
        show(style(figure, locale, x="int"), f"{PAGE}.rfm")
    data_table(
        numbers.rfm,
        [("rfm_segment", "label:rfm_segment"), ("members", "int"), ("monetary", "money")],
        key=f"{PAGE}.rfm",
        locale=locale,
        file_stem="rfm_segments",
    )
with right:
    st.subheader(t("dash.segments.pareto"))
    if numbers.pareto.empty:
        no_data()
    else:
        figure = go.Figure(
            go.Scatter(
                x=numbers.pareto["member_share"],
                y=numbers.pareto["revenue_share"],
                mode="lines",
                fill="tozeroy",
                name=t("dash.col.revenue_share"),
            )
        )
        figure.add_hline(y=0.8, line_dash="dot", line_color="gray")
        figure.update_layout(
            xaxis_title=t("dash.col.member_share"), yaxis_title=t("dash.col.revenue_share")
        )
        show(style(figure, locale, x="percent", y="percent"), f"{PAGE}.pareto")
    data_table(
        numbers.abc,
        [("abc_class", "label:abc_class"), ("members", "int"), ("revenue", "money")],
        key=f"{PAGE}.abc",
        locale=locale,
        file_stem="abc_classes",
    )

left, right = st.columns(2)
with left:
    st.subheader(t("dash.segments.loyalty"))
    if numbers.loyalty.empty:
        no_data()
    else:
        figure = px.pie(
            with_labels(numbers.loyalty, {"loyalty_stage": "loyalty_stage"}, locale),
            names="loyalty_stage",
            values="members",
            hole=0.5,
            labels={"loyalty_stage": t("dash.col.loyalty_stage"), "members": t("dash.col.members")},
        )
        show(style(figure, locale, legend=t("dash.col.loyalty_stage")), f"{PAGE}.loyalty")
    data_table(
        numbers.loyalty,
        [("loyalty_stage", "label:loyalty_stage"), ("members", "int"), ("revenue_365d", "money")],
        key=f"{PAGE}.loyalty",
        locale=locale,
        file_stem="loyalty_stages",
    )
with right:
    st.subheader(t("dash.segments.value_trend"))
    if numbers.value_trend.empty:
        no_data()
    else:
        frame = with_labels(numbers.value_trend, {"value_trend": "value_trend"}, locale)
        figure = px.bar(
            frame,
            x="value_trend",
            y=["members", "problem_members"],
            barmode="group",
            labels={"value_trend": t("dash.col.value_trend"), "value": t("dash.col.members")},
        )
        figure.for_each_trace(lambda trace: trace.update(name=t(f"dash.col.{trace.name}")))
        show(style(figure, locale, y="int", legend=""), f"{PAGE}.value_trend")
    data_table(
        numbers.value_trend,
        [("value_trend", "label:value_trend"), ("members", "int"), ("problem_members", "int")],
        key=f"{PAGE}.value_trend",
        locale=locale,
        file_stem="value_trends",
    )

st.subheader(t("dash.segments.changing", count=len(numbers.changing)))
st.caption(t("dash.segments.changing_hint"))
data_table(
    numbers.changing,
    [
        ("member_no", "text"),
        ("tier", "label:tier"),
        ("region", "label:region"),
        ("value_trend", "label:value_trend"),
        ("revenue_prior_365d", "money"),
        ("revenue_365d", "money"),
        ("revenue_change", "money"),
        ("revenue_change_ratio", "percent"),
        ("is_value_member", "bool"),
        ("problem_reason", "label:problem_reason"),
    ],
    key=f"{PAGE}.changing",
    locale=locale,
    file_stem="value_changing_members",
    expanded=True,
    title=t("dash.segments.changing_title"),
)
