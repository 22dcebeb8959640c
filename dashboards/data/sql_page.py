"""The analysts' SQL page without Streamlit: refuse what may not run, run the rest read-only
against the published warehouse with a time limit and a row limit, describe the schemas.

Refusals come before DuckDB sees the query, each with a message an analyst can act on:
anything but one read-only statement (:func:`clubcrm.published.check_read_only`), the
``restricted`` schema (unmasked personal data; never published, but named here so the refusal
says why), and the functions that read files. The reader connection also has file access
switched off (``clubcrm.published.READER_CONFIG``); the checks here give a clearer message.

DuckDB has no per-statement timeout setting, so a timer thread calls
``connection.interrupt()`` after ``timeout`` seconds and the page says the query was stopped.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from clubcrm.published import RESTRICTED_SCHEMA, ReadOnlyViolation, check_read_only, connect
from clubcrm.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 30
DEFAULT_ROW_LIMIT = 10_000
#: The dbt manifest with every model's and column's description (``dbt parse`` writes it).
MANIFEST_PATH = Path(__file__).resolve().parents[2] / "transforms" / "target" / "manifest.json"
#: Schemas of DuckDB itself, left out of the schema browser.
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")

# Table functions and scanners that read files or URLs (and the ``'file.csv'`` replacement scan).
_FILE_FUNCTIONS = (
    "read_csv",
    "read_csv_auto",
    "read_parquet",
    "parquet_scan",
    "parquet_metadata",
    "parquet_schema",
    "parquet_file_metadata",
    "read_json",
    "read_json_auto",
    "read_json_objects",
    "read_ndjson",
    "read_ndjson_auto",
    "read_ndjson_objects",
    "read_text",
    "read_blob",
    "read_xlsx",
    "sniff_csv",
    "glob",
    "iceberg_scan",
    "delta_scan",
    "sqlite_scan",
    "postgres_scan",
    "st_read",
)
_FILE_FUNCTION_RE = re.compile(r"\b(" + "|".join(_FILE_FUNCTIONS) + r")\s*\(", flags=re.IGNORECASE)
_RESTRICTED_RE = re.compile(rf'(\b|")({RESTRICTED_SCHEMA})("?)\s*\.', flags=re.IGNORECASE)
# FROM 'some/file.csv' (a quoted string where a table goes reads that file).
_QUOTED_FILE_RE = re.compile(r"\b(from|join)\s+'[^']*'", flags=re.IGNORECASE)
_COMMENTS_RE = re.compile(r"--[^\n]*|/\*.*?\*/", flags=re.S)
_STRINGS_RE = re.compile(r"'(?:[^']|'')*'")


class QueryRefused(ReadOnlyViolation):
    """The query may not run here; ``reason`` is a stable code, ``detail`` names the culprit."""

    def __init__(self, message: str, reason: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class QueryTimedOut(RuntimeError):
    """The query ran longer than its time limit and was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"query stopped after {seconds:g} s")
        self.seconds = seconds


class QueryFailed(RuntimeError):
    """DuckDB could not run the query (a typo, an unknown column...): its own message."""


@dataclass
class QueryResult:
    frame: pd.DataFrame
    truncated: bool  # more rows than the limit: only the first ``limit`` are in ``frame``
    limit: int
    seconds: float


@dataclass
class Table:
    schema: str
    name: str
    description: str = ""
    columns: list[tuple[str, str, str]] = field(default_factory=list)  # name, type, description


def check_query(sql: str) -> str:
    """The statement to run, or :class:`QueryRefused` saying why it may not run here."""
    try:
        statement = check_read_only(sql)
    except QueryRefused:
        raise
    except ReadOnlyViolation as exc:
        text = str(exc)
        reason = "not_read_only"
        if "could not be parsed" in text:
            reason = "syntax"
        elif "is empty" in text:
            reason = "empty"
        elif "one statement at a time" in text:
            reason = "several"
        raise QueryRefused(text, reason, _first_word(sql)) from exc
    code = _COMMENTS_RE.sub(" ", statement)
    names = _STRINGS_RE.sub("''", code)  # a name inside a string literal is only text
    if _RESTRICTED_RE.search(names):
        raise QueryRefused(
            f"the {RESTRICTED_SCHEMA} schema (unmasked personal data) is not available here",
            "restricted",
            RESTRICTED_SCHEMA,
        )
    found = _FILE_FUNCTION_RE.search(names)
    if found:
        name = found.group(1).lower()
        raise QueryRefused(
            f"{name}() reads files: only the warehouse's own tables can be queried here",
            "file_access",
            name,
        )
    if _QUOTED_FILE_RE.search(code):
        raise QueryRefused(
            "reading files is not allowed: query the warehouse's tables (schema.table)",
            "file_access",
            "",
        )
    return statement


