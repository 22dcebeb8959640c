"""The Status page: pipeline runs and failures from a real Dagster instance in the data folder,
freshness from the published warehouse (dashboards.data.status), and the page (AppTest) in
both languages; a pipeline run started from the page (who may, one at a time, its progress by
step and how it ended), with a stand-in command and once for real."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from smallclub import open_page

from clubcrm.settings import Settings, get_settings
from dashboards.data import status
from operational.services.common import Actor


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


def test_the_daemons_swipe_runs_do_not_crowd_out_the_pipeline_runs(
    small_warehouse: Settings,
) -> None:
    _run(small_warehouse, [_purchases], **{"clubcrm/mode": "full"})

    @dg.op
    def load_spool_files() -> None:
        return None

    @dg.job(name="load_swipes")
    def load_swipes() -> None:
        load_spool_files()

    with dg.DagsterInstance.from_config(str(small_warehouse.dagster_home)) as instance:
        for _ in range(3):
            load_swipes.execute_in_process(instance=instance)
    runs = status.last_runs(small_warehouse, limit=2)
    assert [run.mode for run in runs] == ["full"]


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
        errors = [error.value for error in page.error]
        assert any("may not open this page" in error for error in errors), (
            role,
            errors,
            [exception.value for exception in page.exception],
        )


# -- a pipeline run started from the page ----------------------------------------------------------
#: Stands in for ``clubcrm pipeline run``: a real Dagster run in the data folder's instance with
#: the pipeline's first steps, the second waiting for a file, then the summary the CLI prints.
FAKE_PIPELINE = """
import sys, time
from pathlib import Path
import dagster as dg

release, outcome = Path(sys.argv[1]), sys.argv[2]

@dg.asset(name="raw_operational_tables")
def ingest() -> int:
    return 1

@dg.asset(name="clubcrm_dbt", deps=[ingest])
def build() -> int:
    deadline = time.monotonic() + 120
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return 2

@dg.asset(name="published_warehouse", deps=[build])
def publish() -> int:
    return 3

with dg.DagsterInstance.get() as instance:
    dg.materialize([ingest, build, publish], instance=instance,
                   tags={"clubcrm/command": "pipeline run", "clubcrm/mode": "routine"})
print("routine run: changed rows ingested, core layer refreshed")
if outcome == "ok":
    print("published: /data/warehouse/published/warehouse-1.duckdb")
    print("finished in 3.2 s")
else:
    print("error: clubcrm_dbt: a model failed")
    print("not published: readers keep the previously published warehouse")
    print("failed in 3.2 s")
    print("Error: pipeline run failed; the published warehouse is unchanged", file=sys.stderr)
    sys.exit(1)
