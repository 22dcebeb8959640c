"""Ingestion into ``raw``: operational tables (SQLite and PostgreSQL) and swipe spool files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from small_history import (
    T0,
    Swipe,
    operational_row_counts,
    small_swipes,
    write_small_history,
    write_small_spool,
    write_spool_file,
)
from sqlalchemy import text

from ingestion import operational as operational_ingestion
from ingestion.operational import (
    OPERATIONAL_TABLES,
    SourceTableMissing,
    UnsupportedDatabaseUrl,
    ingest_operational_tables,
    postgres_source,
)
from ingestion.swipes import BadSpoolFile, load_swipes
from ingestion.warehouse import connect_warehouse
from operational.db import make_engine

SWIPE_COLUMNS = [
    "swipe_id", "reader_id", "seq", "card_no", "raw", "swiped_at", "purpose", "target",
    "_source_file", "_loaded_at",
]  # fmt: skip


@pytest.fixture
def warehouse(tmp_path: Path):
    connection = connect_warehouse(tmp_path / "build.duckdb")
    yield connection
    connection.close()


def raw_count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return connection.execute(f'select count(*) from raw."{table}"').fetchone()[0]


def test_every_operational_table_lands_in_raw_with_its_row_count(
    op_db_url: str, warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_small_history(op_db_url)
    expected = operational_row_counts(op_db_url)

    result = ingest_operational_tables(warehouse, op_db_url, scratch_dir=tmp_path)

    assert result.mode == "full" and result.full_reason == "first ingestion"
    counts = result.counts
    assert counts == expected
    assert set(counts) == set(OPERATIONAL_TABLES)
    for table, rows in expected.items():
        assert raw_count(warehouse, table) == rows, table
    logged = warehouse.execute("select count(*) from raw._ingestion_log").fetchone()[0]
    assert logged == len(OPERATIONAL_TABLES)


def test_ingestion_replaces_raw_and_keeps_no_password_hash(
    op_db_url: str, warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_small_history(op_db_url)
    ingest_operational_tables(warehouse, op_db_url, scratch_dir=tmp_path)
    engine = make_engine(op_db_url)
    with engine.begin() as connection:
        connection.execute(text("delete from pii_access_log"))
    engine.dispose()

    ingest_operational_tables(warehouse, op_db_url, scratch_dir=tmp_path)

    assert raw_count(warehouse, "pii_access_log") == 0
    assert raw_count(warehouse, "members") == 6
    columns = {row[0] for row in warehouse.execute("describe raw.staff_accounts").fetchall()}
    assert "password_hash" not in columns
    assert {"username", "role", "_loaded_at"} <= columns


def _sqlite_club(tmp_path: Path) -> str:
    from operational.bootstrap import initialise

    url = f"sqlite:///{tmp_path / 'op.sqlite'}"
    initialise(url, admin_password="admin-password-1")
    write_small_history(url)
    return url


def test_a_crash_during_ingestion_leaves_the_previous_raw_intact(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _sqlite_club(tmp_path)
    ingest_operational_tables(warehouse, url, scratch_dir=tmp_path)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("delete from pii_access_log"))
    engine.dispose()
    real_quote = operational_ingestion._quote_ident

    def crash_on_staff_accounts(name: str) -> str:  # copied after pii_access_log
        if name == "staff_accounts":
            raise KeyboardInterrupt("power cut")
        return real_quote(name)

    monkeypatch.setattr(operational_ingestion, "_quote_ident", crash_on_staff_accounts)
    with pytest.raises(KeyboardInterrupt):
        ingest_operational_tables(warehouse, url, scratch_dir=tmp_path)

    assert raw_count(warehouse, "pii_access_log") == 1  # the replacement was rolled back
    assert not list(tmp_path.glob(".operational-snapshot-*"))
    monkeypatch.undo()
    ingest_operational_tables(warehouse, url, scratch_dir=tmp_path)
    assert raw_count(warehouse, "pii_access_log") == 0


def test_a_full_copy_of_a_quiet_sqlite_file_reads_it_in_place(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _sqlite_club(tmp_path)

    def no_backup(*args):
        raise AssertionError("a quiet source needs no backup copy")

    monkeypatch.setattr(operational_ingestion, "_sqlite_snapshot", no_backup)
    result = ingest_operational_tables(warehouse, url, scratch_dir=tmp_path, full=True)

    assert result.backup_reason is None
    assert result.counts == operational_row_counts(url)


def test_a_commit_during_a_full_copy_makes_it_start_again_from_a_backup(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff post while the nightly copy runs: the live-file copy is torn, so it is rolled back
    and redone from a consistent backup of the file, which holds the commit."""
    url = _sqlite_club(tmp_path)
    real_apply = operational_ingestion._apply_table
    real_backup = operational_ingestion._sqlite_snapshot
    backups = []
    committed = []

    def commit_after_pii_access_log(connection, snap, database, table, stamp, result):
        real_apply(connection, snap, database, table, stamp, result)
        if table == "pii_access_log" and not committed:  # copied; a desk deletes a row
            engine = make_engine(url)
            with engine.begin() as source:
                committed.append(source.execute(text("delete from pii_access_log")).rowcount)
            engine.dispose()

    def counted_backup(*args):
        backups.append(args)
        return real_backup(*args)

    monkeypatch.setattr(operational_ingestion, "_apply_table", commit_after_pii_access_log)
    monkeypatch.setattr(operational_ingestion, "_sqlite_snapshot", counted_backup)
    result = ingest_operational_tables(warehouse, url, scratch_dir=tmp_path, full=True)

    assert committed == [1]
    assert len(backups) == 1
    assert result.backup_reason == "a commit landed in the operational DB during the copy"
    assert raw_count(warehouse, "pii_access_log") == 0  # the torn copy kept 1
    assert result.counts == operational_row_counts(url)
    assert not list(tmp_path.glob(".operational-snapshot-*"))


