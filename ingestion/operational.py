"""Copy every operational table into the warehouse schema ``raw`` with DuckDB's own scanners.

DuckDB attaches the operational database read-only (SQLite or PostgreSQL) and copies each table
with ``CREATE OR REPLACE TABLE raw.<t> AS SELECT * FROM src.<t>``: no pandas round trip, types
mapped by the scanner. All tables are replaced inside one DuckDB transaction, so a crash leaves
the previous ``raw`` intact, and they are read from one snapshot of the source, so related
tables (ledger and balances, purchases and payments) agree with each other:

- PostgreSQL: the postgres scanner reads every table of one DuckDB transaction in one
  REPEATABLE READ snapshot.
- SQLite: the sqlite scanner reads each statement afresh. A delta reads the changed rows in one
  SQLite read transaction into a scratch file. A full copy reads the live file and checks
  SQLite's ``PRAGMA data_version`` before the first read and before the commit: if no other
  connection committed in between, every read saw the same state and the copy commits; if one
  did (staff were posting), the copy is rolled back and redone from a consistent copy of the
  file taken with SQLite's online backup API (one step, one read transaction; writers in WAL
  mode are not blocked). The quiet case, a nightly full build, costs no second read and write
  of the whole file.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import duckdb
from sqlalchemy.engine import URL, make_url

from ingestion.warehouse import load_extension
from operational.models import Base

RAW_SCHEMA = "raw"
SOURCE_ALIAS = "operational_src"

#: Tables with no analytical meaning: bookkeeping (the next member/card number to hand out) and
#: the care outbox (message plumbing holding addresses and texts; a contact's outcome is on
#: ``care_contacts``).
#: ``change_tracking`` and its deletions log are the ingestion's own bookkeeping (read, not copied).
EXCLUDED_TABLES: frozenset[str] = frozenset(
    {"number_sequences", "outbox_messages", "change_tracking", "change_tracking_deletions"}
)

#: Every table of the operational schema, in a stable order (the ``raw`` asset per table).
OPERATIONAL_TABLES: tuple[str, ...] = tuple(
    sorted(name for name in Base.metadata.tables if name not in EXCLUDED_TABLES)
)

#: Columns never copied: secrets have no analytical use and no place in a warehouse.
EXCLUDED_COLUMNS: dict[str, tuple[str, ...]] = {"staff_accounts": ("password_hash",)}

INGESTION_STATE_DDL = f"""
create table if not exists {RAW_SCHEMA}._ingestion_state (
    source varchar not null,
    epoch varchar not null,
    watermark timestamp not null,
    loaded_at timestamp not null
)
"""

INGESTION_LOG_DDL = f"""
create table if not exists {RAW_SCHEMA}._ingestion_log (
    table_name varchar not null,
    rows bigint not null,
    loaded_at timestamp not null,
    mode varchar not null
)
"""


class UnsupportedDatabaseUrl(ValueError):
    """The operational database URL is neither SQLite nor PostgreSQL."""


class SourceTableMissing(RuntimeError):
    """The operational database lacks tables of the current schema (not migrated?)."""


@dataclass(frozen=True)
class PostgresSource:
    conninfo: str
    schema: str


def utc_now_naive() -> datetime:
    """Now in UTC without a zone: the warehouse's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def postgres_source(database_url: str | URL) -> PostgresSource:
    """A libpq conninfo and the schema to read, from a SQLAlchemy PostgreSQL URL.

    The schema is the first entry of a ``search_path`` passed in ``options`` (as the test suite
    and some deployments do: ``?options=-csearch_path%3Dclub``), else ``public``.
    """
    from psycopg.conninfo import make_conninfo

    url = make_url(database_url)
    params: dict[str, str] = {}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.password is not None:
        params["password"] = str(url.password)
    if url.database:
        params["dbname"] = url.database
    for key, value in url.query.items():
        params[key] = value[-1] if isinstance(value, tuple) else value
    schema = _search_path_schema(params.get("options", "")) or "public"
    return PostgresSource(conninfo=make_conninfo("", **params), schema=schema)


