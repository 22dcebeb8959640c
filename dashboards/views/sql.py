"""SQL (SQL 查询): analysts query the published warehouse read-only.

One read-only statement at a time (``dashboards.data.sql_page`` refuses writes, several
statements, the ``restricted`` schema and file-reading functions, each with its reason), at
most the row limit back, stopped after :data:`~dashboards.data.sql_page.DEFAULT_TIMEOUT_SECONDS`.
A schema browser beside it lists the schemas, tables and columns with dbt's descriptions.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clubcrm.published import NoPublishedWarehouse, published_path
from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.charts import csv_bytes, excel_bytes
from dashboards.data import sql_page
from dashboards.data.sql_page import QueryFailed, QueryRefused, QueryResult, QueryTimedOut
from dashboards.i18n import format_int, t

RESULT_KEY = "sql_result"
QUERY_KEY = "sql_query"
EXAMPLE = "select tier, count(*) as members\nfrom core.dim_members\ngroup by tier\norder by 2 desc"


@st.cache_data(ttl=300, show_spinner=False)
def _tables(published: str) -> list[sql_page.Table]:
    """The schema browser's contents, per published file (a new run gives a new file)."""
    return sql_page.schema_tables(get_settings())


def _schema_browser(tables: list[sql_page.Table]) -> None:
    st.subheader(t("sql.schema.title"))
    if not tables:
        st.info(t("sql.schema.empty"))
        return
    schemas = sorted({table.schema for table in tables})
    schema = st.selectbox(t("sql.schema.schema"), schemas, key="sql_schema")
    in_schema = {table.name: table for table in tables if table.schema == schema}
    name = st.selectbox(t("sql.schema.table"), list(in_schema), key=f"sql_table_{schema}")
    table = in_schema[name]
    st.markdown(f"`{table.schema}.{table.name}`")
    if table.description:
        st.caption(table.description)
    st.dataframe(
        pd.DataFrame(
            table.columns,
            columns=[t("sql.col.column"), t("sql.col.type"), t("sql.col.description")],
        ),
        hide_index=True,
        key="sql_columns",
    )


def _refusal(refusal: QueryRefused) -> str:
    reason = refusal.reason
    if reason == "file_access" and refusal.detail:
        reason = "file_function"
    key = f"sql.refused.{reason}"
    text = t(key, detail=refusal.detail or "")
    if refusal.reason in ("syntax",):
        text += f"\n\n```\n{refusal}\n```"
    return text


def _run(query: str, limit: int) -> None:
    try:
        result = sql_page.run_sql(
            get_settings(), query, limit=limit, timeout=sql_page.DEFAULT_TIMEOUT_SECONDS
        )
    except QueryRefused as refusal:
        st.session_state.pop(RESULT_KEY, None)
        st.error(_refusal(refusal), icon=":material/block:")
        return
    except QueryTimedOut as stopped:
        st.session_state.pop(RESULT_KEY, None)
        st.error(t("sql.timeout", seconds=f"{stopped.seconds:g}"), icon=":material/timer_off:")
        return
    except QueryFailed as failed:
        st.session_state.pop(RESULT_KEY, None)
        st.error(t("sql.failed") + f"\n\n```\n{failed}\n```", icon=":material/error:")
        return
    st.session_state[RESULT_KEY] = result


def _show(result: QueryResult) -> None:
    rows = format_int(len(result.frame))
    if result.truncated:
        st.warning(t("sql.truncated", limit=format_int(result.limit)), icon=":material/info:")
    else:
        st.caption(t("sql.rows", rows=rows, seconds=f"{result.seconds:.2f}"))
    st.dataframe(result.frame, hide_index=True, key="sql_result_table")
    export = sql_page.export_ready(result.frame)
    left, right, _ = st.columns([1, 1, 3])
    left.download_button(
        t("sql.download_csv"),
        csv_bytes(export),
        file_name="query.csv",
        mime="text/csv",
        key="sql_csv",
        icon=":material/download:",
    )
    right.download_button(
        t("sql.download_excel"),
        excel_bytes(export, "query"),
        file_name="query.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="sql_xlsx",
        icon=":material/table_view:",
    )


actor = require_page("sql")
st.title(t("sql.title"))
st.caption(
    t(
        "sql.help",
        seconds=sql_page.DEFAULT_TIMEOUT_SECONDS,
        limit=format_int(sql_page.DEFAULT_ROW_LIMIT),
    )
)
settings = get_settings()
try:
    tables = _tables(str(published_path(settings)))
except NoPublishedWarehouse:
    st.info(t("sql.no_warehouse"), icon=":material/hourglass_empty:")
    st.stop()

editor, browser = st.columns([3, 2])
with browser:
    _schema_browser(tables)
with editor:
    with st.form("sql_form"):
        query = st.text_area(t("sql.query"), value=EXAMPLE, height=200, key=QUERY_KEY)
        limit = st.number_input(
            t("sql.limit"),
            min_value=1,
            max_value=sql_page.DEFAULT_ROW_LIMIT * 10,
            value=sql_page.DEFAULT_ROW_LIMIT,
            step=1000,
            key="sql_limit",
        )
        submitted = st.form_submit_button(
            t("sql.run"), type="primary", icon=":material/play_arrow:"
        )
    if submitted:
        with st.spinner(t("sql.running")):
            _run(query, int(limit))
result = st.session_state.get(RESULT_KEY)
if isinstance(result, QueryResult):  # below both columns: the whole width for wide results
    _show(result)
