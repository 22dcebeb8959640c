"""Copy a DuckDB build's ``raw`` schema into a PostgreSQL database (the dbt ``postgres`` target).

The dbt project is kept portable (issue 7): the same models build on PostgreSQL with
``dbt build --target postgres``. dbt never reads the operational database itself; it starts from
``raw``, which ingestion fills in the DuckDB build. This module copies that ``raw`` schema as it
is (every table, including the bookkeeping tables ``_ingestion_log`` and ``_spool_files``) into
the PostgreSQL database's ``raw`` schema, so both engines build from exactly the same rows and
their marts can be compared.

The copy is plain DuckDB SQL through the postgres scanner (binary COPY, no pandas round trip),
inside one transaction on the PostgreSQL side: the old ``raw`` schema is dropped with CASCADE
(the staging views built on it go too; the next ``dbt build`` recreates them) and the new one is
created, so readers see either the old or the new ``raw``, never a mix.

Run by hand::

    python -m ingestion.postgres_warehouse postgresql+psycopg://postgres@127.0.0.1/clubcrm_pg \\
        --build var/warehouse/build.duckdb --create-database

then ``cd transforms && dbt build --target postgres`` with the ``CLUBCRM_DBT_PG_*`` variables
the command prints (see ``transforms/profiles.yml``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy.engine import URL, make_url

from ingestion.operational import RAW_SCHEMA, postgres_source
from ingestion.warehouse import OFFLINE_CONFIG, load_extension

BUILD_ALIAS = "duckdb_build"
TARGET_ALIAS = "postgres_warehouse"


class PostgresWarehouseError(RuntimeError):
    """The raw schema could not be copied to PostgreSQL (message says what to do)."""


class BuildWithoutRaw(PostgresWarehouseError):
    """The DuckDB build has no ``raw`` tables: nothing was ingested yet."""


class PostgresUnreachable(PostgresWarehouseError):
    """The PostgreSQL server refused the connection or the database does not exist."""


@dataclass(frozen=True)
class CopyResult:
    """Rows copied per raw table (table name -> row count), in copy order."""

    rows: dict[str, int]

    @property
    def tables(self) -> int:
        return len(self.rows)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _require_postgres_url(database_url: str | URL) -> URL:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise PostgresWarehouseError(
            f"not a PostgreSQL URL: {url.render_as_string(hide_password=True)} "
            "(expected postgresql+psycopg://user@host:port/database)"
        )
    if not url.database:
        raise PostgresWarehouseError("the PostgreSQL URL names no database (…/database)")
    return url


def dbt_postgres_env(database_url: str | URL) -> dict[str, str]:
    """The ``CLUBCRM_DBT_PG_*`` variables the dbt ``postgres`` target reads, from a URL.

    profiles.yml takes one variable per connection field (a profile cannot split a URL);
    this is the one place that translates a SQLAlchemy URL into them.
    """
    url = _require_postgres_url(database_url)
    env = {
        "CLUBCRM_DBT_PG_HOST": url.host or "127.0.0.1",
        "CLUBCRM_DBT_PG_PORT": str(url.port or 5432),
        "CLUBCRM_DBT_PG_USER": url.username or "postgres",
        "CLUBCRM_DBT_PG_PASSWORD": "" if url.password is None else str(url.password),
        "CLUBCRM_DBT_PG_DBNAME": str(url.database),
    }
    sslmode = url.query.get("sslmode")
    if sslmode:
        env["CLUBCRM_DBT_PG_SSLMODE"] = sslmode[-1] if isinstance(sslmode, tuple) else sslmode
    return env


def _raw_tables(connection: duckdb.DuckDBPyConnection, build_path: Path) -> list[str]:
    tables = [
        row[0]
        for row in connection.execute(
            "select table_name from duckdb_tables() "
            "where database_name = ? and schema_name = ? order by table_name",
            [BUILD_ALIAS, RAW_SCHEMA],
        ).fetchall()
    ]
    if not tables:
        raise BuildWithoutRaw(
            f"{build_path} has no {RAW_SCHEMA} tables: run `clubcrm pipeline run` (or the "
            "ingestion assets) first so there is something to copy"
        )
    return tables


def copy_raw_to_postgres(build_path: Path | str, database_url: str | URL) -> CopyResult:
    """Replace the PostgreSQL database's ``raw`` schema by the DuckDB build's ``raw`` tables.

    The build is attached read-only (a pipeline run writing it at the same time makes this
    fail with DuckDB's lock error rather than copy a half-written ``raw``). Column types are
    mapped by the postgres scanner (BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP → their
    PostgreSQL namesakes), so the models see the same types on both engines.
    """
    build_path = Path(build_path)
    if not build_path.is_file():
        raise PostgresWarehouseError(f"no DuckDB build at {build_path}")
    url = _require_postgres_url(database_url)
    source = postgres_source(url)
    connection = duckdb.connect(":memory:", config=dict(OFFLINE_CONFIG))
    try:
        load_extension(connection, "postgres_scanner")
        connection.execute(f"attach {_sql_literal(str(build_path))} as {BUILD_ALIAS} (read_only)")
        tables = _raw_tables(connection, build_path)
        try:
            connection.execute(
                f"attach {_sql_literal(source.conninfo)} as {TARGET_ALIAS} (type postgres)"
            )
        except duckdb.Error as exc:
            raise PostgresUnreachable(
                f"cannot connect to PostgreSQL at {url.render_as_string(hide_password=True)}: "
                f"{str(exc).strip()} (is the server running and does the database exist? "
                "--create-database creates it)"
            ) from exc
        rows: dict[str, int] = {}
        connection.execute("begin transaction")
        try:
            connection.execute(f"drop schema if exists {TARGET_ALIAS}.{RAW_SCHEMA} cascade")
            connection.execute(f"create schema {TARGET_ALIAS}.{RAW_SCHEMA}")
            for table in tables:
                name = _quote_ident(table)
                connection.execute(
                    f"create table {TARGET_ALIAS}.{RAW_SCHEMA}.{name} as "
                    f"select * from {BUILD_ALIAS}.{RAW_SCHEMA}.{name}"
                )
                rows[table] = connection.execute(
                    f"select count(*) from {BUILD_ALIAS}.{RAW_SCHEMA}.{name}"
                ).fetchone()[0]
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
        return CopyResult(rows=rows)
    finally:
        connection.close()


def create_database(database_url: str | URL) -> bool:
    """Create the URL's database on its server if it does not exist; True when created.

    Connects to the server's ``postgres`` maintenance database (CREATE DATABASE cannot run in
    the database being created, nor inside a transaction).
    """
    import psycopg
    from psycopg import sql

    url = _require_postgres_url(database_url)
    maintenance = postgres_source(url.set(database="postgres")).conninfo
    try:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", [url.database]
            ).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(url.database)))
            return True
    except psycopg.OperationalError as exc:
        raise PostgresUnreachable(
            f"cannot connect to PostgreSQL at {url.render_as_string(hide_password=True)}: "
            f"{str(exc).strip()}"
        ) from exc


def main(argv: list[str] | None = None) -> int:
    """Command line: copy raw, then print the dbt environment for the ``postgres`` target."""
    from clubcrm.settings import get_settings

    parser = argparse.ArgumentParser(
        prog="python -m ingestion.postgres_warehouse",
        description="Copy the DuckDB build's raw schema into a PostgreSQL database so that "
        "`dbt build --target postgres` can build the warehouse there.",
    )
    parser.add_argument(
        "database_url", help="SQLAlchemy URL of the target database (postgresql+psycopg://…)"
    )
    parser.add_argument(
        "--build",
        type=Path,
        default=None,
        help="DuckDB build to copy from (default: CLUBCRM_HOME/warehouse/build.duckdb)",
    )
    parser.add_argument(
        "--create-database", action="store_true", help="create the database when it is missing"
    )
    args = parser.parse_args(argv)
    build = args.build or get_settings().build_warehouse_path
    try:
        if args.create_database and create_database(args.database_url):
            print(f"created database {make_url(args.database_url).database}")
        result = copy_raw_to_postgres(build, args.database_url)
    except PostgresWarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for table, count in result.rows.items():
        print(f"  {RAW_SCHEMA}.{table:<32} {count:>10,}")
    print(f"copied {result.tables} raw tables ({result.total_rows:,} rows)")
    print("dbt environment for `dbt build --target postgres`:")
    for name, value in dbt_postgres_env(args.database_url).items():
        if name != "CLUBCRM_DBT_PG_PASSWORD":
            print(f"  export {name}={value}")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main()
    raise SystemExit(main())
