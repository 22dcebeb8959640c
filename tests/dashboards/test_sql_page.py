"""The analysts' SQL page: what may run (dashboards.data.sql_page) and the page (AppTest) in both
languages, on the small published warehouse of ``small_warehouse``."""

from __future__ import annotations

import time

import pytest
from smallclub import click, open_page
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from dashboards.data import sql_page
from dashboards.data.sql_page import QueryFailed, QueryRefused, QueryTimedOut

BROWSER_HEADERS = (["Column", "Type", "Description"], ["列", "类型", "说明"])


def _result(page: AppTest):
    """The query's result table (the other table is the schema browser's)."""
    return next(df.value for df in page.dataframe if list(df.value.columns) not in BROWSER_HEADERS)


def _browser(page: AppTest):
    return next(df.value for df in page.dataframe if list(df.value.columns) in BROWSER_HEADERS)


def _query(page: AppTest, sql: str, button: str = "Run query") -> AppTest:
    page.text_area(key="sql_query").input(sql)
    return click(page, button)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("insert into core.dim_members (member_no) values ('X')", "not_read_only"),
        ("update core.dim_members set tier = 'vip'", "not_read_only"),
        ("create table core.t as select 1", "not_read_only"),
        ("attach 'other.duckdb' as other", "not_read_only"),
        ("copy core.dim_members to 'members.csv'", "not_read_only"),
        ("select 1; drop table core.dim_members", "several"),
        ("select * from restricted.member_contacts", "restricted"),
        ('select * from "RESTRICTED".member_contacts', "restricted"),
        ("select * from read_csv('/etc/passwd')", "file_access"),
        ("select * from READ_TEXT ('/etc/hostname')", "file_access"),
        ("select * from '/etc/passwd'", "file_access"),
        ("", "empty"),
    ],
)
def test_anything_but_one_read_only_query_on_the_warehouse_is_refused(
    sql: str, reason: str
) -> None:
    with pytest.raises(QueryRefused) as refused:
        sql_page.check_query(sql)
    assert refused.value.reason == reason


def test_a_comment_or_text_naming_restricted_does_not_refuse_the_query() -> None:
    statement = sql_page.check_query("-- not restricted.x\nselect 1 as one")
    assert "select 1" in statement
    sql_page.check_query("select 'see restricted.member_contacts or read_csv(x)' as note")


def test_only_the_first_rows_up_to_the_limit_come_back(small_warehouse: Settings) -> None:
    result = sql_page.run_sql(small_warehouse, "select * from range(25) r(n)", limit=10)
    assert result.truncated and len(result.frame) == 10
    members = sql_page.run_sql(small_warehouse, "select count(*) n from core.dim_members")
    count = int(members.frame["n"][0])
    full = sql_page.run_sql(small_warehouse, "select * from core.dim_members", limit=count)
    assert not full.truncated and len(full.frame) == count


def test_a_long_query_is_stopped_after_its_time_limit(small_warehouse: Settings) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimedOut) as stopped:
        sql_page.run_sql(
            small_warehouse,
            "select count(*) from range(1000000) a, range(1000000) b",
            timeout=0.5,
        )
    assert str(stopped.value) == "query stopped after 0.5 s"
    assert time.monotonic() - started < 10


def test_a_mistake_in_the_query_gives_duckdbs_message(small_warehouse: Settings) -> None:
    with pytest.raises(QueryFailed, match="no_such_column"):
        sql_page.run_sql(small_warehouse, "select no_such_column from core.dim_members")


def test_the_schema_browser_describes_columns_from_the_dbt_manifest(
    small_warehouse: Settings, tmp_path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        '{"nodes": {"model.x.dim_members": {"resource_type": "model", "schema": "core",'
        ' "name": "dim_members", "alias": "dim_members", "description": "One row per member.",'
        ' "columns": {"tier": {"description": "Membership tier."}}}}, "sources": {}}',
        encoding="utf-8",
    )
    tables = {(t.schema, t.name): t for t in sql_page.schema_tables(small_warehouse, manifest)}
    members = tables[("core", "dim_members")]
    assert members.description == "One row per member."
    assert ("tier", "VARCHAR", "Membership tier.") in members.columns
    assert ("reporting", "member_overview") in tables
    assert all(schema != "restricted" for schema, _ in tables)


