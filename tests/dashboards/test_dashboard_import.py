"""The Import members page: the helper the page runs on an upload (AppTest cannot drive
st.file_uploader; the browser test uploads a file), and the page itself."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from smallclub import signed_in
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from dashboards.importing import run_import
from operational.db import make_engine
from operational.idnumber import compute_check_digit
from operational.models import Member
from operational.services.common import Actor

IMPORT_PAGE = Path(__file__).resolve().parents[2] / "dashboards" / "views" / "import_members.py"
GOOD = "11010519850101123"
GOOD_ID = GOOD + compute_check_digit(GOOD)
BAD_ID = GOOD + next(d for d in "0123456789" if d != GOOD_ID[-1])
CSV_TEXT = (
    "姓名,身份证号,手机,入会日期\n"
    f"孙悟空,{GOOD_ID},１３９ ０００１ ２３４５,2024-03-01\n"
    f"猪八戒,{BAD_ID},13900012346,2024-03-02\n"
    "沙和尚,,12345,2024-03-03\n"
)


def _run_import():
    return run_import


def _members(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Member))
    engine.dispose()
    return count


def test_an_uploaded_gbk_csv_is_imported_once_and_reported(small_club: Settings) -> None:
    run_import = _run_import()
    url = small_club.database_url
    before = _members(url)
    seen: list[tuple[int, int | None]] = []
    result = run_import(
        url,
        Actor("clerk", "staff"),
        CSV_TEXT.encode("gbk"),
        "新会员.csv",
        lambda done, total: seen.append((done, total)),
    )
    report = result.report
    assert (report.rows, report.imported, report.already_present, report.rejected) == (3, 1, 0, 2)
    assert _members(url) == before + 1
    assert seen and seen[-1][0] == 3
    assert result.report_csv.startswith("\ufeff".encode())  # BOM: Excel shows the Chinese
    rows = list(csv.reader(io.StringIO(result.report_csv.decode("utf-8-sig"))))
    problems = {(row[0], row[1]) for row in rows[1:]}
    assert ("3", "id_number") in problems and ("4", "mobile") in problems
    assert any(f"expected {GOOD_ID[-1]}" in row[2] for row in rows[1:])

    again = run_import(url, Actor("clerk", "staff"), CSV_TEXT.encode("gbk"), "新会员.csv").report
    assert (again.imported, again.already_present, again.rejected) == (0, 1, 2)
    assert _members(url) == before + 1


def test_a_file_without_a_name_column_is_refused_before_anything_is_written(
    small_club: Settings,
) -> None:
    run_import = _run_import()
    try:
        run_import(
            small_club.database_url, Actor("clerk", "staff"), b"mobile\n13900000000\n", "x.csv"
        )
    except Exception as error:  # noqa: BLE001
        assert getattr(error, "code", None) == "missing_column"
    else:
        raise AssertionError("a file without names was imported")


def test_the_page_offers_the_upload_in_both_languages(small_club: Settings) -> None:
    for locale, title in (("zh_CN", "批量导入会员"), ("en_US", "Import members")):
        page = AppTest.from_file(str(IMPORT_PAGE), default_timeout=30)
        signed_in(page, "staff")
        page.session_state["locale"] = locale
        page.run()
        assert not page.exception
        assert page.title[0].value == title


def test_analysts_may_not_import(small_club: Settings) -> None:
    page = AppTest.from_file(str(IMPORT_PAGE), default_timeout=30)
    signed_in(page, "analyst")
    page.run()
    assert "无权" in page.error[0].value
