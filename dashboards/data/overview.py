"""Numbers of the Overview (the manager's landing dashboard): headline KPIs with their change
versus the previous period, and the monthly trends behind them.

Filters (the same bar as every manager page): the period chooses the months; region, tier and
channel choose *members* — their current region and tier and the channel they joined through
(the application channel) — and every number counts those members' records. Revenue without a
member filter also counts purchases by non-members, as the Sales page does.

The previous period is the same number of months just before the chosen one (none when the
period is open-ended). Definitions:

- total members: members on file at the end of the period (joined by then, any status);
- new members: joined in the period;
- active members: distinct members with a purchase, activity attendance, card swipe,
  redemption or merchant service use in the period (``intermediate.int_member_active_months``,
  the member events folded to club-local months);
- revenue: sum of purchase amounts (returns negative), as ``reporting.purchases_by_month``;
- points issued / redeemed: posted entries, as ``reporting.points_liability_by_month``;
- open complaints: received by the end of the period and not closed by then;
- care response rate: responded ÷ contacted among treated care contacts (not the control group).

Each section reads its own fact; a warehouse without it (an older or partial build) leaves that
section out (:attr:`OverviewNumbers.missing`) instead of failing the whole landing page.
Aggregation happens in DuckDB: the large facts are grouped by club-local day, then the days rolled
up into months (several times cheaper than a month per row); one small frame per fact.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from clubcrm.settings import Settings
from dashboards.data.filtering import (
    CLUB_UTC_OFFSET,
    Columns,
    FilterOptions,
    Filters,
    Kpi,
    distinct_codes,
    local_day,
    local_month,
    month_of_day,
    month_range,
    next_month,
    query,
    ratio,
    region_names,
    where,
)

MEMBER_COLUMNS = Columns(region="members.region", tier="members.tier", channel="members.channel")
#: The sections of the page, each from its own fact (for :attr:`OverviewNumbers.missing`).
SECTIONS = ("members", "activity", "revenue", "points", "complaints", "care")
#: The columns of :attr:`OverviewNumbers.by_month`, every one an integer except the money
#: and the rate.
MONTH_COLUMNS = (
    "new_members",
    "total_members",
    "active_in_month",
    "revenue",
    "purchases",
    "points_issued",
    "points_redeemed",
    "complaints_received",
    "complaints_open",
    "care_contacts",
    "care_responded",
    "care_response_rate",
)
#: Errors that mean "this warehouse has no such table or column" (an older or partial build).
MISSING = (duckdb.CatalogException, duckdb.BinderException)


@dataclass(frozen=True)
class Period:
    """Both months are first days, both inclusive."""

    first: date
    last: date

    @property
    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1


@dataclass(frozen=True)
class OverviewNumbers:
    kpis: list[Kpi]
    #: KPI key -> its value over the previous period (absent without a previous period)
    previous: dict[str, int | float | None]
    previous_period: Period | None
    #: one row per month of the period: ``month`` and :data:`MONTH_COLUMNS`
    by_month: pd.DataFrame
    #: sections whose fact this warehouse lacks (shown as "not in this warehouse")
    missing: tuple[str, ...] = field(default=())


# -- the filter bar ------------------------------------------------------------------------------
def options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    """Months from the first to the last month with any record; regions, tiers and application
    channels of the members."""
    firsts, lasts = [], []
    for sql in (
        "select min(joined_at), max(joined_at) from core.dim_members",
        f"select {local_month('min(purchased_at)')}, {local_month('max(purchased_at)')} "
        "from core.fct_purchases",
        f"select {local_month('min(posted_at)')}, {local_month('max(posted_at)')} "
        "from core.fct_point_entries where status = 'posted'",
        f"select {local_month('min(received_at)')}, {local_month('max(received_at)')} "
        "from core.fct_complaints",
        f"select {local_month('min(contacted_at)')}, {local_month('max(contacted_at)')} "
        "from core.fct_care_contacts",
    ):
        try:
            first, last = con.execute(sql).fetchone()
        except MISSING:
            continue
        if first is not None and last is not None:
            firsts.append(_day(first))
            lasts.append(_day(last))
    try:
        channels = distinct_codes(con, "select distinct channel from core.dim_members")
    except MISSING:
        channels = ()
    return FilterOptions(
        months=month_range(min(firsts), max(lasts)) if firsts else (),
        regions=distinct_codes(con, "select distinct region from core.dim_members"),
        tiers=distinct_codes(con, "select distinct tier from core.dim_members"),
        channels=channels,
        region_names=region_names(con),
    )


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


# -- periods --------------------------------------------------------------------------------------
def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def periods(filters: Filters, months: tuple[date, ...]) -> tuple[Period | None, Period | None]:
    """The chosen period (``None`` without any month) and the one before it, of the same length
    (``None`` when it would start before the first month with data: a comparison with months
    that have no data would not be fair)."""
    if not months:
        return None, None
    first = filters.month_from or months[0]
    last = filters.month_to or months[-1]
    current = Period(first, last)
    previous = Period(add_months(first, -current.months), add_months(first, -1))
    if previous.first < months[0]:  # partly before any data: not a fair comparison
        return current, None
    return current, previous


def _utc_bound(month: date) -> datetime:
    """The club-local midnight starting ``month``, in naive UTC (the ``*_at`` columns)."""
    return datetime.combine(month, datetime.min.time()) - CLUB_UTC_OFFSET


# -- sections --------------------------------------------------------------------------------------
def _member_filter(filters: Filters) -> tuple[str, list]:
    return where(
        Filters(regions=filters.regions, tiers=filters.tiers, channels=filters.channels),
        MEMBER_COLUMNS,
    )


def _has_member_filter(filters: Filters) -> bool:
    return bool(filters.regions or filters.tiers or filters.channels)


def _members(con, filters: Filters) -> tuple[pd.DataFrame, int]:
    """New members per join month; and members without a join date (on file all along)."""
    condition, params = _member_filter(filters)
    frame = query(
        con,
        f"""
        select cast(date_trunc('month', members.joined_at) as date) as month,
               count(*) as new_members
        from core.dim_members as members
        where {condition}
        group by all
        """,
        params,
    )
    undated = int(frame.loc[frame["month"].isna(), "new_members"].sum())
    return frame.dropna(subset=["month"]), undated


def _facts(table: str, alias: str, filters: Filters, *, outer: bool = False) -> str:
    """``table`` joined to the members only when a member filter needs them."""
    if not _has_member_filter(filters):
        return f"{table} as {alias}"
    join = "left join" if outer else "join"
    return f"{table} as {alias} {join} core.dim_members as members on members.member_no = {alias}.member_no"


def _revenue(con, filters: Filters) -> pd.DataFrame:
    condition, params = _member_filter(filters)
    return query(
        con,
        f"""
        with daily as (
            select {local_day("purchases.purchased_at")} as local_day,
                   sum(purchases.amount) as revenue, count(*) as purchases
            from {_facts("core.fct_purchases", "purchases", filters, outer=True)}
            where {condition}
            group by all
        )
        select {month_of_day("local_day")} as month,
               coalesce(sum(revenue), 0) as revenue, sum(purchases)::bigint as purchases
        from daily group by all
        """,
        params,
    )


def _points(con, filters: Filters) -> pd.DataFrame:
    condition, params = _member_filter(filters)
    return query(
        con,
        f"""
        with daily as (
            select {local_day("entries.posted_at")} as local_day,
                   sum(case when entries.points > 0 and entries.event_type <> 'reversal'
                            then entries.points else 0 end) as points_issued,
                   sum(case when entries.event_type = 'redemption'
                            then -entries.points else 0 end) as points_redeemed
            from {_facts("core.fct_point_entries", "entries", filters)}
            where entries.status = 'posted' and {condition}
            group by all
        )
        select {month_of_day("local_day")} as month,
               sum(points_issued)::bigint as points_issued,
               sum(points_redeemed)::bigint as points_redeemed
        from daily group by all
        """,
        params,
    )


def _complaints(con, filters: Filters) -> pd.DataFrame:
    """Received and closed per month (closed: done, in the month it was closed)."""
    condition, params = _member_filter(filters)
    source = _facts("core.fct_complaints", "complaints", filters, outer=True)
    closed_at = "coalesce(complaints.closed_at, complaints.received_at)"
    return query(
        con,
        f"""
        with received as (
            select {local_month("complaints.received_at")} as month,
                   count(*) as complaints_received
            from {source} where {condition} group by all
        ),
        closed as (
            select {local_month(closed_at)} as month, count(*) as complaints_closed
            from {source} where complaints.status = 'done' and {condition} group by all
        )
        select coalesce(received.month, closed.month) as month,
               coalesce(complaints_received, 0) as complaints_received,
               coalesce(complaints_closed, 0) as complaints_closed
        from received full outer join closed on closed.month = received.month
        """,
        [*params, *params],
    )


def _care(con, filters: Filters) -> pd.DataFrame:
    condition, params = _member_filter(filters)
    return query(
        con,
        f"""
        with daily as (
            select {local_day("contacts.contacted_at")} as local_day,
                   count(*) as care_contacts,
                   count(*) filter (where contacts.has_responded) as care_responded
            from {_facts("core.fct_care_contacts", "contacts", filters, outer=True)}
            where not contacts.is_control and {condition}
            group by all
        )
        select {month_of_day("local_day")} as month,
               sum(care_contacts)::bigint as care_contacts,
               sum(care_responded)::bigint as care_responded
        from daily group by all
        """,
        params,
    )


def _active(
    con, filters: Filters, current: Period, previous: Period | None
) -> tuple[pd.DataFrame, int, int | None]:
    """Distinct active members per month of ``current``, over all of ``current`` and over all
    of ``previous``. A member has at most one row a month, so a month's count is ``count(*)``;
    the periods' totals count distinct members (twice faster than grouping sets at 1 M)."""
    condition, params = _member_filter(filters)
    first = previous.first if previous else current.first
    source = _facts("intermediate.int_member_active_months", "events", filters)
    monthly = query(
        con,
        f"""
        select events.active_month as month, count(*) as active_in_month
        from {source}
        where events.active_month >= ? and events.active_month < ? and {condition}
        group by events.active_month
        """,
        [current.first, next_month(current.last), *params],
    )
    now, before = con.execute(
        f"""
        select count(distinct events.member_no) filter (where events.active_month >= ?),
               count(distinct events.member_no) filter (where events.active_month < ?)
        from {source}
        where events.active_month >= ? and events.active_month < ? and {condition}
        """,
        [current.first, current.first, first, next_month(current.last), *params],
    ).fetchone()
    return monthly, int(now or 0), int(before or 0) if previous else None


