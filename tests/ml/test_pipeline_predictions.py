"""`clubcrm pipeline run` trains when no model exists, scores, and publishes the marts."""

from __future__ import annotations

import dagster as dg
import pytest

from clubcrm.published import run_query
from clubcrm.settings import Settings
from models_ml.registry import Registry


def test_the_demo_pipeline_run_published_scored_members(demo_env: Settings) -> None:
    registry = Registry(demo_env.model_registry_dir)
    members = run_query(
        demo_env, "select count(*) as n from features.feat_member_snapshots where is_scoring"
    ).iloc[0]["n"]
    assert members > 1000
    for task, mart in (("churn", "churn_risk"), ("buyer", "likely_buyers"),
                       ("care", "care_responsiveness")):  # fmt: skip
        scored = run_query(
            demo_env, f"select count(*) as n, min(model_version) as v from prediction.{mart}"
        ).iloc[0]
        current = registry.current(task)
        if current is None:  # too little history, or no version beat its baselines
            assert scored["n"] == 0, task
        else:
            assert scored["n"] == members and scored["v"] == current.version, task
    assert registry.current("churn") is not None


@pytest.fixture
def defs(monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    monkeypatch.delenv("CLUBCRM_WAREHOUSE_PATH", raising=False)
    from orchestration.definitions import defs

    return defs


def test_publishing_waits_for_the_prediction_marts_and_training_is_weekly(defs) -> None:
    from orchestration.ml_assets import MART_KEYS, TRAINED_MODELS_KEY
    from orchestration.publish_assets import PUBLISHED_KEY

    graph = defs.resolve_asset_graph()
    assert set(MART_KEYS.values()) <= graph.get(PUBLISHED_KEY).parent_keys
    for key in MART_KEYS.values():
        assert TRAINED_MODELS_KEY in graph.get(key).parent_keys
        assert dg.AssetKey(["features", "feat_member_snapshots"]) in graph.get(key).parent_keys
    schedule = defs.get_schedule_def("ml_training_weekly")
    assert schedule.cron_schedule == "0 3 * * 0"
    assert schedule.job_name == "ml_training"
