"""Group ``raw``: one asset per operational table, plus ``raw/swipes`` from the spool.

Both retry transient errors (:func:`retry_if_transient`): a database locked or busy, a dropped
connection. Ingestion is one transaction and the swipe load exactly once, so a retry redoes the
same work; any other error fails the step at once.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from clubcrm.settings import Settings
from ingestion.operational import OPERATIONAL_TABLES, RAW_SCHEMA, ingest_operational_tables
from ingestion.swipes import load_swipes
from orchestration.resources import WarehouseResource

RAW_GROUP = "raw"
SWIPES_KEY = dg.AssetKey([RAW_SCHEMA, "swipes"])


#: Retries of a transient error, waiting 5, 10, 20 s.
TRANSIENT_RETRIES = 3
TRANSIENT_FIRST_WAIT_SECONDS = 5
_TRANSIENT_MESSAGES = (
    "database is locked",
    "database is busy",
    "could not set lock",
    "conflicting lock",
    "connection refused",
    "connection reset",
    "server closed the connection",
    "terminating connection",
    "could not connect",
)


def raw_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, table])


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) may go away by itself: locked, busy, disconnected."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = str(current).lower()
        if any(text in message for text in _TRANSIENT_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def retry_if_transient(context: dg.AssetExecutionContext) -> Iterator[None]:
    """Turn a transient error into a retry of the step (exponential wait), others propagate."""
    try:
        yield
    except Exception as exc:
        if not is_transient(exc):
            raise
        attempt = context.retry_number
        wait = TRANSIENT_FIRST_WAIT_SECONDS * 2**attempt
        context.log.warning(
            f"transient error (attempt {attempt + 1} of {TRANSIENT_RETRIES + 1}), "
            f"retrying in {wait} s: {exc}"
        )
        raise dg.RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=wait) from exc


class OperationalIngestConfig(dg.Config):
    full: bool = False
    """Copy every table in full instead of the rows changed since the last run."""


@dg.multi_asset(
    name="raw_operational_tables",
    specs=[
        dg.AssetSpec(
            raw_asset_key(table),
            group_name=RAW_GROUP,
            kinds={"duckdb"},
            description=(
                f"Copy of the operational table `{table}`: rows changed since the last run "
                "(or every row on a full run)."
            ),
        )
        for table in OPERATIONAL_TABLES
    ],
    can_subset=False,
)
def raw_operational_tables(
    context: dg.AssetExecutionContext,
    config: OperationalIngestConfig,
    clubcrm: dg.ResourceParam[Settings],
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """All operational tables from one snapshot, changed rows only, in one transaction."""
    with retry_if_transient(context), warehouse.connect() as connection:
        result = ingest_operational_tables(
            connection,
            clubcrm.database_url,
            scratch_dir=clubcrm.warehouse_dir,
            full=config.full,
            lookback_minutes=clubcrm.ingest_lookback_minutes,
        )
    if result.mode == "full":
        context.log.info(
            f"copied {len(result.counts)} operational tables in full ({result.full_reason}), "
            f"{result.rows_loaded} rows"
        )
    else:
        context.log.info(
            f"{result.rows_loaded} changed rows and {sum(result.deleted.values())} deletions "
            f"from {len(result.counts)} operational tables"
        )
    for table, rows in result.counts.items():
        yield dg.MaterializeResult(
            asset_key=raw_asset_key(table),
            metadata={
                "dagster/row_count": rows,
                "mode": result.mode,
                "rows_loaded": result.changed.get(table, 0),
                "rows_deleted": result.deleted.get(table, 0),
            },
        )


class SwipeLoadConfig(dg.Config):
    rescan: bool = False
    """Read every finished spool file again (ids already loaded are still skipped)."""


@dg.asset(
    key=SWIPES_KEY,
    group_name=RAW_GROUP,
    kinds={"duckdb"},
    description="Card-reader swipes from finished spool files, exactly once per swipe_id.",
)
def raw_swipes(
    context: dg.AssetExecutionContext,
    config: SwipeLoadConfig,
    clubcrm: dg.ResourceParam[Settings],
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    with retry_if_transient(context), warehouse.connect() as connection:
        loaded = load_swipes(connection, clubcrm.spool_dir, rescan=config.rescan)
    context.log.info(
        f"{loaded.rows_inserted} new swipes from {loaded.files_read} spool files "
        f"({loaded.total_rows} in total)"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": loaded.total_rows,
            "rows_inserted": loaded.rows_inserted,
            "files_read": loaded.files_read,
        }
    )


defs = dg.Definitions(assets=[raw_operational_tables, raw_swipes])
