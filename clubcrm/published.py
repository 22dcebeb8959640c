"""The published warehouse: what dashboards, analysts and ``clubcrm sql`` read.

Readers never block the writer and never see a half-built warehouse (ARCHITECTURE.md). The
pipeline builds ``warehouse/build.duckdb`` (only it opens that file); after a successful build
:func:`publish` makes a finished copy and switches a pointer to it atomically:

1. CHECKPOINT and close the build file, so the ``.duckdb`` file alone holds everything;
2. copy it to ``published/.warehouse-<stamp>-<run>.duckdb.tmp``, open the copy (nobody else can
   see it yet), mask the personal data of the ``raw`` schema, drop the ``restricted`` schema, record ``main.warehouse_info``,
   CHECKPOINT, close, fsync, and rename it to ``published/warehouse-<stamp>-<run>.duckdb``;
3. write the new file name to ``published/CURRENT.tmp``, fsync, and ``os.replace`` it onto
   ``published/CURRENT`` (atomic on POSIX and Windows), then fsync the folder;
4. delete all but the newest few published files. A reader that still has an older file open
   keeps reading it (on POSIX an unlinked file lives until closed).

Readers resolve ``CURRENT`` and open that file read-only, with file access from SQL disabled.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from clubcrm.settings import Settings

POINTER_NAME = "CURRENT"
FILE_PREFIX = "warehouse-"
KEEP_PUBLISHED = 3

# DuckDB connection options for readers: no network, no files beyond the warehouse itself,
# and no way to switch that back from SQL.
READER_CONFIG: dict[str, str | bool] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "enable_external_access": False,
    "lock_configuration": True,
}

# Only these statement openings are accepted by run_query (after DuckDB's parser also says the
# statement is a SELECT): queries, DESCRIBE/SHOW/SUMMARIZE of relations.
_READ_KEYWORDS = ("select", "with", "from", "values", "table", "describe", "show", "summarize")

#: What a pipeline run rebuilt before publishing (see :func:`publish`).
PUBLISH_MODES = ("complete", "full", "routine")

#: dbt's schema of unmasked personal data (transforms/models/restricted): never published.
RESTRICTED_SCHEMA = "restricted"

# Personal data in ``raw`` is masked in every published copy (core and marts are masked by dbt).
_MASK_MACROS = (
    """
    create or replace temp macro _mask_id(v) as case
        when v is null then null
        when length(v) = 18 then substring(v, 1, 6) || '********' || right(v, 4)
        when length(v) = 15 then substring(v, 1, 6) || '******' || right(v, 3)
        else '******' end
    """,
    """
    create or replace temp macro _mask_phone(v) as case
        when v is null then null
        when length(v) = 11 then substring(v, 1, 3) || '****' || right(v, 4)
        when length(v) >= 4 then '******' || right(v, 2)
        else '****' end
    """,
)
_REDACTIONS: dict[str, str] = {
    "members": """update raw.members set id_number = _mask_id(id_number),
        mobile = _mask_phone(mobile), home_phone = _mask_phone(home_phone),
        email = null, address = null""",
    "applications": """update raw.applications set id_number = _mask_id(id_number),
        mobile = _mask_phone(mobile), home_phone = _mask_phone(home_phone),
        email = null, address = null""",
    "purchases": """update raw.purchases set customer_id_number = _mask_id(customer_id_number),
        customer_mobile = _mask_phone(customer_mobile)""",
    "member_changes": """update raw.member_changes set
        old_value = case when field = 'id_number' then _mask_id(old_value)
            when field in ('mobile', 'home_phone') then _mask_phone(old_value)
            when field in ('email', 'address', 'name') then null else old_value end,
        new_value = case when field = 'id_number' then _mask_id(new_value)
            when field in ('mobile', 'home_phone') then _mask_phone(new_value)
            when field in ('email', 'address', 'name') then null else new_value end""",
}


class NoPublishedWarehouse(RuntimeError):
    """No pipeline run has published a warehouse in this data folder yet."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "no published warehouse yet: run `clubcrm pipeline run`")


class ReadOnlyViolation(ValueError):
    """A query that is not a single read-only SELECT was refused."""


