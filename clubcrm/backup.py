"""``clubcrm backup`` and ``clubcrm restore``: the operational DB, the warehouse, the model
registry and unloaded reader spool files, consistent while the app is in use (decision D17).

A backup is a folder (``CLUBCRM_HOME/backups/clubcrm-<UTC stamp>`` unless ``--to`` names one)
written as ``<name>.partial`` and renamed when complete, so a half-written backup never looks
like a backup. It holds:

- ``operational.sqlite`` (SQLite: the online backup API copies the file in one read
  transaction; writers in WAL mode go on) or ``operational.pgdump`` (PostgreSQL: ``pg_dump``'s
  custom format of the schema, from one exported snapshot, in which the row counts are taken
  too);
- ``warehouse.duckdb``: the build warehouse, copied under the pipeline's lock (waiting for a
  running pipeline to finish) after a CHECKPOINT, so it is a finished build;
- ``models/`` (the model registry) and ``spool/`` (finished reader spool files);
- ``manifest.json``: what is inside, the schema revision, each table's row count and each
  file's SHA-256.

Restoring checks every checksum first, then replaces the operational DB (the app must be
stopped), the warehouse, the registry and spool files, and starts a new change-tracking epoch,
so the next pipeline run re-reads every table instead of trusting change stamps from a future
the restored database never saw.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from clubcrm.locks import WarehouseBusy, warehouse_lock
from clubcrm.settings import Settings

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"
OPERATIONAL_SQLITE = "operational.sqlite"
OPERATIONAL_PGDUMP = "operational.pgdump"
WAREHOUSE_FILE = "warehouse.duckdb"
MODELS_DIR = "models"
SPOOL_DIR = "spool"
#: Bookkeeping the row counts leave out (they change on every run of the tools themselves).
_UNCOUNTED = {"alembic_version"}


class BackupError(RuntimeError):
    """A backup or restore could not be made; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    manifest: dict


# -- locking ----------------------------------------------------------------------------------
@contextmanager
def _writer_lock(settings: Settings, wait_seconds: float) -> Iterator[None]:
    """The warehouse writer's lock (clubcrm.locks), waiting for a running pipeline to end."""
    try:
        with warehouse_lock(settings, wait_seconds):
            yield
    except WarehouseBusy as exc:
        raise BackupError(str(exc)) from exc


# -- helpers ----------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _pg_conninfo(database_url: str) -> tuple[str, str]:
    from ingestion.operational import postgres_source  # the one URL -> libpq translation

    source = postgres_source(database_url)
    return source.conninfo, source.schema


def _run(command: list[str], what: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed: it is needed to {what}")
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BackupError(f"{what} failed: {(completed.stderr or completed.stdout).strip()}")


# -- backup -----------------------------------------------------------------------------------
def backup(settings: Settings, to: Path | None = None, wait_seconds: float = 900) -> BackupInfo:
    """Write a complete backup folder and return it (see the module docstring)."""
    target = Path(to) if to else settings.backups_dir / f"clubcrm-{_utc_stamp()}"
    target = target.expanduser().resolve()
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} exists and is not empty: choose another place")
    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.monotonic()
    try:
        manifest: dict = {
            "format": BACKUP_FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        # The warehouse first: it is then never ahead of the operational copy taken after it.
        manifest["warehouse"] = _backup_warehouse(settings, work, wait_seconds)
        manifest["operational"] = _backup_operational(settings.database_url, work)
        manifest["models"] = _copy_tree(settings.model_registry_dir, work / MODELS_DIR)
        manifest["spool"] = _copy_tree(settings.spool_dir, work / SPOOL_DIR, suffix=".jsonl")
        manifest["files"] = {str(path.relative_to(work)): _sha256(path) for path in _files(work)}
        manifest["seconds"] = round(time.monotonic() - started, 1)
        (work / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if target.exists():
            target.rmdir()
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupInfo(target, manifest)


def _backup_operational(database_url: str, work: Path) -> dict:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        source = Path(url.database or "")
        if not source.exists():
            raise BackupError(f"operational SQLite database not found: {source}")
        copy = work / OPERATIONAL_SQLITE
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)) as src,
            closing(sqlite3.connect(copy)) as dst,
        ):
            src.backup(dst)  # one step: one read transaction, a consistent copy
            dst.execute("pragma journal_mode = delete")
            counts, revision = _sqlite_counts(dst)
        return {"backend": "sqlite", "file": copy.name, "revision": revision, "rows": counts}
    if backend == "postgresql":
        return _backup_postgres(database_url, work)
    raise BackupError(f"cannot back up a {backend!r} database")


def _sqlite_counts(connection: sqlite3.Connection) -> tuple[dict[str, int], str | None]:
    tables = [
        row[0]
        for row in connection.execute(
            "select name from sqlite_master where type = 'table' "
            "and name not like 'sqlite_%' order by name"
        )
    ]
    counts = {
        t: connection.execute(f'select count(*) from "{t}"').fetchone()[0]
        for t in tables
        if t not in _UNCOUNTED
    }
    revision = None
    if "alembic_version" in tables:
        row = connection.execute("select version_num from alembic_version").fetchone()
        revision = row[0] if row else None
    return counts, revision


