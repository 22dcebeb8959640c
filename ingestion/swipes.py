"""Load finished card-reader spool files into ``raw.swipes``, exactly once.

The spool contract (devices/): ``{spool_dir}/{reader_id}/*.jsonl`` are finished files (a reader
writes ``*.jsonl.open`` and renames it when done, so those are ignored); one JSON object per line
with ``swipe_id`` (unique across restarts), ``reader_id``, ``seq``, ``card_no``, ``raw``,
``swiped_at`` (ISO 8601 with +00:00), ``purpose`` and ``target``.

Exactly once: ``raw.swipes`` is append-only with ``swipe_id`` as its primary key; each run reads
the finished files not loaded before (``raw._spool_files``), keeps the first occurrence of every
``swipe_id`` and inserts only ids not already present, all in one transaction. A crash before the
commit loads nothing; a rerun after it finds the files registered and the ids present. A swipe
re-spooled in a later file after a restart is therefore loaded once. Spool files may be archived
after loading: the warehouse keeps what it loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ingestion.operational import INGESTION_LOG_DDL, RAW_SCHEMA, utc_now_naive

SWIPES_DDL = f"""
create table if not exists {RAW_SCHEMA}.swipes (
    swipe_id varchar primary key,
    reader_id varchar not null,
    seq bigint,
    card_no varchar,
    raw varchar,
    swiped_at timestamp not null,
    purpose varchar,
    target varchar,
    _source_file varchar not null,
    _loaded_at timestamp not null
)
"""

SPOOL_FILES_DDL = f"""
create table if not exists {RAW_SCHEMA}._spool_files (
    source_file varchar primary key,
    bytes bigint not null,
    rows bigint not null,
    loaded_at timestamp not null
)
"""

_JSON_COLUMNS = (
    "{swipe_id: 'VARCHAR', reader_id: 'VARCHAR', seq: 'BIGINT', card_no: 'VARCHAR', "
    "raw: 'VARCHAR', swiped_at: 'VARCHAR', purpose: 'VARCHAR', target: 'VARCHAR'}"
)


class BadSpoolFile(ValueError):
    """A finished spool file breaks the contract (unreadable line, missing key fields)."""


@dataclass(frozen=True)
class SwipeLoad:
    files_read: int
    rows_inserted: int
    total_rows: int


def finished_spool_files(spool_dir: Path) -> list[Path]:
    """Finished spool files (``{reader_id}/*.jsonl``), oldest name first."""
    if not spool_dir.exists():
        return []
    return sorted(p for p in spool_dir.glob("*/*.jsonl") if p.is_file())


def ensure_swipe_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    connection.execute(SWIPES_DDL)
    connection.execute(SPOOL_FILES_DDL)
    connection.execute(INGESTION_LOG_DDL)


def load_swipes(
    connection: duckdb.DuckDBPyConnection,
    spool_dir: Path,
    *,
    rescan: bool = False,
    loaded_at: datetime | None = None,
) -> SwipeLoad:
    """Insert the swipes of finished spool files not loaded before into ``raw.swipes``.

    ``rescan`` reads every finished file again (ids already present are still skipped), e.g.
    after a spool file was rewritten by hand.

    A finished file never changes, so a loaded file that reappears with another size means the
    spool was reset (``clubcrm demo-data`` replaces the demo history and its readers restart at
    sequence 1, reusing swipe ids): then ``raw.swipes`` is rebuilt from the spool as it is now,
    rather than keeping swipes of the replaced history under the reused ids.
    """
    loaded_at = loaded_at or utc_now_naive()
    ensure_swipe_tables(connection)
    files = finished_spool_files(spool_dir)
    known = dict(
        connection.execute(f"select source_file, bytes from {RAW_SCHEMA}._spool_files").fetchall()
    )
    relative = {path: path.relative_to(spool_dir).as_posix() for path in files}
    sizes = {path: path.stat().st_size for path in files}
    spool_reset = any(relative[p] in known and known[relative[p]] != sizes[p] for p in files)
    todo = [p for p in files if rescan or spool_reset or known.get(relative[p]) != sizes[p]]

    connection.execute("begin transaction")
    try:
        inserted = 0
        if spool_reset:
            connection.execute(f"delete from {RAW_SCHEMA}.swipes")
            connection.execute(f"delete from {RAW_SCHEMA}._spool_files")
        if todo:
            inserted = _insert_new_swipes(connection, todo, relative, loaded_at)
            connection.executemany(
                f"insert or replace into {RAW_SCHEMA}._spool_files "
                "select ?, ?, (select count(*) from raw.swipes where _source_file = ?), ?",
                [(relative[p], sizes[p], relative[p], loaded_at) for p in todo],
            )
        total = connection.execute(f"select count(*) from {RAW_SCHEMA}.swipes").fetchone()[0]
        connection.execute(
            f"insert into {RAW_SCHEMA}._ingestion_log values ('swipes', ?, ?, 'append')",
            [inserted, loaded_at],
        )
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    return SwipeLoad(files_read=len(todo), rows_inserted=inserted, total_rows=total)


def _insert_new_swipes(
    connection: duckdb.DuckDBPyConnection,
    files: list[Path],
    relative: dict[Path, str],
    loaded_at: datetime,
) -> int:
    connection.execute(
        "create or replace temp table _spool_batch (source_file varchar, relative_file varchar)"
    )
    connection.executemany(
        "insert into _spool_batch values (?, ?)", [(str(p), relative[p]) for p in files]
    )
    try:
        connection.execute(
            f"""
            create or replace temp table _swipes_read as
            select s.*, b.relative_file as _source_file
            from read_json(?, format = 'newline_delimited', columns = {_JSON_COLUMNS},
                           filename = true) as s
            join _spool_batch as b on b.source_file = s.filename
            """,
            [[str(p) for p in files]],
        )
    except duckdb.Error as exc:
        raise BadSpoolFile(f"a finished spool file could not be read: {exc}") from exc
    bad = connection.execute(
        """
        select _source_file, count(*) from _swipes_read
        where swipe_id is null or reader_id is null or swiped_at is null
           or try_cast(swiped_at as timestamptz) is null
        group by 1 order by 1
        """
    ).fetchall()
    if bad:
        listing = ", ".join(f"{name} ({rows} lines)" for name, rows in bad)
        raise BadSpoolFile(
            "spool lines without swipe_id, reader_id or a valid swiped_at in: " + listing
        )
    before = connection.execute(f"select count(*) from {RAW_SCHEMA}.swipes").fetchone()[0]
    connection.execute(
        f"""
        insert into {RAW_SCHEMA}.swipes
        select swipe_id, reader_id, seq, card_no, raw,
               timezone('UTC', cast(swiped_at as timestamptz)) as swiped_at,
               purpose, target, _source_file, ? as _loaded_at
        from _swipes_read
        where swipe_id not in (select swipe_id from {RAW_SCHEMA}.swipes)
        qualify row_number() over (partition by swipe_id order by _source_file, seq) = 1
        """,
        [loaded_at],
    )
    after = connection.execute(f"select count(*) from {RAW_SCHEMA}.swipes").fetchone()[0]
    connection.execute("drop table _swipes_read")
    connection.execute("drop table _spool_batch")
    return after - before
