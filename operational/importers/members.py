"""Bulk import of members from a CSV or .xlsx file (``clubcrm import members``, the upload page).

Rules (ARCHITECTURE.md "Import files"; issue 3):

- Columns: member_no, name, id_number, mobile, home_phone, email, address, region, channel,
  joined_at, tier, opening_points (and, when a legacy file has them, gender, birthday,
  consent_channels), under English or Chinese headings (:data:`MEMBER_COLUMNS`). ``name`` is
  required, and each row needs an ID number or a mobile.
- Each row is checked like a manual entry (``validation.validate_applicant``: ID check digit,
  mobile, e-mail…) and every problem of a bad row is reported (row, field, problem); the good
  rows are imported regardless. Nothing is dropped silently: a row is imported, already present,
  or rejected with its reasons.
- ``channel`` is an application channel (code or label, default ``website``); ``tier`` is
  ordinary or vip (普通/普通会员/普通卡, VIP); ``joined_at`` a date, not in the future (default
  today); ``opening_points`` a whole number >= 0, posted once as an ``opening`` ledger entry with
  the key ``opening:{member_no}``.
- ``member_no`` is optional. When given it must be ``M`` followed by digits (the form the system
  assigns, e.g. M00012345; full-width and lower-case folded) and is kept as written; anything else
  is rejected, so a legacy file cannot bring in numbers that look different from every other
  member's. Numbers imported ahead of the member-number sequence move it on, so a later
  approval never hands out the same number again.
- Re-importing adds nothing. A row is *already present* (counted, not rejected, not duplicated)
  when its member_no exists, or its ID number belongs to a member, or — without an ID number — a
  member has the same name and mobile. A row that points at an existing member but contradicts it
  (member_no of a different person, an ID number of another member number) is rejected. Within
  one file a second row with the same ID number, member number, or (without ID) name and mobile
  is rejected ("same ID number as row 7").
- Good rows are committed in batches (default 500 rows per transaction) when a session factory
  is given, so an interrupted import keeps what was committed and a re-run completes it without
  duplicates. Given a Session, everything stays in the caller's transaction. Each row is written
  under its own SAVEPOINT: a row the database refuses is rejected alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.importers.tabular import (
    Column,
    ImportReport,
    Row,
    RowProblem,
    header_key,
    open_table,
)
from operational.models import DictionaryItem, Member, NumberSequence
from operational.names import clean_name
from operational.services.common import SYSTEM, Actor, ServiceError, ValidationFailed
from operational.services.lifecycle import create_member
from operational.services.points import post_entry
from operational.validation import Applicant, normalise_text, validate_applicant

MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("member_no", ("会员编号", "会员号", "member number", "membership no"), kind="code"),
    Column("name", ("姓名", "full name", "会员姓名", "客户姓名"), required=True),
    Column(
        "id_number",
        ("身份证号", "身份证号码", "证件号码", "身份证", "证件号", "id no", "id card"),
        kind="code",
    ),
    Column("mobile", ("手机", "手机号", "手机号码", "移动电话", "mobile phone"), kind="code"),
    Column("home_phone", ("家庭电话", "住宅电话", "固定电话", "telephone"), kind="code"),
    Column("email", ("邮箱", "电子邮件", "电子邮箱", "e-mail")),
    Column("address", ("地址", "联系地址", "通讯地址")),
    Column("region", ("地区", "区域", "省份", "province")),
    Column("channel", ("渠道", "入会渠道")),
    Column("joined_at", ("入会日期", "入会时间", "join date", "joined"), kind="date"),
    Column("tier", ("等级", "会员等级", "卡类型", "card type")),
    Column("opening_points", ("开户积分", "期初积分", "初始积分", "points"), kind="integer"),
    Column("gender", ("性别", "sex")),
    Column("birthday", ("出生日期", "生日", "birth date", "date of birth")),
    Column("consent_channels", ("同意联系方式", "联系许可", "consent")),
)

DEFAULT_CHANNEL = "website"
DEFAULT_TIER = "ordinary"
BATCH_SIZE = 500

_LOCK_INFO = "clubcrm.member_import_lock"
_IMPORT_LOCK_KEY = 0x4D454D42  # "MEMB": one member import writes at a time (PostgreSQL)
_MEMBER_NO = re.compile(r"M\d{1,18}")
# Tier words legacy files use, beside the dictionary's codes and labels.
_TIER_WORDS = {"普通": "ordinary", "普通卡": "ordinary", "普通会员": "ordinary", "vip卡": "vip"}

#: ``progress(done, total)`` is called after each row (total: estimated rows, or None).
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class _Candidate:
    """A row that passed every check, ready to be written."""

    applicant: Applicant
    member_no: str | None
    channel: str
    tier: str
    joined_at: date
    opening_points: int


class _RowRejected(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(problems)
        self.problems = problems


def import_members(
    target: Session | Callable[[], Session],
    path: str | Path,
    *,
    actor: Actor = SYSTEM,
    batch_size: int = BATCH_SIZE,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the members of a CSV or .xlsx file; see the module docstring for the rules.

    ``target`` is a session factory (committed every ``batch_size`` rows read) or a Session
    (nothing is committed; the caller's transaction holds it all). Raises
    :class:`~operational.importers.tabular.ImportFileError` before writing anything when the
    file cannot be read or lacks the name column.
    """
    today = today or date.today()
    path = Path(path)
    owns_session = not isinstance(target, Session)
    session: Session = target() if owns_session else target  # type: ignore[operator]
    try:
        with open_table(path, MEMBER_COLUMNS) as table:
            report = ImportReport(path=path, file_format=table.file_format)
            report.warnings.extend(table.warnings)
            importer = _MemberImporter(session, actor, today, path.name)
            for row in table.rows:
                report.rows += 1
                outcome = importer.import_row(row)
                if isinstance(outcome, list):
                    report.reject(row.number, outcome)
                elif outcome == "imported":
                    report.imported += 1
                else:
                    report.already_present += 1
                # Commit by rows read, not rows written: a re-run that skips everything must not
                # hold the write lock (SQLite) or the import lock (PostgreSQL) all along.
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


