"""Fixtures of the dashboard tests: a small club in the operational DB, and a warehouse of it.

The data and the helpers (``ACCOUNTS``, ``signed_in``, ``seed_small_club``,
``build_small_warehouse``) are in ``smallclub.py``.
"""

from __future__ import annotations

import pytest
from smallclub import ADMIN_PASSWORD, build_small_warehouse, seed_small_club

from clubcrm.settings import Settings
from operational.bootstrap import initialise


@pytest.fixture
def small_club(clubcrm_home: Settings) -> Settings:
    initialise(clubcrm_home.database_url, admin_password=ADMIN_PASSWORD)
    seed_small_club(clubcrm_home.database_url)
    return clubcrm_home


@pytest.fixture
def small_warehouse(small_club: Settings) -> Settings:
    """``small_club`` with a published hand-made warehouse of it."""
    build_small_warehouse(small_club)
    return small_club
