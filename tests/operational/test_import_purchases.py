"""Importing purchase history (operational.importers.purchases, ``clubcrm import purchases``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clubcrm.cli import main
from operational.db import make_engine
from operational.importers.purchases import import_purchases
from operational.models import Member, PointEntry, Purchase

HEADER = [
    "会员编号",
    "成交日期",
    "成交金额",
    "到账金额",
    "数量",
    "产品",
    "销售渠道",
    "地区",
    "置业顾问",
    "成交类型",
]
GOOD = [
    ["M00000001", "2024-05-01 10:00", "250000", "", "1", "Villa A", "案场", "北京", "张三", "新购"],
    ["M00000001", "2024/6/1", "120000", "60000", "", "Parking", "online", "", "", "追加"],
    ["m00000002", "2024-07-01", "99", "99", "", "Tea", "", "", "", ""],
]
BAD = [
    ["M00000001", "not a date", "100", "", "", "Villa B", "", "", "", ""],  # row 5
    ["M00000001", "2024-07-01", "1.234", "", "", "Villa C", "", "", "", ""],  # row 6
    ["M00000001", "2024-07-01", "100", "", "", "Villa D", "carrier pigeon", "", "", ""],  # row 7
    ["M00000099", "2024-07-01", "100", "", "", "Villa E", "", "", "", ""],  # row 8: unknown
    ["X12", "2024-07-01", "100", "", "", "Villa F", "", "", "", "gift"],  # row 9
]


@pytest.fixture
def factory(op_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        seeding.add(Member(member_no="M00000001", name="王小明", joined_at=date(2020, 1, 1)))
        seeding.add(Member(member_no="M00000002", name="李小红", joined_at=date(2020, 1, 1)))
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def test_good_rows_land_bad_rows_are_reported_and_a_reimport_adds_nothing(
    factory, tmp_path
) -> None:
    path = write_csv(tmp_path / "sales.csv", HEADER, GOOD + BAD)
    report = import_purchases(factory, path)
    assert (report.imported, report.rejected) == (3, 5)
    assert report.rejected_rows == [5, 6, 7, 8, 9]
    fields = {(p.row, p.field) for p in report.problems}
    assert {(5, "purchased_at"), (6, "amount"), (7, "channel"), (8, "member_no")} <= fields
    assert {(9, "member_no"), (9, "purchase_type")} <= fields
    assert report.summary_lines()[-1] == "imported: 3, rejected: 5"
    with factory() as session:
        purchases = session.scalars(select(Purchase).order_by(Purchase.purchased_at)).all()
        assert [(p.amount, p.paid_amount, p.purchase_type, p.channel) for p in purchases] == [
            (250000, 250000, "new", "sales_site"),
            (120000, 60000, "additional", "online"),
            (99, 99, "new", None),
        ]
        assert purchases[0].purchased_at.hour == 2  # 10:00 Beijing is 02:00 UTC
        # Only the fully paid purchase of 100 yuan or more earns points.
        entries = session.scalars(select(PointEntry)).all()
        assert [(e.points, e.event_type) for e in entries] == [(2500, "purchase")]

    again = import_purchases(factory, path)
    assert (again.imported, again.already_present, again.rejected) == (0, 3, 5)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Purchase)) == 3
        assert session.scalar(select(func.count()).select_from(PointEntry)) == 1


def test_purchase_numbers_and_duplicates_within_a_file(factory, tmp_path) -> None:
    header = [*HEADER, "成交编号"]
    rows = [
        [*GOOD[0], "S-1"],
        [*GOOD[1], "S-1"],  # same number in the file
        GOOD[2] + [""],
        GOOD[2] + [""],  # same content, no number
    ]
    report = import_purchases(factory, write_csv(tmp_path / "s.csv", header, rows))
    assert (report.imported, report.rejected_rows) == (2, [3, 5])
    assert all(p.field == "purchase_no" for p in report.problems)
    with factory() as session:
        assert session.scalar(select(Purchase.id).where(Purchase.purchase_no == "S-1"))


def test_create_members_creates_incomplete_members(factory, tmp_path) -> None:
    rows = [
        ["M00000077", "2024-07-01", "5000", "", "", "Villa", "", "", "", ""],
        ["M00000077", "2024-08-01", "100", "", "", "Tea", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "legacy.csv", HEADER, rows)
    report = import_purchases(factory, path, create_members=True)
    assert (report.imported, report.rejected) == (2, 0), report.summary_lines()
    with factory() as session:
        member = session.scalar(select(Member).where(Member.member_no == "M00000077"))
        assert member is not None and member.is_incomplete
        assert member.joined_at == date(2024, 7, 1)
        assert (
            session.scalar(
                select(func.sum(PointEntry.points)).where(PointEntry.member_id == member.id)
            )
            == 51
        )


def test_the_command_prints_a_summary_and_writes_the_report(
    op_db_url, factory, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("CLUBCRM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLUBCRM_DATABASE_URL", op_db_url)
    path = write_csv(tmp_path / "sales.csv", HEADER, GOOD + BAD)
    report_path = tmp_path / "out" / "report.csv"
    runner = CliRunner()
    result = runner.invoke(main, ["import", "purchases", str(path), "--report", str(report_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "imported: 3, rejected: 5"
    with report_path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert {int(r["row"]) for r in lines} == {5, 6, 7, 8, 9}

    created = runner.invoke(main, ["import", "purchases", str(path), "--create-members"])
    assert created.exit_code == 0, created.output
    assert "already present (skipped): 3" in created.stdout
    assert created.stdout.splitlines()[-1] == "imported: 1, rejected: 4"
