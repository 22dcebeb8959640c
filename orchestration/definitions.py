"""Dagster entry point: ``dagster dev -m orchestration.definitions`` (exposes ``defs``).

Each module owns one concern and exposes its own ``defs``: raw ingestion (raw_assets), the dbt
project (dbt_assets), publishing (publish_assets), the checks that gate publishing (checks),
the warehouse jobs of each pipeline mode with the hourly and nightly schedules (jobs), the
daily membership jobs (membership_jobs), card-reader swipes: loading the spool and posting
swipes (swipe_sensors), the prediction layer: training, scoring and the weekly training
schedule (ml_assets). Warehouse writers are serialised three ways (decision D19): each job runs
in-process, one step at a time; the instance's run queue starts one run tagged
``clubcrm/warehouse`` at a time; and their warehouse resource holds the writer's lock, which
``clubcrm pipeline run`` and backups take too.
"""

from __future__ import annotations

import os

import dagster as dg

from clubcrm.settings import get_settings
from orchestration import (
    checks,
    dbt_assets,
    jobs,
    membership_jobs,
    ml_assets,
    publish_assets,
    raw_assets,
    swipe_sensors,
)
from orchestration.resources import (
    MEMORY_LIMIT_ENV,
    WAREHOUSE_PATH_ENV,
    default_resources,
    duckdb_memory_limit,
    warehouse_path,
)

# One variable for dbt's profile and the Dagster resource; default it from CLUBCRM_HOME.
os.environ.setdefault(WAREHOUSE_PATH_ENV, warehouse_path(get_settings()))
os.environ.setdefault(MEMORY_LIMIT_ENV, duckdb_memory_limit())

#: Kept for callers that import it from here: the complete build's job.
warehouse_job = jobs.warehouse_job

defs = dg.Definitions.merge(
    raw_assets.defs,
    dbt_assets.defs,
    ml_assets.defs,
    publish_assets.defs,
    checks.defs,
    jobs.defs,
    membership_jobs.defs,
    swipe_sensors.defs,
    dg.Definitions(resources=default_resources(), executor=dg.in_process_executor),
)