def _search_path_schema(options: str) -> str | None:
    """The first schema of ``-c search_path=...`` (or ``-csearch_path=...``) in libpq options."""
    tokens = unquote(options).replace("-c ", "-c").split()
    for token in tokens:
        if token.startswith("-csearch_path="):
            first = token.split("=", 1)[1].split(",")[0].strip().strip('"')
            return first or None
    return None


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _Snapshot:
    """One consistent view of the operational tables, attached to DuckDB as ``alias``.

    ``since`` None: a full copy (every row). Otherwise the rows changed since then: for SQLite
    the attached scratch file already holds only those (SQLite's scanner cannot push a filter
    down, so the changed rows are selected by SQLite itself, through the ``_changed_at`` index),
    for PostgreSQL the filter is pushed down to the server.
    """

    connection: duckdb.DuckDBPyConnection
    alias: str
    since: datetime | None
    watermark: datetime
    prefiltered: bool = False
    epoch: str = ""
    counts: dict[str, int] | None = None
    keys: dict[str, str] = field(default_factory=dict)
    unchanged: Callable[[], bool] | None = None
    """For a copy read from a live file: whether no commit has landed since the first read."""

    def verify(self) -> None:
        """Before the commit: refuse a copy of a live file that a commit may have torn."""
        if self.unchanged is not None and not self.unchanged():
            raise _SourceChanged("a commit landed in the operational DB during the copy")

    def read_epoch(self) -> None:
        """The change-tracking epoch, read inside the DuckDB transaction (the same snapshot)."""
        if self.prefiltered:
            return  # read with the rows, in SQLite's own read transaction
        row = self.connection.execute(f"select epoch from {self.alias}.change_tracking").fetchone()
        self.epoch = row[0] if row else ""

    def changed_rows(self, table: str) -> str:
        relation = f"{self.alias}.{_quote_ident(table)}"
        if self.prefiltered or self.since is None:
            return f"select * from {relation}"
        return f"select * from {relation} where _changed_at >= {_timestamp_literal(self.since)}"

    def deleted_keys(self, table: str) -> str:
        if self.prefiltered:
            return f"select row_key from {self.alias}._deleted where table_name = {_sql_literal(table)}"
        return (
            f"select row_key from {self.alias}.change_tracking_deletions "
            f"where table_name = {_sql_literal(table)} "
            f"and deleted_at >= {_timestamp_literal(self.since)}"
        )

    def source_count(self, table: str) -> int:
        if self.counts is not None:
            return self.counts[table]
        return self.connection.execute(
            f"select count(*) from {self.alias}.{_quote_ident(table)}"
        ).fetchone()[0]


def _timestamp_literal(value: datetime | None) -> str:
    return f"cast({_sql_literal((value or datetime(1900, 1, 1)).isoformat(sep=' '))} as timestamp)"


def _sqlite_text_timestamp(value: datetime) -> str:
    """The text form the SQLite triggers write (``strftime('%Y-%m-%d %H:%M:%f')``)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _primary_keys(tables: tuple[str, ...]) -> dict[str, str]:
    keys = {}
    for table in tables:
        columns = list(Base.metadata.tables[table].primary_key.columns)
        if len(columns) != 1:  # pragma: no cover - a schema rule, checked by the tests
            raise ValueError(f"{table} needs a single-column primary key to be ingested")
        keys[table] = columns[0].name
    return keys


def _check_tables(connection: duckdb.DuckDBPyConnection, alias: str, tables) -> None:
    available = {
        row[0]
        for row in connection.execute(
            "select table_name from duckdb_tables() where database_name = ?", [alias]
        ).fetchall()
    }
    missing = sorted(set(tables) - available)
    if missing:
        raise SourceTableMissing(
            f"the operational database lacks tables {', '.join(missing)}: "
            "run `clubcrm init` to migrate it"
        )


@contextmanager
def _snapshot(
    connection: duckdb.DuckDBPyConnection,
    database_url: str,
    scratch_dir: Path,
    tables: tuple[str, ...],
    since: datetime | None,
    backup_copy: bool = False,
) -> Iterator[_Snapshot]:
    """Attach a consistent view of the operational DB (see :class:`_Snapshot`).

    A full copy of SQLite reads the live file (its :meth:`_Snapshot.verify` tells whether that
    stayed consistent) unless ``backup_copy``: then a copy taken with the online backup API.
    """
    url = make_url(database_url)
    keys = _primary_keys(tables)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise UnsupportedDatabaseUrl("an in-memory SQLite database cannot be ingested")
        database = Path(url.database)
        if not database.exists():
            raise FileNotFoundError(f"operational SQLite database not found: {database}")
        load_extension(connection, "sqlite_scanner")
        with ExitStack() as cleanup:
            if since is None and not backup_copy:
                guard = cleanup.enter_context(
                    closing(
                        sqlite3.connect(
                            f"file:{quote(str(database))}?mode=ro", uri=True, timeout=30
                        )
                    )
                )
                version = _data_version(guard)  # before the watermark and the first read
                watermark = _sqlite_clock(database)
                copy = database
                snap = _Snapshot(connection, SOURCE_ALIAS, None, watermark, keys=keys,
                                 unchanged=lambda: _data_version(guard) == version)  # fmt: skip
            elif since is None:
                watermark = _sqlite_clock(database)  # before the copy: conservative
                copy = _sqlite_snapshot(database, scratch_dir)
                cleanup.callback(_remove_sqlite_file, copy)
                snap = _Snapshot(connection, SOURCE_ALIAS, None, watermark, keys=keys)
            else:
                copy, watermark, epoch, counts = _sqlite_changes(
                    database, scratch_dir, tables, since
                )
                cleanup.callback(_remove_sqlite_file, copy)
                snap = _Snapshot(
                    connection, SOURCE_ALIAS, since, watermark, True, epoch, counts, keys
                )
            connection.execute(
                f"attach {_sql_literal(str(copy))} as {SOURCE_ALIAS} (type sqlite, read_only)"
            )
            try:
                _check_tables(connection, SOURCE_ALIAS, tables)
                yield snap
            finally:
                connection.execute(f"detach {SOURCE_ALIAS}")
    else:
        source = postgres_source(url)
        load_extension(connection, "postgres_scanner")
        connection.execute(
            f"attach {_sql_literal(source.conninfo)} as {SOURCE_ALIAS} "
            f"(type postgres, read_only, schema {_sql_literal(source.schema)})"
        )
        try:
            _check_tables(connection, SOURCE_ALIAS, tables)
            # Before the transaction's snapshot: conservative.
            watermark = connection.execute(
                f"select * from postgres_query({_sql_literal(SOURCE_ALIAS)}, "
                "'select cast(now() at time zone ''utc'' as timestamp)')"
            ).fetchone()[0]
            yield _Snapshot(connection, SOURCE_ALIAS, since, watermark, keys=keys)
        finally:
            connection.execute(f"detach {SOURCE_ALIAS}")


def _data_version(connection: sqlite3.Connection) -> int:
    """SQLite's ``PRAGMA data_version``: it changes when another connection commits."""
    return connection.execute("pragma data_version").fetchone()[0]


