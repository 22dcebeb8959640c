"""Group ``publish``: copy a finished, tested build to where readers look (clubcrm.published)."""

from datetime import date
from pathlib import Path

import dagster as dg

from clubcrm.published import publish
from clubcrm.settings import Settings
from orchestration.dbt_assets import clubcrm_dbt_assets
from orchestration.resources import WarehouseResource

PUBLISHED_KEY = dg.AssetKey(["published_warehouse"])
#: The prediction marts models_ml writes into the build (orchestration/ml_assets.py): publishing
#: copies the build, so it waits for them too.
PREDICTION_MART_KEYS = [
    dg.AssetKey(["prediction", mart])
    for mart in ("churn_risk", "likely_buyers", "care_responsiveness")
]


class PublishConfig(dg.Config):
    as_of: str | None = None
    """The as-of date the build used, recorded in main.warehouse_info of the copy."""
    mode: str = "complete"
    """What the run rebuilt: complete, full or routine (clubcrm.published.PUBLISH_MODES)."""


@dg.asset(
    key=PUBLISHED_KEY,
    group_name="publish",
    kinds={"duckdb"},
    # After every dbt model: a failed model or blocking test skips publishing, so readers keep
    # the previous warehouse.
    deps=[*clubcrm_dbt_assets.keys, *PREDICTION_MART_KEYS],
    description="The warehouse readers see: a finished copy of the build behind a pointer.",
)
def published_warehouse(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    clubcrm: dg.ResourceParam[Settings],
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    as_of = date.fromisoformat(config.as_of) if config.as_of else None
    path = publish(
        clubcrm, Path(warehouse.path), run_id=context.run.run_id, as_of=as_of, mode=config.mode
    )
    context.log.info(f"published {path}")
    return dg.MaterializeResult(
        metadata={
            "path": str(path),
            "bytes": path.stat().st_size,
            "as_of": str(as_of or ""),
            "mode": config.mode,
        }
    )


defs = dg.Definitions(assets=[published_warehouse])