def _first_word(sql: str) -> str:
    words = _COMMENTS_RE.sub(" ", sql).strip().lstrip("(").split(None, 1)
    return words[0].upper() if words else ""


def run_sql(
    settings: Settings,
    sql: str,
    *,
    limit: int = DEFAULT_ROW_LIMIT,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> QueryResult:
    """Run one read-only query against the published warehouse.

    At most ``limit`` rows come back (``truncated`` says whether there were more); a query still
    running after ``timeout`` seconds is interrupted (:class:`QueryTimedOut`). Refusals:
    :class:`QueryRefused`; DuckDB's own errors: :class:`QueryFailed`;
    ``NoPublishedWarehouse`` when no pipeline run has published yet.
    """
    if limit < 1:
        raise ValueError("limit must be a positive number of rows")
    statement = check_query(sql)
    connection = connect(settings)
    timer = threading.Timer(timeout, connection.interrupt)
    timer.daemon = True
    started = time.monotonic()
    try:
        timer.start()
        relation = connection.sql(statement)
        frame = pd.DataFrame() if relation is None else relation.limit(limit + 1).df()
    except duckdb.InterruptException as exc:
        raise QueryTimedOut(timeout) from exc
    except duckdb.PermissionException as exc:
        raise QueryRefused(f"refused: {exc}", "file_access", "") from exc
    except duckdb.Error as exc:
        if timer.finished.is_set() or time.monotonic() - started >= timeout:
            raise QueryTimedOut(timeout) from exc
        raise QueryFailed(str(exc).strip()) from exc
    finally:
        timer.cancel()
        connection.close()
    truncated = len(frame) > limit
    return QueryResult(
        frame=frame.head(limit) if truncated else frame,
        truncated=truncated,
        limit=limit,
        seconds=time.monotonic() - started,
    )


# -- the schema browser -----------------------------------------------------------------------
def manifest_descriptions(path: Path = MANIFEST_PATH) -> dict[tuple[str, str], dict]:
    """(schema, table) -> {"description", "columns": {column: description}} from dbt's
    manifest (models, seeds, snapshots and sources); empty when the manifest is missing."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    described: dict[tuple[str, str], dict] = {}
    nodes = [
        n
        for n in manifest.get("nodes", {}).values()
        if n.get("resource_type") in ("model", "seed", "snapshot")
    ]
    for node in [*nodes, *manifest.get("sources", {}).values()]:
        table = node.get("alias") or node.get("identifier") or node.get("name")
        if not node.get("schema") or not table:
            continue
        described[(node["schema"], table)] = {
            "description": (node.get("description") or "").strip(),
            "columns": {
                name: (column.get("description") or "").strip()
                for name, column in (node.get("columns") or {}).items()
            },
        }
    return described


def schema_tables(settings: Settings, manifest: Path = MANIFEST_PATH) -> list[Table]:
    """Every table and view of the published warehouse with its columns, described from the
    dbt manifest where dbt knows it (by schema, then table name)."""
    descriptions = manifest_descriptions(manifest)
    connection = connect(settings)
    try:
        rows = connection.execute(
            """
            select table_schema, table_name, column_name, data_type
            from information_schema.columns
            where table_schema not in ?
              and table_catalog = current_database()
            order by table_schema, table_name, ordinal_position
            """,
            [list(SYSTEM_SCHEMAS)],
        ).fetchall()
    finally:
        connection.close()
    tables: dict[tuple[str, str], Table] = {}
    for schema, name, column, data_type in rows:
        if schema.lower() == RESTRICTED_SCHEMA:
            continue
        described = descriptions.get((schema, name), {})
        table = tables.setdefault(
            (schema, name), Table(schema, name, described.get("description", ""))
        )
        table.columns.append((column, data_type, described.get("columns", {}).get(column, "")))
    return list(tables.values())


def export_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy Excel can hold: time zones dropped, lists and structs written as text."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.tz_localize(None)
        elif series.dtype == object:
            out[column] = series.map(
                lambda v: v if v is None or isinstance(v, str | int | float) else str(v)
            )
    return out
