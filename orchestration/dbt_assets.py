"""The dbt project's models, tests and sources as Dagster assets and checks.

dbt sources map to the ``raw`` asset keys (``raw/<table>``) so lineage runs from ingestion
through staging, intermediate and core to the marts; models are keyed ``<schema>/<model>``
and grouped by schema (or the Dagster group a model's yml names).
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
        """The node's schema, unless its yml names a Dagster group (``meta.dagster.group``):
        the ``int_analysis__`` views and ``int_member_cost_events`` live in the intermediate
        schema but feed only marts or features, so they join those groups and a routine run
        leaves them and their tests out (decision D18)."""
        schema = (dbt_resource_props.get("config") or {}).get("schema")
        return super().get_group_name(dbt_resource_props) or schema


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
    args = ["build", "--vars", json.dumps({"as_of": config.as_of})]
    if not _leaves_out_checks_of_built_assets(context):
        # Cautious: a test runs only when every model it reads is in the run. A subset (say
        # one mart materialised from the UI) must not test stale marts against fresh models.
        # When the run leaves out tests of models it builds (a routine run, decision D23),
        # dagster-dbt names each test to run itself and turns indirect selection off: a flag
        # here would bring the left-out tests back.
        args += ["--indirect-selection", "cautious"]
    if config.full_refresh:
        args.append("--full-refresh")
    # Artifacts (run_results.json, logs, partial parse) live in the data folder, one set per
    # folder, overwritten by each run instead of piling up one folder per invocation.
    target_path = clubcrm.dbt_target_dir
    target_path.mkdir(parents=True, exist_ok=True)
    yield from dbt.cli(args, context=context, target_path=target_path).stream()


def _leaves_out_checks_of_built_assets(context: dg.AssetExecutionContext) -> bool:
    """Whether the run builds an asset without some of its checks (dbt tests)."""
    built = context.selected_asset_keys
    selected = set(context.selected_asset_check_keys)
    return any(
        spec.key not in selected and spec.asset_key in built
        for spec in context.assets_def.node_check_specs_by_output_name.values()
    )


defs = dg.Definitions(assets=[clubcrm_dbt_assets])
