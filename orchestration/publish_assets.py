"""Group ``publish``: copy a finished, tested build to where readers look (clubcrm.published)."""

from datetime import date
from pathlib import Path

import dagster as dg

from clubcrm.published import publish
from clubcrm.settings import Settings
from orchestration.dbt_assets import clubcrm_dbt_assets
from orchestration.resources import WarehouseResource

PUBLISHED_KEY = dg.AssetKey(["published_warehouse"])


class PublishConfig(dg.Config):
    as_of: str | None = None
    """The as-of date the build used, recorded in main.warehouse_info of the copy."""


@dg.asset(
    key=PUBLISHED_KEY,
    group_name="publish",
    kinds={"duckdb"},
    # After every dbt model: a failed model or blocking test skips publishing, so readers keep
    # the previous warehouse.
    deps=list(clubcrm_dbt_assets.keys),
    description="The warehouse readers see: a finished copy of the build behind a pointer.",
)
def published_warehouse(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    clubcrm: dg.ResourceParam[Settings],
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    as_of = date.fromisoformat(config.as_of) if config.as_of else None
    path = publish(clubcrm, Path(warehouse.path), run_id=context.run.run_id, as_of=as_of)
    context.log.info(f"published {path}")
    return dg.MaterializeResult(
        metadata={"path": str(path), "bytes": path.stat().st_size, "as_of": str(as_of or "")}
    )


defs = dg.Definitions(assets=[published_warehouse])