# -- the page's numbers -------------------------------------------------------------------------------
def _monthly(frame: pd.DataFrame, months: list[date], columns: list[str]) -> pd.DataFrame:
    """``frame`` summed per month over ``months`` (every month, 0 where nothing happened)."""
    if frame.empty:
        return pd.DataFrame(0, index=pd.Index(months, name="month"), columns=columns)
    keyed = frame.assign(month=[_day(value) for value in frame["month"]])
    return keyed.groupby("month")[columns].sum().reindex(months, fill_value=0)


def _sum_over(series: pd.Series, period: Period | None) -> float | None:
    if period is None:
        return None
    return series[(series.index >= period.first) & (series.index <= period.last)].sum()


def _at_end(cumulative: pd.Series, period: Period | None, base: float = 0) -> float | None:
    """The running total at the end of ``period`` (``base`` before the first month)."""
    if period is None:
        return None
    upto = cumulative[cumulative.index <= period.last]
    return float(upto.iloc[-1]) if not upto.empty else base


def load(
    con: duckdb.DuckDBPyConnection, filters: Filters, months: tuple[date, ...] = ()
) -> OverviewNumbers:
    """The KPIs, their previous-period values and the monthly trends for ``filters``.

    ``months`` are the filter bar's months (:func:`options`); without them they are read here.
    """
    months = months or options(con).months
    current, previous = periods(filters, months)
    every_month = list(month_range(months[0], months[-1])) if months else []
    missing: list[str] = []
    values: dict[str, dict[str, float | None]] = {"now": {}, "before": {}}
    monthly = pd.DataFrame(index=pd.Index(every_month, name="month"))

    def section(name: str, read):
        try:
            return read()
        except MISSING:
            missing.append(name)
            return None

    def kpi(key: str, now, before) -> None:
        values["now"][key] = now
        values["before"][key] = before

    members = section("members", lambda: _members(con, filters))
    if members is not None:
        frame, undated = members
        new = _monthly(frame, every_month, ["new_members"])["new_members"]
        before_first = int(
            frame.loc[[_day(m) < every_month[0] for m in frame["month"]], "new_members"].sum()
            if every_month
            else 0
        )
        total = new.cumsum() + undated + before_first
        monthly["new_members"], monthly["total_members"] = new, total
        kpi(
            "total_members",
            _at_end(total, current, undated + before_first),
            _at_end(total, previous, undated + before_first),
        )
        kpi("new_members", _sum_over(new, current), _sum_over(new, previous))
    for name, read, columns in (
        ("revenue", _revenue, ["revenue", "purchases"]),
        ("points", _points, ["points_issued", "points_redeemed"]),
        ("care", _care, ["care_contacts", "care_responded"]),
    ):
        frame = section(name, lambda read=read: read(con, filters))
        if frame is None:
            continue
        summed = _monthly(frame, every_month, columns)
        for column in columns:
            monthly[column] = summed[column]
        if name == "care":
            monthly["care_response_rate"] = summed["care_responded"] / summed[
                "care_contacts"
            ].where(summed["care_contacts"] > 0)
            kpi(
                "care_response_rate",
                *(
                    ratio(
                        _sum_over(summed["care_responded"], period),
                        _sum_over(summed["care_contacts"], period),
                    )
                    if period
                    else None
                    for period in (current, previous)
                ),
            )
        else:
            for column in columns:
                if column != "purchases":
                    kpi(
                        column,
                        _sum_over(summed[column], current),
                        _sum_over(summed[column], previous),
                    )
    complaints = section("complaints", lambda: _complaints(con, filters))
    if complaints is not None:
        summed = _monthly(complaints, every_month, ["complaints_received", "complaints_closed"])
        open_end = (summed["complaints_received"] - summed["complaints_closed"]).cumsum()
        monthly["complaints_received"], monthly["complaints_open"] = (
            summed["complaints_received"],
            open_end,
        )
        kpi("open_complaints_end", _at_end(open_end, current), _at_end(open_end, previous))
    if current is not None:
        active = section("activity", lambda: _active(con, filters, current, previous))
        if active is not None:
            frame, now, before = active
            monthly["active_in_month"] = _monthly(frame, every_month, ["active_in_month"])[
                "active_in_month"
            ]
            kpi("active_in_period", now, before)

    kinds = {"revenue": "money", "care_response_rate": "percent"}
    order = (
        "total_members",
        "new_members",
        "active_in_period",
        "revenue",
        "points_issued",
        "points_redeemed",
        "open_complaints_end",
        "care_response_rate",
    )
    kpis = [Kpi(key, _number(values["now"].get(key)), kinds.get(key, "int")) for key in order]
    by_month = monthly.reindex(columns=list(MONTH_COLUMNS))
    if current is not None:
        by_month = by_month[(by_month.index >= current.first) & (by_month.index <= current.last)]
    by_month = by_month.reset_index()
    return OverviewNumbers(
        kpis=kpis,
        previous=({key: _number(values["before"].get(key)) for key in order} if previous else {}),
        previous_period=previous,
        by_month=by_month,
        missing=tuple(name for name in SECTIONS if name in missing),
    )


def _number(value: object) -> int | float | None:
    """Counts as int, money and rates as float, nothing as None."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return value
    try:
        return int(value) if float(value).is_integer() else float(value)
    except (TypeError, ValueError):
        return None


# -- the published warehouse ---------------------------------------------------------------------
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


def load_published(settings: Settings, filters: Filters | None = None) -> OverviewNumbers:
    """:func:`load` on the published warehouse, opened and closed at once.

    Raises :class:`clubcrm.published.NoPublishedWarehouse` when nothing is published yet.
    """
    from clubcrm.published import connect

    with closing(connect(settings)) as con:
        return load(con, filters or Filters())


def published_version(settings: Settings) -> str:
    """The current published file ('' when none): the cache key, so a new publish shows at once."""
    from clubcrm.published import NoPublishedWarehouse, published_path

    try:
        return str(published_path(settings))
    except NoPublishedWarehouse:
        return ""
