"""Numbers of the Segments dashboard: RFM segments, ABC / Pareto, loyalty stages, and the
value-changing and problem members (seed 001: thank the first, talk to the last).

The segments are computed by the analysis marts on the reference day over their own windows
(the last 365 days for RFM, ABC and value trend), so the period filter does not apply here;
region and tier (the marts' current tier and region) and channel (the member's application
channel, from ``core.dim_members``) do. The Pareto curve is recomputed within the chosen members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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

COLUMNS = Columns(region="segment.region", tier="segment.tier", channel="members.channel")
#: Value-changing members listed (largest change first).
CHANGING_ROWS = 500
#: Points on the Pareto curve.
PARETO_POINTS = 100


def _source(mart: str, filters: Filters) -> str:
    """The mart, joined to the members only for the channel filter (the marts carry tier and
    region; the join is most of the cost on a large warehouse)."""
    if not filters.channels:
        return f"analysis.{mart} as segment"
    return f"""analysis.{mart} as segment
        join core.dim_members as members on members.member_no = segment.member_no"""


@dataclass(frozen=True)
class SegmentsData:
    kpis: list[Kpi]
    rfm: pd.DataFrame  # rfm_segment, members, monetary
    abc: pd.DataFrame  # abc_class, members, revenue
    pareto: pd.DataFrame  # member_share, revenue_share (cumulative)
    loyalty: pd.DataFrame  # loyalty_stage, members, revenue_365d
    value_trend: pd.DataFrame  # value_trend, members
    changing: pd.DataFrame  # value-changing members, largest absolute change first
    window: tuple[date | None, date | None]


def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    return member_options(con, None, "select distinct channel from core.dim_members")


def load(con: duckdb.DuckDBPyConnection, filters: Filters) -> SegmentsData:
    condition, params = where(filters, COLUMNS)

    def grouped(mart: str, sql: str) -> pd.DataFrame:
        return query(con, sql.format(source=_source(mart, filters), condition=condition), params)

    rfm = grouped(
        "analysis_member_rfm",
        """select segment.rfm_segment, count(*) as members,
                  coalesce(sum(segment.monetary), 0) as monetary
           from {source} where {condition} group by all order by members desc""",
    )
    abc = grouped(
        "analysis_member_abc",
        """select segment.abc_class, count(*) as members, sum(segment.revenue) as revenue
           from {source} where {condition} group by all order by abc_class""",
    )
    pareto = grouped(
        "analysis_member_abc",
        f"""
        with ranked as (
            select row_number() over (order by segment.revenue desc, segment.member_no)
                       / count(*) over () as member_share,
                   sum(segment.revenue) over (order by segment.revenue desc, segment.member_no)
                       / sum(segment.revenue) over () as revenue_share
            from {{source}} where {{condition}}
        )
        select ceil(member_share * {PARETO_POINTS}) / {PARETO_POINTS} as member_share,
               max(revenue_share) as revenue_share
        from ranked group by 1 order by 1
        """,
    )
    loyalty = grouped(
        "analysis_member_loyalty_stage",
        """select segment.loyalty_stage, count(*) as members,
                  coalesce(sum(segment.revenue_365d), 0) as revenue_365d
           from {source} where {condition} group by all order by members desc""",
    )
    value_trend = grouped(
        "analysis_member_value_flags",
        """select segment.value_trend, count(*) as members,
                  count(*) filter (where segment.is_problem_member) as problem_members
           from {source} where {condition} group by all order by members desc""",
    )
    changing = grouped(
        "analysis_member_value_flags",
        f"""select segment.member_no, segment.tier, segment.region, segment.value_trend,
                  segment.revenue_prior_365d, segment.revenue_365d, segment.revenue_change,
                  segment.revenue_change_ratio, segment.is_value_member,
                  segment.problem_reason
           from {{source}} where {{condition}} and segment.is_value_changing
           order by abs(segment.revenue_change) desc, segment.member_no
           limit {CHANGING_ROWS}""",
    )
    (scored, value_members, changing_count, problem_count) = con.execute(
        f"""
        select count(*), count(*) filter (where segment.is_value_member),
               count(*) filter (where segment.is_value_changing),
               count(*) filter (where segment.is_problem_member)
        from {_source("analysis_member_value_flags", filters)} where {condition}
        """,
        params,
    ).fetchone()
    a_members = int(abc.loc[abc["abc_class"] == "A", "members"].sum()) if not abc.empty else 0
    listed = int(abc["members"].sum()) if not abc.empty else 0
    champions = (
        int(rfm.loc[rfm["rfm_segment"] == "champions", "members"].sum()) if not rfm.empty else 0
    )
    window = con.execute(
        "select min(window_start), max(window_end) from analysis.analysis_member_rfm"
    ).fetchone()
    return SegmentsData(
        kpis=[
            Kpi("segment_members", scored),
            Kpi("champions", champions),
            Kpi("value_members", value_members),
            Kpi("a_class_share", ratio(a_members, listed), "percent"),
            Kpi("value_changing", changing_count),
            Kpi("problem_members", problem_count),
        ],
        rfm=rfm,
        abc=abc,
        pareto=pareto,
        loyalty=loyalty,
        value_trend=value_trend,
        changing=changing,
        window=(window[0], window[1]) if window else (None, None),
    )
