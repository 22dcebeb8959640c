"""The same dbt project builds on PostgreSQL and gives the same marts as on DuckDB (issue 7).

The small hand-made history is ingested into a DuckDB build's ``raw`` schema, copied into a
fresh PostgreSQL database (``ingestion.postgres_warehouse``), and the whole project is built on
both targets: every model, data test and unit test must pass on each. Then every core, reporting
and analysis table is compared between the engines: row counts, sums of numeric columns, the
range of dates and times and the number of true flags. A model relying on one engine's
semantics (integer division, rounding of a quotient, date arithmetic, the session's time zone)
shows up as a difference.

Needs CLUBCRM_TEST_DATABASE_URL (a server where the user may create databases); skipped
with the reason otherwise. The PostgreSQL build runs with a session time zone far from UTC
(PGTZ) on purpose: the warehouse's naive-UTC timestamps must not depend on it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlalchemy.engine import make_url

from clubcrm.settings import Settings
from ingestion.operational import ingest_operational_tables, postgres_source
from ingestion.postgres_warehouse import (
    BuildWithoutRaw,
    PostgresUnreachable,
    copy_raw_to_postgres,
    dbt_postgres_env,
)
from ingestion.swipes import load_swipes
from ingestion.warehouse import OFFLINE_CONFIG, connect_warehouse, load_extension

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"

#: The schemas whose tables are compared between the engines.
COMPARED_SCHEMAS = ("core", "reporting", "analysis")

#: Relative tolerance for sums of DOUBLE columns (summation order differs between engines).
FLOAT_TOLERANCE = 1e-9

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT")


def _test_server_url() -> str:
    url = os.environ.get("CLUBCRM_TEST_DATABASE_URL", "").strip()
    if not url:
        pytest.skip("PostgreSQL target not tested: set CLUBCRM_TEST_DATABASE_URL to run it")
    return url


@pytest.fixture
def postgres_warehouse_url() -> Iterator[str]:
    """A fresh, empty database on the test server (the warehouse schemas have fixed names, so
    each run gets its own database), dropped afterwards whatever happened."""
    import psycopg
    from psycopg import sql

    server = make_url(_test_server_url())
    name = f"clubcrm_dbt_{uuid.uuid4().hex[:12]}"
    admin = postgres_source(server).conninfo
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


def build_raw(settings: Settings, scratch: Path) -> Path:
    """Ingest the operational DB and the spool into a DuckDB build's raw schema."""
    build = settings.build_warehouse_path
    connection = connect_warehouse(build)
    try:
        ingest_operational_tables(connection, settings.database_url, scratch_dir=scratch, full=True)
        load_swipes(connection, settings.spool_dir)
    finally:
        connection.close()
    return build