class _MemberImporter:
    """Checks and writes rows one by one, remembering what this file already brought."""

    def __init__(self, session: Session, actor: Actor, today: date, file_name: str) -> None:
        self.session = session
        self.actor = actor
        self.today = today
        self.file_name = file_name
        self.channels = _dictionary_words(session, "application_channel")
        self.tiers = {**_dictionary_words(session, "tier"), **_TIER_WORDS}
        # First row of this file that brought each key (imported or already present).
        self.rows_by_id: dict[str, int] = {}
        self.rows_by_member_no: dict[str, int] = {}
        self.rows_by_name_mobile: dict[tuple[str, str], int] = {}

    # -- one row ------------------------------------------------------------------------------
    def import_row(self, row: Row) -> str | list[RowProblem]:
        """'imported', 'already_present', or the row's problems."""
        try:
            candidate = self._check(row)
            self._check_same_file(row, candidate)
            _begin_write(self.session)
            existing = self._existing(row, candidate)
            if existing is None:
                try:
                    self._write(row, candidate)
                except IntegrityError:
                    # Someone stored the same member at the same moment: it is there now.
                    existing = self._existing(row, candidate)
                    if existing is None:
                        raise _RowRejected(
                            [
                                RowProblem(
                                    row.number,
                                    "row",
                                    "the database refused the row (it conflicts with a record "
                                    "saved at the same time) — import the file again",
                                )
                            ]
                        ) from None
        except _RowRejected as rejected:
            return rejected.problems
        self._remember(row, candidate)
        return "imported" if existing is None else "already_present"

    def _check(self, row: Row) -> _Candidate:
        """Every problem of the row at once, or the cleaned values."""
        problems = list(row.problems)
        unreadable = {p.field for p in problems}
        values = row.values
        data = {key: value for key, value in values.items() if key not in unreadable}
        applicant: Applicant | None = None
        try:
            applicant = validate_applicant(self.session, data, today=self.today)
        except ValidationFailed as failed:
            for problem in failed.problems:
                # An unreadable ID or mobile cell is there: "give one of them" would mislead.
                if problem.code == "id_or_mobile_required" and unreadable & {"id_number", "mobile"}:
                    continue
                problems.append(RowProblem(row.number, problem.field, problem.message))

        member_no = self._member_no(row, values.get("member_no"), problems)
        channel = self._dictionary_value(
            row, "channel", values.get("channel"), self.channels, DEFAULT_CHANNEL, problems
        )
        tier = self._dictionary_value(
            row, "tier", values.get("tier"), self.tiers, DEFAULT_TIER, problems
        )
        joined_at = values.get("joined_at") or self.today
        if "joined_at" not in unreadable and joined_at > self.today:
            problems.append(
                RowProblem(
                    row.number,
                    "joined_at",
                    f"join date {joined_at.isoformat()} is in the future — re-check it",
                )
            )
        opening_points = values.get("opening_points") or 0
        if opening_points < 0:
            problems.append(
                RowProblem(
                    row.number,
                    "opening_points",
                    f"opening points {opening_points} is negative — an opening balance is 0 or "
                    "more",
                )
            )
        if problems or applicant is None:
            raise _RowRejected(problems)
        return _Candidate(applicant, member_no, channel, tier, joined_at, opening_points)

    def _member_no(self, row: Row, value: object, problems: list[RowProblem]) -> str | None:
        text = normalise_text(value)
        if text is None:
            return None
        member_no = text.replace(" ", "").upper()
        if not _MEMBER_NO.fullmatch(member_no):
            problems.append(
                RowProblem(
                    row.number,
                    "member_no",
                    f"{text!r} is not a member number: it is M followed by digits, e.g. "
                    "M00012345 — correct it, or leave it blank to have one assigned",
                )
            )
            return None
        return member_no

    def _dictionary_value(
        self,
        row: Row,
        field: str,
        value: object,
        words: dict[str, str],
        default: str,
        problems: list[RowProblem],
    ) -> str:
        text = normalise_text(value)
        if text is None:
            return default
        code = words.get(header_key(text))
        if code is None:
            choices = ", ".join(sorted(set(words.values())))
            problems.append(
                RowProblem(row.number, field, f"{text!r} is not a {field}; use one of: {choices}")
            )
            return default
        return code

    def _check_same_file(self, row: Row, candidate: _Candidate) -> None:
        applicant = candidate.applicant
        earlier: list[tuple[str, str, int]] = []
        if applicant.id_number and applicant.id_number in self.rows_by_id:
            earlier.append(("id_number", "ID number", self.rows_by_id[applicant.id_number]))
        if candidate.member_no and candidate.member_no in self.rows_by_member_no:
            number = self.rows_by_member_no[candidate.member_no]
            earlier.append(("member_no", "member number", number))
        key = _name_mobile(applicant)
        if not applicant.id_number and key and key in self.rows_by_name_mobile:
            earlier.append(("mobile", "name and mobile", self.rows_by_name_mobile[key]))
        if earlier:
            raise _RowRejected(
                [
                    RowProblem(
                        row.number,
                        field,
                        f"same {what} as row {first} — the person is already in this file; "
                        "remove or correct one of the rows",
                    )
                    for field, what, first in earlier
                ]
            )

    def _remember(self, row: Row, candidate: _Candidate) -> None:
        applicant = candidate.applicant
        if applicant.id_number:
            self.rows_by_id.setdefault(applicant.id_number, row.number)
        if candidate.member_no:
            self.rows_by_member_no.setdefault(candidate.member_no, row.number)
        key = _name_mobile(applicant)
        if key and not applicant.id_number:
            self.rows_by_name_mobile.setdefault(key, row.number)

    # -- the database -------------------------------------------------------------------------
    def _existing(self, row: Row, candidate: _Candidate) -> Member | None:
        """The member this row describes, if stored already; a contradiction rejects the row."""
        applicant = candidate.applicant
        session = self.session
        by_no = by_id = None
        if candidate.member_no:
            by_no = session.scalar(select(Member).where(Member.member_no == candidate.member_no))
        if applicant.id_number:
            by_id = session.scalar(select(Member).where(Member.id_number == applicant.id_number))
        if by_no is not None and by_id is not None and by_no.id != by_id.id:
            raise _RowRejected(
                [
                    RowProblem(
                        row.number,
                        "id_number",
                        f"ID number {applicant.id_number} belongs to member {by_id.member_no}, "
                        f"not {by_no.member_no} — correct the member number or the ID number",
                    )
                ]
            )
        if by_no is not None:
            if not _same_person(by_no, applicant):
                raise _RowRejected(
                    [
                        RowProblem(
                            row.number,
                            "member_no",
                            f"member number {by_no.member_no} belongs to a different person "
                            "(name or ID number differ) — correct it, or leave it blank to have "
                            "one assigned",
                        )
                    ]
                )
            return by_no
        if by_id is not None:
            if candidate.member_no:  # the file gives another number to a known ID
                raise _RowRejected(
                    [
                        RowProblem(
                            row.number,
                            "member_no",
                            f"ID number {applicant.id_number} already belongs to member "
                            f"{by_id.member_no}, not {candidate.member_no} — correct the member "
                            "number or leave it blank",
                        )
                    ]
                )
            return by_id
        if applicant.id_number or not applicant.mobile:
            return None
        by_name_mobile = session.scalar(
            select(Member)
            .where(Member.mobile == applicant.mobile, Member.name == applicant.name)
            .order_by(Member.id)
            .limit(1)
        )
        if by_name_mobile is not None and candidate.member_no:
            raise _RowRejected(
                [
                    RowProblem(
                        row.number,
                        "member_no",
                        f"a member with this name and mobile exists as {by_name_mobile.member_no},"
                        f" not {candidate.member_no} — correct the member number or leave it blank",
                    )
                ]
            )
        return by_name_mobile

    def _write(self, row: Row, candidate: _Candidate) -> None:
        session = self.session
        with session.begin_nested():
            try:
                member = create_member(
                    session,
                    self.actor,
                    candidate.applicant,
                    channel=candidate.channel,
                    joined_at=candidate.joined_at,
                    member_no=candidate.member_no,
                    tier=candidate.tier,
                    consent_source="import",
                )
                if candidate.member_no:
                    _move_sequence_past(session, candidate.member_no)
                if candidate.opening_points:
                    post_entry(
                        session,
                        member_id=member.id,
                        points=candidate.opening_points,
                        event_type="opening",
                        idempotency_key=f"opening:{member.member_no}",
                        actor=self.actor,
                        reason=f"opening balance imported from {self.file_name}, row {row.number}"[
                            :500
                        ],
                        reference=f"import:{self.file_name}:{row.number}"[-100:],
                    )
            except ValidationFailed as failed:
                raise _RowRejected(
                    [RowProblem(row.number, p.field, p.message) for p in failed.problems]
                ) from None
            except ServiceError as error:
                raise _RowRejected(
                    [RowProblem(row.number, error.field or "row", error.message)]
                ) from None


