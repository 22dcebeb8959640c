"""The Dagster definitions: one graph from operational tables to the published warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from clubcrm.settings import Settings, get_settings
from ingestion.operational import OPERATIONAL_TABLES
from orchestration.project import dbt_project, manifest_is_current
from orchestration.publish_assets import PUBLISHED_KEY


@pytest.fixture
def defs(monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    # Loading the definitions defaults CLUBCRM_WAREHOUSE_PATH; keep that out of other tests.
    monkeypatch.delenv("CLUBCRM_WAREHOUSE_PATH", raising=False)
    from orchestration.definitions import defs

    return defs


def test_the_definitions_load(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    assert manifest_is_current(dbt_project)


def test_every_raw_table_feeds_its_staging_model(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for table in (*OPERATIONAL_TABLES, "swipes"):
        node = graph.get(dg.AssetKey(["raw", table]))
        assert node.group_name == "raw"
        children = {key.path[0] for key in node.child_keys}
        # Only the restricted model reads raw directly (the unmasked contact details).
        assert children == ({"staging", "restricted"} if table == "members" else {"staging"}), table


def test_publishing_waits_for_every_dbt_model_and_the_predictions(defs: dg.Definitions) -> None:
    from orchestration.ml_assets import MART_KEYS

    graph = defs.resolve_asset_graph()
    dbt_keys = {
        key for key in graph.get_all_asset_keys()
        if key.path[0] in {"staging", "intermediate", "core", "reporting", "analysis",
                           "features", "restricted"}
    }  # fmt: skip

    assert {"core", "reporting", "analysis", "features"} <= {key.path[0] for key in dbt_keys}
    assert graph.get(PUBLISHED_KEY).parent_keys == dbt_keys | set(MART_KEYS.values())
    assert graph.get(dg.AssetKey(["core", "dim_members"])).group_name == "core"


# -- jobs, schedules and the run queue (decision D19) -----------------------------------------
def job_groups(defs: dg.Definitions, name: str) -> set[str]:
    job = defs.resolve_job_def(name)
    graph = defs.resolve_asset_graph()
    return {graph.get(key).group_name for key in job.asset_layer.executable_asset_keys}


def job_checks(defs: dg.Definitions, name: str) -> set[str]:
    from orchestration.jobs import pipeline_selection

    mode = {"warehouse_pipeline": "complete", "warehouse_routine": "routine"}.get(name, "full")
    graph = defs.resolve_asset_graph()
    return {key.name for key in pipeline_selection(mode).resolve_checks(graph)}


def test_the_schedules_run_in_club_time_and_target_their_jobs(defs: dg.Definitions) -> None:
    schedules = {schedule.name: schedule for schedule in defs.schedules}

    expected = {
        "warehouse_routine_hourly": ("0 * * * *", "warehouse_routine"),
        "warehouse_full_nightly": ("30 0 * * *", "warehouse_full"),
        "membership_daily_schedule": ("0 2 * * *", "membership_daily"),
        "ml_training_weekly": ("0 3 * * 0", "ml_training"),
    }
    assert set(expected) <= set(schedules)
    for name, (cron, job) in expected.items():
        schedule = schedules[name]
        assert (schedule.cron_schedule, schedule.job_name) == (cron, job), name
        assert schedule.execution_timezone == "Asia/Shanghai", name
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING, name


def test_the_hourly_job_leaves_out_the_routine_skips_and_keeps_the_checks(
    defs: dg.Definitions,
) -> None:
    from orchestration.checks import CHECK_NAMES
    from orchestration.jobs import ROUTINE_SKIPS

    routine = job_groups(defs, "warehouse_routine")
    full = job_groups(defs, "warehouse_full")

    assert not routine & set(ROUTINE_SKIPS)
    assert {"raw", "staging", "intermediate", "core", "restricted", "publish"} <= routine
    assert set(ROUTINE_SKIPS) <= full
    assert job_groups(defs, "warehouse_pipeline") == full
    for name in ("warehouse_routine", "warehouse_full", "warehouse_pipeline"):
        assert CHECK_NAMES <= job_checks(defs, name), name


def test_the_hourly_job_leaves_out_the_views_that_feed_only_marts(defs: dg.Definitions) -> None:
    """The int_analysis__ views feed only analysis marts and features: re-testing them every
    hour recomputed them over the whole history (83 s at 1,000,000 members)."""
    graph = defs.resolve_asset_graph()
    routine_job = defs.resolve_job_def("warehouse_routine")
    routine = routine_job.asset_layer.executable_asset_keys
    rfm = dg.AssetKey(["intermediate", "int_analysis__member_rfm_scored"])
    active_months = dg.AssetKey(["intermediate", "int_member_active_months"])

    assert graph.get(rfm).group_name == "analysis"
    assert rfm not in routine
    assert dg.AssetKey(["intermediate", "int_member_cost_events"]) not in routine
    # the overview's active members stay as fresh as the core facts
    assert active_months in routine
    routine_checks = set(job_checks(defs, "warehouse_routine"))
    full_checks = set(job_checks(defs, "warehouse_full"))
    rfm_checks = {key.name for key in dg.AssetSelection.assets(rfm).resolve_checks(graph)}
    assert rfm_checks and rfm_checks <= full_checks
    assert not rfm_checks & routine_checks
    # staging views are rebuilt hourly, their tests run with the complete and full builds
    staging = dg.AssetSelection.groups("staging")
    staging_checks = {key.name for key in staging.resolve_checks(graph)}
    assert staging.resolve(graph) <= routine
    assert staging_checks and staging_checks <= full_checks
    assert not staging_checks & routine_checks


def test_each_job_runs_its_mode_like_the_command_line(defs: dg.Definitions) -> None:
    from orchestration.jobs import pipeline_run_config

    routine, full = pipeline_run_config("routine"), pipeline_run_config("full")
    as_of = pipeline_run_config("complete", date(2025, 3, 1))

    assert routine["ops"]["published_warehouse"]["config"] == {"as_of": None, "mode": "routine"}
    assert routine["ops"]["raw_operational_tables"]["config"] == {"full": False}
    assert full["ops"]["raw_operational_tables"]["config"] == {"full": True}
    assert full["ops"]["clubcrm_dbt"]["config"] == {"as_of": None, "full_refresh": True}
    assert as_of["ops"]["clubcrm_dbt"]["config"]["as_of"] == "2025-03-01"
    for name, mode in (("warehouse_routine", "routine"), ("warehouse_full", "full")):
        assert defs.resolve_job_def(name).tags["clubcrm/mode"] == mode
    with pytest.raises(ValueError, match="unknown pipeline mode"):
        pipeline_run_config("hourly")


def test_every_job_that_opens_the_warehouse_is_queued_one_at_a_time(
    defs: dg.Definitions, tmp_path: Path
) -> None:
    from orchestration.instance import ensure_dagster_home
    from orchestration.resources import WAREHOUSE_TAG

    writers = set()
    # Dagster's implicit job for materialising by hand in the UI carries no tags: its runs are
    # held back by the warehouse resource's lock instead.
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):
            continue
        if any(
            "warehouse" in node.definition.required_resource_keys
            for node in job.nodes_in_topological_order
        ):
            writers.add(job.name)
            assert WAREHOUSE_TAG in job.tags, job.name
    assert {"warehouse_pipeline", "warehouse_routine", "warehouse_full", "load_swipes"} <= writers
    assert WAREHOUSE_TAG not in defs.resolve_job_def("membership_daily").tags

    home = ensure_dagster_home(Settings(**{**vars(get_settings()), "home": tmp_path}))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": WAREHOUSE_TAG, "limit": 1} in [dict(limit) for limit in limits]


def test_the_hourly_schedule_waits_for_a_published_complete_build(clubcrm_home: Settings) -> None:
    import duckdb

    from clubcrm.published import publish
    from orchestration.jobs import routine_schedule

    context = dg.build_schedule_context()
    assert isinstance(routine_schedule(context), dg.SkipReason)  # nothing published yet

    build = clubcrm_home.build_warehouse_path
    with duckdb.connect(str(build)) as connection:
        connection.execute("create table core_stand_in as select 1 as answer")
    publish(clubcrm_home, build, mode="routine")
    skipped = routine_schedule(context)
    assert isinstance(skipped, dg.SkipReason) and "no complete build" in skipped.skip_message

    publish(clubcrm_home, build, mode="complete")
    assert isinstance(routine_schedule(context), dg.RunRequest)
