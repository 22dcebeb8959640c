"""The published warehouse: atomic publishing, read-only access, pruning (no dbt needed)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from clubcrm.cli import main
from clubcrm.published import (
    NoPublishedWarehouse,
    ReadOnlyViolation,
    connect,
    publish,
    published_path,
    run_query,
)
from clubcrm.settings import Settings


def make_build(path: Path, members: int) -> Path:
    """A stand-in for a finished build: raw members with personal data, a core table."""
    connection = duckdb.connect(str(path))
    connection.execute("create schema if not exists raw")
    connection.execute("create schema if not exists core")
    connection.execute(
        """
        create or replace table raw.members as
        select 'M' || lpad(i::varchar, 6, '0') as member_no,
               '11010519491231002X' as id_number, '13812345678' as mobile,
               null::varchar as home_phone, 'a@b.cn' as email, '北京' as address
        from range(?) t(i)
        """,
        [members],
    )
    connection.execute(
        "create or replace table core.dim_members as select member_no from raw.members"
    )
    connection.close()
    return path


@pytest.fixture
def build(clubcrm_home: Settings) -> Path:
    return make_build(clubcrm_home.build_warehouse_path, members=5)


def test_readers_are_told_to_run_the_pipeline_before_anything_is_published(
    clubcrm_home: Settings,
) -> None:
    with pytest.raises(NoPublishedWarehouse, match="run `clubcrm pipeline run`"):
        published_path(clubcrm_home)
    outcome = CliRunner().invoke(main, ["sql", "select 1"])
    assert outcome.exit_code != 0
    assert "no published warehouse yet: run `clubcrm pipeline run`" in outcome.output


def test_publishing_switches_readers_to_the_new_copy(clubcrm_home: Settings, build: Path) -> None:
    first = publish(clubcrm_home, build, run_id="run-1")
    assert published_path(clubcrm_home) == first
    assert (clubcrm_home.published_dir / "CURRENT").read_text().strip() == first.name
    assert run_query(clubcrm_home, "select count(*) as n from core.dim_members")["n"][0] == 5

    make_build(build, members=7)
    second = publish(clubcrm_home, build, run_id="run-2")

    assert second != first
    assert run_query(clubcrm_home, "select count(*) as n from core.dim_members")["n"][0] == 7
    info = run_query(clubcrm_home, "select run_id, as_of from main.warehouse_info")
    assert info["run_id"][0] == "run-2"
    assert not list(clubcrm_home.published_dir.glob(".*.tmp"))


def test_the_published_copy_masks_personal_data_of_raw(clubcrm_home: Settings, build) -> None:
    publish(clubcrm_home, build)

    row = run_query(clubcrm_home, "select id_number, mobile, email, address from raw.members")
    assert row.iloc[0].tolist() == ["110105********002X", "138****5678", None, None]
    # The build itself keeps the data as ingested.
    with duckdb.connect(str(build), read_only=True) as connection:
        assert connection.execute("select mobile from raw.members limit 1").fetchone()[0] == (
            "13812345678"
        )


def test_the_clubcrm_sql_command_reads_the_published_warehouse(
    clubcrm_home: Settings, build: Path
) -> None:
    publish(clubcrm_home, build)
    runner = CliRunner()

    table = runner.invoke(main, ["sql", "select count(*) as members from core.dim_members"])
    csv = runner.invoke(
        main, ["sql", "select member_no from core.dim_members order by 1", "--format", "csv",
               "--limit", "2"],
    )  # fmt: skip

    assert table.exit_code == 0, table.output
    assert "members" in table.output and "5" in table.output
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines() == ["member_no", "M000000", "M000001"]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("insert into core.dim_members values ('X')", "INSERT"),
        ("create table core.stolen as select 1", "CREATE"),
        ("attach '/tmp/other.duckdb' as other", "ATTACH"),
        ("copy core.dim_members to '/tmp/members.csv'", "COPY"),
        ("copy (select * from core.dim_members) to '/tmp/members.parquet'", "COPY"),
        ("select 1; drop table core.dim_members", "one statement at a time"),
        ("select 1; select 2", "one statement at a time"),
        ("pragma database_list", "PRAGMA"),
        ("set enable_external_access = true", "SET"),
        ("install httpfs", "INSTALL"),
        ("load '/tmp/evil.duckdb_extension'", "LOAD"),
        ("export database '/tmp/dump'", "EXPORT"),
        ("update raw.members set mobile = null", "UPDATE"),
        ("delete from raw.members", "DELETE"),
        ("call pragma_version()", "CALL"),
        ("select * from read_csv('/etc/passwd')", "refused"),
        ("", "empty"),
    ],
)
def test_run_query_refuses_anything_but_one_read(
    clubcrm_home: Settings, build: Path, sql: str, reason: str
) -> None:
    publish(clubcrm_home, build)

    with pytest.raises(ReadOnlyViolation, match=reason):
        run_query(clubcrm_home, sql)

    assert run_query(clubcrm_home, "select count(*) as n from core.dim_members")["n"][0] == 5


def test_the_cli_reports_a_refused_statement_without_a_traceback(
    clubcrm_home: Settings, build: Path
) -> None:
    publish(clubcrm_home, build)

    outcome = CliRunner().invoke(main, ["sql", "drop table core.dim_members"])

    assert outcome.exit_code != 0
    assert "DROP statements are not allowed" in outcome.output
    assert "Traceback" not in outcome.output


def test_reads_are_limited_on_request(clubcrm_home: Settings, build: Path) -> None:
    publish(clubcrm_home, build)

    frame = run_query(clubcrm_home, "from core.dim_members order by member_no", limit=2)

    assert frame["member_no"].tolist() == ["M000000", "M000001"]


def test_old_copies_are_pruned_but_an_open_reader_keeps_its_copy(
    clubcrm_home: Settings, build: Path
) -> None:
    publish(clubcrm_home, build, run_id="first")
    reader = connect(clubcrm_home)
    try:
        for run in range(4):
            make_build(build, members=10 + run)
            publish(clubcrm_home, build, run_id=f"later-{run}")

        files = sorted(clubcrm_home.published_dir.glob("warehouse-*.duckdb"))
        assert len(files) == 3
        assert published_path(clubcrm_home) == files[-1]
        # The first copy is gone from the folder, yet the open reader still answers from it.
        assert reader.execute("select count(*) from core.dim_members").fetchone()[0] == 5
    finally:
        reader.close()
    assert run_query(clubcrm_home, "select count(*) as n from core.dim_members")["n"][0] == 13
