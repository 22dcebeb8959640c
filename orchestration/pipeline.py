"""`clubcrm pipeline run`: ingest, dbt build, train if needed, score, check, publish (one
Dagster run).

The run is recorded in the Dagster instance under ``CLUBCRM_HOME/dagster`` (DAGSTER_HOME), so
the Dagster UI (``make scheduler``, or ``DAGSTER_HOME=… dagster dev -m
orchestration.definitions``) and the Status page see it. Steps run one after another in this
process. The selection, run config and tags of each mode are those of the scheduled jobs
(orchestration/jobs.py), so a run started here and one the daemon starts do the same work. The
warehouse writer's lock (clubcrm.locks) keeps this run, daemon runs, backups and restores of
the same data folder from overlapping: a run finding it taken fails at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from clubcrm.locks import WarehouseBusy, warehouse_lock
from clubcrm.published import has_complete_build
from clubcrm.settings import Settings
from orchestration.instance import ensure_dagster_home
from orchestration.project import DbtParseFailed


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
    #: Failed checks of orchestration/checks.py ("raw/members ingestion_is_fresh: why").
    check_failures: list[str] = field(default_factory=list)

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
        for failure in self.check_failures:
            lines.append(f"check failed: {failure}")
        for error in self.errors:
            lines.append(f"error: {error}")
        if self.published_path:
            lines.append(f"published: {self.published_path}")
        else:
            lines.append("not published: readers keep the previously published warehouse")
        lines.append(f"{'finished' if self.success else 'failed'} in {self.seconds:.1f} s")
        return lines


#: Another writer holds the warehouse (kept under this name for callers of the pipeline).
PipelineBusy = WarehouseBusy


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
        with warehouse_lock(settings, wait_seconds=0):
            mode = "full" if full else "routine" if routine else "complete"
            if mode == "routine" and not has_complete_build(settings.build_warehouse_path):
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


def _run(settings: Settings, as_of: date | None, mode: str, started: float) -> PipelineResult:
    import dagster as dg

    from orchestration.resources import (
        MEMORY_LIMIT_ENV,
        WAREHOUSE_PATH_ENV,
        duckdb_memory_limit,
        resources_for,
    )

    dagster_home = ensure_dagster_home(settings)
    run_results = settings.dbt_target_dir / "run_results.json"
    run_results.unlink(missing_ok=True)  # never report an earlier run's dbt results

    with _environment(
        DAGSTER_HOME=str(dagster_home),
        **{
            WAREHOUSE_PATH_ENV: str(settings.build_warehouse_path),
            MEMORY_LIMIT_ENV: duckdb_memory_limit(),
        },
    ):
        from orchestration.jobs import (
            JOB_NAMES,
            WAREHOUSE_ASSETS,
            WAREHOUSE_CHECKS,
            pipeline_job,
            pipeline_run_config,
        )

        # The scheduled job of this mode (same selection, checks, config), bound to this data
        # folder. Not queued: it runs here, under the lock this process holds.
        job = dg.Definitions(
            assets=WAREHOUSE_ASSETS,
            asset_checks=WAREHOUSE_CHECKS,
            jobs=[pipeline_job(mode, queued=False)],
            resources=resources_for(settings),
        ).resolve_job_def(JOB_NAMES[mode])
        run_config = {
            **pipeline_run_config(mode, as_of),
            # The run's events are all stored in the instance; the terminal gets warnings only.
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        }
        dbt_log = settings.dbt_target_dir / "dbt-output.log"
        dbt_log.parent.mkdir(parents=True, exist_ok=True)
        # dagster-dbt echoes dbt's log lines on stdout; keep them in a file, print a summary.
        with (
            dg.DagsterInstance.get() as instance,
            open(dbt_log, "w", encoding="utf-8") as log_file,
            redirect_stdout(log_file),
        ):
            outcome = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                raise_on_error=False,
                tags={
                    "clubcrm/command": "pipeline run",
                    "clubcrm/as_of": as_of.isoformat() if as_of else "now",
                },
            )

    result = PipelineResult(
        success=outcome.success, seconds=0.0, run_id=outcome.run_id, as_of=as_of, mode=mode
    )
    _collect_materializations(outcome, result)
    _collect_dbt_results(run_results, result)
    _collect_check_failures(outcome, result)
    for event in outcome.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # a blocking check failed: listed with its reason in check_failures
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


def _collect_check_failures(outcome, result: PipelineResult) -> None:
    from orchestration.checks import CHECK_NAMES

    for event in outcome.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.event_specific_data
        if evaluation.passed or evaluation.check_name not in CHECK_NAMES:
            continue  # dbt's failing tests are listed from run_results.json
        target = "/".join(evaluation.asset_key.path)
        result.check_failures.append(
            f"{target} {evaluation.check_name}: {evaluation.description or 'failed'}"
        )


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
