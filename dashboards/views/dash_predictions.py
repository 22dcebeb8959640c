"""Predictions dashboard: members at risk of leaving (with the reasons), likely buyers, and who
responds to care, as lists to act on, with CSV and Excel export.

The prediction marts come from the pipeline's scoring step; until a run has scored members, the
page says so and how to get them.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards.charts import data_table, kpi_row, show, style
from dashboards.data import predictions as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import format_date, t

PAGE = "dash_predictions"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.predictions.title"))
publication_caption(*load(settings, publication))
tables = load(settings, data.available)
if not tables:
    st.info(t("dash.predictions.none"), icon=":material/info:")
    st.stop()
options = load(settings, data.options)
filters = filter_bar(
    PAGE,
    options,
    locale,
    channel_kind="application_channel",
    channel_label="dash.filter.application_channel",
    period=False,
)
top = st.select_slider(
    t("dash.predictions.top"),
    options=[50, 100, 200, 500, 1000, 2000, 5000],
    value=200,
    key=f"{PAGE}.top",
)
lists = load(settings, data.load_lists, tuple(tables), filters, top)

for tab, table in zip(
    st.tabs([t(f"dash.predictions.{name}") for name in data.TABLES]), data.TABLES, strict=True
):
    with tab:
        if table not in tables:
            st.info(
                t("dash.predictions.table_missing", table=f"prediction.{table}"),
                icon=":material/info:",
            )
            continue
        scores = lists[table]
        st.caption(
            t(
                "dash.predictions.as_of",
                as_of=format_date(scores.as_of),
                version=scores.model_version or "–",
            )
            + " "
            + t(f"dash.predictions.explain.{table}")
        )
        kpi_row(scores.kpis, locale)
        if not scores.distribution.empty:
            figure = px.bar(
                scores.distribution,
                x="band",
                y="members",
                labels={"band": t("dash.col.probability"), "members": t("dash.col.members")},
            )
            figure.update_traces(hovertemplate="%{x:.0%}–: %{y:,d}<extra></extra>")
            figure.update_xaxes(tickformat=".0%", dtick=0.1)
            show(style(figure, locale, y="int", height=260), f"{PAGE}.{table}.distribution")
        spec = [
            ("member_no", "text"),
            ("tier", "label:tier"),
            ("region", "label:region"),
            ("status", "label:member_status"),
            ("probability", "percent"),
        ]
        if "uplift" in scores.members:
            spec.append(("uplift", "percent"))
        spec += [("top_reasons", "text"), ("as_of", "date"), ("model_version", "text")]
        data_table(
            scores.members,
            spec,
            key=f"{PAGE}.{table}",
            locale=locale,
            file_stem=f"prediction_{table}",
            expanded=True,
            title=t("dash.predictions.list", count=len(scores.members)),
        )
