"""Sales dashboard: revenue by month and channel, product, region and salesperson, and why
revenue per member moved year over year (mix vs rate by tier)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards.charts import (
    data_table,
    format_month,
    kpi_row,
    no_data,
    show,
    style,
    with_labels,
)
from dashboards.data import purchases as data
from dashboards.data.overview import publication
from dashboards.filters import filter_bar, load, publication_caption, start_page
from dashboards.i18n import t

PAGE = "dash_purchases"
actor, settings, locale = start_page(PAGE)
st.title(t("dash.purchases.title"))
options = load(settings, data.options)
publication_caption(*load(settings, publication))
filters = filter_bar(
    PAGE, options, locale, channel_kind="sales_channel", channel_label="dash.filter.sales_channel"
)
numbers = load(settings, data.load, filters)
kpi_row(numbers.kpis, locale)
axis = {
    column: t(f"dash.col.{column}")
    for column in ("purchase_month", "amount", "channel", "product", "region", "salesperson")
}

st.subheader(t("dash.purchases.by_month"))
if numbers.by_month.empty:
    no_data()
else:
    figure = px.bar(
        with_labels(numbers.by_month, {"channel": "sales_channel"}, locale),
        x="purchase_month",
        y="amount",
        color="channel",
        labels=axis,
    )
    show(style(figure, locale, x="month", y="money", legend=axis["channel"]), f"{PAGE}.by_month")
data_table(
    numbers.by_month,
    [
        ("purchase_month", "month"),
        ("channel", "label:sales_channel"),
        ("purchases", "int"),
        ("amount", "money"),
        ("paid_amount", "money"),
    ],
    key=f"{PAGE}.by_month",
    locale=locale,
    file_stem="revenue_by_month",
)

left, right = st.columns(2)
with left:
    st.subheader(t("dash.purchases.by_product"))
    if numbers.by_product.empty:
        no_data()
    else:
        figure = px.bar(
            numbers.by_product,
            x="amount",
            y="product",
            orientation="h",
            labels=axis,
            category_orders={"product": list(numbers.by_product["product"])},
        )
        show(style(figure, locale, x="money"), f"{PAGE}.by_product")
    data_table(
        numbers.by_product,
        [("product", "text"), ("purchases", "int"), ("quantity", "int"), ("amount", "money")],
        key=f"{PAGE}.by_product",
        locale=locale,
        file_stem="revenue_by_product",
    )
with right:
    st.subheader(t("dash.purchases.by_region"))
    if numbers.by_region.empty:
        no_data()
    else:
        frame = with_labels(numbers.by_region, {"region": "region"}, locale)
        figure = px.bar(
            frame,
            x="amount",
            y="region",
            orientation="h",
            labels=axis,
            category_orders={"region": list(frame["region"])},
        )
        show(style(figure, locale, x="money"), f"{PAGE}.by_region")
    data_table(
        numbers.by_region,
        [("region", "label:region"), ("purchases", "int"), ("amount", "money")],
        key=f"{PAGE}.by_region",
        locale=locale,
        file_stem="revenue_by_region",
    )

st.subheader(t("dash.purchases.by_salesperson", count=data.TOP_SALESPEOPLE))
if numbers.by_salesperson.empty:
    no_data()
else:
    top = numbers.by_salesperson.head(data.TOP_SALESPEOPLE)
    figure = px.bar(
        top,
        x="salesperson",
        y="amount",
        labels=axis,
        category_orders={"salesperson": list(top["salesperson"])},
    )
    show(style(figure, locale, y="money"), f"{PAGE}.by_salesperson")
data_table(
    numbers.by_salesperson,
    [("salesperson", "text"), ("purchases", "int"), ("buying_members", "int"), ("amount", "money")],
    key=f"{PAGE}.by_salesperson",
    locale=locale,
    file_stem="revenue_by_salesperson",
)

st.subheader(t("dash.purchases.change"))
st.caption(t("dash.purchases.no_plan"))
change = numbers.revenue_per_member
if change.empty:
    no_data()
else:
    first = change.iloc[0]
    st.markdown(
        t(
            "dash.purchases.change_summary",
            month=format_month(first["period_month"], locale),
            prior=format_month(first["prior_month"], locale),
            now=f"¥{float(first['overall_revenue_per_member'] or 0):,.2f}",
            before=f"¥{float(first['prior_overall_revenue_per_member'] or 0):,.2f}",
            change=f"¥{float(first['overall_change'] or 0):+,.2f}",
        )
    )
    long = change.melt(
        id_vars=["tier"],
        value_vars=["mix_effect", "rate_effect"],
        var_name="effect",
        value_name="yuan_per_member",
    )
    long["effect"] = [t(f"dash.col.{name}") for name in long["effect"]]
    figure = px.bar(
        with_labels(long, {"tier": "tier"}, locale),
        x="tier",
        y="yuan_per_member",
        color="effect",
        barmode="relative",
        labels={"tier": t("dash.col.tier"), "yuan_per_member": t("dash.col.yuan_per_member")},
    )
    show(style(figure, locale, y="money", legend=t("dash.col.effect")), f"{PAGE}.change")
data_table(
    change,
    [
        ("tier", "label:tier"),
        ("period_month", "month"),
        ("prior_month", "month"),
        ("members", "int"),
        ("prior_members", "int"),
        ("revenue", "money"),
        ("prior_revenue", "money"),
        ("revenue_per_member", "money"),
        ("prior_revenue_per_member", "money"),
        ("mix_effect", "money"),
        ("rate_effect", "money"),
        ("total_effect", "money"),
    ],
    key=f"{PAGE}.change",
    locale=locale,
    file_stem="revenue_per_member_change",
)
