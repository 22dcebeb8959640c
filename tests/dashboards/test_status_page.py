"""The Status page: pipeline runs and failures from a real Dagster instance in the data folder,
freshness from the published warehouse (dashboards.data.status), and the page (AppTest) in
both languages."""

from __future__ import annotations

import dagster as dg
import pytest
from smallclub import open_page

from clubcrm.settings import Settings
from dashboards.data import status


@dg.asset(name="fct_purchases", key_prefix="core")
def _purchases() -> int:
    return 1


@dg.asset_check(asset=_purchases, name="paid_not_above_amount", blocking=True)
def _paid_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="3 purchases paid more than the amount")


@dg.asset_check(asset=_purchases, name="not_null_fct_purchases_member_no")
def _dbt_like_check() -> dg.AssetCheckResult:
    """Fails as a dbt test does under dagster-dbt: a count of failing rows, no description."""
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"status": "warn", "dagster_dbt/failed_row_count": 12},
    )


@dg.asset(name="raw_members", key_prefix="raw")
def _broken_ingestion() -> int:
    raise ValueError("operational table members is missing")


def _run(settings: Settings, assets: list, **tags: str) -> None:
    """One run recorded in the data folder's Dagster instance, as the pipeline records it."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        dg.materialize(assets, instance=instance, tags=tags, raise_on_error=False)


@pytest.fixture
def runs_recorded(small_warehouse: Settings) -> Settings:
    """A passing full run, then a run whose blocking check fails (newest)."""
    _run(small_warehouse, [_purchases], **{"clubcrm/mode": "full"})
    _run(small_warehouse, [_purchases, _paid_check, _dbt_like_check])
    return small_warehouse


def test_nothing_ran_is_a_normal_state(small_club: Settings) -> None:
    assert status.last_runs(small_club) == []
    assert status.freshness(small_club) is None
    page = open_page("status", role="manager", locale="en_US")
    assert not page.exception
    assert page.info[0].value.startswith("The pipeline has not run yet")
    page = open_page("status", role="admin")
    assert page.info[0].value.startswith("数据管道还没有运行过")


def test_the_runs_are_listed_newest_first_with_result_and_mode(runs_recorded: Settings) -> None:
    runs = status.last_runs(runs_recorded)
    assert [r.status for r in runs] == ["FAILURE", "SUCCESS"]
    assert runs[1].mode == "full"
    assert all(r.seconds is not None and r.seconds >= 0 for r in runs)
    failures = status.last_run_failures(runs_recorded, runs[0].run_id)
    found = {f.name: f for f in failures}
    assert set(found) == {"paid_not_above_amount", "not_null_fct_purchases_member_no"}
    paid = found["paid_not_above_amount"]
    assert (paid.kind, paid.target, paid.blocking) == ("check", "core/fct_purchases", True)
    assert paid.message == "3 purchases paid more than the amount"
    dbt_test = found["not_null_fct_purchases_member_no"]
    assert dbt_test.failed_rows == 12 and not dbt_test.blocking


def test_a_failed_step_shows_its_cause(small_warehouse: Settings) -> None:
    _run(small_warehouse, [_broken_ingestion])
    run = status.last_runs(small_warehouse)[0]
    (failure,) = status.last_run_failures(small_warehouse, run.run_id)
    assert failure.kind == "step"
    assert failure.message == "ValueError: operational table members is missing"


def test_freshness_reads_the_published_copy(small_warehouse: Settings) -> None:
    fresh = status.freshness(small_warehouse)
    assert fresh is not None
    assert fresh.run_id == "handmade" and fresh.mode == "complete"
    assert fresh.published_at is not None and fresh.marts_built_at is not None
    newest = {fact: (column, when) for fact, column, when in fresh.newest_events}
    assert newest["fct_purchases"][0] == "purchased_at"
    assert newest["fct_purchases"][1] is not None


def test_the_page_shows_the_failed_check_of_the_last_run(runs_recorded: Settings) -> None:
    page = open_page("status", role="manager", locale="en_US")
    assert not page.exception
    runs = page.dataframe[0].value
    assert list(runs["Result"]) == ["Failure", "Success"]
    assert list(runs["Scope"]) == ["", "Full"]
    assert page.error[0].value.startswith("2 failures in the last run")
    failures = page.dataframe[1].value.set_index("Name")
    assert failures.loc["paid_not_above_amount", "Message"] == (
        "3 purchases paid more than the amount"
    )
    assert failures.loc["not_null_fct_purchases_member_no", "Failing rows"] == "12"
    assert "Newest record per fact table" in [m.value.strip("*") for m in page.markdown]


def test_the_page_in_chinese_says_the_last_run_passed(small_warehouse: Settings) -> None:
    _run(small_warehouse, [_purchases], **{"clubcrm/mode": "routine"})
    page = open_page("status", role="admin")
    assert not page.exception
    assert list(page.dataframe[0].value["结果"]) == ["成功"]
    assert list(page.dataframe[0].value["范围"]) == ["日常（仅核心层）"]
    assert page.success[0].value == "最近一次运行全部通过。"
    assert [m.label for m in page.metric][:2] == ["发布时间", "报表层生成时间"]


def test_a_passing_run_with_a_warning_says_it_published(small_warehouse: Settings) -> None:
    _run(small_warehouse, [_purchases, _dbt_like_check])
    page = open_page("status", role="manager", locale="en_US")
    assert not page.exception and not page.error
    assert page.warning[0].value == ("The last run succeeded and published, with 1 checks warning:")


def test_staff_and_analysts_are_refused(small_club: Settings) -> None:
    for role in ("staff", "analyst"):
        page = open_page("status", role=role, locale="en_US")
        assert "may not open this page" in page.error[0].value
