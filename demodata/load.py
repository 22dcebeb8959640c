"""Bulk writing into the operational DB: one transaction, SQLite ``executemany`` or PostgreSQL
``COPY``, column lists taken from the SQLAlchemy tables so they follow the schema.

Values arrive as the drivers want them (see :func:`demodata.tables.to_pylist`): UTC timestamps
as naive ``YYYY-MM-DD HH:MM:SS.ffffff`` text (what SQLAlchemy's ``UTCDateTime`` stores),
dates as ISO text, booleans as 0/1, money as floats rounded to cents. A column the builders
do not fill gets NULL, or its constant model default (``version`` = 1); a required column
without a constant default is an error, so a schema change cannot slip through silently.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping

from sqlalchemy import Table

from demodata.tables import column_length, to_pylist
from operational.db import make_engine
from operational.models import Base

KEEP_TABLES = ("dictionary_items", "staff_accounts")  # set up by `clubcrm init`
#: Change tracking for the warehouse (migration 0004, decision D16): the loader rewrites history
#: with the SQLite triggers off and then starts a new epoch, so the next ingestion copies every
#: table in full instead of trusting change stamps.
CHANGE_TRACKING_TABLES = ("change_tracking", "change_tracking_deletions")
TRIGGER_PREFIX = "ct_"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Loader:
    """Writes tables in one transaction; ``commit()`` makes them visible, errors roll back."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.backend = self.engine.dialect.name
        if self.backend not in ("sqlite", "postgresql"):
            raise ValueError(f"demo data supports SQLite and PostgreSQL, not {self.backend}")
        self._raw = self.engine.raw_connection()
        self.connection = self._raw.driver_connection
        self.counts: dict[str, int] = {}
        self._open = False
        self._indexes: list[tuple[str, str]] = []
        self._triggers: list[tuple[str, str]] = []

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._open:
                self.rollback()
        finally:
            self._raw.close()
            self.engine.dispose()

    # -- transaction ---------------------------------------------------------------------------
    def begin(self) -> None:
        if self.backend == "sqlite":
            conn = self.connection
            conn.isolation_level = None  # explicit BEGIN/COMMIT below
            # Foreign keys and CHECK constraints are verified by the tests (PRAGMA
            # foreign_key_check, integrity_check) and by PostgreSQL, not row by row here:
            # checking them during the load costs about a third of the insert time.
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA ignore_check_constraints=ON")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-1048576")  # up to 1 GiB of page cache for the load
            conn.execute("PRAGMA temp_store=MEMORY")
            # A rollback journal writes each page once; WAL would write the whole load twice.
            # It needs exclusive use of the file: when another connection is open, stay in WAL.
            self._journal = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            conn.execute("BEGIN IMMEDIATE")
        self._open = True
        self._drop_indexes()
        self._drop_change_triggers()

    def commit(self) -> None:
        self._create_indexes()
        self._new_change_epoch()
        if self.backend == "postgresql":
            self._reset_sequences()
            self._analyze()
            self.connection.commit()
        else:
            conn = self.connection
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA ignore_check_constraints=OFF")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        self._open = False

    def rollback(self) -> None:
        if self.backend == "postgresql":
            self.connection.rollback()
        else:
            self.connection.execute("ROLLBACK")
        self._open = False

    # -- writing -------------------------------------------------------------------------------
    def replaceable_tables(self) -> list[Table]:
        """Every operational table except those `clubcrm init` owns, children first."""
        return [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP_TABLES]

    def clear(self) -> None:
        """Delete earlier demo rows (all rows but the dictionary and staff accounts)."""
        tables = self.replaceable_tables()
        if self.backend == "postgresql":
            names = ", ".join(_quote(t.name) for t in tables)
            with self.connection.cursor() as cur:
                cur.execute(f"TRUNCATE {names} RESTART IDENTITY")
        else:
            for table in tables:
                self.connection.execute(f"DELETE FROM {_quote(table.name)}")

    def _drop_indexes(self) -> None:
        """Drop the secondary indexes of the replaced tables; :meth:`commit` rebuilds them.

        Building an index once over sorted data is much faster than updating it row by row.
        Indexes behind primary keys and unique constraints stay (they cannot be dropped).
        """
        names = [t.name for t in self.replaceable_tables()]
        if self.backend == "sqlite":
            marks = ", ".join("?" * len(names))
            self._indexes = self.connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks}) ORDER BY name",
                names,
            ).fetchall()
            for name, _ in self._indexes:
                self.connection.execute(f"DROP INDEX {_quote(name)}")
            return
        with self.connection.cursor() as cur:
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = ANY(%s) AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint "
                "WHERE connamespace = current_schema()::regnamespace) "
                "ORDER BY indexname",
                (names,),
            )
            self._indexes = cur.fetchall()
            for name, _ in self._indexes:
                cur.execute(f"DROP INDEX {_quote(name)}")

    def _drop_change_triggers(self) -> None:
        """SQLite: drop the change-tracking triggers while loading (:meth:`commit` restores them).

        They would log every cleared row as a deletion and stamp every inserted row one by one;
        the new epoch makes the warehouse reload everything anyway. (PostgreSQL needs nothing:
        COPY and TRUNCATE fire no row triggers, and the column default stamps the rows.)
        """
        if self.backend != "sqlite":
            return
        self._triggers = self.connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE ? "
            "ORDER BY name",
            (TRIGGER_PREFIX + "%",),
        ).fetchall()
        for name, _ in self._triggers:
            self.connection.execute(f"DROP TRIGGER {_quote(name)}")

    def _new_change_epoch(self) -> None:
        """Restore the triggers and start a new change-tracking epoch (the history was rewritten)."""
        epoch = uuid.uuid4().hex
        if self.backend == "sqlite":
            for _, sql in self._triggers:
                self.connection.execute(sql)
            self._triggers = []
            self.connection.execute("DELETE FROM change_tracking_deletions")
            self.connection.execute("DELETE FROM change_tracking")
            self.connection.execute(
                "INSERT INTO change_tracking (id, epoch, reset_at) "
                "VALUES (1, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'))",
                (epoch,),
            )
            return
        with self.connection.cursor() as cur:
            cur.execute("DELETE FROM change_tracking_deletions")
            cur.execute("DELETE FROM change_tracking")
            cur.execute(
                "INSERT INTO change_tracking (id, epoch, reset_at) "
                "VALUES (1, %s, now() at time zone 'utc')",
                (epoch,),
            )

    def _create_indexes(self) -> None:
        if self.backend == "sqlite":
            for _, sql in self._indexes:
                self.connection.execute(sql)
        else:
            with self.connection.cursor() as cur:
                for _, sql in self._indexes:
                    cur.execute(sql)
        self._indexes = []

    def insert(self, name: str, columns: Mapping[str, object]) -> int:
        """Insert the rows given as columns; return how many."""
        table = Base.metadata.tables[name]
        unknown = set(columns) - set(table.columns.keys())
        if unknown:
            raise KeyError(f"{name} has no column(s) {sorted(unknown)}")
        n = column_length(dict(columns))
        values = []
        for column in table.columns:
            if column.name in columns:
                values.append(to_pylist(columns[column.name], n))
            elif column.nullable:
                values.append(itertools.repeat(None, n))
            elif column.default is not None and column.default.is_scalar:
                values.append(itertools.repeat(column.default.arg, n))
            else:
                raise KeyError(f"{name}.{column.name} is required and has no constant default")
        names = [column.name for column in table.columns]
        rows = zip(*values, strict=False)
        if n:
            if self.backend == "sqlite":
                marks = ", ".join("?" * len(names))
                sql = (
                    f"INSERT INTO {_quote(name)} ({', '.join(map(_quote, names))}) VALUES ({marks})"
                )
                self.connection.executemany(sql, rows)
            else:
                sql = f"COPY {_quote(name)} ({', '.join(map(_quote, names))}) FROM STDIN"
                with self.connection.cursor() as cur, cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
        self.counts[name] = self.counts.get(name, 0) + n
        return n

    def _analyze(self) -> None:
        """Fresh planner statistics (PostgreSQL): until autovacuum gets to the new rows the
        planner guesses, and e.g. review matching's ``mobile IN (...)`` becomes a table scan."""
        with self.connection.cursor() as cur:
            for table in self.replaceable_tables():
                cur.execute(f"ANALYZE {_quote(table.name)}")

    def _reset_sequences(self) -> None:
        """Explicit ids bypass PostgreSQL sequences: move each past the highest id."""
        with self.connection.cursor() as cur:
            for table in Base.metadata.sorted_tables:
                if "id" not in table.columns or not table.columns["id"].primary_key:
                    continue
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {_quote(table.name)}), 1), "
                    f"(SELECT MAX(id) IS NOT NULL FROM {_quote(table.name)}))",
                    (table.name,),
                )