def test_an_analyst_runs_a_query_and_downloads_it(small_warehouse: Settings) -> None:
    page = open_page("sql", role="analyst", locale="en_US")
    assert not page.exception
    page = _query(page, "select tier, count(*) as members from core.dim_members group by 1")
    assert not page.exception and not page.error
    assert sorted(_result(page).columns) == ["members", "tier"]
    count = sql_page.run_sql(small_warehouse, "select count(*) n from core.dim_members")
    assert int(_result(page)["members"].sum()) == int(count.frame["n"][0]) > 0
    assert any(c.value.endswith(" s.") and "rows in" in c.value for c in page.caption)
    labels = [b.label for b in page.get("download_button")]
    assert labels == ["Download CSV", "Download Excel"]


def test_more_rows_than_the_limit_say_first_n_rows(small_warehouse: Settings) -> None:
    page = open_page("sql", role="manager", locale="en_US")
    page.number_input(key="sql_limit").set_value(3)
    page = _query(page, "select * from range(10)")
    assert page.warning[0].value == "More rows than the limit: showing the first 3 rows."
    assert len(_result(page)) == 3


def test_a_write_is_refused_in_chinese(small_warehouse: Settings) -> None:
    page = open_page("sql", role="analyst")
    page = _query(page, "delete from core.dim_members", "执行查询")
    assert not page.exception
    assert page.error[0].value.startswith("不允许执行 DELETE 语句：这里的数据仓库只读")
    page = _query(page, "select * from read_parquet('x.parquet')", "执行查询")
    assert page.error[0].value.startswith("read_parquet() 会读取文件")


def test_the_schema_browser_lists_the_tables_in_both_languages(small_warehouse: Settings) -> None:
    page = open_page("sql", role="admin", locale="en_US")
    page.selectbox(key="sql_schema").set_value("core")
    page = page.run()
    page.selectbox(key="sql_table_core").set_value("dim_members")
    page = page.run()
    columns = _browser(page)
    assert "member_no" in list(columns["Column"])
    page = open_page("sql", role="admin")
    columns = _browser(page)
    assert list(columns.columns) == ["列", "类型", "说明"]


def test_staff_are_refused_and_a_missing_warehouse_is_explained(small_club: Settings) -> None:
    page = open_page("sql", role="staff", locale="en_US")
    assert "may not open this page" in page.error[0].value
    page = open_page("sql", role="analyst", locale="en_US")
    assert not page.exception
    assert "No published warehouse yet" in page.info[0].value


def test_a_file_reading_query_is_refused_in_english(small_warehouse: Settings) -> None:
    page = open_page("sql", role="analyst", locale="en_US")
    page = _query(page, "select * from read_csv_auto('/etc/passwd')")
    assert page.error[0].value == (
        "read_csv_auto() reads files and is not allowed: query the warehouse's tables."
    )
    page = _query(page, "select * from '/etc/passwd'")
    assert page.error[0].value.startswith("Reading files is not allowed")
    page = _query(page, "select * from restricted.member_contacts")
    assert page.error[0].value.startswith("The restricted schema (unmasked personal data)")
    page = _query(page, "select nope from core.dim_members")
    assert page.error[0].value.startswith("The query could not run; check the SQL:")
    assert "nope" in page.error[0].value


def test_a_query_over_the_time_limit_is_stopped_in_chinese(
    small_warehouse: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_page, "DEFAULT_TIMEOUT_SECONDS", 0.5)
    page = open_page("sql", role="analyst")
    page = _query(page, "select count(*) from range(1000000) a, range(1000000) b", "执行查询")
    assert not page.exception
    assert page.error[0].value.startswith("查询超过 0.5 秒，已停止。")