def _sqlite_clock(database: Path) -> datetime:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as source:
        text = source.execute("select strftime('%Y-%m-%d %H:%M:%f', 'now')").fetchone()[0]
    return datetime.fromisoformat(text)


def _sqlite_changes(
    database: Path, scratch_dir: Path, tables: tuple[str, ...], since: datetime
) -> tuple[Path, datetime, str, dict[str, int]]:
    """Copy the rows changed since ``since``, the deleted keys and every table's row count,
    all from one SQLite read transaction, into a scratch SQLite file; return it, the watermark,
    the epoch and the counts."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    target = scratch_dir / f".operational-changes-{uuid.uuid4().hex}.sqlite"
    since_text = _sqlite_text_timestamp(since)
    try:
        with closing(
            sqlite3.connect(f"file:{quote(str(target))}?mode=rwc", uri=True, timeout=30)
        ) as scratch:
            scratch.isolation_level = None  # explicit BEGIN/COMMIT
            scratch.execute("pragma journal_mode = off")
            scratch.execute("pragma synchronous = off")
            scratch.execute("attach database ? as src", (f"file:{quote(str(database))}?mode=ro",))
            for table in tables:
                columns = scratch.execute(
                    f"pragma src.table_info({_quote_ident(table)})"
                ).fetchall()
                if not columns:
                    raise SourceTableMissing(
                        f"the operational database lacks table {table}: "
                        "run `clubcrm init` to migrate it"
                    )
                if "_changed_at" not in {c[1] for c in columns}:
                    raise SourceTableMissing(
                        f"{table} has no change tracking (_changed_at): "
                        "run `clubcrm init` to migrate the operational database"
                    )
                definition = ", ".join(f"{_quote_ident(c[1])} {c[2]}" for c in columns)
                scratch.execute(f"create table main.{_quote_ident(table)} ({definition})")
            scratch.execute("create table main._deleted (table_name text, row_key text)")
            scratch.execute("begin")
            # The watermark is read before the first read of src opens its snapshot.
            clock = scratch.execute("select strftime('%Y-%m-%d %H:%M:%f', 'now')").fetchone()[0]
            row = scratch.execute("select epoch from src.change_tracking").fetchone()
            counts = {}
            for table in tables:
                quoted = _quote_ident(table)
                scratch.execute(
                    f"insert into main.{quoted} select * from src.{quoted} where _changed_at >= ?",
                    (since_text,),
                )
                counts[table] = scratch.execute(f"select count(*) from src.{quoted}").fetchone()[0]
            scratch.execute(
                "insert into main._deleted select table_name, row_key "
                "from src.change_tracking_deletions where deleted_at >= ?",
                (since_text,),
            )
            scratch.execute("commit")
            scratch.execute("detach database src")
    except BaseException:
        _remove_sqlite_file(target)
        raise
    return target, datetime.fromisoformat(clock), row[0] if row else "", counts


def _sqlite_snapshot(database: Path, scratch_dir: Path) -> Path:
    """A transactionally consistent copy of a live SQLite file (online backup API)."""
    if not database.exists():
        raise FileNotFoundError(f"operational SQLite database not found: {database}")
    scratch_dir.mkdir(parents=True, exist_ok=True)
    target = scratch_dir / f".operational-snapshot-{uuid.uuid4().hex}.sqlite"
    with (
        closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)  # pages=-1: the whole file in one step, i.e. one read snapshot
        copy.execute("pragma journal_mode = delete")  # a plain file: no -wal/-shm beside it
    return target


def _remove_stale_scratch(scratch_dir: Path) -> None:
    """Scratch copies a killed run left behind (one ingestion runs at a time: the pipeline
    holds a lock on the data folder)."""
    if scratch_dir.is_dir():
        for path in scratch_dir.glob(".operational-*.sqlite"):
            _remove_sqlite_file(path)


def _remove_sqlite_file(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@dataclass
class IngestionResult:
    """What one ingestion did: per table, the rows now in ``raw`` and the rows it (re)loaded."""

    mode: str  # "full" (every table copied) or "delta" (changed rows only)
    counts: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    full_reason: str | None = None  # why a full copy was made
    backup_reason: str | None = None  # why a full copy of SQLite read a backup, not the live file

    @property
    def rows_loaded(self) -> int:
        return sum(self.changed.values())


class _DeltaNotTrustworthy(Exception):
    """The change stamps cannot be trusted for this run: copy everything instead."""


class _SourceChanged(Exception):
    """A commit landed in a live SQLite file while it was copied: copy a backup of it instead."""


@dataclass(frozen=True)
class _State:
    source: str
    epoch: str
    watermark: datetime


def _source_identity(database_url: str) -> str:
    """Which operational database this is (no password), to notice a switch of database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:{Path(url.database or '').resolve()}"
    source = postgres_source(url)
    return f"postgresql:{url.host}:{url.port or 5432}/{url.database}/{source.schema}"


