"""The project's own generic dbt tests (transforms/tests/generic/) pass on the demo build and
fail, naming the culprit, once a row breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb

from clubcrm.settings import Settings
from orchestration.project import TRANSFORMS_DIR, dbt_executable


def _dbt_test(warehouse: Path, target_dir: Path, selector: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            dbt_executable(),
            "test",
            "--profiles-dir",
            ".",
            "--target-path",
            str(target_dir),
            "--log-path",
            str(target_dir),
            "--store-failures",
            "--select",
            selector,
        ],
        cwd=TRANSFORMS_DIR,
        env={**os.environ, "CLUBCRM_WAREHOUSE_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_not_null_columns_passes_on_the_build_and_names_the_null_column(
    demo_env: Settings, tmp_path: Path
) -> None:
    warehouse = tmp_path / "build.duckdb"
    shutil.copyfile(demo_env.build_warehouse_path, warehouse)
    selector = "dim_cards,test_name:not_null_columns"

    clean = _dbt_test(warehouse, tmp_path / "clean", selector)
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert "PASS=1" in clean.stdout

    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "update core.dim_cards set issued_at = null "
            "where card_no = (select min(card_no) from core.dim_cards)"
        )
    broken = _dbt_test(warehouse, tmp_path / "broken", selector)
    assert broken.returncode != 0
    assert "Failure in test not_null_columns_dim_cards" in broken.stdout
    assert "Got 1 result" in broken.stdout

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        schema, failures = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name like 'not_null_columns_dim_cards%'"
        ).fetchone()
        null_columns = connection.execute(
            f'select null_column from "{schema}"."{failures}"'  # stored by --store-failures
        ).fetchall()
    assert null_columns == [("issued_at",)]