# -- helpers ------------------------------------------------------------------------------------
def _dictionary_words(session: Session, category: str) -> dict[str, str]:
    """header_key(code / Chinese label / English label) -> code, for the active items."""
    words: dict[str, str] = {}
    items = session.execute(
        select(DictionaryItem.code, DictionaryItem.label_zh, DictionaryItem.label_en).where(
            DictionaryItem.category == category, DictionaryItem.active.is_(True)
        )
    ).all()
    for code, label_zh, label_en in items:
        for word in (label_en, label_zh, code):
            words[header_key(word)] = code
    return words


def _name_mobile(applicant: Applicant) -> tuple[str, str] | None:
    return (applicant.name, applicant.mobile) if applicant.mobile else None


def _same_person(member: Member, applicant: Applicant) -> bool:
    if member.id_number and applicant.id_number:
        return member.id_number == applicant.id_number
    return clean_name(member.name) == applicant.name


def _move_sequence_past(session: Session, member_no: str) -> None:
    """An imported M-number ahead of the sequence moves it on (approvals never reuse it)."""
    value = int(member_no[1:])
    sequence = session.scalar(
        select(NumberSequence).where(NumberSequence.name == "member_no").with_for_update()
    )
    if sequence is not None and sequence.next_value <= value:
        sequence.next_value = value + 1
        session.flush()


def _begin_write(session: Session) -> None:
    """Serialise member imports for the rest of the transaction, before the row's checks.

    The check "is this member stored already?" and the insert then see the same database, also
    for rows without an ID number (no unique column catches those). SQLite: open the transaction
    with its write lock (this also makes the row's SAVEPOINT nest in a real transaction; the
    sqlite3 driver opens transactions lazily and a SAVEPOINT issued first would commit on
    release). PostgreSQL: a transaction-scoped advisory lock taken once per batch.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        begin_sqlite_transaction(session, write_lock=True)
    elif connection.dialect.name == "postgresql":
        transaction = session.get_transaction()
        if session.info.get(_LOCK_INFO) is not transaction:
            connection.execute(select(func.pg_advisory_xact_lock(_IMPORT_LOCK_KEY)))
            session.info[_LOCK_INFO] = transaction
