"""Blocking asset checks: bad data stops the run before ``published_warehouse`` (decision D19).

Each check runs in the same run as the asset it checks, right after it; a failure (severity
ERROR) skips every asset downstream, so readers keep the previously published warehouse, and
the evaluation lands in the Dagster event log (the Status page lists failed checks of the
last run from there, beside dbt's tests, which Dagster shows as checks too).

- ``raw/members`` **ingestion_is_fresh**: the last ingestion (``raw._ingestion_state``, one
  snapshot for every operational table) happened within :data:`RAW_MAX_AGE` of now, and its
  watermark is within :data:`RAW_MAX_AGE` of the newest change in the operational database
  (both clocks compared with their own kind, so a skewed clock cannot hide a stale copy).
- ``raw/<table>`` **raw_rows_match_source** (one per operational table): the rows in ``raw``
  equal the source's count at ingestion time (``raw._ingestion_log``), and are consistent with
  the operational database now: ``source now − rows changed since the watermark ≤ raw ≤ source
  now + rows deleted since`` (equal when nobody wrote since), the window reaching back
  ``CLUBCRM_INGEST_LOOKBACK_MINUTES`` like ingestion itself.
- ``core/dim_members`` **points_balance_equals_ledger**: every member's ``points_balance``
  equals the sum of that member's posted entries in ``core.fct_point_entries``. The balance is
  rebuilt from staging on every run, the ledger fact incrementally (D15): a fact that drifted
  from the source shows up here. (dbt's ``assert_points_balance_matches_ledger`` compares the
  same balance with the operational running balance.)
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model
from sqlalchemy import DateTime, bindparam, text

from clubcrm.settings import Settings
from ingestion.operational import OPERATIONAL_TABLES, RAW_SCHEMA
from orchestration.dbt_assets import clubcrm_dbt_assets
from orchestration.raw_assets import raw_asset_key
from orchestration.resources import WarehouseResource

#: Older than this, raw is stale: the hourly routine run plus a generous margin.
RAW_MAX_AGE = timedelta(hours=2)
FRESHNESS_CHECK = "ingestion_is_fresh"
RECONCILIATION_CHECK = "raw_rows_match_source"
POINTS_CHECK = "points_balance_equals_ledger"
FRESHNESS_ASSET = raw_asset_key("members")
DIM_MEMBERS_KEY = get_asset_key_for_model([clubcrm_dbt_assets], "dim_members")
POINT_ENTRIES_KEY = get_asset_key_for_model([clubcrm_dbt_assets], "fct_point_entries")


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _as_datetime(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _ingestion_state(connection: duckdb.DuckDBPyConnection) -> tuple[datetime, datetime] | None:
    """(watermark, loaded_at) of the last ingestion, or None if there was none."""
    try:
        row = connection.execute(
            f"select max(watermark), max(loaded_at) from {RAW_SCHEMA}._ingestion_state"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None or row[0] is None else (row[0], row[1])


def _source_newest_change(database_url: str) -> datetime | None:
    from operational.db import make_engine

    union = " union all ".join(
        f'select max(_changed_at) as changed_at from "{table}"' for table in OPERATIONAL_TABLES
    )
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            value = connection.execute(text(f"select max(changed_at) from ({union}) as t")).scalar()
    finally:
        engine.dispose()
    return _as_datetime(value)


def freshness(
    connection: duckdb.DuckDBPyConnection,
    database_url: str,
    *,
    now: datetime | None = None,
    max_age: timedelta = RAW_MAX_AGE,
) -> dg.AssetCheckResult:
    """How fresh ``raw`` is, against this machine's clock and the operational database's."""
    state = _ingestion_state(connection)
    if state is None:
        return dg.AssetCheckResult(
            check_name=FRESHNESS_CHECK,
            asset_key=FRESHNESS_ASSET,
            passed=False,
            description="raw has never been ingested (no raw._ingestion_state)",
        )
    watermark, loaded_at = state
    age = (now or _utc_now()) - loaded_at
    newest = _source_newest_change(database_url)
    lag = max(newest - watermark, timedelta(0)) if newest is not None else timedelta(0)
    problems = []
    if age > max_age:
        problems.append(f"the last ingestion was {age} ago (more than {max_age})")
    if lag > max_age:
        problems.append(
            f"the operational database changed {lag} after the ingested snapshot "
            f"(more than {max_age})"
        )
    return dg.AssetCheckResult(
        check_name=FRESHNESS_CHECK,
        asset_key=FRESHNESS_ASSET,
        passed=not problems,
        description="; ".join(problems) or "raw is fresh",
        metadata={
            "loaded_at": str(loaded_at),
            "watermark": str(watermark),
            "source_newest_change": str(newest),
            "age_minutes": round(age.total_seconds() / 60, 1),
            "lag_minutes": round(lag.total_seconds() / 60, 1),
        },
    )


def _ingested_counts(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The source's row count per table at the last ingestion (``raw._ingestion_log``)."""
    try:
        rows = connection.execute(
            f"select table_name, rows from {RAW_SCHEMA}._ingestion_log "
            f"where loaded_at = (select max(loaded_at) from {RAW_SCHEMA}._ingestion_state)"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {table: int(count) for table, count in rows}


def _since(value: datetime):
    # Typed, so SQLite compares it in the stored text form of naive UTC timestamps.
    return bindparam("since", value, type_=DateTime())


def _source_counts(database_url: str, since: datetime) -> dict[str, tuple[int, int, int]]:
    """Per table: (rows now, rows changed since ``since``, rows deleted since ``since``)."""
    from operational.db import make_engine

    engine = make_engine(database_url)
    counts = {}
    try:
        with engine.connect() as connection:
            deleted = dict(
                connection.execute(
                    text(
                        "select table_name, count(*) from change_tracking_deletions "
                        "where deleted_at >= :since group by table_name"
                    ).bindparams(_since(since))
                ).all()
            )
            for table in OPERATIONAL_TABLES:
                now, changed = connection.execute(
                    text(
                        f"select count(*), count(*) filter (where _changed_at >= :since) "
                        f'from "{table}"'
                    ).bindparams(_since(since))
                ).one()
                counts[table] = (int(now), int(changed), int(deleted.get(table, 0)))
    finally:
        engine.dispose()
    return counts


def reconcile_raw(
    connection: duckdb.DuckDBPyConnection, database_url: str, lookback_minutes: int
) -> Iterator[dg.AssetCheckResult]:
    """One result per operational table: raw against the ingestion log and the source."""
    state = _ingestion_state(connection)
    ingested = _ingested_counts(connection)
    since = (state[0] if state else datetime(1900, 1, 1)) - timedelta(minutes=lookback_minutes)
    source = _source_counts(database_url, since)
    for table in OPERATIONAL_TABLES:
        try:
            raw_rows = connection.execute(
                f'select count(*) from {RAW_SCHEMA}."{table}"'
            ).fetchone()[0]
        except duckdb.CatalogException:
            raw_rows = None
        now, changed, deleted = source[table]
        expected = ingested.get(table)
        problems = []
        if raw_rows is None:
            problems.append(f"raw.{table} does not exist")
        else:
            if expected is None:
                problems.append(f"the last ingestion recorded no row count for {table}")
            elif raw_rows != expected:
                problems.append(
                    f"raw.{table} holds {raw_rows} rows, the source had {expected} when ingested"
                )
            if not now - changed <= raw_rows <= now + deleted:
                problems.append(
                    f"raw.{table} holds {raw_rows} rows but the operational table holds {now} "
                    f"({changed} changed and {deleted} deleted since the ingested snapshot)"
                )
        yield dg.AssetCheckResult(
            check_name=RECONCILIATION_CHECK,
            asset_key=raw_asset_key(table),
            passed=not problems,
            description="; ".join(problems) or f"raw.{table} matches the source",
            metadata={
                "raw_rows": -1 if raw_rows is None else int(raw_rows),
                "rows_at_ingestion": -1 if expected is None else expected,
                "source_rows_now": now,
                "source_changed_since": changed,
                "source_deleted_since": deleted,
            },
        )


POINTS_MISMATCH_SQL = """
with ledger as (
    select member_no, sum(case when status = 'posted' then points else 0 end) as points
    from core.fct_point_entries
    where member_no is not null
    group by member_no
)
select
    coalesce(members.member_no, ledger.member_no) as member_no,
    coalesce(members.points_balance, 0) as points_balance,
    coalesce(ledger.points, 0) as ledger_points
from core.dim_members as members
full outer join ledger on ledger.member_no = members.member_no
where coalesce(members.points_balance, 0) <> coalesce(ledger.points, 0)
order by 1
"""


def reconcile_points(connection: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """Every member's balance in core.dim_members against the sum of the core ledger."""
    mismatches = connection.execute(POINTS_MISMATCH_SQL).fetchall()
    members = connection.execute("select count(*) from core.dim_members").fetchone()[0]
    examples = ", ".join(f"{no}: {bal} vs {led}" for no, bal, led in mismatches[:5])
    return dg.AssetCheckResult(
        check_name=POINTS_CHECK,
        asset_key=DIM_MEMBERS_KEY,
        passed=not mismatches,
        description=(
            f"{len(mismatches)} members' points_balance differs from the sum of their posted "
            f"entries in core.fct_point_entries (balance vs ledger: {examples})"
            if mismatches
            else f"all {members} balances equal the ledger"
        ),
        metadata={"members": int(members), "mismatched_members": len(mismatches)},
    )


@dg.asset_check(
    asset=FRESHNESS_ASSET,
    name=FRESHNESS_CHECK,
    blocking=True,
    description="The last ingestion is recent and not far behind the operational database.",
)
def ingestion_is_fresh(
    clubcrm: dg.ResourceParam[Settings], warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        return freshness(connection, clubcrm.database_url)


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            RECONCILIATION_CHECK,
            asset=raw_asset_key(table),
            blocking=True,
            description=f"raw.{table} holds the operational table's rows (counts reconcile).",
        )
        for table in OPERATIONAL_TABLES
    ],
    can_subset=False,
)
def raw_rows_match_source(
    clubcrm: dg.ResourceParam[Settings], warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connect() as connection:
        yield from reconcile_raw(connection, clubcrm.database_url, clubcrm.ingest_lookback_minutes)


@dg.asset_check(
    asset=DIM_MEMBERS_KEY,
    name=POINTS_CHECK,
    additional_deps=[POINT_ENTRIES_KEY],
    blocking=True,
    description="Every member's points balance equals the sum of the core points ledger.",
)
def points_balance_equals_ledger(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as connection:
        return reconcile_points(connection)


CHECKS = [ingestion_is_fresh, raw_rows_match_source, points_balance_equals_ledger]
CHECK_NAMES = frozenset({FRESHNESS_CHECK, RECONCILIATION_CHECK, POINTS_CHECK})

defs = dg.Definitions(asset_checks=CHECKS)
