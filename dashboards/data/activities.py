"""Numbers of the Activities dashboard: attendance, cost per attendee, plan vs actual.

Source: ``analysis.analysis_activity_plan_vs_actual`` (one row per activity, with its plan and
actual headcount and cost). Only activities that ran (running or closed) count: planned,
submitted, approved and rejected ones have no attendance to compare yet. Filters: the period
applies to the club-local month the activity starts, region to the activity's region, and the
fourth filter is the activity type (activities have no channel; tier does not apply to them).
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
    month_range,
    query,
    ratio,
    region_names,
    where,
)

MART = "analysis.analysis_activity_plan_vs_actual"
#: Activities listed in the table (largest cost overrun first).
ACTIVITY_ROWS = 1000
RAN = "status in ('running', 'closed')"
COLUMNS = Columns(
    time="activity_month", time_is_date=True, region="region", channel="activity_type"
)


@dataclass(frozen=True)
class ActivitiesData:
    kpis: list[Kpi]
    by_month: pd.DataFrame  # activity_month, activities, expected_headcount, attendees, costs
    by_type: pd.DataFrame  # activity_type, activities, attendees, actual_cost, cost_per_attendee
    activities: pd.DataFrame  # one row per activity, largest cost overrun first


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    first, last = con.execute(
        f"select min(activity_month), max(activity_month) from {MART} where {RAN}"
    ).fetchone()
    return FilterOptions(
        months=month_range(first, last),
        regions=distinct_codes(con, f"select distinct region from {MART}"),
        channels=distinct_codes(con, f"select distinct activity_type from {MART}"),
        region_names=region_names(con),
    )


def load(con: duckdb.DuckDBPyConnection, filters: Filters) -> ActivitiesData:
    condition, params = where(filters, COLUMNS)
    base = f"from {MART} where {RAN} and {condition}"
    count, expected, attendees, planned_attendees, expected_cost, actual_cost = con.execute(
        f"""
        select count(*), coalesce(sum(expected_headcount), 0), coalesce(sum(attendees), 0),
               coalesce(sum(attendees) filter (where expected_headcount > 0), 0),
               coalesce(sum(expected_cost), 0), coalesce(sum(actual_cost), 0)
        {base}
        """,
        params,
    ).fetchone()
    kpis = [
        Kpi("activities", count),
        Kpi("attendees", attendees),
        Kpi("attendance_rate", ratio(planned_attendees, expected), "percent"),
        Kpi("actual_cost", actual_cost, "money"),
        Kpi("cost_per_attendee", ratio(actual_cost, attendees), "money"),
        Kpi("cost_vs_plan", ratio(actual_cost, expected_cost), "percent"),
    ]
    return ActivitiesData(
        kpis=kpis,
        by_month=query(
            con,
            f"""
            select activity_month, count(*) as activities,
                   sum(expected_headcount)::bigint as expected_headcount,
                   sum(attendees)::bigint as attendees,
                   sum(expected_cost) as expected_cost, sum(actual_cost) as actual_cost
            {base} group by all order by activity_month
            """,
            params,
        ),
        by_type=query(
            con,
            f"""
            select activity_type, count(*) as activities, sum(attendees)::bigint as attendees,
                   sum(actual_cost) as actual_cost,
                   sum(actual_cost) / nullif(sum(attendees), 0) as cost_per_attendee,
                   sum(expected_cost) / nullif(sum(expected_headcount), 0)
                       as planned_cost_per_attendee
            {base} group by all order by attendees desc
            """,
            params,
        ),
        activities=query(
            con,
            f"""
            select activity_code, activity_name, activity_type, region, status, activity_month,
                   expected_headcount, attendees, headcount_attainment, expected_cost,
                   actual_cost, cost_difference, cost_per_attendee
            {base} order by cost_difference desc nulls last, activity_code limit {ACTIVITY_ROWS}
            """,
            params,
        ),
    )
