"""The whole pipeline: ingest, dbt build, publish; end to end on the demo history.

Runs of the pipeline cost seconds each, so the tests share them: ``demo_env`` (one run for the
whole session) is only read; the rerun and failure tests work on private copies of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from small_history import operational_row_counts
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clubcrm.published import published_path, run_query
from clubcrm.settings import Settings
from operational.db import make_engine
from operational.models import Member, MemberPointBalance
from orchestration.pipeline import run_pipeline

pytestmark = pytest.mark.e2e

CORE_AND_MARTS = ("core", "reporting")


def scalar(settings: Settings, sql: str):
    return run_query(settings, sql).iloc[0, 0]


def raw_counts(settings: Settings) -> dict[str, int]:
    frame = run_query(
        settings,
        "select table_name, estimated_size from duckdb_tables() "
        "where schema_name = 'raw' and not starts_with(table_name, '_')",
    )
    return {
        name: int(scalar(settings, f'select count(*) from raw."{name}"'))
        for name in frame["table_name"]
    }


def spooled_swipe_ids(spool_dir: Path) -> set[str]:
    ids: set[str] = set()
    for path in spool_dir.glob("*/*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                ids.add(json.loads(line)["swipe_id"])
    return ids


def members_per_tier(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Member.tier, func.count()).group_by(Member.tier))
            return {tier: count for tier, count in rows}
    finally:
        engine.dispose()


# -- end to end on the shared demo history ----------------------------------------------------
def test_every_raw_table_has_its_source_row_count(use_demo_env: Settings) -> None:
    expected = operational_row_counts(use_demo_env.database_url)

    counts = raw_counts(use_demo_env)

    assert {name: counts[name] for name in expected} == expected


def test_raw_swipes_hold_each_finished_spooled_swipe_once(use_demo_env: Settings) -> None:
    spooled = spooled_swipe_ids(use_demo_env.spool_dir)

    assert scalar(use_demo_env, "select count(*) from raw.swipes") == len(spooled)
    assert scalar(use_demo_env, "select count(distinct swipe_id) from raw.swipes") == len(spooled)
    assert scalar(use_demo_env, "select count(*) from core.fct_swipes") == len(spooled)


def test_dim_members_has_one_row_per_member(use_demo_env: Settings) -> None:
    members = sum(members_per_tier(use_demo_env.database_url).values())

    assert scalar(use_demo_env, "select count(*) from core.dim_members") == members
    assert scalar(use_demo_env, "select count(distinct member_no) from core.dim_members") == (
        members
    )


def test_member_overview_totals_match_the_members_per_tier(use_demo_env: Settings) -> None:
    frame = run_query(
        use_demo_env,
        "select tier, sum(members)::bigint as members from reporting.member_overview group by 1",
    )

    assert dict(zip(frame["tier"], frame["members"], strict=True)) == members_per_tier(
        use_demo_env.database_url
    )


def test_dbt_built_every_model_and_every_test_passed(use_demo_env: Settings) -> None:
    results = json.loads((use_demo_env.dbt_target_dir / "run_results.json").read_text())["results"]
    statuses = {(r["unique_id"].split(".")[0], r["status"]) for r in results}

    assert {status for _, status in statuses} <= {"success", "pass"}
    assert ("model", "success") in statuses and ("test", "pass") in statuses
    assert ("unit_test", "pass") in statuses


def test_core_and_marts_expose_no_id_numbers_or_mobiles(use_demo_env: Settings) -> None:
    columns = run_query(
        use_demo_env,
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_schema in {CORE_AND_MARTS!r}",
    )
    names = set(columns["column_name"])
    assert not names & {"id_number", "mobile", "home_phone", "customer_mobile", "email"}
    leaked = scalar(
        use_demo_env,
        "select count(*) from core.dim_members "
        "where regexp_matches(coalesce(mobile_masked, ''), '^1[0-9]{10}$') "
        "   or regexp_matches(coalesce(id_number_masked, ''), '^[0-9]{17}[0-9X]$')",
    )
    assert leaked == 0


def test_unmasked_contacts_stay_in_the_restricted_model_of_the_build(
    use_demo_env: Settings,
) -> None:
    build = duckdb.connect(str(use_demo_env.build_warehouse_path), read_only=True)
    try:
        members, unmasked = build.execute(
            "select count(*), count(*) filter (where regexp_matches(mobile, '^1[0-9]{10}$')) "
            "from restricted.member_contact_details"
        ).fetchone()
    finally:
        build.close()
    assert members == scalar(use_demo_env, "select count(*) from core.dim_members")
    assert unmasked > 0
    schemas = run_query(use_demo_env, "select distinct schema_name from duckdb_tables()")
    assert "restricted" not in set(schemas["schema_name"])  # never published


# -- a second run while readers read ----------------------------------------------------------
def add_member(database_url: str, member_no: str) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        session.add(
            Member(member_no=member_no, name="新会员", tier="ordinary", status="active",
                   joined_at=date(2026, 6, 30), created_at=datetime.now(UTC))
        )  # fmt: skip
    engine.dispose()


def test_readers_get_complete_answers_while_the_pipeline_reruns(demo_copy: Settings) -> None:
    before_counts = raw_counts(demo_copy)
    before = scalar(demo_copy, "select count(*) from core.dim_members")
    before_file = published_path(demo_copy)
    add_member(demo_copy.database_url, "T999999")
    env = {**os.environ, "CLUBCRM_HOME": str(demo_copy.home)}
    env.pop("CLUBCRM_DATABASE_URL", None)
    command = [sys.executable, "-m", "clubcrm.cli"]

    run = subprocess.Popen(
        [*command, "pipeline", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    answers: list[int] = []
    cli_answers: list[str] = []
    started = time.monotonic()
    while run.poll() is None:
        answers.append(int(scalar(demo_copy, "select count(*) from core.dim_members")))
        if not cli_answers and time.monotonic() - started > 3:
            cli = subprocess.run(
                [*command, "sql", "select count(*) as n from core.dim_members", "--format", "csv"],
                env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert cli.returncode == 0, cli.stderr
            cli_answers.append(cli.stdout.splitlines()[-1])
        time.sleep(0.05)
    output = run.stdout.read()
    assert run.returncode == 0, output

    after = scalar(demo_copy, "select count(*) from core.dim_members")
    assert after == before + 1
    assert len(answers) > 10
    assert set(answers) <= {before, after}
    assert cli_answers and int(cli_answers[0]) in {before, after}
    assert published_path(demo_copy) != before_file
    # Idempotent: everything but the new member is counted exactly as before, swipes included.
    assert raw_counts(demo_copy) == {**before_counts, "members": before_counts["members"] + 1}
    assert "published:" in output


def test_a_failed_dbt_test_keeps_the_previous_warehouse_published(demo_copy: Settings) -> None:
    before = published_path(demo_copy)
    engine = make_engine(demo_copy.database_url)
    with Session(engine) as session, session.begin():
        member_id = session.scalar(select(func.min(MemberPointBalance.member_id)))
        session.execute(
            update(MemberPointBalance)
            .where(MemberPointBalance.member_id == member_id)
            .values(balance=MemberPointBalance.balance + 7)
        )
    engine.dispose()

    result = run_pipeline(demo_copy)

    assert not result.success
    assert result.published_path is None
    assert any("assert_points_balance_matches_ledger" in f for f in result.dbt_failures)
    assert published_path(demo_copy) == before
    lines = result.summary_lines()
    assert any(line.startswith("not published") for line in lines)
    assert lines[-1].startswith("failed in")


# -- backtesting on the hand-made history -----------------------------------------------------
def test_as_of_builds_the_warehouse_as_it_was_at_the_end_of_that_day(small_club: Settings) -> None:
    result = run_pipeline(small_club, as_of=date(2025, 3, 2))

    assert result.success, "\n".join(result.summary_lines())
    assert result.raw_rows["point_entries"] == 8  # raw keeps everything
    assert result.raw_rows["swipes"] == 4
    assert result.summary_lines()[0] == "as of 2025-03-02 (events after that day ignored)"
    members = run_query(
        small_club, "select member_no, status, age, points_balance from core.dim_members"
    ).set_index("member_no")
    assert len(members) == 6
    assert members.loc["M000004", "status"] == "active"  # archived on 2025-03-31
    assert members.loc["M000001", "age"] == 75  # born 1949-12-31
    # Opening 500 and purchase 1200 were posted by then; the redemption of -300 came later.
    assert members.loc["M000001", "points_balance"] == 1700
    purchases = run_query(small_club, "select purchase_no, is_fully_paid from core.fct_purchases")
    assert purchases.to_dict("records") == [{"purchase_no": "P0001", "is_fully_paid": False}]
    assert scalar(small_club, "select count(*) from core.fct_swipes") == 0
    assert scalar(small_club, "select as_of::varchar from main.warehouse_info") == "2025-03-02"


# -- one warehouse writer at a time (clubcrm.locks) ---------------------------------------------
_HOLDER = """
import sys, time
from clubcrm.locks import warehouse_lock
from clubcrm.settings import get_settings
with warehouse_lock(get_settings()):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def hold_warehouse(settings: Settings, seconds: float) -> subprocess.Popen:
    """Another process (a pipeline run, a backup) holding the warehouse for ``seconds``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(seconds)],
        env={**os.environ, "CLUBCRM_HOME": str(settings.home)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_pipeline_run_is_refused_at_once_while_another_writer_holds_the_warehouse(
    clubcrm_home: Settings,
) -> None:
    holder = hold_warehouse(clubcrm_home, 60)
    try:
        started = time.monotonic()
        result = run_pipeline(clubcrm_home)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()

    assert not result.success
    assert result.errors and "another pipeline run, backup or restore" in result.errors[0]
    assert elapsed < 10


def test_a_backup_waits_for_the_writer_and_gives_up_after_its_wait(
    clubcrm_home: Settings,
) -> None:
    from clubcrm.backup import BackupError, backup
    from clubcrm.locks import warehouse_lock

    with duckdb.connect(str(clubcrm_home.build_warehouse_path)) as warehouse:
        warehouse.execute("create table built as select 1 as answer")
    holder = hold_warehouse(clubcrm_home, 60)
    try:
        with pytest.raises(BackupError, match="for 1 s"):
            backup(clubcrm_home, wait_seconds=1)
    finally:
        holder.kill()
        holder.wait()

    holder = hold_warehouse(clubcrm_home, 2)
    try:
        started = time.monotonic()
        with warehouse_lock(clubcrm_home, wait_seconds=60):
            waited = time.monotonic() - started
    finally:
        holder.wait()
    assert waited >= 1  # it waited for the other writer instead of writing beside it


def test_the_lock_is_re_entrant_in_its_thread_and_exclusive_across_threads(
    clubcrm_home: Settings,
) -> None:
    import threading

    from clubcrm.locks import WarehouseBusy, warehouse_lock

    outcomes: list[str] = []

    def other_writer() -> None:
        try:
            with warehouse_lock(clubcrm_home):
                outcomes.append("written")
        except WarehouseBusy:
            outcomes.append("refused")

    with warehouse_lock(clubcrm_home):
        with warehouse_lock(clubcrm_home):  # the in-process Dagster run of `pipeline run`
            thread = threading.Thread(target=other_writer)
            thread.start()
            thread.join()
    other_writer()

    assert outcomes == ["refused", "written"]


# -- retries of transient errors ----------------------------------------------------------------
_DUCKDB_HOLDER = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


def test_ingestion_retries_while_another_process_has_the_warehouse_file_open(
    small_club: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from orchestration import raw_assets
    from orchestration.resources import resources_for

    monkeypatch.setattr(raw_assets, "TRANSIENT_FIRST_WAIT_SECONDS", 2)
    small_club.build_warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    # e.g. an analyst's SQL client left open on the build file: DuckDB refuses a second writer.
    holder = subprocess.Popen(
        [sys.executable, "-c", _DUCKDB_HOLDER, str(small_club.build_warehouse_path), "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        outcome = dg.materialize(
            [raw_assets.raw_operational_tables],
            resources=resources_for(small_club),
            raise_on_error=False,
        )
    finally:
        holder.wait()

    retries = [e for e in outcome.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert outcome.success
    assert retries  # it failed on the lock at least once, waited and succeeded
    assert operational_row_counts(small_club.database_url)["members"] == scalar_build(
        small_club, "select count(*) from raw.members"
    )


def test_only_transient_errors_are_retried() -> None:
    from ingestion.operational import SourceTableMissing
    from orchestration.raw_assets import is_transient

    assert is_transient(duckdb.IOException('Could not set lock on file "build.duckdb"'))
    try:
        try:
            raise OSError("database is locked")
        except OSError as cause:
            raise RuntimeError("ingestion failed") from cause
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    assert not is_transient(SourceTableMissing("operational tables missing: members"))
    assert not is_transient(ValueError("could not convert string to float"))


def scalar_build(settings: Settings, sql: str):
    with duckdb.connect(str(settings.build_warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchone()[0]
