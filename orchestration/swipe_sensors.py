"""Card-reader swipes on the scheduler: load finished spool files, post new swipes.

- ``swipe_spool_sensor`` (every 60 s) requests a run of ``load_swipes`` (the ``raw/swipes``
  asset) when finished spool files appeared that it has not requested a run for. Its cursor is
  the set of finished file names already handed over; the load itself is exactly once whatever
  the sensor does (``ingestion.swipes``: files registered, swipe ids unique), so a file that
  finishes late, out of order, or while a run is going is simply picked up by a later tick. It
  skips while another warehouse run is queued or running (DuckDB has one writer).
- ``swipe_poster_sensor`` (every 30 s) requests a run of ``post_swipes`` when any spool file
  changed since its last request, or the last posting run failed (not while one is running): ``devices.poster`` posts attendance, service uses and points,
  exactly once per swipe.

(No ``from __future__ import annotations`` here: Dagster reads the op's annotations.)
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from clubcrm.settings import get_settings
from ingestion.swipes import finished_spool_files
from orchestration.raw_assets import SWIPES_KEY
from orchestration.resources import WAREHOUSE_TAG, WAREHOUSE_TAGS

load_swipes_job = dg.define_asset_job(
    "load_swipes",
    selection=dg.AssetSelection.assets(SWIPES_KEY),
    description="Load finished card-reader spool files into raw.swipes (exactly once).",
    executor_def=dg.in_process_executor,
    tags=WAREHOUSE_TAGS,  # it writes the warehouse: queued with the other warehouse runs
)

_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _warehouse_busy(instance: dg.DagsterInstance) -> bool:
    """A run that writes the warehouse is queued or running (any job with the warehouse tag)."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=_ACTIVE), limit=50)
    return any(WAREHOUSE_TAG in (run.tags or {}) for run in runs)


def new_finished_files(spool_dir: Path, cursor: str | None) -> tuple[list[str], str]:
    """Finished spool files not in the cursor, and the cursor that includes them."""
    seen = set(json.loads(cursor)) if cursor else set()
    names = [str(path.relative_to(spool_dir)) for path in finished_spool_files(spool_dir)]
    fresh = [name for name in names if name not in seen]
    # Keep the cursor small: only names still on disk matter (archived files never come back).
    return fresh, json.dumps(sorted(set(names)))


@dg.sensor(
    job=load_swipes_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Load newly finished card-reader spool files into raw.swipes.",
)
def swipe_spool_sensor(context: dg.SensorEvaluationContext):
    spool_dir = get_settings().spool_dir
    fresh, cursor = new_finished_files(spool_dir, context.cursor)
    if not fresh:
        return dg.SkipReason("no newly finished spool files")
    if _warehouse_busy(context.instance):
        return dg.SkipReason(f"{len(fresh)} files waiting: a warehouse run is in progress")
    context.update_cursor(cursor)
    run_key = hashlib.sha256("\n".join(fresh).encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=run_key, tags={"clubcrm/spool_files": str(len(fresh))})


@dg.op(required_resource_keys={"clubcrm"}, description="Post new card-reader swipes, once each.")
def post_swipes_op(context: dg.OpExecutionContext) -> dict:
    from devices.poster import post_spooled_swipes

    settings = context.resources.clubcrm
    report = post_spooled_swipes(settings.database_url, settings.spool_dir)
    for line in report.lines():
        context.log.info(line)
    return {"posted": report.posted, "replayed": report.replayed, **dict(report.outcomes)}


@dg.job(description="Post new card-reader swipes (attendance, service uses, points).")
def post_swipes() -> None:
    post_swipes_op()


def spool_fingerprint(spool_dir: Path) -> str:
    """Changes whenever a spool file is added, grows or is renamed."""
    if not spool_dir.is_dir():
        return ""
    parts = sorted(
        f"{path.relative_to(spool_dir)}:{path.stat().st_size}"
        for path in spool_dir.glob("*/*.jsonl*")
        if path.is_file()
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest() if parts else ""


@dg.sensor(
    job=post_swipes,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Post card-reader swipes to the operational services when the spool changed.",
)
def swipe_poster_sensor(context: dg.SensorEvaluationContext):
    fingerprint = spool_fingerprint(get_settings().spool_dir)
    if not fingerprint:
        return dg.SkipReason("no spool yet")
    runs = context.instance.get_runs(filters=dg.RunsFilter(job_name="post_swipes"), limit=1)
    last = runs[0] if runs else None
    if last is not None and last.status in _ACTIVE:
        return dg.SkipReason("a posting run is in progress")
    failed = last is not None and last.status == dg.DagsterRunStatus.FAILURE
    if fingerprint == context.cursor and not failed:
        return dg.SkipReason("the spool has not changed")
    context.update_cursor(fingerprint)
    # After a failed run, ask again (a new key) even if the spool did not change.
    suffix = f":retry:{last.run_id}" if failed else ""
    return dg.RunRequest(run_key=fingerprint[:16] + suffix)


defs = dg.Definitions(
    jobs=[load_swipes_job, post_swipes],
    sensors=[swipe_spool_sensor, swipe_poster_sensor],
)
