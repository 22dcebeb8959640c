"""The checks that gate publishing (decision D19): freshness of raw, raw against the source,
points balances against the core ledger. A failing check keeps the previous warehouse
published and shows on the Status page; passing checks let the run publish."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from small_history import operational_row_counts, write_small_history

from clubcrm.published import published_path
from clubcrm.settings import Settings
from dashboards.data.status import last_run_failures, last_runs
from ingestion.operational import OPERATIONAL_TABLES, ingest_operational_tables
from ingestion.warehouse import connect_warehouse
from orchestration.checks import (
    CHECK_NAMES,
    POINTS_CHECK,
    RECONCILIATION_CHECK,
    freshness,
    reconcile_points,
    reconcile_raw,
)
from orchestration.pipeline import run_pipeline

pytestmark = pytest.mark.e2e


def build(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.build_warehouse_path))


def test_the_demo_build_passed_every_check_and_was_published(demo_env: Settings) -> None:
    import dagster as dg

    run = last_runs(demo_env, limit=1)[0]
    with dg.DagsterInstance.from_config(str(demo_env.dagster_home)) as instance:
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    ours = [e for e in evaluations if e.check_name in CHECK_NAMES]

    assert run.succeeded
    assert {e.check_name for e in ours} == CHECK_NAMES
    assert all(e.passed for e in ours)
    assert last_run_failures(demo_env, run.run_id) == []


def test_a_ledger_that_drifted_from_the_balances_stops_publishing(demo_copy: Settings) -> None:
    before = published_path(demo_copy)
    # An old spending the incremental fact will not rebuild (D15): the fact now disagrees with
    # the balances dbt rebuilds from staging on every run.
    with closing(build(demo_copy)) as connection:
        entry_id, member_no = connection.execute(
            "select entry_id, member_no from core.fct_point_entries "
            "where status = 'posted' and points < 0 order by posted_at limit 1"
        ).fetchone()
        connection.execute(
            "update core.fct_point_entries set points = points - 7 where entry_id = ?", [entry_id]
        )

    result = run_pipeline(demo_copy, routine=True)

    assert result.mode == "routine"
    assert not result.success and result.published_path is None
    assert published_path(demo_copy) == before  # readers keep the last good warehouse
    assert len(result.check_failures) == 1
    assert POINTS_CHECK in result.check_failures[0] and member_no in result.check_failures[0]
    assert any(line.startswith("check failed:") for line in result.summary_lines())
    failures = last_run_failures(demo_copy, result.run_id)
    assert [(f.kind, f.name, f.target, f.blocking) for f in failures] == [
        ("check", POINTS_CHECK, "core/dim_members", True)
    ]
    assert member_no in failures[0].message

    rebuilt = run_pipeline(demo_copy, full=True)  # rebuilds the fact from the source

    assert rebuilt.success, rebuilt.summary_lines()
    assert rebuilt.check_failures == []
    assert published_path(demo_copy) != before


def test_raw_rows_missing_after_ingestion_fail_the_reconciliation(demo_copy: Settings) -> None:
    with closing(build(demo_copy)) as connection:
        assert all(r.passed for r in reconcile_raw(connection, demo_copy.database_url, 60))
        connection.execute(
            "delete from raw.purchases where id in (select id from raw.purchases limit 3)"
        )
        results = {
            r.asset_key.path[-1]: r for r in reconcile_raw(connection, demo_copy.database_url, 60)
        }

    failed = {table for table, r in results.items() if not r.passed}
    assert failed == {"purchases"}
    purchases = results["purchases"]
    assert purchases.check_name == RECONCILIATION_CHECK
    assert purchases.metadata["raw_rows"].value == purchases.metadata["source_rows_now"].value - 3
    assert "had" in purchases.description and "operational table holds" in purchases.description


def test_raw_is_stale_when_the_last_ingestion_is_old(demo_copy: Settings) -> None:
    with closing(build(demo_copy)) as connection:
        loaded_at = connection.execute("select loaded_at from raw._ingestion_state").fetchone()[0]
        fresh = freshness(connection, demo_copy.database_url, now=loaded_at)
        stale = freshness(connection, demo_copy.database_url, now=loaded_at + timedelta(hours=3))

    assert fresh.passed, fresh.description
    assert not stale.passed
    assert "the last ingestion was 3:00:00 ago" in stale.description


def test_the_points_check_names_the_members_whose_balance_differs(demo_copy: Settings) -> None:
    with closing(build(demo_copy)) as connection:
        assert reconcile_points(connection).passed
        member_no = connection.execute(
            "select member_no from core.dim_members order by member_no limit 1"
        ).fetchone()[0]
        connection.execute(
            "update core.dim_members set points_balance = points_balance + 5 where member_no = ?",
            [member_no],
        )
        result = reconcile_points(connection)

    assert not result.passed
    assert result.metadata["mismatched_members"].value == 1
    assert f"{member_no}:" in result.description


def test_raw_reconciles_with_the_source_on_sqlite_and_postgresql(
    op_db_url: str, tmp_path: Path
) -> None:
    write_small_history(op_db_url)
    with closing(connect_warehouse(tmp_path / "build.duckdb")) as connection:
        ingest_operational_tables(connection, op_db_url, scratch_dir=tmp_path)
        results = list(reconcile_raw(connection, op_db_url, 60))
        fresh = freshness(connection, op_db_url)
        connection.execute("delete from raw.members where id = (select min(id) from raw.members)")
        after = {r.asset_key.path[-1]: r.passed for r in reconcile_raw(connection, op_db_url, 60)}

    assert fresh.passed, fresh.description
    assert {r.asset_key.path[-1] for r in results} == set(OPERATIONAL_TABLES)
    assert all(r.passed for r in results), [r.description for r in results if not r.passed]
    counts = operational_row_counts(op_db_url)
    assert {r.asset_key.path[-1]: r.metadata["source_rows_now"].value for r in results} == {
        table: counts[table] for table in OPERATIONAL_TABLES
    }
    assert [table for table, passed in after.items() if not passed] == ["members"]
