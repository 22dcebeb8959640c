"""Fixtures of the demo-data tests: generated histories in private data folders.

Helpers are handed out as fixtures (``make_history``, ``dump_tables``) rather than imported,
because this folder is not a package (it must not shadow the ``demodata`` package).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from clubcrm.settings import Settings, get_settings
from demodata.load import CHANGE_TRACKING_TABLES
from operational.models import Base

MEMBERS = 2000
SEED = 7
END = date(2026, 6, 30)


def _settings_for(home: Path, database_url: str | None = None) -> Settings:
    """Settings of a data folder (the environment is not touched)."""
    base = get_settings()
    url = database_url or f"sqlite:///{home / 'operational.sqlite'}"
    settings = replace(base, home=home, database_url=url, test_database_url=None)
    settings.ensure_dirs()
    return settings


def _make_history(home: Path, members: int = MEMBERS, seed: int = SEED, **kwargs) -> Settings:
    from demodata.generate import generate
    from operational.bootstrap import initialise

    settings = _settings_for(home)
    initialise(settings.database_url, admin_password="admin-password-1")
    generate(settings, members=members, seed=seed, months=24, end_date=END, **kwargs)
    return settings


# Staff accounts hold salted password hashes; change tracking holds a random epoch per load.
_NOT_DATA = ("staff_accounts", *CHANGE_TRACKING_TABLES)


def _dump_tables(url: str, skip: tuple[str, ...] = _NOT_DATA) -> dict[str, list[tuple]]:
    """Every row of every operational table, typed by SQLAlchemy, ordered by primary key."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in Base.metadata.sorted_tables:
                if table.name in skip:
                    continue
                query = select(table).order_by(*table.primary_key.columns)
                out[table.name] = [tuple(row) for row in conn.execute(query)]
            return out
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def history(tmp_path_factory) -> Settings:
    """One generated history (2,000 members, seed 7) shared by the read-only tests."""
    return _make_history(tmp_path_factory.mktemp("demodata-history"))


@pytest.fixture(scope="session")
def tables(history: Settings) -> dict[str, list[dict]]:
    """The shared history's tables as lists of dicts (column name -> value)."""
    engine = create_engine(history.database_url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                for t in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def make_history():
    """``make_history(home, members=2000, seed=7)``: initialise a data folder and generate."""
    return _make_history


@pytest.fixture
def dump_tables():
    """``dump_tables(url)``: all operational rows (staff accounts and change tracking excepted)."""
    return _dump_tables


@pytest.fixture
def settings_for():
    """``settings_for(home, database_url=None)``: Settings of a data folder."""
    return _settings_for
