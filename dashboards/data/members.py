"""Numbers of the Members dashboard: who our members are, where they live, tier mix, joins.

Filters: the period applies to the day a member joined (``joined_at``), region and tier to the
member's current region and tier, channel to the application channel they joined through.
Everything is counted in DuckDB over ``core.dim_members`` (one row per member).
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
    member_options,
    query,
    ratio,
    where,
)

COLUMNS = Columns(
    time="joined_at", time_is_date=True, region="region", tier="tier", channel="channel"
)


@dataclass(frozen=True)
class MembersData:
    kpis: list[Kpi]
    joins_by_month: pd.DataFrame  # join_month, tier, members
    by_region: pd.DataFrame  # region, tier, members, active_members
    tier_mix: pd.DataFrame  # tier, members, active_members
    age_gender: pd.DataFrame  # age_band, gender, members
    by_channel: pd.DataFrame  # channel, members


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    return member_options(
        con,
        "select min(joined_at), max(joined_at) from core.dim_members",
        "select distinct channel from core.dim_members",
    )


def load(con: duckdb.DuckDBPyConnection, filters: Filters) -> MembersData:
    condition, params = where(filters, COLUMNS)
    members = f"(select * from core.dim_members where {condition}) as members"
    total, active, vip, average_age, points = con.execute(
        f"""
        select count(*),
               count(*) filter (where status = 'active'),
               count(*) filter (where tier = 'vip'),
               avg(age),
               coalesce(sum(points_balance), 0)
        from {members}
        """,
        params,
    ).fetchone()
    kpis = [
        Kpi("members", total),
        Kpi("active_members", active),
        Kpi("vip_share", ratio(vip, total), "percent"),
        Kpi("average_age", average_age, "number"),
        Kpi("points_balance", points),
    ]
    return MembersData(
        kpis=kpis,
        joins_by_month=query(
            con,
            f"""
            select join_month, tier, count(*) as members
            from {members} group by all order by join_month, tier
            """,
            params,
        ),
        by_region=query(
            con,
            f"""
            with counted as (
                select coalesce(region, 'unknown') as region, tier, count(*) as members,
                       count(*) filter (where status = 'active') as active_members
                from {members} group by all
            )
            select * from counted
            order by sum(members) over (partition by region) desc, region, tier
            """,
            params,
        ),
        tier_mix=query(
            con,
            f"""
            select tier, count(*) as members,
                   count(*) filter (where status = 'active') as active_members
            from {members} group by all order by members desc
            """,
            params,
        ),
        age_gender=query(
            con,
            f"""
            select coalesce(age_band, 'unknown') as age_band,
                   coalesce(gender, 'unknown') as gender, count(*) as members
            from {members} group by all order by age_band, gender
            """,
            params,
        ),
        by_channel=query(
            con,
            f"""
            select coalesce(channel, 'unknown') as channel, count(*) as members
            from {members} group by all order by members desc
            """,
            params,
        ),
    )
