"""Card reader tests. ``slow`` tests (the 60 s wire-rate run) need CLUBCRM_SLOW_TESTS=1."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long runs, only with CLUBCRM_SLOW_TESTS=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CLUBCRM_SLOW_TESTS"):
        return
    skip = pytest.mark.skip(reason="slow: set CLUBCRM_SLOW_TESTS=1 to run")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
