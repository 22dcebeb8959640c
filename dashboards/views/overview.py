"""Overview dashboard: headline KPIs, joins per month by tier, members by region."""

from __future__ import annotations

import duckdb
import pandas as pd
import plotly.express as px
import streamlit as st

from clubcrm.published import NoPublishedWarehouse
from clubcrm.settings import Settings, get_settings
from dashboards.auth import require_page
from dashboards.charts import ensure_catalog
from dashboards.data.overview import OverviewData, load_published_overview, published_version
from dashboards.i18n import (
    current_locale,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    format_money,
    t,
)


@st.cache_data(ttl=60, show_spinner=False)
def _overview(published_file: str, _settings: Settings) -> OverviewData:  # noqa: ARG001
    """Cached per published file: a new publish (a new file) shows at once."""
    return load_published_overview(_settings)


def _kpis(data: OverviewData) -> None:
    kpis = data.kpis
    tiles = [
        ("kpi.total_members", format_int(kpis.total_members), "kpi.help.total_members"),
        ("kpi.active_members", format_int(kpis.active_members), None),
        ("kpi.purchases", format_int(kpis.purchases), None),
        ("kpi.revenue", format_money(kpis.revenue), "kpi.help.revenue"),
        (
            "kpi.points_outstanding",
            format_int(kpis.points_outstanding),
            "kpi.help.points_outstanding",
        ),
        ("kpi.open_complaints", format_int(kpis.open_complaints), "kpi.help.open_complaints"),
    ]
    for row in (tiles[:3], tiles[3:]):
        for column, (label, value, help_key) in zip(st.columns(3), row, strict=True):
            column.metric(t(label), value, help=t(help_key) if help_key else None, border=True)


def _with_labels(frame: pd.DataFrame, locale: str) -> pd.DataFrame:
    """Tier and region codes replaced by their names in ``locale``."""
    labelled = frame.copy()
    labelled["tier"] = [dictionary_label("tier", code, locale) for code in labelled["tier"]]
    if "region" in labelled:
        name_column = "region_name_en" if locale == "en_US" else "region_name_zh"
        names = labelled[name_column] if name_column in labelled else [None] * len(labelled)
        labelled["region"] = [
            name if isinstance(name, str) and name else _region_label(code, locale)
            for code, name in zip(labelled["region"], names, strict=True)
        ]
    return labelled


def _region_label(code: str | None, locale: str) -> str:
    if code in (None, "", "unknown"):
        return t("chart.unknown_region")
    return dictionary_label("region", code, locale)


def _joins_chart(data: OverviewData, locale: str) -> None:
    st.subheader(t("chart.joins_by_month"))
    if data.joins_by_month.empty:
        st.caption(t("chart.no_data"))
        return
    figure = px.bar(
        _with_labels(data.joins_by_month, locale),
        x="join_month",
        y="members",
        color="tier",
        labels={
            "join_month": t("chart.month"),
            "members": t("chart.members"),
            "tier": t("chart.tier"),
        },
    )
    figure.update_layout(barmode="stack", legend_title_text=t("chart.tier"), margin={"t": 10})
    figure.update_xaxes(tickformat="%Y-%m")
    figure.update_yaxes(tickformat=",d")
    st.plotly_chart(figure, key="joins_by_month")


def _region_chart(data: OverviewData, locale: str) -> None:
    st.subheader(t("chart.by_region"))
    if data.by_region.empty:
        st.caption(t("chart.no_data"))
        return
    frame = _with_labels(data.by_region, locale)
    figure = px.bar(
        frame,
        x="members",
        y="region",
        color="tier",
        orientation="h",
        labels={
            "members": t("chart.members"),
            "region": t("chart.region"),
            "tier": t("chart.tier"),
        },
        category_orders={"region": list(dict.fromkeys(frame["region"]))},
    )
    figure.update_layout(barmode="stack", legend_title_text=t("chart.tier"), margin={"t": 10})
    figure.update_xaxes(tickformat=",d")
    st.plotly_chart(figure, key="members_by_region")


require_page("overview")
# The dashboards' menu labels, should the catalogue list not load them yet (the default page).
ensure_catalog()
settings = get_settings()
locale = current_locale()
st.title(t("overview.title"))
try:
    overview = _overview(published_version(settings), settings)
except NoPublishedWarehouse:
    st.info(t("overview.no_warehouse"), icon=":material/info:")
    st.stop()
except duckdb.Error as exc:
    st.error(t("overview.load_failed", error=exc), icon=":material/error:")
    st.stop()

if overview.published_at is not None:
    caption = t("overview.published_at", when=format_datetime(overview.published_at))
    if overview.as_of is not None:
        caption += " · " + t("overview.as_of", day=format_date(overview.as_of))
    st.caption(caption)
_kpis(overview)
left, right = st.columns([3, 2])
with left:
    _joins_chart(overview, locale)
with right:
    _region_chart(overview, locale)
