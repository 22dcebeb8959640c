"""The Status page without Streamlit: the pipeline's last runs (from the Dagster instance under
``CLUBCRM_HOME/dagster``), what failed in the last run, and how fresh the published warehouse is.

Everything here only reads: the Dagster instance's run and event storage, and the published
copy through :func:`clubcrm.published.connect`. Nothing having run yet is a normal state (an
empty list, ``None``), never an error.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from clubcrm.published import NoPublishedWarehouse, connect
from clubcrm.settings import Settings

#: How many runs the page lists.
RUNS_SHOWN = 10
#: The run tag that may say what a run rebuilt (else the published copy's build_history says).
MODE_TAG = "clubcrm/mode"
AS_OF_TAG = "clubcrm/as_of"
#: dagster-dbt's metadata key for the number of rows a failing dbt test returned.
FAILED_ROWS_KEY = "dagster_dbt/failed_row_count"
#: The column holding when each core fact's event happened (the newest one says how far the
#: data reaches); facts not listed use their first ``*_at`` column.
EVENT_COLUMNS: dict[str, str] = {
    "fct_purchases": "purchased_at",
    "fct_point_entries": "created_at",
    "fct_swipes": "swiped_at",
    "fct_applications": "submitted_at",
    "fct_complaints": "received_at",
    "fct_complaint_steps": "handled_at",
    "fct_activity_attendance": "attended_at",
    "fct_activity_costs": "recorded_at",
    "fct_cares": "run_on",
    "fct_care_contacts": "contacted_at",
    "fct_merchant_service_uses": "used_at",
    "fct_redemptions": "redeemed_at",
}


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    status: str  # Dagster's run status: SUCCESS, FAILURE, STARTED, CANCELED...
    started_at: datetime | None
    finished_at: datetime | None
    mode: str | None
    as_of: str | None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Failure:
    """A failed asset check (a dbt test or a Python check) or a failed step of a run."""

    kind: str  # "check" or "step"
    name: str  # the check's name or the step's key
    target: str  # the asset checked ("core/fct_purchases"); empty for a step
    message: str
    blocking: bool
    failed_rows: int | None = None  # a dbt test's count of failing rows


@dataclass
class Freshness:
    run_id: str | None = None
    published_at: datetime | None = None
    as_of: object = None
    mode: str | None = None
    marts_built_at: datetime | None = None
    watermarks: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    newest_events: list[tuple[str, str, object]] = field(default_factory=list)  # fact, column, when


def _instance(settings: Settings):
    """The Dagster instance of this data folder, or None when no run has set it up."""
    home = settings.dagster_home
    if not (home / "dagster.yaml").exists():
        return None
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def last_runs(settings: Settings, limit: int = RUNS_SHOWN) -> list[PipelineRun]:
    """The newest ``limit`` pipeline runs, newest first; empty when nothing ran yet."""
    instance = _instance(settings)
    if instance is None:
        return []
    modes = _build_modes(settings)
    with instance:
        records = instance.get_run_records(limit=limit)
        runs = []
        for record in records:
            run = record.dagster_run
            tags = run.tags or {}
            runs.append(
                PipelineRun(
                    run_id=run.run_id,
                    status=run.status.value,
                    started_at=_when(record.start_time),
                    finished_at=_when(record.end_time),
                    mode=tags.get(MODE_TAG) or modes.get(run.run_id),
                    as_of=tags.get(AS_OF_TAG),
                )
            )
    return runs


def last_run_failures(settings: Settings, run_id: str) -> list[Failure]:
    """The failed asset checks and failed steps of run ``run_id``."""
    instance = _instance(settings)
    if instance is None:
        return []
    from dagster import DagsterEventType

    failures: list[Failure] = []
    with instance:
        checks = instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for record in checks:
            evaluation = record.event_log_entry.dagster_event.event_specific_data
            if evaluation.passed:
                continue
            metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}
            rows = metadata.get(FAILED_ROWS_KEY)
            failures.append(
                Failure(
                    kind="check",
                    name=evaluation.check_name,
                    target="/".join(evaluation.asset_key.path),
                    message=str(
                        getattr(evaluation, "description", None) or metadata.get("message") or ""
                    )[:500],
                    failed_rows=None if rows is None else int(rows),
                    blocking=str(getattr(evaluation.severity, "value", evaluation.severity))
                    == "ERROR",
                )
            )
        steps = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
        for record in steps:
            event = record.event_log_entry.dagster_event
            error = event.step_failure_data.error if event.step_failure_data else None
            if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # a blocking check failed: listed above with its own message
            while error is not None and error.cause is not None:  # Dagster wraps the cause
                error = error.cause
            lines = (error.message if error else "step failed").strip().splitlines()
            failures.append(
                Failure(
                    kind="step",
                    name=event.step_key or "",
                    target="",
                    message=(lines[0] if lines else "step failed")[:500],
                    blocking=True,
                )
            )
    return failures


def _build_modes(settings: Settings) -> dict[str, str]:
    """run_id -> mode from the published copy's ``main.build_history`` (empty if unreadable)."""
    try:
        with closing(connect(settings)) as connection:
            return dict(
                connection.execute("select run_id, mode from main.build_history").fetchall()
            )
    except (NoPublishedWarehouse, duckdb.Error):
        return {}


def freshness(settings: Settings) -> Freshness | None:
    """How fresh the published warehouse is; None when nothing was published yet."""
    try:
        connection = connect(settings)
    except NoPublishedWarehouse:
        return None
    with closing(connection):
        fresh = Freshness()
        tables = {
            (schema, name)
            for schema, name in connection.execute(
                "select schema_name, table_name from duckdb_tables() "
                "union all select schema_name, view_name from duckdb_views() where not internal"
            ).fetchall()
        }
        if ("main", "warehouse_info") in tables:
            row = connection.execute(
                "select run_id, published_at, as_of, mode, marts_built_at from main.warehouse_info"
            ).fetchone()
            if row:
                fresh.run_id, fresh.published_at, fresh.as_of, fresh.mode, fresh.marts_built_at = (
                    row
                )
        if ("raw", "_ingestion_state") in tables:
            try:
                fresh.watermarks = connection.execute(
                    "select source, max(watermark), max(loaded_at) from raw._ingestion_state "
                    "group by source order by source"
                ).fetchall()
            except duckdb.Error:  # a layout this page does not know: leave it out
                fresh.watermarks = []
        facts = sorted(
            name for schema, name in tables if schema == "core" and name.startswith("fct_")
        )
        for fact in facts:
            column = _event_column(connection, fact)
            if column is None:
                continue
            newest = connection.execute(f'select max("{column}") from core."{fact}"').fetchone()[0]
            fresh.newest_events.append((fact, column, newest))
    return fresh


def _event_column(connection: duckdb.DuckDBPyConnection, fact: str) -> str | None:
    columns = [
        row[0]
        for row in connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'core' and table_name = ? order by ordinal_position",
            [fact],
        ).fetchall()
    ]
    wanted = EVENT_COLUMNS.get(fact)
    if wanted in columns:
        return wanted
    return next((c for c in columns if c.endswith("_at") and not c.startswith("_")), None)
