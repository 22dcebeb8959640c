"""Dagster entry point: ``dagster dev -m orchestration.definitions`` (exposes ``defs``).

Each module owns one concern and exposes its own ``defs``: raw ingestion (raw_assets), the dbt
project (dbt_assets), publishing (publish_assets), the daily membership jobs (membership_jobs),
card-reader swipes: loading the spool and posting swipes (swipe_sensors), the prediction layer:
training, scoring and the weekly training schedule (ml_assets). Warehouse writers are serialised: the only
job runs in-process, one step at a time, because DuckDB allows a single writing process.
"""

from __future__ import annotations

import os

import dagster as dg

from clubcrm.settings import get_settings
from orchestration import (
    dbt_assets,
    membership_jobs,
    ml_assets,
    publish_assets,
    raw_assets,
    swipe_sensors,
)
from orchestration.resources import WAREHOUSE_PATH_ENV, default_resources, warehouse_path

# One variable for dbt's profile and the Dagster resource; default it from CLUBCRM_HOME.
os.environ.setdefault(WAREHOUSE_PATH_ENV, warehouse_path(get_settings()))

warehouse_job = dg.define_asset_job(
    "warehouse_pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest the operational DB and spool, dbt build, train if needed, score, publish.",
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions.merge(
    raw_assets.defs,
    dbt_assets.defs,
    ml_assets.defs,
    publish_assets.defs,
    membership_jobs.defs,
    swipe_sensors.defs,
    dg.Definitions(
        jobs=[warehouse_job],
        resources=default_resources(),
        executor=dg.in_process_executor,
    ),
)
