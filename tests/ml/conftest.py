"""Fixtures of the prediction-layer tests.

They reuse the session's ``demo_env`` (2,000 generated members, 24 months to 2026-06-30):
its build warehouse is copied and only the ``features`` models and their ancestors are
rebuilt as of AS_OF with dbt (a few seconds), instead of running the whole pipeline again.

- ``features_build``: that copy, built as of AS_OF;
- ``trained_registry``: a registry trained on it (churn, buyer, care), shared read-only;
- ``build_features``: the function, for tests that change the raw data before building.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

# OpenMP threads that spin while waiting make scikit-learn crawl when the two cores are
# shared with dbt and other test processes; waiting passively costs nothing on an idle box.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from clubcrm.settings import Settings  # noqa: E402
from models_ml.registry import Registry  # noqa: E402
from models_ml.train import train_all  # noqa: E402
from orchestration.project import dbt_executable, dbt_project  # noqa: E402

# Far enough before the end of the demo history that real events follow it, late enough to
# leave several labelled month ends before it.
AS_OF = date(2026, 3, 31)
FEATURE_SELECTION = "+path:models/features"


def run_features_build(warehouse: Path, as_of: date, scratch: Path) -> None:
    """dbt run of the features models and their ancestors, as of a day, on one DuckDB file."""
    env = {**os.environ, "CLUBCRM_WAREHOUSE_PATH": str(warehouse)}
    completed = subprocess.run(
        [
            dbt_executable(),
            "run",
            "--project-dir",
            str(dbt_project.project_dir),
            "--profiles-dir",
            str(dbt_project.profiles_dir),
            "--target-path",
            str(scratch / "target"),
            "--log-path",
            str(scratch / "logs"),
            "--select",
            FEATURE_SELECTION,
            "--vars",
            json.dumps({"as_of": as_of.isoformat()}),
        ],  # fmt: skip
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


@pytest.fixture(scope="session")
def build_features(
    demo_env: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """Copy the demo build, let ``alter`` change its raw data, build the features as of AS_OF."""

    def build(name: str, alter: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> Path:
        folder = tmp_path_factory.mktemp(name)
        warehouse = folder / "build.duckdb"
        shutil.copy(demo_env.build_warehouse_path, warehouse)
        if alter is not None:
            with duckdb.connect(str(warehouse)) as connection:
                alter(connection)
        run_features_build(warehouse, AS_OF, folder)
        return warehouse

    return build


@pytest.fixture(scope="session")
def features_build(build_features: Callable[..., Path]) -> Path:
    return build_features("features-as-of")


@pytest.fixture(scope="session")
def trained_registry(features_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    registry = Registry(tmp_path_factory.mktemp("registry") / "models")
    with duckdb.connect(str(features_build)) as connection:
        outcomes = train_all(connection, registry)
    assert {o.task for o in outcomes} == {"churn", "buyer", "care"}
    return registry
