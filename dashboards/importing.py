"""Running the member importer on an uploaded file (for the Import members page).

The rules are ``operational.importers.members.import_members``'s; this writes the upload to a
temporary file, runs the importer and keeps its report (CSV, UTF-8 with BOM) for download.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from operational.db import session_factory
from operational.importers.members import import_members
from operational.importers.tabular import ImportReport
from operational.services.common import Actor


@dataclass(frozen=True)
class ImportResult:
    file_name: str
    report: ImportReport
    report_csv: bytes  # the importer's report file (UTF-8 with BOM)


def run_import(
    database_url: str,
    actor: Actor,
    data: bytes,
    file_name: str,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportResult:
    """Import ``data`` (the bytes of an uploaded ``file_name``) and return the report.

    Raises the importer's ``ImportFileError`` (a ServiceError) when the file cannot be read.
    """
    suffix = Path(file_name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="clubcrm-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        report = import_members(session_factory(database_url), path, actor=actor, progress=progress)
        report.path = Path(file_name)  # the summary names the user's file, not the temp copy
        report_path = Path(folder) / "report.csv"
        report.write(report_path)
        return ImportResult(file_name, report, report_path.read_bytes())
