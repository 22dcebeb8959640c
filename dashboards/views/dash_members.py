"""Members dashboard: who our members are, where they live, the tier mix and joins over time."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards.charts import data_table, kpi_row, no_data, show, style, with_labels
from dashboards.data import members as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import t

PAGE = "dash_members"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.members.title"))
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
axis = {
    "join_month": t("dash.col.join_month"),
    "members": t("dash.col.members"),
    "tier": t("dash.col.tier"),
    "region": t("dash.col.region"),
    "age_band": t("dash.col.age_band"),
    "gender": t("dash.col.gender"),
    "channel": t("dash.col.channel"),
}

left, right = st.columns([3, 2])
with left:
    st.subheader(t("dash.members.joins"))
    if numbers.joins_by_month.empty:
        no_data()
    else:
        figure = px.bar(
            with_labels(numbers.joins_by_month, {"tier": "tier"}, locale),
            x="join_month",
            y="members",
            color="tier",
            labels=axis,
        )
        show(style(figure, locale, x="month", y="int", legend=axis["tier"]), f"{PAGE}.joins")
    data_table(
        numbers.joins_by_month,
        [("join_month", "month"), ("tier", "label:tier"), ("members", "int")],
        key=f"{PAGE}.joins",
        locale=locale,
        file_stem="members_joined_by_month",
    )
with right:
    st.subheader(t("dash.members.tier_mix"))
    if numbers.tier_mix.empty:
        no_data()
    else:
        figure = px.pie(
            with_labels(numbers.tier_mix, {"tier": "tier"}, locale),
            names="tier",
            values="members",
            hole=0.5,
            labels=axis,
        )
        figure.update_traces(textinfo="percent+label", texttemplate="%{label}<br>%{percent:.1%}")
        show(style(figure, locale, legend=axis["tier"]), f"{PAGE}.tier_mix")
    data_table(
        numbers.tier_mix,
        [("tier", "label:tier"), ("members", "int"), ("active_members", "int")],
        key=f"{PAGE}.tier_mix",
        locale=locale,
        file_stem="members_by_tier",
    )

st.subheader(t("dash.members.by_region"))
if numbers.by_region.empty:
    no_data()
else:
    frame = with_labels(numbers.by_region, {"tier": "tier", "region": "region"}, locale)
    figure = px.bar(
        frame,
        x="members",
        y="region",
        color="tier",
        orientation="h",
        labels=axis,
        category_orders={"region": list(dict.fromkeys(frame["region"]))},
    )
    show(style(figure, locale, x="int", legend=axis["tier"], height=420), f"{PAGE}.by_region")
data_table(
    numbers.by_region,
    [
        ("region", "label:region"),
        ("tier", "label:tier"),
        ("members", "int"),
        ("active_members", "int"),
    ],
    key=f"{PAGE}.by_region",
    locale=locale,
    file_stem="members_by_region",
)

left, right = st.columns(2)
with left:
    st.subheader(t("dash.members.age_gender"))
    if numbers.age_gender.empty:
        no_data()
    else:
        figure = px.bar(
            with_labels(numbers.age_gender, {"gender": "gender", "age_band": "age_band"}, locale),
            x="age_band",
            y="members",
            color="gender",
            barmode="group",
            labels=axis,
        )
        show(style(figure, locale, y="int", legend=axis["gender"]), f"{PAGE}.age_gender")
    data_table(
        numbers.age_gender,
        [("age_band", "label:age_band"), ("gender", "label:gender"), ("members", "int")],
        key=f"{PAGE}.age_gender",
        locale=locale,
        file_stem="members_by_age_gender",
    )
with right:
    st.subheader(t("dash.members.by_channel"))
    if numbers.by_channel.empty:
        no_data()
    else:
        figure = px.bar(
            with_labels(numbers.by_channel, {"channel": "application_channel"}, locale),
            x="channel",
            y="members",
            labels=axis,
        )
        show(style(figure, locale, y="int"), f"{PAGE}.by_channel")
    data_table(
        numbers.by_channel,
        [("channel", "label:application_channel"), ("members", "int")],
        key=f"{PAGE}.by_channel",
        locale=locale,
        file_stem="members_by_channel",
    )
