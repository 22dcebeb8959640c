"""Backup and restore drill (decision D17), on SQLite and on PostgreSQL: what a backup holds
comes back exactly, a damaged backup is refused before anything changes, and a backup taken
while staff keep posting is a consistent snapshot."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from small_history import operational_row_counts, write_small_history
from sqlalchemy import text

from clubcrm.backup import BackupError, backup, read_backup, restore
from clubcrm.cli import main
from clubcrm.settings import Settings
from operational.db import make_engine


@pytest.fixture
def club(op_db_url: str, clubcrm_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A data folder with history, a built warehouse, a model and a spool file."""
    monkeypatch.setenv("CLUBCRM_DATABASE_URL", op_db_url)
    settings = dataclasses.replace(clubcrm_home, database_url=op_db_url)
    settings.ensure_dirs()
    write_small_history(op_db_url)
    with duckdb.connect(str(settings.build_warehouse_path)) as warehouse:
        warehouse.execute("create table built as select 42 as answer")
    model = settings.model_registry_dir / "churn" / "v1" / "model.joblib"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"model bytes")
    spooled = settings.spool_dir / "gate-1" / "20260101T000000-boot1.jsonl"
    spooled.parent.mkdir(parents=True)
    spooled.write_text('{"swipe_id": "gate-1:boot1:1"}\n', encoding="utf-8")
    return settings


def member_names(database_url: str) -> dict[str, str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("select member_no, name from members")).all())
    finally:
        engine.dispose()


def epoch(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("select epoch from change_tracking")).scalar_one()
    finally:
        engine.dispose()


def test_a_restore_brings_back_exactly_what_the_backup_holds(
    club: Settings, tmp_path: Path
) -> None:
    counts, names = operational_row_counts(club.database_url), member_names(club.database_url)
    info = backup(club, tmp_path / "backup")
    assert info.manifest["operational"]["rows"]["members"] == counts["members"]

    # Life goes on after the backup: members renamed and deleted, a new build, a model lost.
    engine = make_engine(club.database_url)
    with engine.begin() as connection:
        connection.execute(text("update members set name = 'After The Backup'"))
        connection.execute(text("delete from pii_access_log"))
    engine.dispose()
    with duckdb.connect(str(club.build_warehouse_path)) as warehouse:
        warehouse.execute("drop table built")
    (club.model_registry_dir / "churn" / "v1" / "model.joblib").unlink()
    before_restore = epoch(club.database_url)

    restore(club, info.path)

    assert operational_row_counts(club.database_url) == counts
    assert member_names(club.database_url) == names
    with duckdb.connect(str(club.build_warehouse_path), read_only=True) as warehouse:
        assert warehouse.execute("select answer from built").fetchone() == (42,)
    assert (club.model_registry_dir / "churn" / "v1" / "model.joblib").read_bytes() == (
        b"model bytes"
    )
    # The warehouse must not trust change stamps across the restore: a new epoch.
    assert epoch(club.database_url) != before_restore


def test_a_damaged_backup_is_refused_before_anything_changes(
    club: Settings, tmp_path: Path
) -> None:
    info = backup(club, tmp_path / "backup")
    engine = make_engine(club.database_url)
    with engine.begin() as connection:
        connection.execute(text("delete from pii_access_log"))
    engine.dispose()
    counts = operational_row_counts(club.database_url)
    damaged = info.path / info.manifest["operational"]["file"]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))

    with pytest.raises(BackupError, match="damaged"):
        restore(club, info.path)

    assert operational_row_counts(club.database_url) == counts
    with pytest.raises(BackupError, match="not a ClubCRM backup"):
        read_backup(tmp_path)


DRIFT = (
    "select count(*) from member_point_balances b where b.balance <> "
    "(select coalesce(sum(points), 0) from point_entries e "
    " where e.member_id = b.member_id and e.status = 'posted')"
)


def test_a_backup_taken_while_staff_post_points_is_consistent(
    club: Settings, tmp_path: Path
) -> None:
    """Every posting writes a ledger entry and the balance in one transaction; a backup taken
    between them would break 'balance = sum of the ledger' for that member."""
    engine = make_engine(club.database_url)
    with engine.connect() as connection:
        member_id = connection.execute(
            text("select member_id from member_point_balances order by member_id limit 1")
        ).scalar_one()
        assert connection.execute(text(DRIFT)).scalar_one() == 0
    stop = threading.Event()

    def post_points() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "insert into point_entries (member_id, points, event_type, status, "
                        "idempotency_key, created_at, created_by, posted_at) values (:m, 1, "
                        "'manual', 'posted', :key, '2026-01-01 00:00:00', 'clerk', "
                        "'2026-01-01 00:00:00')"
                    ),
                    {"m": member_id, "key": f"backup-test-{n}"},
                )
                connection.execute(
                    text("update member_point_balances set balance = balance + 1 "
                         "where member_id = :m"),
                    {"m": member_id},
                )  # fmt: skip

    writer = threading.Thread(target=post_points)
    writer.start()
    try:
        backups = [backup(club, tmp_path / f"backup-{i}") for i in range(3)]
    finally:
        stop.set()
        writer.join()
        engine.dispose()

    posted_while_backing_up = []
    for info in backups:
        restore(club, info.path)
        restored = make_engine(club.database_url)
        with restored.connect() as connection:
            drift = connection.execute(text(DRIFT)).scalar_one()
            posted_while_backing_up.append(
                connection.execute(
                    text("select count(*) from point_entries "
                         "where idempotency_key like 'backup-test-%'")
                ).scalar_one()
            )  # fmt: skip
        restored.dispose()
        assert drift == 0
    assert max(posted_while_backing_up) > 0  # the backups really ran beside the writer


def test_the_commands_print_the_backup_path_last_and_restore_it(club: Settings) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["backup"])
    assert made.exit_code == 0, made.output
    path = Path(made.output.strip().splitlines()[-1])
    assert path.parent == club.backups_dir
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["warehouse"] and manifest["models"]["files"] == 1

    refused = runner.invoke(main, ["restore", str(path)], input="n\n")
    assert refused.exit_code != 0 and "nothing restored" in refused.output

    restored = runner.invoke(main, ["restore", str(path), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "clubcrm pipeline run --full" in restored.output
