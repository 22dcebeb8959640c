"""The Dagster instance of a data folder: ``DAGSTER_HOME = CLUBCRM_HOME/dagster``.

Its ``dagster.yaml`` is copied from ``orchestration/dagster.yaml`` (the run queue's limit of
one warehouse run at a time, telemetry off). A file clubcrm wrote is replaced when the template
changes; a file without clubcrm's first line is the operator's and is left alone.

``python -m orchestration.instance`` prepares it and prints its path (used by ``make demo``
and ``make scheduler`` to set DAGSTER_HOME for the daemon and the web UI).
"""

from __future__ import annotations

import os
from pathlib import Path

from clubcrm.settings import Settings, get_settings

TEMPLATE = Path(__file__).with_name("dagster.yaml")
MARKER = "# Written by clubcrm"


def ensure_dagster_home(settings: Settings) -> Path:
    """Create the instance folder and its dagster.yaml (see the module docstring)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = TEMPLATE.read_text(encoding="utf-8")
    current = config.read_text(encoding="utf-8") if config.exists() else None
    if current is None or (current.startswith(MARKER) and current != wanted):
        temporary = config.with_name(f".dagster.yaml.{os.getpid()}.tmp")
        temporary.write_text(wanted, encoding="utf-8")
        os.replace(temporary, config)
    return home


if __name__ == "__main__":
    print(ensure_dagster_home(get_settings()))
