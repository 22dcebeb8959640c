"""The dbt project's models, tests and sources as Dagster assets and checks.

dbt sources map to the ``raw`` asset keys (``raw/<table>``) so lineage runs from ingestion
through staging, intermediate and core to the marts; models are keyed ``<schema>/<model>``
and grouped by schema.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from clubcrm.settings import Settings
from ingestion.operational import RAW_SCHEMA
from orchestration.project import dbt_project, ensure_manifest
from orchestration.resources import WarehouseResource

DBT_ASSETS_NAME = "clubcrm_dbt"


class ClubcrmDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([RAW_SCHEMA, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = (dbt_resource_props.get("config") or {}).get("schema")
        return schema or super().get_group_name(dbt_resource_props)


class DbtBuildConfig(dg.Config):
    as_of: str | None = None
    """Backtesting: an ISO date; every event after that day is ignored (dbt var `as_of`)."""
    full_refresh: bool = False
    """Rebuild incremental models from scratch (dbt --full-refresh)."""


@dbt_assets(
    manifest=ensure_manifest(dbt_project),
    project=dbt_project,
    name=DBT_ASSETS_NAME,
    dagster_dbt_translator=ClubcrmDbtTranslator(),
)
def clubcrm_dbt_assets(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    dbt: DbtCliResource,
    clubcrm: dg.ResourceParam[Settings],
    warehouse: WarehouseResource,
) -> Iterator[Any]:
    """`dbt build`: models and their tests in DAG order; a failing test fails the step.

    dbt writes the file ``warehouse.path`` names (CLUBCRM_WAREHOUSE_PATH, its profile's
    path): requiring the resource holds the warehouse writer's lock for the run.
    """
    # Cautious: a test runs only when every model it reads is in the run. A routine run (a
    # subset) must not test stale marts against fresh core models.
    args = [
        "build",
        "--vars",
        json.dumps({"as_of": config.as_of}),
        "--indirect-selection",
        "cautious",
    ]
    if config.full_refresh:
        args.append("--full-refresh")
    # Artifacts (run_results.json, logs, partial parse) live in the data folder, one set per
    # folder, overwritten by each run instead of piling up one folder per invocation.
    target_path = clubcrm.dbt_target_dir
    target_path.mkdir(parents=True, exist_ok=True)
    yield from dbt.cli(args, context=context, target_path=target_path).stream()


defs = dg.Definitions(assets=[clubcrm_dbt_assets])
