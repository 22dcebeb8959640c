"""Shared fixtures.

- ``clubcrm_home``: an empty data folder for one test, set as CLUBCRM_HOME (SQLite default DB).
- ``op_db_url``: an initialised operational database, once on SQLite and once on PostgreSQL
  (when CLUBCRM_TEST_DATABASE_URL is set; otherwise that case is skipped with the reason).
- ``demo_env``: one generated demo history (2,000 members) run through the pipeline, shared by
  the end-to-end and dashboard tests of a session. Tests must not write to it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

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


def _postgres_schema_url(base_url: str) -> Iterator[str]:
    """A private schema on the test server, dropped afterwards (tests may run side by side)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def op_db_url(request, tmp_path: Path) -> Iterator[str]:
    """An initialised operational DB URL (migrated, dictionary seeded, admin created)."""
    from operational.bootstrap import initialise

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'operational.sqlite'}"
        initialise(url, admin_password="admin-password-1")
        yield url
        return
    base_url = os.environ.get("CLUBCRM_TEST_DATABASE_URL", "").strip()
    if not base_url:
        pytest.skip("PostgreSQL case skipped: set CLUBCRM_TEST_DATABASE_URL to run it")
    for url in _postgres_schema_url(base_url):
        initialise(url, admin_password="admin-password-1")
        yield url


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
