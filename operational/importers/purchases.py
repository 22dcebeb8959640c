"""Bulk import of legacy purchase history (``clubcrm import purchases``).

Rules (ARCHITECTURE.md "Import files"; issue 4), the member import's report rules otherwise:

- Columns: member_no (required), purchased_at, amount, paid_amount (default: amount), quantity,
  product, channel, region, salesperson, purchase_type, and optionally purchase_no and name
  (used only for a member created by ``--create-members``), under English or Chinese headings
  (:data:`PURCHASE_COLUMNS`). Times without a zone are the club's local time (Asia/Shanghai).
- Each row goes through :func:`services.purchases.record_purchase` (same checks as the desk), and
  every problem of a bad row is reported (row, field, problem); good rows are imported
  regardless. A row is imported, already present, or rejected with its reasons.
- ``purchase_no`` is optional. Without it the row's key is derived from its content
  (``IMP-`` + 20 hex digits of a SHA-256 over member, time, amounts, quantity, product, channel,
  region, salesperson and type), so re-importing the same file adds nothing. A row whose
  purchase number exists already is *already present* (skipped); one whose number exists for a
  different member is rejected. Within one file a second row with the same purchase number (or
  the same content, without one) is rejected ("same purchase as row 7").
- ``channel`` is a sales channel (code or label); ``purchase_type`` new / additional / return or
  新购, 追加/加购/复购, 退货/退房 (default new).
- Fully paid rows post their purchase points once (key ``purchase:{id}``; see
  ``services/purchases.py``).
- An unknown member_no is a rejected row; with ``create_members=True`` it creates a minimal
  member (the number as given, the ``name`` column or the number as the name, channel
  ``purchase``, joined on the purchase day) flagged ``is_incomplete`` for a clerk to complete.
- Commits every ``batch_size`` rows read when given a session factory; each row is written
  under its own SAVEPOINT, so a row the database refuses is rejected alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.importers.members import _begin_write, _dictionary_words, _move_sequence_past
from operational.importers.tabular import (
    Column,
    ImportReport,
    Row,
    RowProblem,
    header_key,
    open_table,
)
from operational.models import Member, Purchase
from operational.names import clean_name
from operational.services.common import SYSTEM, Actor, ServiceError, ValidationFailed
from operational.services.lifecycle import create_member
from operational.services.points import CLUB_TIMEZONE
from operational.services.purchases import record_purchase
from operational.validation import Applicant, normalise_text

PURCHASE_COLUMNS: tuple[Column, ...] = (
    Column("member_no", ("会员编号", "会员号", "member number"), kind="code", required=True),
    Column("purchased_at", ("成交日期", "购买日期", "成交时间", "purchase date"), kind="datetime"),
    Column("amount", ("金额", "成交金额", "总价"), kind="decimal"),
    Column("paid_amount", ("已付金额", "到账金额", "paid"), kind="decimal"),
    Column("quantity", ("数量", "qty"), kind="integer"),
    Column("product", ("产品", "商品", "产品名称")),
    Column("channel", ("渠道", "销售渠道")),
    Column("region", ("地区", "区域")),
    Column("salesperson", ("销售员", "置业顾问", "销售人员")),
    Column("purchase_type", ("类型", "成交类型", "type")),
    Column("purchase_no", ("单号", "成交编号", "purchase number"), kind="code"),
    Column("name", ("姓名", "客户姓名", "会员姓名")),
)

BATCH_SIZE = 500
_MEMBER_NO = re.compile(r"M\d{1,18}")
_TYPE_WORDS = {
    "new": "new",
    "新购": "new",
    "新增": "new",
    "首购": "new",
    "additional": "additional",
    "追加": "additional",
    "加购": "additional",
    "复购": "additional",
    "return": "return",
    "退货": "return",
    "退房": "return",
    "退款": "return",
}

Progress = Callable[[int, int | None], None]


class _RowRejected(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(problems)
        self.problems = problems


def import_purchases(
    target: Session | Callable[[], Session],
    path: str | Path,
    *,
    actor: Actor = SYSTEM,
    create_members: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the purchases of a CSV or .xlsx file; see the module docstring for the rules.

    ``target`` is a session factory (committed every ``batch_size`` rows read) or a Session
    (nothing committed). Raises ``ImportFileError`` before writing anything when the file cannot
    be read or lacks the member_no column.
    """
    path = Path(path)
    owns_session = not isinstance(target, Session)
    session: Session = target() if owns_session else target  # type: ignore[operator]
    try:
        with open_table(path, PURCHASE_COLUMNS) as table:
            report = ImportReport(path=path, file_format=table.file_format)
            report.warnings.extend(table.warnings)
            importer = _PurchaseImporter(session, actor, create_members)
            for row in table.rows:
                report.rows += 1
                outcome = importer.import_row(row)
                if isinstance(outcome, list):
                    report.reject(row.number, outcome)
                elif outcome == "imported":
                    report.imported += 1
                else:
                    report.already_present += 1
                if owns_session and report.rows % batch_size == 0:
                    session.commit()
                if progress is not None:
                    progress(report.rows, table.row_count_hint)
        if owns_session:
            session.commit()
        return report
    except BaseException:
        if owns_session:
            session.rollback()
        raise
    finally:
        if owns_session:
            session.close()


