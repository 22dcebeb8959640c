"""Numbers of the Complaints dashboard: volume, service levels, overdue, by type and channel.

Definitions follow ``reporting.complaint_service_levels``: the service level is each complaint's
``due_at``; a closed complaint is within it when closed by then; ``is_overdue`` (core) marks a
complaint closed late or still open past due on the reference day. Computed from
``core.fct_complaints`` so the filters apply: the period to the club-local month received,
region and tier to the member, channel to the complaint channel.
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
    local_month,
    member_options,
    query,
    ratio,
    where,
)

COLUMNS = Columns(
    time="complaints.received_at",
    region="members.region",
    tier="members.tier",
    channel="complaints.channel",
)


def _source(filters: Filters) -> str:
    """The facts, joined to the members only when a filter needs them (the join is most of
    the cost on a large warehouse)."""
    if filters.regions or filters.tiers:
        return """core.fct_complaints as complaints
    left join core.dim_members as members on members.member_no = complaints.member_no"""
    return "core.fct_complaints as complaints"


#: Open overdue complaints listed (oldest due first).
OVERDUE_ROWS = 500


@dataclass(frozen=True)
class ComplaintsData:
    kpis: list[Kpi]
    by_month: pd.DataFrame  # received_month, status, complaints
    service_by_month: pd.DataFrame  # received_month, closed, within_sla, within_sla_share
    by_type: pd.DataFrame  # complaint_type, complaints, open, overdue, within_sla_share
    by_channel: pd.DataFrame  # channel, complaints, open, overdue
    overdue: pd.DataFrame  # open complaints past due (no personal data)


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    return member_options(
        con,
        "select min(received_at), max(received_at) from core.fct_complaints",
        "select distinct channel from core.fct_complaints",
    )


def load(con: duckdb.DuckDBPyConnection, filters: Filters) -> ComplaintsData:
    condition, params = where(filters, COLUMNS)
    base = f"from {_source(filters)} where {condition}"
    is_open = "complaints.status <> 'done'"
    total, open_count, open_overdue, closed, within, hours, satisfaction = con.execute(
        f"""
        select count(*), count(*) filter (where {is_open}),
               count(*) filter (where {is_open} and complaints.is_overdue),
               count(*) filter (where not {is_open}),
               count(*) filter (where not {is_open} and complaints.closed_at <= complaints.due_at),
               avg(complaints.hours_to_close), avg(complaints.satisfaction)
        {base}
        """,
        params,
    ).fetchone()
    kpis = [
        Kpi("complaints", total),
        Kpi("open_complaints", open_count),
        Kpi("open_overdue", open_overdue),
        Kpi("within_sla_share", ratio(within, closed), "percent"),
        Kpi("average_hours_to_close", hours, "number"),
        Kpi("average_satisfaction", satisfaction, "number"),
    ]
    month = local_month("complaints.received_at")
    counts = f"""count(*) as complaints, count(*) filter (where {is_open}) as open_complaints,
        count(*) filter (where complaints.is_overdue) as overdue_complaints"""
    return ComplaintsData(
        kpis=kpis,
        by_month=query(
            con,
            f"""select {month} as received_month, complaints.status, count(*) as complaints
            {base} group by all order by received_month, status""",
            params,
        ),
        service_by_month=query(
            con,
            f"""
            select {month} as received_month,
                   count(*) filter (where not {is_open}) as closed_complaints,
                   count(*) filter (where not {is_open}
                                    and complaints.closed_at <= complaints.due_at)
                       as closed_within_sla,
                   closed_within_sla / nullif(closed_complaints, 0) as within_sla_share,
                   avg(complaints.hours_to_close) as average_hours_to_close
            {base} group by all order by received_month
            """,
            params,
        ),
        by_type=query(
            con,
            f"""
            select coalesce(complaints.complaint_type, 'unknown') as complaint_type, {counts},
                   count(*) filter (where not {is_open}
                                    and complaints.closed_at <= complaints.due_at)
                   / nullif(count(*) filter (where not {is_open}), 0) as within_sla_share
            {base} group by all order by complaints desc
            """,
            params,
        ),
        by_channel=query(
            con,
            f"""select coalesce(complaints.channel, 'unknown') as channel, {counts}
            {base} group by all order by complaints desc""",
            params,
        ),
        overdue=query(
            con,
            f"""
            select complaints.complaint_no, complaints.member_no, complaints.complaint_type,
                   complaints.channel, complaints.importance, complaints.status,
                   complaints.received_at, complaints.due_at, complaints.steps_count
            {base} and {is_open} and complaints.is_overdue
            order by complaints.due_at, complaints.complaint_no limit {OVERDUE_ROWS}
            """,
            params,
        ),
    )
