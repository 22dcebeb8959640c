"""The warehouse jobs, one per pipeline mode (decision D18), and their schedules (D19).

``clubcrm pipeline run`` and the scheduled jobs share these definitions: the asset selection
of each mode (:func:`pipeline_selection`; a routine run leaves out :data:`ROUTINE_SKIPS`), its
run config (:func:`pipeline_run_config`) and its tags (:func:`pipeline_tags`), so an hourly
run from the daemon does exactly what ``clubcrm pipeline run --routine`` does.

- ``warehouse_pipeline``: a complete build (``clubcrm pipeline run``), started by hand in the UI;
- ``warehouse_routine``: every hour (schedule ``warehouse_routine_hourly``), like ``--routine``;
  skipped, with the reason in the tick history, while no complete build has been published
  (the CLI turns such a run into a complete one; the nightly build makes one);
- ``warehouse_full``: every night (schedule ``warehouse_full_nightly``), like ``--full``.

Every job that opens the build warehouse carries the tag ``clubcrm/warehouse``; the instance's
run queue (orchestration/dagster.yaml) starts at most one run with that tag at a time, and
the warehouse resource's lock keeps them apart from ``clubcrm pipeline run`` and backups.
Schedules run in the club's time zone (``operational.services.points.CLUB_TIMEZONE``).
"""

from datetime import date
from typing import TYPE_CHECKING

import dagster as dg

from clubcrm.published import has_complete_build, published_path
from clubcrm.settings import get_settings
from operational.services.points import CLUB_TIMEZONE
from orchestration.checks import CHECKS
from orchestration.dbt_assets import DBT_ASSETS_NAME, clubcrm_dbt_assets
from orchestration.ml_assets import prediction_marts, trained_models
from orchestration.publish_assets import published_warehouse
from orchestration.raw_assets import raw_operational_tables, raw_swipes
from orchestration.resources import WAREHOUSE_TAGS

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

#: The schedules' time zone name (Dagster wants the IANA name, not a ZoneInfo).
CLUB_TIMEZONE_NAME = CLUB_TIMEZONE.key
#: Asset groups a routine run leaves as the last complete run built them (decision D18).
ROUTINE_SKIPS = ("reporting", "analysis", "features", "prediction")
#: Asset groups a routine run rebuilds without running their tests (decision D23): the core
#: facts built from them are tested over the same rows in the same run.
ROUTINE_UNTESTED = ("staging",)
PIPELINE_MODES = ("complete", "full", "routine")
MODE_TAG = "clubcrm/mode"

JOB_NAMES = {
    "complete": "warehouse_pipeline",
    "routine": "warehouse_routine",
    "full": "warehouse_full",
}
#: What a pipeline run may materialise, and the checks that gate publishing.
WAREHOUSE_ASSETS = [
    raw_operational_tables,
    raw_swipes,
    clubcrm_dbt_assets,
    trained_models,
    prediction_marts,
    published_warehouse,
]
WAREHOUSE_CHECKS = CHECKS

ROUTINE_CRON = "0 * * * *"  # every hour, on the hour
FULL_CRON = "30 0 * * *"  # 00:30 club time: yesterday complete, before the 02:00 daily jobs


def pipeline_selection(mode: str) -> dg.AssetSelection:
    """The assets (and their checks) a run of ``mode`` materialises."""
    if mode not in PIPELINE_MODES:
        raise ValueError(f"unknown pipeline mode {mode!r}: one of {', '.join(PIPELINE_MODES)}")
    selection = dg.AssetSelection.all()
    if mode == "routine":
        selection = selection - dg.AssetSelection.groups(*ROUTINE_SKIPS)
        # The staging views are still rebuilt (they are views); their tests, which re-read
        # every raw row of the history, wait for the next complete or full run (decision D23).
        untested = dg.AssetSelection.groups(*ROUTINE_UNTESTED)
        selection = (selection - untested) | untested.without_checks()
    return selection


def pipeline_run_config(mode: str, as_of: date | None = None) -> dict:
    """The ops' config of a run of ``mode`` (``as_of``: a backtest, complete mode only)."""
    pipeline_selection(mode)  # validates the mode
    full = mode == "full"
    as_of_text = as_of.isoformat() if as_of else None
    return {
        "ops": {
            raw_swipes.op.name: {"config": {"rescan": full}},
            raw_operational_tables.op.name: {"config": {"full": full}},
            DBT_ASSETS_NAME: {"config": {"as_of": as_of_text, "full_refresh": full}},
            published_warehouse.op.name: {"config": {"as_of": as_of_text, "mode": mode}},
        }
    }


def pipeline_tags(mode: str) -> dict[str, str]:
    return {**WAREHOUSE_TAGS, MODE_TAG: mode}


_DESCRIPTIONS = {
    "complete": "Complete build (clubcrm pipeline run): changed rows in, every model rebuilt, "
    "train if needed, score, check, publish.",
    "routine": "Hourly (clubcrm pipeline run --routine): changed rows in, staging and core "
    "rebuilt, checked, published; marts, features and scores stay those of the last complete "
    "build.",
    "full": "Nightly (clubcrm pipeline run --full): every table copied, every model rebuilt from "
    "scratch, scored, checked, published.",
}


def pipeline_job(mode: str, queued: bool = True) -> "UnresolvedAssetJobDefinition":
    """The job of ``mode``. ``queued`` (the daemon's runs): its config is built in and it
    carries the run queue's warehouse tag. ``clubcrm pipeline run`` passes its own config
    (``as_of``) and runs in-process under the lock, outside the queue: a killed command must
    not leave a run the queue would wait for forever."""
    return dg.define_asset_job(
        JOB_NAMES[mode],
        selection=pipeline_selection(mode),
        config=pipeline_run_config(mode) if queued else None,
        tags=pipeline_tags(mode) if queued else {MODE_TAG: mode},
        description=_DESCRIPTIONS[mode],
        # One step at a time, in the run's process: DuckDB allows one writing process.
        executor_def=dg.in_process_executor,
    )


warehouse_job = pipeline_job("complete")
routine_job = pipeline_job("routine")
full_job = pipeline_job("full")


def _complete_build_published() -> bool:
    try:
        return has_complete_build(published_path(get_settings()))
    except Exception:  # noqa: BLE001 - nothing published yet, or unreadable: no complete build
        return False


@dg.schedule(
    name="warehouse_routine_hourly",
    job=routine_job,
    cron_schedule=ROUTINE_CRON,
    execution_timezone=CLUB_TIMEZONE_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: the routine run (clubcrm pipeline run --routine).",
)
def routine_schedule(context: dg.ScheduleEvaluationContext):
    # Read from the published copy: never open the build file a running job may be writing.
    if not _complete_build_published():
        return dg.SkipReason(
            "no complete build published yet: a routine run keeps the marts of the last "
            "complete build; run `clubcrm pipeline run` or wait for warehouse_full_nightly"
        )
    return dg.RunRequest()


full_schedule = dg.ScheduleDefinition(
    name="warehouse_full_nightly",
    job=full_job,
    cron_schedule=FULL_CRON,
    execution_timezone=CLUB_TIMEZONE_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night: the full rebuild (clubcrm pipeline run --full), the safety net.",
)

defs = dg.Definitions(
    jobs=[warehouse_job, routine_job, full_job],
    schedules=[routine_schedule, full_schedule],
)
