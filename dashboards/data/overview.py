"""Numbers for the Overview dashboard, read from the published (read-only) warehouse.

Plain functions of a DuckDB connection, so they are testable without Streamlit; the page caches
:func:`load_overview` per published version (:func:`published_version`).
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pandas as pd

from clubcrm.settings import Settings


@dataclass(frozen=True)
class OverviewKpis:
    total_members: int
    active_members: int
    purchases: int
    revenue: Decimal
    points_outstanding: int
    open_complaints: int


@dataclass(frozen=True)
class OverviewData:
    kpis: OverviewKpis
    joins_by_month: pd.DataFrame  # join_month (Timestamp), tier, members
    by_region: pd.DataFrame  # region, region_name_zh, region_name_en, tier, members, active_...
    published_at: datetime | None  # UTC-aware
    as_of: date | None  # set when the pipeline ran with --as-of (backtesting)


def load_kpis(con: duckdb.DuckDBPyConnection) -> OverviewKpis:
    """Headline counts over all time (members of every status, every purchase incl. returns)."""
    total, active, points = con.execute(
        """
        select count(*),
               count(*) filter (where status = 'active'),
               coalesce(sum(points_balance), 0)
        from core.dim_members
        """
    ).fetchone()
    purchases, revenue = con.execute(
        "select count(*), coalesce(sum(amount), 0) from core.fct_purchases"
    ).fetchone()
    (open_complaints,) = con.execute(
        "select count(*) from core.fct_complaints where status <> 'done'"
    ).fetchone()
    return OverviewKpis(
        total_members=int(total),
        active_members=int(active),
        purchases=int(purchases),
        revenue=Decimal(str(revenue)),
        points_outstanding=int(points),
        open_complaints=int(open_complaints),
    )


def members_joined_by_month(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Members joined per calendar month and tier (columns: join_month, tier, members)."""
    frame = con.execute(
        """
        select join_month, tier, sum(members)::bigint as members
        from reporting.member_overview
        group by all
        order by join_month, tier
        """
    ).df()
    frame["join_month"] = pd.to_datetime(frame["join_month"].astype(str))
    return frame


def members_by_region(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Members and active members per region and tier, largest regions first."""
    frame = con.execute(
        """
        with names as (
            select region, any_value(region_name_zh) as region_name_zh,
                   any_value(region_name_en) as region_name_en
            from core.dim_members
            where region is not null
            group by region
        )
        select overview.region, names.region_name_zh, names.region_name_en, overview.tier,
               sum(overview.members)::bigint as members,
               sum(overview.active_members)::bigint as active_members
        from reporting.member_overview as overview
        left join names on names.region = overview.region
        group by all
        """
    ).df()
    region_size = frame.groupby("region")["members"].transform("sum")
    order = frame.assign(_size=region_size).sort_values(
        ["_size", "region", "tier"], ascending=[False, True, True]
    )
    return order.drop(columns="_size").reset_index(drop=True)


def publication(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, date | None]:
    """When this warehouse was published and its as-of date, from ``main.warehouse_info``."""
    try:
        row = con.execute("select published_at, as_of from main.warehouse_info").fetchone()
    except duckdb.CatalogException:  # a warehouse not made by clubcrm.published.publish
        return None, None
    if row is None:
        return None, None
    published, as_of = row
    if isinstance(published, datetime) and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return published, as_of


def load_overview(con: duckdb.DuckDBPyConnection) -> OverviewData:
    published, as_of = publication(con)
    return OverviewData(
        kpis=load_kpis(con),
        joins_by_month=members_joined_by_month(con),
        by_region=members_by_region(con),
        published_at=published,
        as_of=as_of,
    )


def load_published_overview(settings: Settings) -> OverviewData:
    """Open the published warehouse, read everything the page shows, close it at once.

    Raises :class:`clubcrm.published.NoPublishedWarehouse` when nothing is published yet.
    """
    from clubcrm.published import connect

    with closing(connect(settings)) as con:
        return load_overview(con)


def published_version(settings: Settings) -> str:
    """The current published file ('' when none): the cache key, so a new publish shows at once."""
    from clubcrm.published import NoPublishedWarehouse, published_path

    try:
        return str(published_path(settings))
    except NoPublishedWarehouse:
        return ""
