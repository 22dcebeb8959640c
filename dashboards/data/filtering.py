"""What every dashboard page shares below Streamlit: the filters, turned into SQL, and the KPIs.

A page's numbers are plain functions of a read-only DuckDB connection and a :class:`Filters`
value, so they are testable without Streamlit and cacheable per published version and filter.
Each query aggregates inside DuckDB and returns a small frame (one row per month, region, class…):
a fact table never travels into pandas, whatever the size of the warehouse.

Where a filter applies differs by page, so each query says which of its columns stand for the
period, region, tier and channel (:class:`Columns`); :func:`where` writes the parameterised
predicates. The period is in *club-local* months (UTC+8) while ``*_at`` columns are naive UTC
timestamps: the bounds are shifted rather than the column, so DuckDB can still skip row groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from clubcrm.settings import Settings

#: The club's local time is UTC+8 all year (analysts.md, "Times").
CLUB_UTC_OFFSET = timedelta(hours=8)
#: Microseconds in a day.
DAY_US = 86_400_000_000
#: Region, tier or channel not on file, as the marts spell it.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Filters:
    """The filter bar's choice. Empty tuples mean "all"; months are first days, both inclusive."""

    month_from: date | None = None
    month_to: date | None = None
    regions: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.month_from and self.month_to and self.month_from > self.month_to:
            raise ValueError(
                f"the period starts ({self.month_from:%Y-%m}) after it ends ({self.month_to:%Y-%m})"
            )


@dataclass(frozen=True)
class Columns:
    """The SQL expressions a query filters on (None: that filter does not apply to it)."""

    time: str | None = None  # a naive-UTC timestamp, or a date when time_is_date
    time_is_date: bool = False
    region: str | None = None
    tier: str | None = None
    channel: str | None = None


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def local_month(column: str) -> str:
    """SQL: the first day of the club-local month of a naive-UTC timestamp column."""
    return f"cast(date_trunc('month', {column} + interval 8 hour) as date)"


def local_day(column: str) -> str:
    """SQL: the club-local day of a naive-UTC timestamp column as a day number (days since
    1970-01-01). Integer arithmetic: grouping a large fact by it, then the few days by
    :func:`month_of_day`, is several times faster than :func:`local_month` on every row."""
    return (
        f"((epoch_us({column}) + {int(CLUB_UTC_OFFSET.total_seconds()) * 1_000_000}) // {DAY_US})"
    )


def month_of_day(column: str) -> str:
    """SQL: the first day of the month of a :func:`local_day` day number."""
    return f"cast(date_trunc('month', date '1970-01-01' + cast({column} as integer)) as date)"


def where(filters: Filters, columns: Columns) -> tuple[str, list[Any]]:
    """``(sql, params)``: the predicates of ``filters`` on ``columns`` joined by ``and``."""
    parts: list[str] = []
    params: list[Any] = []
    if columns.time is not None:
        for bound, operator in (
            (filters.month_from, ">="),
            (next_month(filters.month_to) if filters.month_to else None, "<"),
        ):
            if bound is None:
                continue
            parts.append(f"{columns.time} {operator} ?")
            if columns.time_is_date:
                params.append(bound)
            else:  # the local midnight starting that month, in naive UTC
                params.append(datetime.combine(bound, datetime.min.time()) - CLUB_UTC_OFFSET)
    for values, column in (
        (filters.regions, columns.region),
        (filters.tiers, columns.tier),
        (filters.channels, columns.channel),
    ):
        if values and column is not None:
            parts.append(f"list_contains(?, coalesce({column}, '{UNKNOWN}'))")
            params.append(list(values))
    return (" and ".join(parts) or "true"), params


def query(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> pd.DataFrame:
    """A small result frame (positional ``?`` or named ``$name`` parameters)."""
    return con.execute(sql, params if isinstance(params, dict) else list(params)).df()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    (found,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found)


# -- the filter bar's choices -------------------------------------------------------------------
@dataclass(frozen=True)
class FilterOptions:
    """What the filter bar offers on a page: the months with data and the codes present."""

    months: tuple[date, ...] = ()
    regions: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    #: region code -> (Chinese name, English name) as the warehouse spells them
    region_names: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)


def month_range(first: date | None, last: date | None) -> tuple[date, ...]:
    """Every first-of-month from ``first`` to ``last`` (both included)."""
    if first is None or last is None:
        return ()
    months, month = [], first_of_month(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return tuple(months)


def distinct_codes(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[str, ...]:
    """The values of the one-column query ``sql``, nulls as 'unknown', sorted (unknown last)."""
    values = {UNKNOWN if value is None else str(value) for (value,) in con.execute(sql).fetchall()}
    return tuple(sorted(values, key=lambda value: (value == UNKNOWN, value)))


def region_names(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    rows = con.execute(
        """
        select region, any_value(region_name_zh), any_value(region_name_en)
        from core.dim_members where region is not null group by region
        """
    ).fetchall()
    return {code: (zh or code, en or code) for code, zh, en in rows}


def member_options(
    con: duckdb.DuckDBPyConnection, months_sql: str | None, channel_sql: str | None
) -> FilterOptions:
    """Options for a page about members: regions and tiers from ``core.dim_members``, months
    from ``months_sql`` (one row: first and last day) and channels from ``channel_sql``."""
    months: tuple[date, ...] = ()
    if months_sql:
        first, last = con.execute(months_sql).fetchone()
        months = month_range(_as_date(first), _as_date(last))
    return FilterOptions(
        months=months,
        regions=distinct_codes(con, "select distinct region from core.dim_members"),
        tiers=distinct_codes(con, "select distinct tier from core.dim_members"),
        channels=distinct_codes(con, channel_sql) if channel_sql else (),
        region_names=region_names(con),
    )


def _as_date(value: object) -> date | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return (value + CLUB_UTC_OFFSET).date()  # naive UTC -> club-local day
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


# -- KPIs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpi:
    """One headline number; ``kind`` says how to format it (int, money, percent, number)."""

    key: str
    value: int | float | Decimal | None
    kind: str = "int"


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    row = con.execute(sql, list(params)).fetchone()
    return None if row is None else row[0]


def ratio(numerator: float | int | Decimal | None, denominator: float | int | Decimal | None):
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


# -- the published warehouse -------------------------------------------------------------------
def read_published(settings: Settings, reader, *args: Any) -> Any:
    """Open the published warehouse read-only, run ``reader(con, *args)``, close it at once
    (a long-lived connection would pin an old file). Raises
    :class:`clubcrm.published.NoPublishedWarehouse` when nothing is published yet."""
    from clubcrm.published import connect

    with closing(connect(settings)) as con:
        return reader(con, *args)
