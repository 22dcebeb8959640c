"""Engine and session factory for the operational database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (ingestion, pages) work while a clerk writes; foreign keys are off by
    # default in SQLite; busy_timeout makes concurrent writers wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; for SQLite, create the folder and set safe pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process (engines own connection pools)."""
    return make_engine(url)


def get_engine(url: str | None = None) -> Engine:
    if url is None:
        from clubcrm.settings import get_settings

        url = get_settings().database_url
    return engine_for(url)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def begin_sqlite_transaction(session: Session, *, write_lock: bool) -> None:
    """On SQLite, open the session's transaction now (no-op on other databases).

    Python's sqlite3 driver opens a transaction only before its first data-changing statement:
    a SAVEPOINT issued first starts one itself and releasing it commits at once (decision D10),
    and SQLite ignores ``FOR UPDATE``. ``write_lock`` takes the database write lock for the rest
    of the transaction (``BEGIN IMMEDIATE``, or a write that changes no row when a deferred
    transaction is already open) — SQLite's stand-in for locking the rows about to be checked.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver_connection = connection.connection.driver_connection
    if driver_connection is not None and not driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_lock else "BEGIN")
    elif write_lock:
        connection.exec_driver_sql("UPDATE number_sequences SET next_value = next_value WHERE 0")
