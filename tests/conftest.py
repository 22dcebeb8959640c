"""Shared fixtures.

- ``clubcrm_home``: an empty data folder for one test, set as CLUBCRM_HOME (SQLite default DB).
- ``op_db_url``: an initialised operational database, once on SQLite and once on PostgreSQL
  (when CLUBCRM_TEST_DATABASE_URL is set; otherwise that case is skipped with the reason).
- ``demo_env``: one generated demo history (2,000 members) run through the pipeline, shared by
  the end-to-end and dashboard tests of a session. Tests must not write to it.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clubcrm.settings import Settings, get_settings

DEMO_MEMBERS = 2000
DEMO_SEED = 7
DEMO_END_DATE = date(2026, 6, 30)

_SETTINGS_VARS = (
    "CLUBCRM_HOME",
    "CLUBCRM_DATABASE_URL",
    "CLUBCRM_BUYER_HORIZON_DAYS",
    "CLUBCRM_CHURN_HORIZON_DAYS",
    "CLUBCRM_LOCALE",
)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """No test reads the developer's ./var or database by accident."""
    for name in _SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLUBCRM_HOME", str(tmp_path_factory.mktemp("home-default")))


@pytest.fixture
def clubcrm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    home = tmp_path / "clubcrm-home"
    monkeypatch.setenv("CLUBCRM_HOME", str(home))
    settings = get_settings()
    settings.ensure_dirs()
    return settings


#: The schema the operational tests' PostgreSQL databases use (not ``public``, as some
#: deployments do: ingestion must follow the search_path of the URL).
_PG_TEST_SCHEMA = "club"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    """One initialised SQLite operational DB per session; each test gets a copy of it."""
    from operational.bootstrap import initialise

    path = tmp_path_factory.mktemp("op-template") / "operational.sqlite"
    initialise(f"sqlite:///{path}", admin_password="admin-password-1")
    return path


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[tuple[str, str]]:
    """One initialised PostgreSQL database per session: each test gets a
    database created from it (``CREATE DATABASE ... TEMPLATE``: ~0.1 s, against ~1 s for
    migrating and seeding a fresh schema). Yields (server URL, template name)."""
    from operational.bootstrap import initialise

    base_url = os.environ.get("CLUBCRM_TEST_DATABASE_URL", "").strip()
    if not base_url:
        pytest.skip("PostgreSQL case skipped: set CLUBCRM_TEST_DATABASE_URL to run it")
    template = f"clubcrm_tpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    try:
        url = _database_url(base_url, template)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{_PG_TEST_SCHEMA}"'))
        engine.dispose()
        initialise(url, admin_password="admin-password-1")
        yield base_url, template
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        admin.dispose()


def _database_url(base_url: str, database: str) -> str:
    """``base_url`` on another database of the same server, with the test schema first in its
    search_path."""
    url = make_url(base_url).set(database=database)
    url = url.update_query_dict({"options": f"-csearch_path={_PG_TEST_SCHEMA}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def op_db_url(request, tmp_path: Path) -> Iterator[str]:
    """An initialised operational DB URL (migrated, dictionary seeded, admin created): a copy
    of a template initialised once per session."""
    if request.param == "sqlite":
        path = tmp_path / "operational.sqlite"
        template = request.getfixturevalue("_sqlite_template")
        with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)
        yield f"sqlite:///{path}"
        return
    base_url, template = request.getfixturevalue("_postgres_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _database_url(base_url, name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory) -> Settings:
    """A demo history of DEMO_MEMBERS members, generated and run through the pipeline once."""
    from demodata.generate import generate
    from operational.bootstrap import initialise
    from orchestration.pipeline import run_pipeline

    home = tmp_path_factory.mktemp("demo-env")
    with pytest.MonkeyPatch.context() as mp:
        for name in _SETTINGS_VARS:
            mp.delenv(name, raising=False)
        mp.setenv("CLUBCRM_HOME", str(home))
        settings = get_settings()
        settings.ensure_dirs()
        initialise(settings.database_url, admin_password="admin-password-1")
        generate(settings, members=DEMO_MEMBERS, seed=DEMO_SEED, months=24, end_date=DEMO_END_DATE)
        result = run_pipeline(settings, as_of=None, full=True)
        assert result.success, "\n".join(result.summary_lines())
    return settings


@pytest.fixture
def use_demo_env(demo_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the settings (CLUBCRM_HOME) of this test at the shared demo environment."""
    monkeypatch.setenv("CLUBCRM_HOME", str(demo_env.home))
    return demo_env