def _read_state(connection: duckdb.DuckDBPyConnection) -> _State | None:
    row = connection.execute(
        f"select source, epoch, watermark from {RAW_SCHEMA}._ingestion_state"
    ).fetchone()
    return _State(*row) if row else None


def _columns(
    connection: duckdb.DuckDBPyConnection, database: str, table: str, schema: str | None = None
) -> list[str]:
    """A table's column names in order (empty when it does not exist)."""
    sql = (
        "select column_name from duckdb_columns() where database_name = ? and table_name = ?"
        + (" and schema_name = ?" if schema else "")
        + " order by column_index"
    )
    params = [database, table] + ([schema] if schema else [])
    return [row[0] for row in connection.execute(sql, params).fetchall()]


def ingest_operational_tables(
    connection: duckdb.DuckDBPyConnection,
    database_url: str,
    *,
    scratch_dir: Path,
    tables: tuple[str, ...] = OPERATIONAL_TABLES,
    loaded_at: datetime | None = None,
    full: bool = False,
    lookback_minutes: int = 60,
) -> IngestionResult:
    """Bring ``raw.<table>`` up to the operational table, for each table (decision D16).

    Each raw table keeps the source's columns (minus :data:`EXCLUDED_COLUMNS`) plus
    ``_loaded_at`` (naive UTC: when the row was last loaded). The first run, ``full=True``, a
    new change-tracking epoch (the history was rewritten, e.g. new demo data) or another source
    database copy every table; otherwise only rows stamped (``_changed_at``) since the last
    watermark minus ``lookback_minutes`` are reloaded and rows deleted since then removed, and
    every table's row count is checked against the source in the same snapshot (a mismatch
    falls back to a full copy). One DuckDB transaction: a crash leaves the previous ``raw`` and
    watermark, so the rerun redoes the same work.
    """
    loaded_at = loaded_at or utc_now_naive()
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UnsupportedDatabaseUrl(
            f"cannot ingest from a {backend!r} database: use sqlite:///… or postgresql+psycopg://…"
        )
    _remove_stale_scratch(scratch_dir)
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    connection.execute(INGESTION_LOG_DDL)
    connection.execute(INGESTION_STATE_DDL)
    state = _read_state(connection)
    source = _source_identity(database_url)
    reason = "requested" if full else None
    if state is None:
        reason = reason or "first ingestion"
    elif state.source != source:
        reason = reason or "another operational database"
    if reason is None:
        since = state.watermark - timedelta(minutes=lookback_minutes)
        try:
            return _ingest(
                connection, database_url, scratch_dir, tables, loaded_at, source, since, state
            )
        except _DeltaNotTrustworthy as exc:
            reason = str(exc)
    try:
        result = _ingest(
            connection, database_url, scratch_dir, tables, loaded_at, source, None, None
        )
    except _SourceChanged as exc:
        result = _ingest(
            connection, database_url, scratch_dir, tables, loaded_at, source, None, None, True
        )
        result.backup_reason = str(exc)
    result.full_reason = reason
    return result


