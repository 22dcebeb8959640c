"""`clubcrm pipeline run`: ingest, dbt build, train if needed, score, publish (one Dagster run).

The run is recorded in the Dagster instance under ``CLUBCRM_HOME/dagster`` (DAGSTER_HOME), so
the Dagster UI (``DAGSTER_HOME=… dagster dev -m orchestration.definitions``) and a status page
see it. Steps run one after another in this process: DuckDB allows one writing process, and a
file lock keeps two pipeline runs on the same data folder from overlapping.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from clubcrm.settings import Settings
from orchestration.project import DbtParseFailed

DAGSTER_YAML = """\
# Written by clubcrm: the default local instance (SQLite storage in this folder).
telemetry:
  enabled: false
"""


@dataclass
class PipelineResult:
    """What a pipeline run did, for the command line and a status page."""

    success: bool
    seconds: float
    run_id: str | None = None
    as_of: date | None = None
    raw_rows: dict[str, int] = field(default_factory=dict)
    swipes_inserted: int | None = None
    dbt_results: dict[str, dict[str, int]] = field(default_factory=dict)
    dbt_failures: list[str] = field(default_factory=list)
    published_path: Path | None = None
    errors: list[str] = field(default_factory=list)
    mode: str = "complete"  # complete | full | routine (see run_pipeline)
    prediction_rows: dict[str, int] = field(default_factory=dict)
    model_versions: dict[str, str] = field(default_factory=dict)

    def dbt_count(self, resource_type: str, *statuses: str) -> int:
        counts = self.dbt_results.get(resource_type, {})
        return (
            sum(counts.get(status, 0) for status in statuses) if statuses else sum(counts.values())
        )

    def summary_lines(self) -> list[str]:
        lines: list[str] = []
        if self.mode == "routine":
            lines.append(
                "routine run: changed rows ingested, core layer refreshed; reporting, analysis, "
                "features and predictions are those of the last complete run"
            )
        elif self.mode == "full":
            lines.append("full rebuild: every table copied and every model rebuilt")
        if self.as_of:
            lines.append(f"as of {self.as_of.isoformat()} (events after that day ignored)")
        if self.raw_rows:
            lines.append(f"raw tables ({len(self.raw_rows)}):")
            width = max(len(name) for name in self.raw_rows)
            for name, rows in sorted(self.raw_rows.items()):
                lines.append(f"  raw.{name:<{width}} {rows:>12,}")
        if self.swipes_inserted is not None:
            lines.append(f"swipes loaded this run: {self.swipes_inserted:,}")
        if self.dbt_results:
            models = self.dbt_count("model")
            models_ok = self.dbt_count("model", "success")
            tests = self.dbt_count("test")
            tests_ok = self.dbt_count("test", "pass")
            units = self.dbt_count("unit_test")
            units_ok = self.dbt_count("unit_test", "pass")
            lines.append(
                f"dbt build: models {models_ok}/{models} built, tests {tests_ok}/{tests} passed, "
                f"unit tests {units_ok}/{units} passed"
            )
            warned = self.dbt_count("test", "warn")
            if warned:
                lines.append(f"dbt tests with warnings: {warned}")
        for mart, rows in sorted(self.prediction_rows.items()):
            version = self.model_versions.get(mart, "none")
            lines.append(f"prediction.{mart}: {rows:,} members scored (model {version})")
        for failure in self.dbt_failures:
            lines.append(f"dbt failure: {failure}")
        for error in self.errors:
            lines.append(f"error: {error}")
        if self.published_path:
            lines.append(f"published: {self.published_path}")
        else:
            lines.append("not published: readers keep the previously published warehouse")
        lines.append(f"{'finished' if self.success else 'failed'} in {self.seconds:.1f} s")
        return lines


#: Asset groups a routine run leaves as the last complete run built them (decision D18).
ROUTINE_SKIPS = ("reporting", "analysis", "features", "prediction")


class PipelineBusy(RuntimeError):
    """Another pipeline run holds this data folder's warehouse."""


@contextmanager
def _pipeline_lock(settings: Settings) -> Iterator[None]:
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.warehouse_dir / ".pipeline.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PipelineBusy(
                f"another pipeline run is using {settings.warehouse_dir}; try again when it ends"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ensure_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return home


def run_pipeline(
    settings: Settings, as_of: date | None = None, full: bool = False, routine: bool = False
) -> PipelineResult:
    """Ingest the operational DB and spool into ``raw``, dbt build, score, publish on success.

    Three modes (decision D18):

    - *complete* (default): only rows changed since the last run are ingested, the large
      facts are built incrementally, every other model is rebuilt, models are trained if
      needed and every member is scored;
    - ``full``: every operational table is copied, every spool file re-read and every model
      rebuilt from scratch (dbt ``--full-refresh``);
    - ``routine`` (the hourly schedule): changed rows in, staging, core and restricted models
      rebuilt (facts incrementally), published; the reporting, analysis, feature and
      prediction layers stay as the last complete run built them (``main.warehouse_info``
      says when). Without any complete build yet it runs a complete build instead.

    ``as_of`` builds the warehouse as it was at the end of that (club-local) day (a complete
    build). A failed step (ingestion error, dbt model error or failed test) stops the run
    before publishing: readers keep the previous warehouse.
    """
    if routine and (full or as_of is not None):
        raise ValueError("a routine run cannot be combined with --full or --as-of")
    started = time.monotonic()
    settings.ensure_dirs()
    try:
        with _pipeline_lock(settings):
            mode = "full" if full else "routine" if routine else "complete"
            if mode == "routine" and not _has_complete_build(settings):
                mode = "complete"
            return _run(settings, as_of, mode, started)
    except PipelineBusy as exc:
        return PipelineResult(
            success=False, seconds=time.monotonic() - started, as_of=as_of, errors=[str(exc)]
        )
    except DbtParseFailed as exc:  # the dbt project itself is broken: nothing ran
        return PipelineResult(
            success=False, seconds=time.monotonic() - started, as_of=as_of, errors=[str(exc)]
        )


