"""Import members (批量导入): upload a CSV or .xlsx file; the importer checks and stores each row.

The rules are ``operational.importers.members.import_members``'s (validation, re-import adds
nothing, every bad row reported); this page writes the upload to a temporary file, runs the
importer with a progress bar, and shows the counts, the problems and the report to download
(the importer's CSV report, UTF-8 with BOM so Excel shows Chinese).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import error_text
from dashboards.i18n import format_int, t
from dashboards.importing import ImportResult, run_import
from operational.services.common import ServiceError

RESULT_KEY = "import_result"


def _show(result: ImportResult) -> None:
    report = result.report
    st.success(t("import.done", name=result.file_name, format=report.file_format))
    rows, imported, present, rejected = st.columns(4)
    rows.metric(t("import.rows"), format_int(report.rows))
    imported.metric(t("import.imported"), format_int(report.imported))
    present.metric(t("import.already_present"), format_int(report.already_present))
    rejected.metric(t("import.rejected"), format_int(report.rejected))
    if report.warnings:
        st.markdown(f"**{t('import.warnings')}**")
        st.dataframe(_frame(report.warnings), hide_index=True, key="import_warnings")
    if report.problems:
        st.markdown(f"**{t('import.problems')}**")
        st.dataframe(_frame(report.problems), hide_index=True, key="import_problems")
    else:
        st.caption(t("import.no_problems"))
    st.download_button(
        t("import.download"),
        data=result.report_csv,
        file_name=f"{Path(result.file_name).stem}-report.csv",
        mime="text/csv",
        icon=":material/download:",
        key="import_download",
    )


def _field_label(field: str) -> str:
    label = t(f"field.{field}")
    return field if label == f"field.{field}" else label


def _frame(problems) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("import.col.row"): [p.row for p in problems],
            t("import.col.field"): [_field_label(p.field) for p in problems],
            t("import.col.problem"): [p.problem for p in problems],
        }
    )


actor = require_page("import")
settings = get_settings()
st.title(t("import.title"))
st.caption(t("import.hint"))
uploaded = st.file_uploader(t("import.file"), type=["csv", "xlsx"], key="import_file")
if uploaded is not None and st.button(
    t("import.run"), type="primary", icon=":material/upload:", key="import_run"
):
    st.session_state.pop(RESULT_KEY, None)
    bar = st.progress(0.0, text=t("import.running", name=uploaded.name))

    def _progress(done: int, total: int | None) -> None:
        if done % 25 and done != total:
            return
        if total:
            bar.progress(
                min(done / total, 1.0), text=t("import.progress_of", done=done, total=total)
            )
        else:
            bar.progress(0.5, text=t("import.progress", done=done))

    try:
        st.session_state[RESULT_KEY] = run_import(
            settings.database_url, actor, uploaded.getvalue(), uploaded.name, _progress
        )
    except ServiceError as error:
        bar.empty()
        st.error(f"{t('import.failed')}: {error_text(error)}", icon=":material/error:")
        st.caption(t("import.detail", message=error.message))
        st.stop()
    bar.empty()

result: ImportResult | None = st.session_state.get(RESULT_KEY)
if result is not None:
    _show(result)
