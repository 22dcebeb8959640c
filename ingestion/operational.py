"""Copy every operational table into the warehouse schema ``raw`` with DuckDB's own scanners.

DuckDB attaches the operational database read-only (SQLite or PostgreSQL) and copies each table
with ``CREATE OR REPLACE TABLE raw.<t> AS SELECT * FROM src.<t>``: no pandas round trip, types
mapped by the scanner. All tables are replaced inside one DuckDB transaction, so a crash leaves
the previous ``raw`` intact, and they are read from one snapshot of the source, so related
tables (ledger and balances, purchases and payments) agree with each other:

- PostgreSQL: the postgres scanner reads every table of one DuckDB transaction in one
  REPEATABLE READ snapshot.
- SQLite: the sqlite scanner reads each statement afresh, so we first take a consistent copy of
  the file with SQLite's online backup API (one step, one read transaction; writers in WAL mode
  are not blocked) and attach the copy.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import duckdb
from sqlalchemy.engine import URL, make_url

from ingestion.warehouse import load_extension
from operational.models import Base

RAW_SCHEMA = "raw"
SOURCE_ALIAS = "operational_src"

#: Tables with no analytical meaning: bookkeeping (the next member/card number to hand out) and
#: the care outbox (message plumbing holding addresses and texts; a contact's outcome is on
#: ``care_contacts``).
EXCLUDED_TABLES: frozenset[str] = frozenset({"number_sequences", "outbox_messages"})

#: Every table of the operational schema, in a stable order (the ``raw`` asset per table).
OPERATIONAL_TABLES: tuple[str, ...] = tuple(
    sorted(name for name in Base.metadata.tables if name not in EXCLUDED_TABLES)
)

#: Columns never copied: secrets have no analytical use and no place in a warehouse.
EXCLUDED_COLUMNS: dict[str, tuple[str, ...]] = {"staff_accounts": ("password_hash",)}

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


@contextmanager
def attached_operational_db(
    connection: duckdb.DuckDBPyConnection, database_url: str, scratch_dir: Path
) -> Iterator[str]:
    """Attach the operational DB read-only as ``SOURCE_ALIAS``; yield the alias."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise UnsupportedDatabaseUrl("an in-memory SQLite database cannot be ingested")
        snapshot = _sqlite_snapshot(Path(url.database), scratch_dir)
        try:
            load_extension(connection, "sqlite_scanner")
            connection.execute(
                f"attach {_sql_literal(str(snapshot))} as {SOURCE_ALIAS} (type sqlite, read_only)"
            )
            try:
                yield SOURCE_ALIAS
            finally:
                connection.execute(f"detach {SOURCE_ALIAS}")
        finally:
            _remove_sqlite_file(snapshot)
    elif backend == "postgresql":
        source = postgres_source(url)
        load_extension(connection, "postgres_scanner")
        connection.execute(
            f"attach {_sql_literal(source.conninfo)} as {SOURCE_ALIAS} "
            f"(type postgres, read_only, schema {_sql_literal(source.schema)})"
        )
        try:
            yield SOURCE_ALIAS
        finally:
            connection.execute(f"detach {SOURCE_ALIAS}")
    else:
        raise UnsupportedDatabaseUrl(
            f"cannot ingest from a {backend!r} database: use sqlite:///… or postgresql+psycopg://…"
        )


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


def _remove_sqlite_file(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def ingest_operational_tables(
    connection: duckdb.DuckDBPyConnection,
    database_url: str,
    *,
    scratch_dir: Path,
    tables: tuple[str, ...] = OPERATIONAL_TABLES,
    loaded_at: datetime | None = None,
) -> dict[str, int]:
    """Replace ``raw.<table>`` by the operational table for each table; return row counts.

    Each raw table keeps the source's columns (minus :data:`EXCLUDED_COLUMNS`) plus
    ``_loaded_at`` (naive UTC). One transaction: either every table is replaced or none.
    """
    loaded_at = loaded_at or utc_now_naive()
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    connection.execute(INGESTION_LOG_DDL)
    with attached_operational_db(connection, database_url, scratch_dir) as source:
        available = {
            row[0]
            for row in connection.execute(
                "select table_name from duckdb_tables() where database_name = ?", [source]
            ).fetchall()
        }
        missing = sorted(set(tables) - available)
        if missing:
            raise SourceTableMissing(
                f"the operational database lacks tables {', '.join(missing)}: "
                "run `clubcrm init` to migrate it"
            )
        counts: dict[str, int] = {}
        stamp = _sql_literal(loaded_at.isoformat(sep=" "))
        connection.execute("begin transaction")
        try:
            for table in tables:
                excluded = EXCLUDED_COLUMNS.get(table)
                columns = "*"
                if excluded:
                    columns = f"* exclude ({', '.join(_quote_ident(c) for c in excluded)})"
                connection.execute(
                    f"create or replace table {RAW_SCHEMA}.{_quote_ident(table)} as "
                    f"select {columns}, cast({stamp} as timestamp) as _loaded_at "
                    f"from {source}.{_quote_ident(table)}"
                )
                counts[table] = connection.execute(
                    f"select count(*) from {RAW_SCHEMA}.{_quote_ident(table)}"
                ).fetchone()[0]
            connection.executemany(
                f"insert into {RAW_SCHEMA}._ingestion_log values (?, ?, ?, 'replace')",
                [(table, rows, loaded_at) for table, rows in counts.items()],
            )
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
    return counts