def _backup_postgres(database_url: str, work: Path) -> dict:
    import psycopg

    conninfo, schema = _pg_conninfo(database_url)
    dump = work / OPERATIONAL_PGDUMP
    with psycopg.connect(conninfo) as connection:
        # One snapshot for the counts and for pg_dump (--snapshot), held until the dump ends.
        connection.execute("begin isolation level repeatable read read only")
        snapshot = connection.execute("select pg_export_snapshot()").fetchone()[0]
        tables = [
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables where table_schema = %s "
                "and table_type = 'BASE TABLE' order by table_name",
                (schema,),
            )
        ]
        counts = {
            t: connection.execute(f'select count(*) from "{schema}"."{t}"').fetchone()[0]
            for t in tables
            if t not in _UNCOUNTED
        }
        revision = None
        if "alembic_version" in tables:
            row = connection.execute(
                f'select version_num from "{schema}".alembic_version'
            ).fetchone()
            revision = row[0] if row else None
        _run(
            [
                "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                f"--schema={schema}", f"--snapshot={snapshot}", f"--file={dump}",
                f"--dbname={conninfo}",
            ],
            "dump the PostgreSQL database (pg_dump)",
        )  # fmt: skip
        connection.rollback()
    return {
        "backend": "postgresql",
        "file": dump.name,
        "schema": schema,
        "revision": revision,
        "rows": counts,
    }


def _backup_warehouse(settings: Settings, work: Path, wait_seconds: float) -> dict | None:
    import duckdb

    build = settings.build_warehouse_path
    if not build.exists():
        return None
    with _writer_lock(settings, wait_seconds):
        connection = duckdb.connect(str(build))
        try:
            connection.execute("checkpoint")
        finally:
            connection.close()
        shutil.copy2(build, work / WAREHOUSE_FILE)
    return {"file": WAREHOUSE_FILE, "bytes": (work / WAREHOUSE_FILE).stat().st_size}


def _copy_tree(source: Path, target: Path, suffix: str | None = None) -> dict:
    copied = 0
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if not path.is_file() or (suffix and path.suffix != suffix):
                continue
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied += 1
    return {"files": copied}


# -- restore ----------------------------------------------------------------------------------
def read_backup(path: Path) -> BackupInfo:
    """Open a backup folder and verify it: format, every file present with its checksum."""
    path = Path(path).expanduser().resolve()
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{path} is not a ClubCRM backup (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} in {path}")
    for name, expected in manifest["files"].items():
        file = path / name
        if not file.exists():
            raise BackupError(f"the backup is incomplete: {name} is missing")
        if _sha256(file) != expected:
            raise BackupError(f"the backup is damaged: {name} does not match its checksum")
    return BackupInfo(path, manifest)


def restore(settings: Settings, path: Path, wait_seconds: float = 900) -> BackupInfo:
    """Restore a verified backup into this data folder and database (see the module docstring).

    The app, readers and daemons must be stopped: the operational database is replaced.
    """
    info = read_backup(path)
    manifest = info.manifest
    operational = manifest["operational"]
    backend = make_url(settings.database_url).get_backend_name()
    if operational["backend"] != backend:
        raise BackupError(
            f"the backup holds a {operational['backend']} database but CLUBCRM_DATABASE_URL "
            f"is {backend}: restore into the same kind of database"
        )
    with _writer_lock(settings, wait_seconds):
        if backend == "sqlite":
            _restore_sqlite(settings.database_url, info.path / operational["file"])
        else:
            _restore_postgres(settings.database_url, info.path / operational["file"])
        _new_epoch(settings.database_url)
        if manifest.get("warehouse"):
            target = settings.build_warehouse_path
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(target.name + ".restoring")
            shutil.copy2(info.path / manifest["warehouse"]["file"], temporary)
            target.with_name(target.name + ".wal").unlink(missing_ok=True)
            os.replace(temporary, target)
        if (info.path / MODELS_DIR).is_dir():
            shutil.rmtree(settings.model_registry_dir, ignore_errors=True)
            shutil.copytree(info.path / MODELS_DIR, settings.model_registry_dir)
        if (info.path / SPOOL_DIR).is_dir():
            # Spool files are append-only and loaded once per swipe id: restoring adds back
            # files archived since, and never replaces a file written after the backup.
            shutil.copytree(info.path / SPOOL_DIR, settings.spool_dir, dirs_exist_ok=True)
    return info


def _restore_sqlite(database_url: str, copy: Path) -> None:
    database = Path(make_url(database_url).database or "")
    database.parent.mkdir(parents=True, exist_ok=True)
    temporary = database.with_name(f".{database.name}.restoring-{uuid.uuid4().hex}")
    shutil.copy2(copy, temporary)
    with closing(sqlite3.connect(temporary)) as connection:
        if connection.execute("pragma integrity_check").fetchone()[0] != "ok":
            temporary.unlink(missing_ok=True)
            raise BackupError(f"{copy} is not a sound SQLite database")
        connection.execute("pragma journal_mode = wal")
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    os.replace(temporary, database)


def _restore_postgres(database_url: str, dump: Path) -> None:
    import psycopg

    conninfo, schema = _pg_conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'drop schema if exists "{schema}" cascade')
        if schema == "public":  # pg_dump leaves out the public schema's own CREATE
            connection.execute("create schema public")
    _run(
        [
            "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
            "--single-transaction", f"--dbname={conninfo}", str(dump),
        ],
        "restore the PostgreSQL database (pg_restore)",
    )  # fmt: skip


def _new_epoch(database_url: str) -> None:
    """The restored history is not the one the warehouse followed: make it copy everything."""
    from sqlalchemy import text

    from operational.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("update change_tracking set epoch = :epoch"), {"epoch": uuid.uuid4().hex}
            )
    finally:
        engine.dispose()