# -- publishing (the pipeline) ----------------------------------------------------------------
def publish(
    settings: Settings,
    build_path: Path,
    *,
    run_id: str | None = None,
    as_of: date | None = None,
    mode: str = "complete",
    keep: int = KEEP_PUBLISHED,
) -> Path:
    """Publish a finished build as the warehouse readers see; return the published file.

    ``mode`` says what the run rebuilt: ``complete`` or ``full`` (every layer) or ``routine``
    (the core layer only; reporting, analysis, features and predictions are those of the last
    complete run). ``main.warehouse_info`` of the copy records it and ``marts_built_at``, so
    pages can say how fresh each layer is. The caller must hold no connection to
    ``build_path`` (it is checkpointed and copied).
    """
    if mode not in PUBLISH_MODES:
        raise ValueError(f"unknown publishing mode {mode!r}: one of {', '.join(PUBLISH_MODES)}")
    build_path = Path(build_path)
    if not build_path.exists():
        raise FileNotFoundError(f"no warehouse build at {build_path}")
    published_dir = settings.published_dir
    published_dir.mkdir(parents=True, exist_ok=True)
    run_id = run_id or uuid.uuid4().hex
    now = datetime.now(UTC)
    name = f"{FILE_PREFIX}{now:%Y%m%dT%H%M%S%fZ}-{_safe(run_id)[:12]}.duckdb"
    final_path = published_dir / name
    temp_path = published_dir / f".{name}.tmp"

    _record_build(build_path, run_id=run_id, finished_at=now, mode=mode)
    _checkpoint(build_path)
    try:
        shutil.copyfile(build_path, temp_path)
        _finish_copy(temp_path, run_id=run_id, published_at=now, as_of=as_of, mode=mode)
        _fsync_file(temp_path)
        os.replace(temp_path, final_path)
        _fsync_dir(published_dir)
        _write_pointer(published_dir, name)
    finally:
        for leftover in (temp_path, temp_path.with_name(temp_path.name + ".wal")):
            leftover.unlink(missing_ok=True)
    prune_published(settings, keep=keep)
    return final_path


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", text) or "run"


