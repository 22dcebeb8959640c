"""Numbers of the Purchases dashboard: revenue by month, product, channel, region, salesperson,
and why revenue per member moved (the analysis mart's mix/rate decomposition).

Filters: the period applies to the club-local month of the purchase, region to the region of
the sale, channel to the sales channel, tier to the buying member's current tier (a purchase by
a non-member has no tier, so it drops out once a tier is chosen). Aggregated in DuckDB over
``core.fct_purchases`` (amounts include returns, as in ``reporting.purchases_by_month``).

Sales *plans* are not recorded in the operational data (no table holds targets; see
``analysis_activity_plan_vs_actual``), so the page compares actual revenue per member with the
same month a year before, decomposed by segment, instead of a plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from dashboards.data.filtering import (
    Columns,
    FilterOptions,
    Filters,
    Kpi,
    distinct_codes,
    local_day,
    local_month,
    month_of_day,
    month_range,
    query,
    ratio,
    region_names,
    table_exists,
    where,
)

COLUMNS = Columns(
    time="purchases.purchased_at",
    region="purchases.region",
    tier="members.tier",
    channel="purchases.channel",
)


def _source(filters: Filters) -> str:
    """The facts, joined to the members only when a filter needs them (the join is most of
    the cost on a large warehouse)."""
    if filters.tiers:
        return """core.fct_purchases as purchases
    left join core.dim_members as members on members.member_no = purchases.member_no"""
    return "core.fct_purchases as purchases"


#: Salespeople shown in the chart (the table lists them all).
TOP_SALESPEOPLE = 15


@dataclass(frozen=True)
class PurchasesData:
    kpis: list[Kpi]
    by_month: pd.DataFrame  # purchase_month, channel, purchases, amount, paid_amount
    by_product: pd.DataFrame  # product, purchases, quantity, amount
    by_region: pd.DataFrame  # region, purchases, amount
    by_salesperson: pd.DataFrame  # salesperson, purchases, buying_members, amount
    revenue_per_member: pd.DataFrame  # decomposition rows (may be empty)


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    first, last = con.execute(  # the month of a minimum is the minimum month (and so on)
        f"select {local_month('min(purchased_at)')}, {local_month('max(purchased_at)')} "
        "from core.fct_purchases"
    ).fetchone()
    return FilterOptions(
        months=month_range(first, last),
        regions=distinct_codes(con, "select distinct region from core.fct_purchases"),
        tiers=distinct_codes(con, "select distinct tier from core.dim_members"),
        channels=distinct_codes(con, "select distinct channel from core.fct_purchases"),
        region_names=region_names(con),
    )


def load(con: duckdb.DuckDBPyConnection, filters: Filters) -> PurchasesData:
    condition, params = where(filters, COLUMNS)
    base = f"from {_source(filters)} where {condition}"
    count, revenue, paid, buyers, returns, arrears = con.execute(
        f"""
        select count(*), coalesce(sum(purchases.amount), 0),
               coalesce(sum(purchases.paid_amount), 0),
               count(distinct purchases.member_no),
               count(*) filter (where purchases.purchase_type = 'return'),
               coalesce(sum(purchases.arrears_amount) filter (where purchases.amount > 0), 0)
        {base}
        """,
        params,
    ).fetchone()
    kpis = [
        Kpi("revenue", revenue, "money"),
        Kpi("paid_amount", paid, "money"),
        Kpi("purchases", count),
        Kpi("buying_members", buyers),
        Kpi("average_purchase", ratio(revenue, count), "money"),
        Kpi("returns", returns),
        Kpi("arrears", arrears, "money"),
    ]

    def grouped(select: str, group: str, order: str) -> pd.DataFrame:
        return query(con, f"select {select} {base} group by {group} order by {order}", params)

    return PurchasesData(
        kpis=kpis,
        by_month=_by_month(con, base, params),
        by_product=grouped(
            "coalesce(purchases.product, 'unknown') as product, count(*) as purchases, "
            "coalesce(sum(purchases.quantity), 0) as quantity, sum(purchases.amount) as amount",
            "all",
            "amount desc",
        ),
        by_region=grouped(
            "coalesce(purchases.region, 'unknown') as region, count(*) as purchases, "
            "sum(purchases.amount) as amount",
            "all",
            "amount desc",
        ),
        by_salesperson=grouped(
            "coalesce(purchases.salesperson, 'unknown') as salesperson, count(*) as purchases, "
            "count(distinct purchases.member_no) as buying_members, "
            "sum(purchases.amount) as amount",
            "all",
            "amount desc, salesperson",
        ),
        revenue_per_member=revenue_per_member_change(con, filters),
    )


def _by_month(con: duckdb.DuckDBPyConnection, base: str, params: list) -> pd.DataFrame:
    """Purchases and amounts by club-local month and channel: by day first (integer arithmetic
    per purchase), then the few days by month."""
    return query(
        con,
        f"""
        with daily as (
            select {local_day("purchases.purchased_at")} as local_day,
                   coalesce(purchases.channel, 'unknown') as channel, count(*) as purchases,
                   sum(purchases.amount) as amount, sum(purchases.paid_amount) as paid_amount
            {base} group by all
        )
        select {month_of_day("local_day")} as purchase_month, channel,
               sum(purchases)::bigint as purchases, sum(amount) as amount,
               sum(paid_amount) as paid_amount
        from daily group by all order by purchase_month, channel
        """,
        params,
    )


def revenue_per_member_change(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Year-over-year change of revenue per member by tier in the latest complete month of the
    period (``analysis.analysis_revenue_per_member_change``): which tiers moved the average,
    through their share of members (mix) or their spending (rate). The mart is by the member's
    tier only, so the chosen tiers restrict its rows; region and channel do not apply to it."""
    if not table_exists(con, "analysis", "analysis_revenue_per_member_change"):
        return pd.DataFrame()
    condition, params = where(
        filters, Columns(time="period_month", time_is_date=True, tier="group_value")
    )
    return query(
        con,
        f"""
        with chosen as (
            select * from analysis.analysis_revenue_per_member_change
            where comparison = 'year_over_year' and dimension = 'tier' and {condition}
        )
        select group_value as tier, period_month, prior_month, members, prior_members,
               revenue, prior_revenue, revenue_per_member, prior_revenue_per_member,
               mix_effect, rate_effect, total_effect,
               overall_revenue_per_member, prior_overall_revenue_per_member, overall_change
        from chosen
        where period_month = (select max(period_month) from chosen)
        order by total_effect
        """,
        params,
    )