def _ingest(
    connection: duckdb.DuckDBPyConnection,
    database_url: str,
    scratch_dir: Path,
    tables: tuple[str, ...],
    loaded_at: datetime,
    source_id: str,
    since: datetime | None,
    state: _State | None,
    backup_copy: bool = False,
) -> IngestionResult:
    """One snapshot of the source, applied in one DuckDB transaction (``since`` None: full)."""
    with _snapshot(connection, database_url, scratch_dir, tables, since, backup_copy) as snap:
        result = IngestionResult(mode="full" if since is None else "delta")
        stamp = f"cast({_sql_literal(loaded_at.isoformat(sep=' '))} as timestamp)"
        connection.execute("begin transaction")
        try:
            snap.read_epoch()
            if state is not None and snap.epoch != state.epoch:
                raise _DeltaNotTrustworthy("the operational history was rewritten (new epoch)")
            database = connection.execute("select current_database()").fetchone()[0]
            for table in tables:
                _apply_table(connection, snap, database, table, stamp, result)
            snap.verify()
            connection.execute(f"delete from {RAW_SCHEMA}._ingestion_state")
            connection.execute(
                f"insert into {RAW_SCHEMA}._ingestion_state values (?, ?, ?, ?)",
                [source_id, snap.epoch, snap.watermark, loaded_at],
            )
            connection.executemany(
                f"insert into {RAW_SCHEMA}._ingestion_log values (?, ?, ?, ?)",
                [
                    (table, rows, loaded_at, "replace" if since is None else "delta")
                    for table, rows in result.counts.items()
                ],
            )
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
    return result


def _apply_table(
    connection: duckdb.DuckDBPyConnection,
    snap: _Snapshot,
    database: str,
    table: str,
    stamp: str,
    result: IngestionResult,
) -> None:
    """Copy one table into ``raw`` (``database``: the warehouse's catalog name)."""
    quoted = _quote_ident(table)
    target = f"{RAW_SCHEMA}.{quoted}"
    excluded = EXCLUDED_COLUMNS.get(table)
    columns = "*"
    if excluded:
        columns = f"* exclude ({', '.join(_quote_ident(c) for c in excluded)})"
    source_columns = [
        c for c in _columns(connection, snap.alias, table) if c not in (excluded or ())
    ]
    raw_columns = [
        c for c in _columns(connection, database, table, RAW_SCHEMA) if c != "_loaded_at"
    ]
    if snap.since is None or source_columns != raw_columns:
        # First load, a full run, or the source's columns changed (a migration): copy it all.
        if snap.since is not None:
            raise _DeltaNotTrustworthy(f"the columns of {table} changed")
        connection.execute(
            f"create or replace table {target} as "
            f"select {columns}, {stamp} as _loaded_at from {snap.alias}.{quoted}"
        )
        rows = connection.execute(f"select count(*) from {target}").fetchone()[0]
        result.counts[table] = result.changed[table] = rows
        return
    key = _quote_ident(snap.keys[table])
    changed = snap.changed_rows(table)
    connection.execute(f"create or replace temp table _changed as {changed}")
    deleted = connection.execute(
        f"delete from {target} where cast({key} as varchar) in ({snap.deleted_keys(table)}) "
        f"and {key} not in (select {key} from _changed)"
    ).fetchone()[0]
    connection.execute(f"delete from {target} where {key} in (select {key} from _changed)")
    inserted = connection.execute(
        f"insert into {target} select {columns}, {stamp} as _loaded_at from _changed"
    ).fetchone()[0]
    connection.execute("drop table _changed")
    rows = connection.execute(f"select count(*) from {target}").fetchone()[0]
    expected = snap.source_count(table)
    if rows != expected:
        raise _DeltaNotTrustworthy(
            f"raw.{table} would hold {rows} rows, the source {expected}: copying everything"
        )
    result.counts[table] = rows
    result.changed[table] = inserted
    result.deleted[table] = deleted