class _PurchaseImporter:
    def __init__(self, session: Session, actor: Actor, create_members: bool) -> None:
        self.session = session
        self.actor = actor
        self.create_members = create_members
        self.channels = _dictionary_words(session, "sales_channel")
        self.rows_by_number: dict[str, int] = {}

    def import_row(self, row: Row) -> str | list[RowProblem]:
        """'imported', 'already_present', or the row's problems."""
        try:
            data, member_no, name = self._check(row)
            number = str(data["purchase_no"])
            if number in self.rows_by_number:
                what = "purchase number" if row.values.get("purchase_no") else "purchase"
                raise _RowRejected(
                    [
                        RowProblem(
                            row.number,
                            "purchase_no",
                            f"same {what} as row {self.rows_by_number[number]} — remove or "
                            "correct one of the rows",
                        )
                    ]
                )
            _begin_write(self.session)
            if self._existing(row, number, member_no):
                outcome = "already_present"
            else:
                self._write(row, data, member_no, name)
                outcome = "imported"
        except _RowRejected as rejected:
            return rejected.problems
        self.rows_by_number[number] = row.number
        return outcome

    def _check(self, row: Row) -> tuple[dict[str, object], str, str | None]:
        problems = list(row.problems)
        unreadable = {p.field for p in problems}
        values = row.values
        member_no = (normalise_text(values.get("member_no")) or "").replace(" ", "").upper()
        if "member_no" not in unreadable:
            if not member_no:
                problems.append(RowProblem(row.number, "member_no", "enter the member number"))
            elif not _MEMBER_NO.fullmatch(member_no):
                problems.append(
                    RowProblem(
                        row.number,
                        "member_no",
                        f"{member_no!r} is not a member number: M followed by digits, "
                        "e.g. M00012345",
                    )
                )
        purchased_at = values.get("purchased_at")
        if isinstance(purchased_at, datetime) and purchased_at.tzinfo is None:
            purchased_at = purchased_at.replace(tzinfo=CLUB_TIMEZONE)
        if purchased_at is None and "purchased_at" not in unreadable:
            problems.append(
                RowProblem(row.number, "purchased_at", "enter the purchase date (and time)")
            )
        amount = values.get("amount")
        if amount is None and "amount" not in unreadable:
            problems.append(RowProblem(row.number, "amount", "enter the amount in yuan"))
        paid = values.get("paid_amount")
        if paid is None and "paid_amount" not in unreadable:
            paid = amount
        kind_text = normalise_text(values.get("purchase_type"))
        kind = "new"
        if kind_text is not None:
            kind = _TYPE_WORDS.get(kind_text.casefold(), "")
            if not kind:
                problems.append(
                    RowProblem(
                        row.number,
                        "purchase_type",
                        f"{kind_text!r} is not a purchase type; use new (新购), additional "
                        "(追加) or return (退货)",
                    )
                )
        channel_text = normalise_text(values.get("channel"))
        channel = None
        if channel_text is not None:
            channel = self.channels.get(header_key(channel_text))
            if channel is None:
                choices = ", ".join(sorted(set(self.channels.values())))
                problems.append(
                    RowProblem(
                        row.number,
                        "channel",
                        f"{channel_text!r} is not a sales channel; use one of: {choices}",
                    )
                )
        if problems:
            raise _RowRejected(problems)
        quantity = values.get("quantity")
        data: dict[str, object] = {
            "member_no": member_no,
            "purchased_at": purchased_at.isoformat(),  # type: ignore[union-attr]
            "amount": _text(amount),
            "paid_amount": _text(paid),
            "quantity": str(quantity) if quantity is not None else None,
            "product": normalise_text(values.get("product")),
            "channel": channel,
            "region": normalise_text(values.get("region")),
            "salesperson": normalise_text(values.get("salesperson")),
            "purchase_type": kind,
        }
        number = normalise_text(values.get("purchase_no"))
        data["purchase_no"] = number.replace(" ", "") if number else _derived_number(data)
        return data, member_no, normalise_text(values.get("name"))

    def _existing(self, row: Row, number: str, member_no: str) -> bool:
        found = self.session.execute(
            select(Purchase.id, Member.member_no)
            .outerjoin(Member, Member.id == Purchase.member_id)
            .where(Purchase.purchase_no == number)
        ).first()
        if found is None:
            return False
        if found.member_no is not None and found.member_no != member_no:
            raise _RowRejected(
                [
                    RowProblem(
                        row.number,
                        "purchase_no",
                        f"purchase {number} is recorded for member {found.member_no}, not "
                        f"{member_no} — correct the member number or the purchase number",
                    )
                ]
            )
        return True

    def _write(self, row: Row, data: dict[str, object], member_no: str, name: str | None) -> None:
        session = self.session
        try:
            with session.begin_nested():
                exists = session.scalar(select(Member.id).where(Member.member_no == member_no))
                if exists is None:
                    if not self.create_members:
                        raise _RowRejected(
                            [
                                RowProblem(
                                    row.number,
                                    "member_no",
                                    f"no member has the number {member_no} — import the member "
                                    "first, or import with --create-members to create a "
                                    "minimal member",
                                )
                            ]
                        )
                    self._create_member(member_no, name, data)
                record_purchase(session, self.actor, data)
        except ValidationFailed as failed:
            raise _RowRejected(
                [RowProblem(row.number, p.field, p.message) for p in failed.problems]
            ) from None
        except ServiceError as error:
            raise _RowRejected(
                [RowProblem(row.number, error.field or "row", error.message)]
            ) from None
        except IntegrityError:
            raise _RowRejected(
                [
                    RowProblem(
                        row.number,
                        "row",
                        "the database refused the row (it conflicts with a record saved at the "
                        "same time) — import the file again",
                    )
                ]
            ) from None

    def _create_member(self, member_no: str, name: str | None, data: dict[str, object]) -> None:
        """A minimal member flagged incomplete: number, name (or the number), join date."""
        joined = datetime.fromisoformat(str(data["purchased_at"])).astimezone(CLUB_TIMEZONE).date()
        applicant = Applicant(
            name=clean_name(name) if name else member_no,
            id_number=None,
            gender=None,
            birthday=None,
            mobile=None,
            home_phone=None,
            email=None,
            address=None,
            region=None,
        )
        create_member(
            self.session,
            self.actor,
            applicant,
            channel="purchase",
            joined_at=min(joined, date.today()),
            member_no=member_no,
            is_incomplete=True,
            consent_source="import",
        )
        _move_sequence_past(self.session, member_no)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _derived_number(data: dict[str, object]) -> str:
    """A stable purchase number from the row's content (re-importing adds nothing)."""
    fields = (
        "member_no",
        "purchased_at",
        "amount",
        "paid_amount",
        "quantity",
        "product",
        "channel",
        "region",
        "salesperson",
        "purchase_type",
    )
    content = "\x1f".join(_canonical(data.get(f)) for f in fields)
    return "IMP-" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:20]


def _canonical(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    try:  # 1250000, 1250000.0 and 1,250,000.00 are the same amount
        return format(Decimal(text).normalize(), "f")
    except ArithmeticError:
        return text