def start_dbt_build(target: str, env: dict[str, str], work: Path) -> subprocess.Popen:
    """`dbt build` on one target, in the background (both targets build side by side)."""
    dbt = Path(sys.executable).with_name("dbt")
    with open(work / f"dbt-{target}.log", "w", encoding="utf-8") as log:
        # The child keeps its own copy of the file descriptor.
        return subprocess.Popen(
            [
                str(dbt),
                "build",
                "--profiles-dir",
                ".",
                "--target",
                target,
                "--target-path",
                str(work / f"target-{target}"),
                "--log-path",
                str(work / f"logs-{target}"),
            ],
            cwd=TRANSFORMS,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def dbt_outcome(process: subprocess.Popen, target: str, work: Path) -> dict[str, int]:
    """Wait for a dbt build; the number of passed nodes per resource type (fails otherwise)."""
    returncode = process.wait(timeout=600)
    log = (work / f"dbt-{target}.log").read_text(encoding="utf-8")
    assert returncode == 0, f"dbt build --target {target} failed:\n{log[-4000:]}"
    results = json.loads((work / f"target-{target}" / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass")]
    assert failed == [], f"{target}: not passed: {failed}"
    passed: dict[str, int] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        passed[kind] = passed.get(kind, 0) + 1
    return passed


def table_profiles(
    connection: duckdb.DuckDBPyConnection, database: str, schemas: tuple[str, ...]
) -> dict[str, dict[str, object]]:
    """Per table: row count, sums of numeric columns, min/max of dates and times, true flags.

    Read through DuckDB for both engines (the PostgreSQL database is attached with the postgres
    scanner), so one SQL dialect describes both.
    """
    columns = connection.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name in (select unnest(?)) "
        "order by schema_name, table_name, column_index",
        [database, list(schemas)],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in columns:
        tables.setdefault(f"{schema}.{table}", []).append((column, data_type))
    profiles: dict[str, dict[str, object]] = {}
    for table, table_columns in tables.items():
        measures = ['count(*) as "rows"']
        for column, data_type in table_columns:
            quoted = '"' + column + '"'
            if data_type in NUMERIC_TYPES or data_type.startswith("DECIMAL"):
                # DOUBLE in both: PostgreSQL's unconstrained numeric comes through as DOUBLE.
                measures.append(f'sum(cast({quoted} as double)) as "sum {column}"')
            elif data_type in ("DATE", "TIMESTAMP"):
                measures.append(f'cast(min({quoted}) as varchar) as "min {column}"')
                measures.append(f'cast(max({quoted}) as varchar) as "max {column}"')
            elif data_type == "BOOLEAN":
                measures.append(f'count(*) filter (where {quoted}) as "true {column}"')
        schema, name = table.split(".")
        cursor = connection.execute(
            f'select {", ".join(measures)} from {database}."{schema}"."{name}"'
        )
        names = [d[0] for d in cursor.description]
        profiles[table] = dict(zip(names, cursor.fetchone(), strict=True))
    return profiles


def same_measure(duck: object, postgres: object) -> bool:
    if isinstance(duck, float | Decimal) and isinstance(postgres, float | Decimal):
        return math.isclose(float(duck), float(postgres), rel_tol=FLOAT_TOLERANCE, abs_tol=1e-6)
    return duck == postgres


def test_the_dbt_project_builds_on_postgresql_with_the_same_marts_as_on_duckdb(
    postgres_warehouse_url: str, small_club: Settings, tmp_path: Path
) -> None:
    build = build_raw(small_club, tmp_path / "scratch")
    copied = copy_raw_to_postgres(build, postgres_warehouse_url)
    assert copied.rows["members"] > 0 and copied.rows["swipes"] > 0

    duckdb_build = start_dbt_build("warehouse", {"CLUBCRM_WAREHOUSE_PATH": str(build)}, tmp_path)
    postgres_build = start_dbt_build(
        "postgres",
        {
            **dbt_postgres_env(postgres_warehouse_url),
            "PGTZ": "Asia/Shanghai",
        },
        tmp_path,
    )
    try:
        on_duckdb = dbt_outcome(duckdb_build, "warehouse", tmp_path)
        on_postgres = dbt_outcome(postgres_build, "postgres", tmp_path)
    finally:
        for process in (duckdb_build, postgres_build):
            if process.poll() is None:
                process.kill()
                process.wait()

    assert on_postgres == on_duckdb
    assert on_postgres["model"] > 50 and on_postgres["test"] > 300
    assert on_postgres.get("unit_test", 0) > 0

    connection = duckdb.connect(":memory:", config=dict(OFFLINE_CONFIG))
    try:
        load_extension(connection, "postgres_scanner")
        connection.execute(f"attach '{build}' as duck (read_only)")
        conninfo = postgres_source(postgres_warehouse_url).conninfo.replace("'", "''")
        connection.execute(f"attach '{conninfo}' as pg (type postgres, read_only)")
        duck = table_profiles(connection, "duck", COMPARED_SCHEMAS)
        postgres = table_profiles(connection, "pg", COMPARED_SCHEMAS)
    finally:
        connection.close()

    assert sorted(postgres) == sorted(duck)
    assert {"reporting.member_overview", "analysis.analysis_activity_return"} <= set(duck)
    differences = [
        f"{table} {measure}: duckdb {value!r}, postgres {postgres[table].get(measure)!r}"
        for table, measures in duck.items()
        for measure, value in measures.items()
        if not same_measure(value, postgres[table].get(measure))
    ]
    assert differences == []
    # Not every mart may be empty on the small history, or the comparison would prove little.
    assert sum(1 for measures in duck.values() if measures["rows"] > 0) >= len(duck) - 3


def test_copying_raw_needs_an_ingested_build(
    postgres_warehouse_url: str, clubcrm_home: Settings
) -> None:
    build = clubcrm_home.build_warehouse_path
    connect_warehouse(build).close()  # an empty DuckDB file: nothing ingested yet

    with pytest.raises(BuildWithoutRaw, match="has no raw tables"):
        copy_raw_to_postgres(build, postgres_warehouse_url)


def test_copying_raw_to_a_missing_database_says_so(
    postgres_warehouse_url: str, small_club: Settings, tmp_path: Path
) -> None:
    build = build_raw(small_club, tmp_path / "scratch")
    missing = make_url(postgres_warehouse_url).set(database=f"{uuid.uuid4().hex}_missing")

    with pytest.raises(PostgresUnreachable, match="cannot connect to PostgreSQL"):
        copy_raw_to_postgres(build, missing)


def test_copying_raw_again_replaces_the_previous_copy(
    postgres_warehouse_url: str, small_club: Settings, tmp_path: Path
) -> None:
    import psycopg

    build = build_raw(small_club, tmp_path / "scratch")
    conninfo = postgres_source(postgres_warehouse_url).conninfo
    first = copy_raw_to_postgres(build, postgres_warehouse_url)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("create table raw.left_over (id integer)")
        connection.execute("create view raw.members_view as select * from raw.members")

    second = copy_raw_to_postgres(build, postgres_warehouse_url)

    assert second.rows == first.rows
    with psycopg.connect(conninfo) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            )
        }
        members = connection.execute("select count(*) from raw.members").fetchone()[0]
    assert tables == set(first.rows)
    assert members == first.rows["members"]
