"""Care dashboard: response rates of treated members against the random control group, and the
effect of care with its 95% interval."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards.charts import (
    data_table,
    format_percent,
    kpi_row,
    label,
    no_data,
    show,
    style,
    with_labels,
)
from dashboards.data import care as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import t

PAGE = "dash_care"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.care.title"))
options = load(settings, data.options)
publication_caption(*load(settings, publication))
filters = filter_bar(
    PAGE, options, locale, channel_kind="care_channel", channel_label="dash.filter.care_channel"
)
numbers = load(settings, data.load, filters)
kpi_row(numbers.kpis, locale)
lower, upper = numbers.effect_interval
if lower is not None and upper is not None:
    st.caption(
        t("dash.care.interval", lower=f"{lower * 100:+.1f}", upper=f"{upper * 100:+.1f}")
        + " "
        + t("dash.care.significant" if lower > 0 or upper < 0 else "dash.care.not_significant")
    )
else:
    st.caption(t("dash.care.no_control"))

st.subheader(t("dash.care.by_month"))
if numbers.by_month.empty:
    no_data()
else:
    frame = with_labels(numbers.by_month, {"arm": "arm"}, locale)
    figure = px.line(
        frame,
        x="contact_month",
        y="response_rate",
        color="arm",
        markers=True,
        labels={
            "contact_month": t("dash.col.contact_month"),
            "response_rate": t("dash.col.response_rate"),
            "arm": t("dash.col.arm"),
        },
    )
    show(
        style(figure, locale, x="month", y="percent", legend=t("dash.col.arm")), f"{PAGE}.by_month"
    )
data_table(
    numbers.by_month,
    [
        ("contact_month", "month"),
        ("arm", "label:arm"),
        ("contacts", "int"),
        ("responded", "int"),
        ("response_rate", "percent"),
    ],
    key=f"{PAGE}.by_month",
    locale=locale,
    file_stem="care_response_by_month",
)

left, right = st.columns(2)
with left:
    st.subheader(t("dash.care.effect"))
    effect = numbers.effect_by_trigger.dropna(subset=["difference"])
    if effect.empty:
        no_data()
    else:
        names = [label("care_trigger", code, locale) for code in effect["care_trigger"]]
        figure = go.Figure(
            go.Bar(
                x=names,
                y=effect["difference"],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": effect["ci_upper"] - effect["difference"],
                    "arrayminus": effect["difference"] - effect["ci_lower"],
                },
                hovertemplate="%{x}: %{y:+.1%}<extra></extra>",
                name=t("dash.col.difference"),
            )
        )
        figure.update_layout(
            yaxis_title=t("dash.col.difference"), xaxis_title=t("dash.col.care_trigger")
        )
        figure.add_hline(y=0, line_width=1, line_color="gray")
        show(style(figure, locale, y="percent"), f"{PAGE}.effect")
    data_table(
        numbers.effect_by_trigger,
        [
            ("care_trigger", "label:care_trigger"),
            ("treated_contacts", "int"),
            ("control_contacts", "int"),
            ("treated_response_rate", "percent"),
            ("control_response_rate", "percent"),
            ("difference", "percent"),
            ("ci_lower", "percent"),
            ("ci_upper", "percent"),
        ],
        key=f"{PAGE}.effect",
        locale=locale,
        file_stem="care_effect_by_trigger",
    )
with right:
    st.subheader(t("dash.care.by_channel"))
    if numbers.by_channel.empty:
        no_data()
    else:
        frame = with_labels(numbers.by_channel, {"contact_channel": "care_channel"}, locale)
        figure = px.bar(
            frame,
            x="contact_channel",
            y="response_rate",
            text=[format_percent(v) for v in frame["response_rate"]],
            labels={
                "contact_channel": t("dash.col.contact_channel"),
                "response_rate": t("dash.col.response_rate"),
            },
        )
        show(style(figure, locale, y="percent"), f"{PAGE}.by_channel")
    data_table(
        numbers.by_channel,
        [
            ("contact_channel", "label:care_channel"),
            ("treated_contacts", "int"),
            ("responded", "int"),
            ("response_rate", "percent"),
            ("failed_contacts", "int"),
        ],
        key=f"{PAGE}.by_channel",
        locale=locale,
        file_stem="care_response_by_channel",
    )