def test_a_source_without_the_current_schema_is_refused(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    sqlite3.connect(tmp_path / "empty.sqlite").execute("create table members (id integer)")

    with pytest.raises(SourceTableMissing, match="clubcrm init"):
        ingest_operational_tables(warehouse, url, scratch_dir=tmp_path)


def test_postgres_urls_become_libpq_conninfo_with_the_schema_of_the_search_path() -> None:
    source = postgres_source(
        "postgresql+psycopg://club:s%40cret@db.example:5433/crm?options=-csearch_path%3Dclub_a"
    )
    assert source.schema == "club_a"
    assert "host=db.example" in source.conninfo
    assert "port=5433" in source.conninfo
    assert "dbname=crm" in source.conninfo
    assert "password=s@cret" in source.conninfo
    assert postgres_source("postgresql+psycopg://u@h/db").schema == "public"
    with pytest.raises(UnsupportedDatabaseUrl):
        ingest_operational_tables(
            duckdb.connect(), "mysql+pymysql://u@h/db", scratch_dir=Path("/tmp")
        )


def spooled_swipe_ids(spool_dir: Path) -> set[str]:
    ids = set()
    for path in spool_dir.glob("*/*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                ids.add(json.loads(line)["swipe_id"])
    return ids


def test_finished_spool_files_load_once_per_swipe_id(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    distinct = write_small_spool(spool)

    first = load_swipes(warehouse, spool)
    again = load_swipes(warehouse, spool)
    rescanned = load_swipes(warehouse, spool, rescan=True)

    assert first.rows_inserted == distinct == len(spooled_swipe_ids(spool))
    assert again.rows_inserted == 0 and again.files_read == 0
    assert rescanned.rows_inserted == 0 and rescanned.total_rows == distinct
    rows = warehouse.execute(
        "select swipe_id, swiped_at, _source_file from raw.swipes order by swipe_id"
    ).fetchall()
    assert "gate-1:boot2:1" not in {row[0] for row in rows}  # still in a .jsonl.open file
    by_id = {row[0]: row for row in rows}
    first_swipe = small_swipes()[0]
    assert by_id[first_swipe.swipe_id][1] == first_swipe.swiped_at.replace(tzinfo=None)
    # The re-spooled swipe counts once, from the first file that holds it.
    assert by_id["gate-1:boot1:2"][2] == "gate-1/20250311T020000-boot1.jsonl"


def test_a_closed_spool_file_adds_only_its_new_swipes(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    distinct = write_small_spool(spool)
    load_swipes(warehouse, spool)
    later = Swipe("gate-1:boot2:1", "gate-1", 1, "C100002", T0)
    (spool / "gate-1" / "20250313T020000-boot2.jsonl.open").unlink()
    write_spool_file(spool, "gate-1", "20250313T020000-boot2", [small_swipes()[0], later])

    loaded = load_swipes(warehouse, spool)

    assert loaded.files_read == 1
    assert loaded.rows_inserted == 1
    assert loaded.total_rows == distinct + 1


def test_an_empty_spool_gives_an_empty_swipes_table(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    loaded = load_swipes(warehouse, tmp_path / "no-spool-yet")

    assert loaded.total_rows == 0
    columns = [row[0] for row in warehouse.execute("describe raw.swipes").fetchall()]
    assert columns == SWIPE_COLUMNS
    types = dict(warehouse.execute("select column_name, data_type from "
                                   "information_schema.columns where table_name = 'swipes'"
                                   ).fetchall())  # fmt: skip
    assert types["swiped_at"] == "TIMESTAMP"


def test_a_spool_file_breaking_the_contract_loads_nothing(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    write_small_spool(spool)
    bad = spool / "gate-9" / "broken.jsonl"
    bad.parent.mkdir()
    bad.write_text('{"swipe_id": null, "reader_id": "gate-9", "swiped_at": "x"}\n')

    with pytest.raises(BadSpoolFile, match="gate-9/broken.jsonl"):
        load_swipes(warehouse, spool)

    assert warehouse.execute("select count(*) from raw.swipes").fetchone()[0] == 0


def test_new_demo_data_replaces_the_swipes_of_the_old_history(
    warehouse: duckdb.DuckDBPyConnection, clubcrm_home
) -> None:
    """Regenerating demo data restarts reader sequences, so swipe ids are reused: the warehouse
    must follow the new spool, not keep the replaced history's swipes under those ids."""
    from datetime import date

    from demodata.generate import generate
    from devices.spool import finished_files, read_spool_file
    from operational.bootstrap import initialise

    initialise(clubcrm_home.database_url, admin_password="admin-password-1")
    generate(clubcrm_home, members=150, seed=1, months=6, end_date=date(2026, 6, 30))
    load_swipes(warehouse, clubcrm_home.spool_dir)
    generate(clubcrm_home, members=150, seed=2, months=6, end_date=date(2026, 6, 30))

    load_swipes(warehouse, clubcrm_home.spool_dir)

    spooled = {
        (record["swipe_id"], record["card_no"])
        for path in finished_files(clubcrm_home.spool_dir)
        for record in read_spool_file(path)
    }
    loaded = set(warehouse.execute("select swipe_id, card_no from raw.swipes").fetchall())
    assert loaded == spooled
