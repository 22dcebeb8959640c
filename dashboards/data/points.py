"""Numbers of the Points dashboard: issued, redeemed, expired, and the outstanding liability.

Definitions follow ``reporting.points_liability_by_month`` (posted entries only; issued =
positive entries other than reversals; redeemed and expired as positive numbers; outstanding =
running total of every posted entry), but computed from ``core.fct_point_entries`` so that region,
tier and channel (the member's application channel) apply. The period chooses the months shown;
the outstanding balance at a month's end still counts everything posted before the period.
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
    local_day,
    local_month,
    member_options,
    month_of_day,
    query,
    ratio,
    scalar,
    table_exists,
    where,
)

#: Without the mart to read it from: the default of the dbt var ``yuan_per_point``.
DEFAULT_YUAN_PER_POINT = 0.01
MEMBER_COLUMNS = Columns(region="members.region", tier="members.tier", channel="members.channel")


def _source(filters: Filters, *, members: bool = False) -> str:
    """The ledger, joined to the members only when a member filter needs them (the join is
    most of the cost on a large warehouse)."""
    if members or filters.regions or filters.tiers or filters.channels:
        return """core.fct_point_entries as entries
            join core.dim_members as members on members.member_no = entries.member_no"""
    return "core.fct_point_entries as entries"


@dataclass(frozen=True)
class PointsData:
    kpis: list[Kpi]
    by_month: pd.DataFrame  # points_month, issued, redeemed, expired, net_change, outstanding
    by_event: pd.DataFrame  # event_type, issued, spent
    outstanding_by_tier: pd.DataFrame  # tier, outstanding, members


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    return member_options(
        con,
        "select min(posted_at), max(posted_at) from core.fct_point_entries where status = 'posted'",
        "select distinct channel from core.dim_members",
    )


def yuan_per_point(con: duckdb.DuckDBPyConnection) -> float:
    """The rate the liability mart used (liability_yuan / points_outstanding)."""
    if table_exists(con, "reporting", "points_liability_by_month"):
        rate = scalar(
            con,
            """
            select liability_yuan / points_outstanding from reporting.points_liability_by_month
            where points_outstanding <> 0 order by points_month desc limit 1
            """,
        )
        if rate:
            return float(rate)
    return DEFAULT_YUAN_PER_POINT


def load(con: duckdb.DuckDBPyConnection, filters: Filters) -> PointsData:
    member_condition, member_params = where(filters, MEMBER_COLUMNS)
    # One pass over the ledger: posted points by club-local day, event and sign, summed up to
    # months (a small frame; a day number is integer arithmetic, several times cheaper per
    # entry than a month of a timestamp); the months, the events and the running balance are
    # all derived from it.
    cells = query(
        con,
        f"""
        with daily as (
            select {local_day("entries.posted_at")} as local_day, entries.event_type,
                   entries.points > 0 as credit, sum(entries.points) as points
            from {_source(filters)}
            where entries.status = 'posted' and {member_condition}
            group by all
        )
        select {month_of_day("local_day")} as points_month, event_type,
               coalesce(sum(points) filter (where credit and event_type <> 'reversal'), 0)::bigint
                   as issued,
               coalesce(-sum(points) filter (where event_type = 'redemption'), 0)::bigint
                   as redeemed,
               coalesce(-sum(points) filter (where event_type = 'expiry'), 0)::bigint
                   as expired,
               coalesce(sum(points) filter (where credit), 0)::bigint as credited,
               coalesce(-sum(points) filter (where not credit), 0)::bigint as spent,
               sum(points)::bigint as net_change
        from daily
        group by all
        """,
        member_params,
    )
    cells["points_month"] = pd.to_datetime(cells["points_month"]).dt.date
    monthly = (
        cells.groupby("points_month", as_index=False)[
            ["issued", "redeemed", "expired", "net_change"]
        ]
        .sum()
        .sort_values("points_month")
    )
    monthly["outstanding"] = monthly["net_change"].cumsum()
    in_period = _in_period(monthly["points_month"], filters)
    by_month = (
        monthly[in_period]
        .reset_index(drop=True)
        .astype(
            {
                column: "int64"
                for column in ("issued", "redeemed", "expired", "net_change", "outstanding")
            }
        )
    )
    until_end = _in_period(monthly["points_month"], Filters(month_to=filters.month_to))
    outstanding = int(monthly.loc[until_end, "net_change"].sum())
    rate = yuan_per_point(con)
    issued, redeemed = int(by_month["issued"].sum()), int(by_month["redeemed"].sum())
    kpis = [
        Kpi("points_issued", issued),
        Kpi("points_redeemed", redeemed),
        Kpi("points_expired", int(by_month["expired"].sum())),
        Kpi("points_outstanding", outstanding),
        Kpi("liability_yuan", outstanding * rate, "money"),
        Kpi("redemption_rate", ratio(redeemed, issued), "percent"),
    ]
    by_event = (
        cells[_in_period(cells["points_month"], filters)]
        .groupby("event_type", as_index=False)[["credited", "spent"]]
        .sum()
        .rename(columns={"credited": "issued"})
        .sort_values(["issued", "spent"], ascending=False)
        .reset_index(drop=True)
    )
    outstanding_by_tier = _outstanding_by_tier(con, filters, member_condition, member_params)
    return PointsData(
        kpis=kpis, by_month=by_month, by_event=by_event, outstanding_by_tier=outstanding_by_tier
    )


def _in_period(months: pd.Series, filters: Filters) -> pd.Series:
    """Which of the (first-of-month) dates fall in the filters' period."""
    keep = pd.Series(True, index=months.index)
    if filters.month_from is not None:
        keep &= months >= filters.month_from
    if filters.month_to is not None:
        keep &= months <= filters.month_to
    return keep


def _outstanding_by_tier(
    con: duckdb.DuckDBPyConnection, filters: Filters, member_condition: str, member_params: list
) -> pd.DataFrame:
    """Points outstanding at the period's end by tier. When the period runs to the last posting,
    that is the members' current balances (``dim_members.points_balance`` is the sum of their
    posted entries), read from one row per member instead of the whole ledger."""
    last = scalar(  # the month of the last posting (the month of a maximum is the maximum)
        con,
        f"select {local_month('max(posted_at)')} from core.fct_point_entries "
        "where status = 'posted'",
    )
    if filters.month_to is None or last is None or filters.month_to >= last:
        return query(
            con,
            f"""
            select members.tier, sum(members.points_balance)::bigint as outstanding,
                   count(*) filter (where members.points_balance <> 0) as members
            from core.dim_members as members
            where {member_condition}
            group by all having sum(members.points_balance) <> 0 order by outstanding desc
            """,
            member_params,
        )
    end_condition, end_params = _until_end(filters)
    return query(
        con,
        f"""
        select members.tier, sum(entries.points)::bigint as outstanding,
               count(distinct entries.member_no) as members
        from {_source(filters, members=True)}
        where entries.status = 'posted' and {member_condition} and {end_condition}
        group by all order by outstanding desc
        """,
        [*member_params, *end_params],
    )


def _until_end(filters: Filters) -> tuple[str, list]:
    """Entries posted before the end of the period (everything when it is open-ended)."""
    if filters.month_to is None:
        return "true", []
    return where(Filters(month_to=filters.month_to), Columns(time="entries.posted_at"))
