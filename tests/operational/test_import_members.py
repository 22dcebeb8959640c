"""Importing members from CSV (UTF-8/GBK) and .xlsx files (operational.importers.members).

Files are built inside the tests (openpyxl, ``encode("gbk")``); nothing binary is committed.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clubcrm.cli import main
from operational.db import make_engine
from operational.idnumber import compute_check_digit
from operational.importers.members import import_members
from operational.importers.tabular import ImportFileError, ImportReport
from operational.models import Member, MemberPointBalance, PointEntry
from operational.names import name_key
from operational.services.common import SYSTEM, next_number

TODAY = date(2025, 6, 30)
HEADER = [
    "会员编号",
    "姓名",
    "身份证号码",
    "手机号码",
    "家庭电话",
    "邮箱",
    "地区",
    "入会渠道",
    "入会日期",
    "会员等级",
    "开户积分",
]


def valid_id(first17: str) -> str:
    return first17 + compute_check_digit(first17)


def wrong_check_digit(first17: str) -> tuple[str, str]:
    """An ID number with a wrong last character, and the character it should have."""
    expected = compute_check_digit(first17)
    wrong = "0" if expected != "0" else "1"
    return first17 + wrong, expected


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


WANG_ID = valid_id("11010519491231002")
LI_ID = valid_id("31010119800101001")
ZHANG_ID, ZHANG_EXPECTED = wrong_check_digit("44030119900315123")
ZHOU_ID = valid_id("32010219851120456")

# The acceptance file: three good rows, four bad ones (each for its own reason).
ROWS: list[list[object]] = [
    # row 2: full-width ID number and mobile, +86 and spaces
    [
        "",
        "王小明",
        full_width(WANG_ID[:17] + "x"),  # lower-case x, full width
        "＋８６ １３８ ００１３ ８０００",
        "010-62345678",
        "wang@example.com",
        "北京",
        "外部网站",
        "2024-05-01",
        "VIP",
        "1000",
    ],
    # row 3
    ["", "李小红", LI_ID, "13912345678", "", "", "上海", "案场", "2024/5/2", "普通", "0"],
    # row 4: wrong check digit
    ["", "张伟", ZHANG_ID, "13711112222", "", "", "", "", "2024-05-03", "", ""],
    # row 5: bad mobile (10 digits), no ID number
    ["", "赵四", "", "1391234567", "", "", "", "", "", "", ""],
    # row 6: no name
    ["", "", ZHOU_ID, "13600001111", "", "", "", "", "", "", ""],
    # row 7: the same person as row 2 again
    ["", "王晓明", WANG_ID, "13800138001", "", "", "", "", "", "", ""],
    # row 8: no ID number, an explicit member number, a Chinese date
    ["M00000500", "钱七", "", "13500000000", "", "", "", "", "2023年1月1日", "普通会员", "200"],
]
GOOD_ROWS = {2: "王小明", 3: "李小红", 8: "钱七"}
BAD_ROWS = {4: "id_number", 5: "mobile", 6: "name", 7: "id_number"}


@pytest.fixture
def factory(op_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(op_db_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


# -- building files ----------------------------------------------------------------------------
def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], encoding="gbk"
) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append([None if value == "" else value for value in row])
    workbook.save(path)
    return path


def as_excel_cells(rows: Sequence[Sequence[object]]) -> list[list[object]]:
    """The rows as Excel would type them: dates as dates, plain numbers as numbers."""
    typed = []
    for row in rows:
        cells = list(row)
        joined = cells[8]
        if isinstance(joined, str) and joined.count("-") == 2:
            cells[8] = datetime.fromisoformat(joined)
        if isinstance(cells[3], str) and cells[3].isdigit() and cells[3].isascii():
            cells[3] = int(cells[3])  # a mobile typed into a number cell
        if cells[10] not in ("", None):
            cells[10] = float(cells[10])  # Excel numbers are floats
        typed.append(cells)
    return typed


def acceptance_file(tmp_path: Path, fmt: str) -> Path:
    if fmt == "csv-gbk":
        return write_csv(tmp_path / "members.csv", HEADER, ROWS)
    return write_xlsx(tmp_path / "members.xlsx", HEADER, as_excel_cells(ROWS))


def run(factory, path: Path, **kwargs) -> ImportReport:
    return import_members(factory, path, today=TODAY, **kwargs)


def members(factory) -> dict[str, Member]:
    with factory() as session:
        return {m.name: m for m in session.scalars(select(Member))}


def opening_entries(factory) -> list[tuple[str, int, str]]:
    with factory() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(Member.member_no, PointEntry.points, PointEntry.idempotency_key)
                .join(Member, Member.id == PointEntry.member_id)
                .where(PointEntry.event_type == "opening")
                .order_by(Member.member_no)
            )
        ]


# -- the acceptance case ------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv-gbk", "xlsx"])
def test_good_rows_land_once_and_each_bad_row_is_reported(factory, tmp_path, fmt) -> None:
    path = acceptance_file(tmp_path, fmt)

    first = run(factory, path)

    assert (first.rows, first.imported, first.already_present) == (7, 3, 0)
    assert first.rejected == 4
    assert {(p.row, p.field) for p in first.problems} == set(BAD_ROWS.items())
    problems = {p.row: p.problem for p in first.problems}
    assert f"expected {ZHANG_EXPECTED}" in problems[4]
    assert "11 digits" in problems[5]
    assert "name" in problems[6] and "required" in problems[6]
    assert "same ID number as row 2" in problems[7]

    stored = members(factory)
    assert set(stored) == set(GOOD_ROWS.values())
    wang = stored["王小明"]
    assert wang.id_number == WANG_ID and wang.id_number.endswith("X")
    assert wang.mobile == "13800138000"
    assert (wang.tier, wang.channel, wang.region) == ("vip", "website", "11")
    assert (wang.gender, wang.birthday) == ("F", date(1949, 12, 31))
    assert wang.joined_at == date(2024, 5, 1)
    assert wang.name_key == name_key("王小明")
    li = stored["李小红"]
    assert (li.tier, li.channel, li.region, li.joined_at) == (
        "ordinary",
        "sales_site",
        "31",
        date(2024, 5, 2),
    )
    qian = stored["钱七"]
    assert (qian.member_no, qian.joined_at, qian.id_number) == (
        "M00000500",
        date(2023, 1, 1),
        None,
    )
    entries = opening_entries(factory)
    assert entries == sorted(
        [
            (wang.member_no, 1000, f"opening:{wang.member_no}"),
            ("M00000500", 200, "opening:M00000500"),
        ]
    )
    with factory() as session:  # each opening entry names its source file and row
        reasons = set(
            session.scalars(select(PointEntry.reason).where(PointEntry.event_type == "opening"))
        )
    assert len(reasons) == 2
    assert all(path.name in r and ", row " in r for r in reasons)

    second = run(factory, path)

    assert (second.imported, second.already_present, second.rejected) == (0, 3, 4)
    assert second.problems == first.problems
    assert members(factory).keys() == stored.keys()
    assert opening_entries(factory) == entries
    with factory() as session:
        balances = dict(
            session.execute(
                select(Member.name, MemberPointBalance.balance).join(
                    MemberPointBalance, MemberPointBalance.member_id == Member.id
                )
            ).all()
        )
    assert balances == {"王小明": 1000, "李小红": 0, "钱七": 200}


def test_a_utf8_file_with_bom_and_english_headers_reads_the_same(factory, tmp_path) -> None:
    header = [
        "Member No",
        "NAME",
        "id_number",
        "Mobile",
        "home phone",
        "E-mail",
        "region",
        "channel",
        "joined_at",
        "tier",
        "opening points",
    ]
    path = write_csv(tmp_path / "m.csv", header, ROWS, encoding="utf-8-sig")
    report = run(factory, path)
    assert (report.file_format, report.imported, report.rejected) == ("CSV, UTF-8", 3, 4)
    assert report.warnings == []


# -- numbers Excel mangles -----------------------------------------------------------------------
def test_an_id_number_that_excel_stored_as_a_number_is_not_trusted(factory, tmp_path) -> None:
    header = ["姓名", "身份证号", "手机"]
    rows = [
        ["王小明", WANG_ID, 13800138000],  # text cell; the mobile as a number is exact
        ["李小红", float(LI_ID), 13912345678],  # number cells keep 15-16 significant digits
        ["周一", int(ZHOU_ID), 13600001111],
    ]
    report = run(factory, write_xlsx(tmp_path / "ids.xlsx", header, rows))
    assert report.imported == 1
    assert [(p.row, p.field) for p in report.problems] == [(3, "id_number"), (4, "id_number")]
    for problem in report.problems:
        assert "lost digits" in problem.problem and "Text" in problem.problem
    assert members(factory)["王小明"].mobile == "13800138000"

    saved_by_excel = write_csv(tmp_path / "ids.csv", header, [["李小红", "3.10101E+17", ""]])
    report = run(factory, saved_by_excel)
    assert report.imported == 0
    assert "scientific notation" in report.problems[0].problem


# -- member numbers and existing members --------------------------------------------------------
def test_member_numbers_given_are_kept_checked_and_never_handed_out_again(
    factory, tmp_path
) -> None:
    header = ["member_no", "name", "mobile"]
    run(factory, write_csv(tmp_path / "a.csv", header, [["", "甲", "13500000001"]]))
    report = run(
        factory,
        write_csv(
            tmp_path / "b.csv",
            header,
            [["ｍ００００１２００", "乙", "13500000002"], ["A-17", "丙", "13500000003"]],
        ),
    )
    assert report.imported == 1
    assert [(p.row, p.field) for p in report.problems] == [(3, "member_no")]
    assert "M followed by digits" in report.problems[0].problem
    stored = members(factory)
    assert stored["甲"].member_no == "M00000001"
    assert stored["乙"].member_no == "M00001200"
    with factory.begin() as session:
        assert next_number(session, "member_no", Member.member_no, prefix="M") == "M00001201"


def test_rows_matching_existing_members_are_skipped_or_rejected(factory, tmp_path) -> None:
    header = ["会员编号", "姓名", "身份证号", "手机"]
    run(
        factory,
        write_csv(
            tmp_path / "first.csv",
            header,
            [["M00000010", "王小明", WANG_ID, ""], ["", "赵四", "", "13911112222"]],
        ),
    )
    report = run(
        factory,
        write_csv(
            tmp_path / "second.csv",
            header,
            [
                ["", "王小明", WANG_ID, "13800138000"],  # 2: known ID -> already present
                ["", "赵四", "", "+86 139 1111 2222"],  # 3: same name and mobile -> present
                ["M00000010", "李小红", LI_ID, ""],  # 4: number of another person
                ["", "赵四", "", "13911113333"],  # 5: same name, other mobile -> new member
            ],
        ),
    )
    assert (report.imported, report.already_present) == (1, 2)
    assert [(p.row, p.field) for p in report.problems] == [(4, "member_no")]
    assert "belongs to a different person" in report.problems[0].problem

    known_id_other_number = [["M00000099", "王小明", WANG_ID, ""]]
    report = run(factory, write_csv(tmp_path / "third.csv", header, known_id_other_number))
    assert [(p.row, p.field) for p in report.problems] == [(2, "member_no")]
    assert "already belongs to member M00000010" in report.problems[0].problem
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 3


def test_an_interrupted_import_completes_on_the_next_run(factory, tmp_path) -> None:
    header = ["姓名", "手机号", "开户积分"]
    rows = [[f"会员{n}", f"1350000{n:04d}", 10 * n] for n in range(1, 8)]
    path = write_csv(tmp_path / "big.csv", header, rows)

    def stop_at_row_five(done: int, total: int | None) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(factory, path, batch_size=2, progress=stop_at_row_five)
    assert len(members(factory)) == 4  # two batches of two were committed, row 5 was not
    assert len(opening_entries(factory)) == 4

    report = run(factory, path, batch_size=2)
    assert (report.imported, report.already_present, report.rejected) == (3, 4, 0)
    assert len(members(factory)) == 7
    assert sorted(points for _, points, _ in opening_entries(factory)) == [
        10,
        20,
        30,
        40,
        50,
        60,
        70,
    ]


def test_two_imports_of_one_file_at_once_store_each_member_once(factory, tmp_path) -> None:
    header = ["姓名", "身份证号", "手机号"]
    rows = [[f"会员{n}", "", f"1350000{n:04d}"] for n in range(1, 41)]  # no ID numbers
    rows += [["王小明", WANG_ID, ""], ["李小红", LI_ID, "13912345678"]]
    path = write_csv(tmp_path / "twice.csv", header, rows)
    barrier = threading.Barrier(2)
    reports: list[object] = [None, None]

    def work(index: int) -> None:
        barrier.wait()
        try:
            reports[index] = run(factory, path, batch_size=7)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            reports[index] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, ImportReport) for r in reports), reports
    assert sum(r.imported for r in reports) == 42
    assert sum(r.already_present for r in reports) == 42
    assert all(r.rejected == 0 for r in reports)
    assert len(members(factory)) == 42


def test_an_import_inside_the_callers_transaction_commits_nothing_itself(factory, tmp_path) -> None:
    path = acceptance_file(tmp_path, "csv-gbk")
    with factory() as session:
        report = import_members(session, path, actor=SYSTEM, today=TODAY)
        assert report.imported == 3
        session.rollback()
    assert members(factory) == {}


# -- files that cannot be imported ----------------------------------------------------------------
def test_files_that_cannot_be_read_are_refused_whole(factory, tmp_path) -> None:
    no_name = write_csv(tmp_path / "no_name.csv", ["手机号", "身份证号"], [["13800138000", ""]])
    with pytest.raises(ImportFileError) as missing:
        run(factory, no_name)
    assert "name" in missing.value.message and "姓名" in missing.value.message

    garbled = tmp_path / "garbled.csv"
    garbled.write_bytes("姓名,手机\n".encode("gbk") + b"\xff\xfe\xff,1\n")
    with pytest.raises(ImportFileError) as encoding:
        run(factory, garbled)
    assert "UTF-8" in encoding.value.message

    old_excel = tmp_path / "members.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ImportFileError) as xls:
        run(factory, old_excel)
    assert ".xlsx" in xls.value.message
    assert members(factory) == {}


def test_unknown_columns_are_reported_once_and_ignored(factory, tmp_path) -> None:
    path = write_csv(
        tmp_path / "m.csv", ["姓名", "手机", "备注"], [["甲", "13500000001", "VIP客户"]] * 1
    )
    report = run(factory, path)
    assert report.imported == 1
    assert [(w.row, w.field) for w in report.warnings] == [(1, "备注")]


# -- the command line ------------------------------------------------------------------------------
@pytest.mark.parametrize("report_name", ["report.csv", "report.xlsx"])
def test_the_command_prints_a_summary_and_writes_the_report(
    op_db_url, tmp_path, monkeypatch, report_name
) -> None:
    monkeypatch.setenv("CLUBCRM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLUBCRM_DATABASE_URL", op_db_url)
    path = acceptance_file(tmp_path, "csv-gbk")
    report_path = tmp_path / "out" / report_name
    runner = CliRunner()

    result = runner.invoke(main, ["import", "members", str(path), "--report", str(report_path)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "imported: 3, rejected: 4"
    csv_report = report_path.with_suffix(".csv")
    assert csv_report.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    with csv_report.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert list(lines[0]) == ["row", "field", "problem"]
    assert {(int(r["row"]), r["field"]) for r in lines} == set(BAD_ROWS.items())
    assert any(f"expected {ZHANG_EXPECTED}" in r["problem"] for r in lines)
    if report_name.endswith(".xlsx"):
        sheet = load_workbook(report_path, read_only=True).worksheets[0]
        cells = list(sheet.iter_rows(values_only=True))
        assert cells[0] == ("row", "field", "problem")
        assert {(r[0], r[1]) for r in cells[1:]} == set(BAD_ROWS.items())

    again = runner.invoke(main, ["import", "members", str(path)])
    assert again.exit_code == 0, again.output
    assert "already present (skipped): 3" in again.stdout
    assert again.stdout.splitlines()[-1] == "imported: 0, rejected: 4"


def test_the_command_explains_an_unreadable_file(op_db_url, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLUBCRM_DATABASE_URL", op_db_url)
    runner = CliRunner()
    missing = runner.invoke(main, ["import", "members", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1
    assert "no such file" in missing.output

    no_name = write_csv(tmp_path / "bad.csv", ["手机号"], [["13800138000"]])
    refused = runner.invoke(main, ["import", "members", str(no_name)])
    assert refused.exit_code == 1
    assert "姓名" in refused.output and "Traceback" not in refused.output


def test_the_command_asks_for_init_on_an_empty_database(clubcrm_home, tmp_path) -> None:
    path = write_csv(tmp_path / "m.csv", ["姓名", "手机"], [["甲", "13500000001"]])
    result = CliRunner().invoke(main, ["import", "members", str(path)])
    assert result.exit_code == 1
    assert "clubcrm init" in result.output


@pytest.mark.parametrize("command", [["import"], ["import", "members"]])
def test_import_commands_explain_themselves(command) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and len(result.output.splitlines()) > 4
