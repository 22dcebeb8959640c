"""Dagster resources: the build warehouse, the ClubCRM settings and the dbt CLI.

One environment variable, ``CLUBCRM_WAREHOUSE_PATH``, names the build DuckDB file for both
dbt's profile (transforms/profiles.yml) and :class:`WarehouseResource`; :func:`warehouse_path`
defaults it from the settings (``CLUBCRM_HOME/warehouse/build.duckdb``).

Every asset that writes the build warehouse (raw ingestion, the dbt build, scoring,
publishing) requires :class:`WarehouseResource`, which holds the warehouse writer's lock
(clubcrm.locks) from the start of the run to its end: a run the daemon launches and a
``clubcrm pipeline run``, a backup or a restore never write at the same time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from clubcrm.locks import build_lock
from clubcrm.settings import Settings, get_settings
from ingestion.warehouse import connect_warehouse
from orchestration.project import dbt_executable, dbt_project

WAREHOUSE_PATH_ENV = "CLUBCRM_WAREHOUSE_PATH"
#: DuckDB's memory limit in dbt's profile. DuckDB's own default (80 % of RAM) leaves too little
#: for dbt's Python beside it on a large build (the kernel killed a 1 M-member build at 19.6 GiB
#: of 24); past the limit DuckDB spills to ``<warehouse>.tmp``.
MEMORY_LIMIT_ENV = "CLUBCRM_DUCKDB_MEMORY_LIMIT"
#: Jobs whose assets use :class:`WarehouseResource` carry this tag; the instance's run queue
#: (orchestration/dagster.yaml) starts one such run at a time.
WAREHOUSE_TAG = "clubcrm/warehouse"
WAREHOUSE_TAGS = {WAREHOUSE_TAG: "build"}


class WarehouseResource(dg.ConfigurableResource):
    """The build warehouse (DuckDB file) the pipeline writes; readers use clubcrm.published."""

    path: str
    lock_wait_seconds: float = 3600.0
    """How long a run waits for another writer (a manual run, a backup) before failing."""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        # For the whole run: the writer's lock (re-entrant: `clubcrm pipeline run` holds it).
        with build_lock(Path(self.path), self.lock_wait_seconds):
            yield self

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = connect_warehouse(self.path)
        try:
            yield connection
        finally:
            connection.close()


def warehouse_path(settings: Settings | None = None) -> str:
    """The build warehouse path: CLUBCRM_WAREHOUSE_PATH, else the settings' build path."""
    configured = os.environ.get(WAREHOUSE_PATH_ENV, "").strip()
    if configured:
        return configured
    return str((settings or get_settings()).build_warehouse_path)


@dg.resource(description="ClubCRM settings read from the environment (CLUBCRM_HOME, ...).")
def clubcrm_settings_from_env(_context) -> Settings:
    return get_settings()


def dbt_cli_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def default_resources() -> dict[str, object]:
    """Resources for `dagster dev` / the UI: everything from the environment."""
    return {
        "clubcrm": clubcrm_settings_from_env,
        "warehouse": WarehouseResource(path=dg.EnvVar(WAREHOUSE_PATH_ENV)),
        "dbt": dbt_cli_resource(),
    }


def resources_for(settings: Settings) -> dict[str, object]:
    """Resources bound to one data folder (used by run_pipeline)."""
    return {
        "clubcrm": dg.ResourceDefinition.hardcoded_resource(settings, "ClubCRM settings"),
        # run_pipeline already holds the lock: taking it again must succeed at once.
        "warehouse": WarehouseResource(
            path=str(settings.build_warehouse_path), lock_wait_seconds=0
        ),
        "dbt": dbt_cli_resource(),
    }


def duckdb_memory_limit() -> str:
    """``CLUBCRM_DUCKDB_MEMORY_LIMIT`` if set (e.g. ``8GiB``), else half the machine's RAM."""
    configured = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        return configured
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, total // 2 // 2**30)}GiB"