def _has_complete_build(settings: Settings) -> bool:
    """Whether the build warehouse holds a complete (or full) build to keep the marts of."""
    import duckdb

    path = settings.build_warehouse_path
    if not path.exists():
        return False
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return bool(
            connection.execute(
                "select count(*) from duckdb_tables() where schema_name = 'main' "
                "and table_name = 'build_history'"
            ).fetchone()[0]
            and connection.execute(
                "select count(*) from main.build_history where mode <> 'routine'"
            ).fetchone()[0]
        )
    finally:
        connection.close()


def _run(settings: Settings, as_of: date | None, mode: str, started: float) -> PipelineResult:
    import dagster as dg

    from orchestration.resources import WAREHOUSE_PATH_ENV, resources_for

    dagster_home = _ensure_dagster_home(settings)
    run_results = settings.dbt_target_dir / "run_results.json"
    run_results.unlink(missing_ok=True)  # never report an earlier run's dbt results
    as_of_text = as_of.isoformat() if as_of else None
    full = mode == "full"

    with _environment(
        DAGSTER_HOME=str(dagster_home),
        **{WAREHOUSE_PATH_ENV: str(settings.build_warehouse_path)},
    ):
        from orchestration.dbt_assets import DBT_ASSETS_NAME, clubcrm_dbt_assets
        from orchestration.ml_assets import prediction_marts, trained_models
        from orchestration.publish_assets import published_warehouse
        from orchestration.raw_assets import raw_operational_tables, raw_swipes

        selection = None
        if mode == "routine":
            selection = dg.AssetSelection.all() - dg.AssetSelection.groups(*ROUTINE_SKIPS)
        run_config = {
            # The run's events are all stored in the instance; the terminal gets warnings only.
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            "ops": {
                raw_swipes.op.name: {"config": {"rescan": full}},
                raw_operational_tables.op.name: {"config": {"full": full}},
                DBT_ASSETS_NAME: {"config": {"as_of": as_of_text, "full_refresh": full}},
                published_warehouse.op.name: {"config": {"as_of": as_of_text, "mode": mode}},
            },
        }
        dbt_log = settings.dbt_target_dir / "dbt-output.log"
        dbt_log.parent.mkdir(parents=True, exist_ok=True)
        # dagster-dbt echoes dbt's log lines on stdout; keep them in a file, print a summary.
        with (
            dg.DagsterInstance.get() as instance,
            open(dbt_log, "w", encoding="utf-8") as log_file,
            redirect_stdout(log_file),
        ):
            outcome = dg.materialize(
                [
                    raw_operational_tables,
                    raw_swipes,
                    clubcrm_dbt_assets,
                    trained_models,
                    prediction_marts,
                    published_warehouse,
                ],
                selection=selection,
                instance=instance,
                resources=resources_for(settings),
                run_config=run_config,
                raise_on_error=False,
                tags={
                    "clubcrm/command": "pipeline run",
                    "clubcrm/as_of": as_of_text or "now",
                    "clubcrm/mode": mode,
                },
            )

    result = PipelineResult(
        success=outcome.success, seconds=0.0, run_id=outcome.run_id, as_of=as_of, mode=mode
    )
    _collect_materializations(outcome, result)
    _collect_dbt_results(run_results, result)
    for event in outcome.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            message = (error.message if error else "step failed").strip().splitlines()
            result.errors.append(f"{event.step_key}: {message[0] if message else 'failed'}")
    if result.published_path is None:
        result.success = False
    result.seconds = time.monotonic() - started
    return result


def _collect_materializations(outcome, result: PipelineResult) -> None:
    from orchestration.ml_assets import PREDICTION_GROUP
    from orchestration.publish_assets import PUBLISHED_KEY
    from orchestration.raw_assets import SWIPES_KEY

    for event in outcome.get_asset_materialization_events():
        materialization = event.materialization
        key = materialization.asset_key
        metadata = {name: value.value for name, value in materialization.metadata.items()}
        if key == PUBLISHED_KEY:
            result.published_path = Path(str(metadata["path"]))
        elif key == SWIPES_KEY:
            result.raw_rows["swipes"] = int(metadata.get("dagster/row_count", 0))
            result.swipes_inserted = int(metadata.get("rows_inserted", 0))
        elif key.path[0] == PREDICTION_GROUP and "dagster/row_count" in metadata:
            result.prediction_rows[key.path[-1]] = int(metadata["dagster/row_count"])
            result.model_versions[key.path[-1]] = str(metadata.get("model_version", "none"))
        elif key.path[0] == "raw" and "dagster/row_count" in metadata:
            result.raw_rows[key.path[-1]] = int(metadata["dagster/row_count"])


def _collect_dbt_results(path: Path, result: PipelineResult) -> None:
    if not path.exists():
        return
    payload = json.loads(path.read_text(encoding="utf-8"))
    for node in payload.get("results", []):
        unique_id = node.get("unique_id", "")
        resource_type = unique_id.split(".", 1)[0]
        status = str(node.get("status"))
        counts = result.dbt_results.setdefault(resource_type, {})
        counts[status] = counts.get(status, 0) + 1
        if status in {"fail", "error"}:
            message = (node.get("message") or "").strip().splitlines()
            result.dbt_failures.append(
                f"{resource_type} {unique_id.rsplit('.', 1)[-1]}: "
                f"{message[0] if message else status}"
            )
