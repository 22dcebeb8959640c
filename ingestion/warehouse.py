"""Opening the build warehouse (DuckDB) and loading the scanner extensions we ship.

DuckDB would download a missing extension on first use; this machine (and production) may be
offline, so automatic install/load is switched off and the sqlite/postgres scanners are loaded
from the files of the ``duckdb-extension-*`` packages pinned next to ``duckdb``.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import duckdb

# Connection options every ClubCRM DuckDB connection uses: never fetch anything from the network.
OFFLINE_CONFIG: dict[str, str | bool] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

_EXTENSION_PACKAGES = {
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
}


class ExtensionNotAvailable(RuntimeError):
    """A scanner extension's package is not installed, so DuckDB cannot read that source."""


@cache
def extension_path(name: str) -> Path:
    """The ``.duckdb_extension`` file shipped by the package of extension ``name``."""
    package_name = _EXTENSION_PACKAGES[name]
    try:
        package = importlib.import_module(package_name)
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise ExtensionNotAvailable(
            f"DuckDB extension {name!r} is missing: install the {package_name} package "
            f"(pip install {package_name.replace('_', '-')}=={duckdb.__version__})"
        ) from exc
    candidates = sorted(Path(package.__file__).parent.rglob(f"{name}.duckdb_extension"))
    if not candidates:
        raise ExtensionNotAvailable(f"no {name}.duckdb_extension file inside {package_name}")
    return candidates[-1]


def load_extension(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD a bundled extension by its file path (never downloads)."""
    path = str(extension_path(name)).replace("'", "''")
    connection.execute(f"LOAD '{path}'")


def connect_warehouse(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open the build warehouse for writing (the pipeline is its only writer)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), config=dict(OFFLINE_CONFIG))