def _checkpoint(build_path: Path) -> None:
    """Fold the write-ahead log into the file so that copying the file copies everything."""
    connection = duckdb.connect(str(build_path), config=_offline())
    try:
        connection.execute("checkpoint")
    finally:
        connection.close()
    wal = build_path.with_name(build_path.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise RuntimeError(
            f"{wal} still holds changes after a checkpoint: is another process "
            "writing the build warehouse?"
        )


def _record_build(build_path: Path, *, run_id: str, finished_at: datetime, mode: str) -> None:
    """Append this run to the build's ``main.build_history`` (kept across runs)."""
    connection = duckdb.connect(str(build_path), config=_offline())
    try:
        connection.execute(
            "create table if not exists main.build_history "
            "(run_id varchar, mode varchar, finished_at timestamp)"
        )
        connection.execute(
            "insert into main.build_history values (?, ?, ?)",
            [run_id, mode, finished_at.replace(tzinfo=None)],
        )
    finally:
        connection.close()


def has_complete_build(build_path: Path) -> bool:
    """Whether the build's ``main.build_history`` records a complete (or full) build.

    A routine run keeps the marts of the last complete run, so without one it must build
    everything (decision D18). The reader of what :func:`_record_build` writes.
    """
    build_path = Path(build_path)
    if not build_path.exists():
        return False
    connection = duckdb.connect(str(build_path), read_only=True, config=_offline())
    try:
        return bool(
            connection.execute(
                "select count(*) from duckdb_tables() where schema_name = 'main' "
                "and table_name = 'build_history'"
            ).fetchone()[0]
            and connection.execute(
                "select count(*) from main.build_history where mode <> 'routine'"
            ).fetchone()[0]
        )
    finally:
        connection.close()


def _finish_copy(
    path: Path, *, run_id: str, published_at: datetime, as_of: date | None, mode: str
) -> None:
    connection = duckdb.connect(str(path), config=_offline())
    try:
        tables = {
            row[0]
            for row in connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        }
        for macro in _MASK_MACROS:
            connection.execute(macro)
        for table, statement in _REDACTIONS.items():
            if table in tables:
                connection.execute(statement)
        # Restricted models (unmasked contact data) stay in the build warehouse only.
        connection.execute(f"drop schema if exists {RESTRICTED_SCHEMA} cascade")
        connection.execute(
            "create or replace table main.warehouse_info as select ? as run_id, "
            "cast(? as timestamp) as published_at, cast(? as date) as as_of, ? as mode, "
            "(select max(finished_at) from main.build_history "
            " where mode <> 'routine') as marts_built_at",
            [run_id, published_at.replace(tzinfo=None), as_of, mode],
        )
        connection.execute("checkpoint")
    finally:
        connection.close()


def _offline() -> dict[str, str | bool]:
    return {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be fsynced on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_pointer(published_dir: Path, name: str) -> None:
    temp = published_dir / f".{POINTER_NAME}.{uuid.uuid4().hex}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, published_dir / POINTER_NAME)
    _fsync_dir(published_dir)


def prune_published(settings: Settings, keep: int = KEEP_PUBLISHED) -> list[Path]:
    """Delete published files beyond the newest ``keep`` (never the current one)."""
    current = _read_pointer(settings.published_dir)
    files = sorted(settings.published_dir.glob(f"{FILE_PREFIX}*.duckdb"), key=lambda p: p.name)
    removed = []
    for path in files[: max(len(files) - keep, 0)]:
        if path.name == current:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


# -- reading (dashboards, analysts, clubcrm sql) ----------------------------------------------
def _read_pointer(published_dir: Path) -> str | None:
    try:
        name = (published_dir / POINTER_NAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def published_path(settings: Settings) -> Path:
    """The published warehouse file readers should open now."""
    name = _read_pointer(settings.published_dir)
    if name is None:
        raise NoPublishedWarehouse()
    path = settings.published_dir / name
    if not path.exists():
        raise NoPublishedWarehouse(
            f"the published warehouse {path} is missing: run `clubcrm pipeline run`"
        )
    return path


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current published warehouse.

    SQL run on it cannot write, attach other databases, read or write files, or load
    extensions. Close it when done (it pins that published file, not the pipeline).
    """
    last_error: Exception | None = None
    for _ in range(3):
        path = published_path(settings)
        try:
            return duckdb.connect(str(path), read_only=True, config=dict(READER_CONFIG))
        except duckdb.IOException as exc:  # pruned between resolving and opening: retry
            if path.exists():
                raise
            last_error = exc
    raise NoPublishedWarehouse(f"the published warehouse kept changing: {last_error}")


def check_read_only(sql: str) -> str:
    """The single read-only statement in ``sql``, or :class:`ReadOnlyViolation`."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReadOnlyViolation(f"the query could not be parsed: {exc}") from exc
    if not statements:
        raise ReadOnlyViolation("the query is empty: write one SELECT statement")
    if len(statements) > 1:
        raise ReadOnlyViolation(
            f"one statement at a time: the query holds {len(statements)} statements"
        )
    statement = statements[0]
    text = statement.query.strip()
    # DuckDB rewrites some statements (PRAGMA x -> SELECT ...): look at what was written.
    first_word = re.sub(r"^(\s|--[^\n]*\n|/\*.*?\*/|\()+", "", sql, flags=re.S).split(None, 1)
    keyword = first_word[0].lower() if first_word else ""
    if statement.type != duckdb.StatementType.SELECT or keyword not in _READ_KEYWORDS:
        kind = keyword.upper() or str(statement.type).rsplit(".", 1)[-1]
        raise ReadOnlyViolation(
            f"{kind} statements are not allowed: the warehouse is read-only here "
            "(use SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE)"
        )
    return text


def run_query(settings: Settings, sql: str, limit: int | None = None) -> pd.DataFrame:
    """Run one read-only query against the published warehouse; at most ``limit`` rows."""
    statement = check_read_only(sql)
    if limit is not None and limit < 1:
        raise ValueError("limit must be a positive number of rows")
    connection = connect(settings)
    try:
        relation = connection.sql(statement)
        if relation is None:  # pragma: no cover - SELECTs always give a relation
            return pd.DataFrame()
        if limit is not None:
            relation = relation.limit(limit)
        return relation.df()
    except duckdb.PermissionException as exc:
        raise ReadOnlyViolation(f"refused: {exc}") from exc
    finally:
        connection.close()