"""


class FakeLauncher:
    """Replaces ``status.spawn``: records the command, runs FAKE_PIPELINE detached instead."""

    def __init__(self, folder: Path, outcome: str = "ok") -> None:
        self.script = folder / "fake_pipeline.py"
        self.script.write_text(FAKE_PIPELINE, encoding="utf-8")
        self.release = folder / "release"
        self.outcome = outcome
        self.commands: list[list[str]] = []
        self.processes: list[subprocess.Popen] = []

    def __call__(self, command: list[str], log_path: Path, env: dict[str, str]) -> int:
        self.commands.append(command)
        home = Path(env["CLUBCRM_HOME"]) / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, str(self.script), str(self.release), self.outcome],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, "DAGSTER_HOME": str(home)},
                start_new_session=True,
            )
        self.processes.append(process)
        return process.pid

    def finish(self) -> None:
        self.release.touch()
        for process in self.processes:
            process.wait(timeout=120)


@pytest.fixture
def launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLauncher]:
    fake = FakeLauncher(tmp_path)
    monkeypatch.setattr(status, "spawn", fake)
    yield fake
    fake.release.touch()
    for process in fake.processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for(condition, seconds: float = 90.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out waiting")


def _start(page):
    (button,) = [b for b in page.button if b.key == "status.launch_start"]
    button.click()
    return page.run()


def test_staff_cannot_start_a_run(small_club: Settings, launcher: FakeLauncher) -> None:
    page = open_page("status", role="staff", locale="en_US")
    assert "may not open this page" in page.error[0].value
    assert not [b for b in page.button if b.key == "status.launch_start"]
    for role in ("staff", "reviewer", "analyst"):
        with pytest.raises(PermissionError):
            status.start_pipeline_run(small_club, Actor(role, role), "routine")
    assert launcher.commands == []
    assert status.launched_run(small_club) is None


def test_a_manager_starts_a_run_and_follows_its_steps_to_the_end(
    small_warehouse: Settings, launcher: FakeLauncher
) -> None:
    page = open_page("status", role="manager", locale="en_US")
    assert not page.exception
    assert page.radio(key="status.launch_mode").value == "routine"
    page = _start(page)
    assert not page.exception
    (command,) = launcher.commands
    assert command[1:] == ["-m", "clubcrm.cli", "pipeline", "run", "--routine"]
    launched = status.launched_run(small_warehouse)
    assert launched is not None and launched.started_by == "manager"
    assert launched.log_path.parent == small_warehouse.home / "log"
    # the button waits while the run goes on
    assert [b for b in page.button if b.key == "status.launch_start"][0].disabled

    # the first step has finished, the second (dbt) runs until released
    _wait_for(lambda: status.run_progress(small_warehouse).current_step == "clubcrm_dbt")
    progress = status.run_progress(small_warehouse)
    assert progress.running and (progress.steps_done, progress.steps_total) == (1, 3)
    assert 0.3 < progress.fraction < 0.7
    page.run()
    (bar,) = page.get("progress")
    assert bar.proto.text == "Running: Building the warehouse (dbt) (step 2 of 3)"
    assert "Routine (core only) run started by manager" in page.caption[2].value

    launcher.finish()
    page.run()
    assert not page.exception
    assert not page.get("progress")
    assert (
        page.success[0].value == "The Routine (core only) run started here succeeded and published."
    )
    summary = page.code[0].value.splitlines()
    assert summary[0].startswith("routine run:") and summary[-1] == "finished in 3.2 s"
    # the run list shows the new run (the page refreshed it when the run ended)
    assert list(page.dataframe[0].value["Result"])[0] == "Success"
    assert not [b for b in page.button if b.key == "status.launch_start"][0].disabled


def test_a_failed_run_shows_its_errors_in_chinese(
    small_club: Settings, launcher: FakeLauncher
) -> None:
    launcher.outcome = "failed"
    launcher.release.touch()
    page = open_page("status", role="admin")
    page.radio(key="status.launch_mode").set_value("complete")
    page = _start(page)
    assert launcher.commands[0][-2:] == ["pipeline", "run"]  # a complete run: no --routine
    launcher.finish()
    page.run()
    assert page.error[0].value.startswith("从本页开始的完整运行失败")
    assert "error: clubcrm_dbt: a model failed" in page.code[0].value


def test_a_second_start_is_refused_while_the_first_runs(
    small_club: Settings, launcher: FakeLauncher
) -> None:
    first = open_page("status", role="manager", locale="en_US")
    second = open_page("status", role="admin", locale="en_US")  # opened before the start
    first = _start(first)
    assert len(launcher.commands) == 1
    second = _start(second)  # a click on the button still shown enabled
    assert not second.exception
    assert len(launcher.commands) == 1  # no second run: the page follows the first one
    assert second.get("progress")
    assert [b for b in second.button if b.key == "status.launch_start"][0].disabled
    with pytest.raises(status.PipelineAlreadyRunning):
        status.start_pipeline_run(small_club, Actor("admin", "admin"), "complete")
    launcher.finish()
    status.start_pipeline_run(small_club, Actor("admin", "admin"), "routine")  # now it may
    assert len(launcher.commands) == 2


def test_a_run_from_the_command_line_holding_the_lock_also_refuses_a_start(
    small_club: Settings, launcher: FakeLauncher
) -> None:
    lock = small_club.warehouse_dir / ".pipeline.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        page = _start(open_page("status", role="manager", locale="en_US"))
        assert page.warning[0].value.startswith("A pipeline run is already going on")
        fcntl.flock(handle, fcntl.LOCK_UN)
    assert launcher.commands == []


@pytest.mark.e2e
def test_a_real_routine_run_started_from_the_page(
    demo_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of the demo data folder (built by a complete run): a routine run, for real."""
    home = tmp_path / "home"
    shutil.copytree(demo_env.home, home, ignore=shutil.ignore_patterns("*.lock", "log"))
    monkeypatch.setenv("CLUBCRM_HOME", str(home))
    settings = get_settings()
    page = _start(open_page("status", role="manager", locale="en_US"))
    assert not page.exception
    seen_steps: set[str] = set()

    def ended() -> bool:
        progress = status.run_progress(settings)
        if progress.current_step:
            seen_steps.add(progress.current_step)
        return not progress.running

    _wait_for(ended, seconds=600)
    page.run()
    progress = status.run_progress(settings)
    assert progress.succeeded, "\n".join(progress.log_tail)
    assert progress.summary[0].startswith("routine run:")
    assert progress.summary[-1].startswith("finished in")
    assert any("dbt" in step for step in seen_steps)
    assert page.success[0].value.startswith("The Routine (core only) run started here succeeded")
    assert status.last_runs(settings)[0].mode == "routine"
