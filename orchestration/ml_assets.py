"""Group ``prediction``: train (when needed, and weekly) and score the prediction marts.

- ``ml/trained_models``: trains each task whose registry has no usable current model (or,
  in the weekly ``ml_training`` job, every task) from the ``features`` schema, registers the
  version and promotes it only if it beats the baselines and the current model (models_ml).
- ``prediction/churn_risk``, ``prediction/likely_buyers``, ``prediction/care_responsiveness``:
  every member of the scoring snapshot scored with the current models, written into the
  build warehouse, so publishing (which copies the build) carries them to readers.

The pipeline runs these after the dbt build and before ``published_warehouse`` (which lists
the marts among its deps). The weekly job reads the latest
*published* warehouse: it never opens the build file a pipeline run may be writing.
"""

from contextlib import contextmanager

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from clubcrm.settings import Settings
from models_ml.features import TASKS
from models_ml.registry import Registry
from models_ml.score import MART_COLUMNS, score_all
from models_ml.train import train_all
from operational.services.points import CLUB_TIMEZONE
from orchestration.dbt_assets import clubcrm_dbt_assets
from orchestration.resources import WAREHOUSE_TAGS, WarehouseResource

PREDICTION_GROUP = "prediction"
FEATURE_MODELS = (
    "feat_snapshot_dates",
    "feat_member_snapshots",
    "feat_member_labels",
    "feat_care_contacts",
    "feat_member_channels",
)
FEATURE_KEYS = [get_asset_key_for_model([clubcrm_dbt_assets], name) for name in FEATURE_MODELS]
TRAINED_MODELS_KEY = dg.AssetKey(["ml", "trained_models"])
MART_KEYS = {mart: dg.AssetKey([PREDICTION_GROUP, mart]) for mart in MART_COLUMNS}


class TrainingConfig(dg.Config):
    only_if_needed: bool = True
    """Train only tasks without a usable current model (pipeline runs); False retrains all."""
    source: str = "build"
    """"build" (inside a pipeline run) or "published": where the features are read from."""


@contextmanager
def _features_connection(settings: Settings, warehouse: WarehouseResource, source: str):
    if source not in {"build", "published"}:
        raise ValueError(f"training source must be 'build' or 'published', not {source!r}")
    if source == "published":
        from clubcrm.published import connect

        connection = connect(settings)
        try:
            yield connection
        finally:
            connection.close()
    else:
        with warehouse.connect() as connection:
            yield connection


@dg.asset(
    key=TRAINED_MODELS_KEY,
    group_name=PREDICTION_GROUP,
    deps=FEATURE_KEYS,
    kinds={"scikitlearn"},
    description="Churn, buyer and care models in the registry (CLUBCRM_HOME/models).",
)
def trained_models(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    clubcrm: dg.ResourceParam[Settings],
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    registry = Registry(clubcrm.model_registry_dir)
    with _features_connection(clubcrm, warehouse, config.source) as connection:
        outcomes = train_all(connection, registry, only_if_needed=config.only_if_needed)
    metadata: dict[str, object] = {}
    for outcome in outcomes:
        context.log.info(outcome.summary())
        current = registry.current(outcome.task)
        metadata[f"{outcome.task}_current"] = current.version if current else "none"
        metadata[f"{outcome.task}_outcome"] = outcome.summary()
        if outcome.version:
            metadata[f"{outcome.task}_validation_roc_auc"] = float(
                outcome.metrics["model"]["roc_auc"]
            )
    return dg.MaterializeResult(metadata=metadata)


@dg.multi_asset(
    name="prediction_marts",
    specs=[
        dg.AssetSpec(
            key,
            group_name=PREDICTION_GROUP,
            kinds={"duckdb"},
            deps=[TRAINED_MODELS_KEY, *FEATURE_KEYS],
            description=f"prediction.{mart}: one row per member on the scoring day.",
        )
        for mart, key in MART_KEYS.items()
    ],
    can_subset=False,
)
def prediction_marts(
    context: dg.AssetExecutionContext,
    clubcrm: dg.ResourceParam[Settings],
    warehouse: WarehouseResource,
):
    registry = Registry(clubcrm.model_registry_dir)
    with warehouse.connect() as connection:
        result = score_all(connection, registry, clubcrm.locale)
    for task, version in result.versions.items():
        if version is None:
            context.log.warning(f"no current {task} model: its prediction mart is empty")
    task_of_mart = {task.mart: task.name for task in TASKS.values()}
    for mart, key in MART_KEYS.items():
        task = task_of_mart[mart]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": result.rows[mart],
                "as_of": result.as_of.isoformat(),
                "model_version": result.versions[task] or "none",
            },
        )


ml_training_job = dg.define_asset_job(
    "ml_training",
    selection=dg.AssetSelection.assets(TRAINED_MODELS_KEY),
    description="Retrain every prediction model from the published warehouse; promote winners.",
    config={
        "ops": {
            trained_models.op.name: {"config": {"only_if_needed": False, "source": "published"}}
        }
    },
    executor_def=dg.in_process_executor,
    # Its warehouse resource takes the writer's lock: queue it with the warehouse runs
    # instead of letting it wait inside a started run.
    tags=WAREHOUSE_TAGS,
)

weekly_training_schedule = dg.ScheduleDefinition(
    name="ml_training_weekly",
    job=ml_training_job,
    cron_schedule="0 3 * * 0",  # Sundays 03:00 club time, away from opening hours
    execution_timezone=CLUB_TIMEZONE.key,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly retraining; a new version replaces the current one only if it is better.",
)

defs = dg.Definitions(
    assets=[trained_models, prediction_marts],
    jobs=[ml_training_job],
    schedules=[weekly_training_schedule],
)
