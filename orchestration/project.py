"""The dbt project (transforms/) as Dagster sees it, and its manifest.

Dagster builds the dbt asset graph from ``transforms/target/manifest.json`` when the
definitions are imported. :func:`ensure_manifest` runs ``dbt parse`` whenever that manifest is
missing or older than any file of the dbt project, so `clubcrm pipeline run`, `dagster dev` and
the tests always load a current graph without a manual step. (``DbtProject.prepare_if_dev()``
only does this under `dagster dev`; deployments may still run ``dagster-dbt project
prepare-and-package`` at build time, after which the manifest is fresh and nothing runs here.)
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dagster_dbt import DbtProject

TRANSFORMS_DIR = Path(__file__).resolve().parent.parent / "transforms"
MANIFEST_TARGET = "target"

dbt_project = DbtProject(project_dir=TRANSFORMS_DIR, target_path=MANIFEST_TARGET)

_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")


class DbtParseFailed(RuntimeError):
    """`dbt parse` failed: the dbt project has an error (its output is in the message)."""


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's virtualenv), else the one on PATH."""
    local = Path(sys.executable).with_name("dbt")
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def _newest_input_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _PROJECT_INPUTS:
        path = project_dir / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            newest = max(newest, path.stat().st_mtime)
            for child in path.rglob("*"):
                # Folders too: deleting or renaming a file changes its folder's mtime.
                if child.is_dir() or child.suffix in {".sql", ".yml", ".yaml", ".md", ".csv"}:
                    newest = max(newest, child.stat().st_mtime)
    return newest


def manifest_is_current(project: DbtProject = dbt_project) -> bool:
    manifest = project.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= _newest_input_mtime(
        project.project_dir
    )


def ensure_manifest(project: DbtProject = dbt_project, force: bool = False) -> Path:
    """Run `dbt parse` if the manifest is missing or stale; return the manifest path.

    Parses into a private folder and renames the manifest into place, under a file lock, so
    concurrent processes never read a half-written manifest.
    """
    manifest = project.manifest_path
    if not force and manifest_is_current(project):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and manifest_is_current(project):
            return manifest
        with tempfile.TemporaryDirectory(dir=manifest.parent, prefix=".parse-") as scratch:
            env = {
                **os.environ,
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                # Parsing never opens the warehouse; the profile only needs a value.
                "CLUBCRM_WAREHOUSE_PATH": os.environ.get("CLUBCRM_WAREHOUSE_PATH") or ":memory:",
            }
            completed = subprocess.run(
                [
                    dbt_executable(),
                    "parse",
                    "--quiet",
                    "--no-partial-parse",
                    "--project-dir",
                    str(project.project_dir),
                    "--profiles-dir",
                    str(project.profiles_dir),
                    "--target-path",
                    scratch,
                    "--log-path",
                    scratch,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if completed.returncode != 0:
                raise DbtParseFailed(
                    "dbt parse failed:\n" + (completed.stdout + completed.stderr).strip()
                )
            os.replace(Path(scratch) / "manifest.json", manifest)
    return manifest
