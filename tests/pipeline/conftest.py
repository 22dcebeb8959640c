"""Fixtures of the pipeline tests.

- ``small_club``: a fresh data folder with the hand-made history of ``small_history`` (every
  operational table, a spool with a re-spooled swipe and a file still open).
- ``demo_copy``: a private copy of the shared demo environment, for tests that run the pipeline
  again (the shared ``demo_env`` must not be written to).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from small_history import write_small_history, write_small_spool

from clubcrm.settings import Settings, get_settings
from operational.bootstrap import initialise


@pytest.fixture
def small_club(clubcrm_home: Settings) -> Settings:
    initialise(clubcrm_home.database_url, admin_password="admin-password-1")
    write_small_history(clubcrm_home.database_url)
    write_small_spool(clubcrm_home.spool_dir)
    return clubcrm_home


@pytest.fixture
def demo_copy(demo_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The demo environment's data folder copied (operational DB, spool, warehouse)."""
    home = tmp_path / "demo-copy"
    shutil.copytree(
        demo_env.home,
        home,
        ignore=shutil.ignore_patterns("dagster", "dbt", "*.lock", ".pipeline.lock"),
    )
    monkeypatch.setenv("CLUBCRM_HOME", str(home))
    settings = get_settings()
    settings.ensure_dirs()
    return settings
