"""A member's life: creation, profile history, consents, exit, archive, restore, personal numbers
and notices (operational.services.lifecycle)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.models import (
    Card,
    Care,
    CareContact,
    ExitRequest,
    Member,
    MemberChange,
    MemberConsent,
    MemberNotification,
    MemberPointBalance,
    PiiAccessLog,
)
from operational.names import name_key
from operational.services.common import (
    SYSTEM,
    Actor,
    Conflict,
    NotAllowed,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from operational.services.lifecycle import (
    create_member,
    current_consents,
    flag_contact_invalid_exits,
    has_consent,
    notifications_to_retry,
    record_notification,
    request_exit,
    restore_member,
    retry_notification,
    reveal_member,
    review_exit,
    set_consent,
    update_profile,
)
from operational.services.members import get_member_detail, search_members
from operational.validation import validate_applicant

STAFF = Actor("clerk1", "staff")
REVIEWER = Actor("rev1", "reviewer")
ANALYST = Actor("ana1", "analyst")
WANG_ID = "11010519491231002X"
LI_ID = "31010419900307123X"
TODAY = date(2025, 6, 30)


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _member(session: Session, name: str = "王小明", **data: object) -> Member:
    data.setdefault("mobile", "13800138000")
    applicant = validate_applicant(session, {"name": name, **data})
    return create_member(session, STAFF, applicant, channel="service_centre", source="magazine")


def _changes(session: Session, member: Member) -> list[tuple[str, str | None, str | None, str]]:
    rows = session.scalars(
        select(MemberChange).where(MemberChange.member_id == member.id).order_by(MemberChange.id)
    )
    return [(c.field, c.old_value, c.new_value, c.changed_by) for c in rows]


def _cards(session: Session, member: Member) -> tuple[Card, Card]:
    main = Card(card_no="0000000101", member_id=member.id, kind="main", card_type="ordinary")
    session.add(main)
    session.flush()
    sub = Card(
        card_no="0000000102",
        member_id=member.id,
        kind="sub",
        card_type="discount",
        parent_card_id=main.id,
        expires_on=date(2030, 1, 1),
    )
    session.add(sub)
    session.flush()
    return main, sub


# -- creating -----------------------------------------------------------------------------------
def test_create_member_numbers_the_member_and_opens_consents_and_balance(
    session: Session,
) -> None:
    wang = _member(session, id_number=WANG_ID, consent_channels="sms,letter")
    li = _member(session, "李雷", mobile="13912345678")
    assert (wang.member_no, li.member_no) == ("M00000001", "M00000002")
    assert (wang.status, wang.tier, wang.region, wang.gender) == ("active", "ordinary", "11", "F")
    assert wang.name_key == name_key("王小明") == "wang xiao ming"
    assert wang.joined_at == date.today()
    assert current_consents(session, wang.id) == {
        "sms": True,
        "email": False,
        "letter": True,
        "phone": False,
    }
    consent = session.scalars(
        select(MemberConsent).where(MemberConsent.member_id == wang.id)
    ).first()
    assert consent is not None and (consent.source, consent.recorded_by) == (
        "application",
        "clerk1",
    )
    balance = session.get(MemberPointBalance, wang.id)
    assert balance is not None and (balance.balance, balance.earned_total) == (0, 0)
    assert [h.member_no for h in search_members(session, "13800138000")] == ["M00000001"]


def test_create_member_refuses_a_taken_id_number_or_member_number_and_unknown_codes(
    session: Session,
) -> None:
    _member(session, id_number=WANG_ID)
    applicant = validate_applicant(session, {"name": "王晓明", "id_number": WANG_ID})
    with pytest.raises(ValidationFailed) as excinfo:
        create_member(
            session,
            STAFF,
            applicant,
            channel="carrier_pigeon",
            member_no="m00000001",
            tier="gold",
        )
    problems = {p.field: p for p in excinfo.value.problems}
    assert {field: p.code for field, p in problems.items()} == {
        "id_number": "id_number_taken",
        "member_no": "member_no_taken",
        "channel": "unknown_code",
        "tier": "unknown_code",
    }
    assert problems["id_number"].params["member_no"] == "M00000001"
    assert session.scalar(select(func.count()).select_from(Member)) == 1
    with pytest.raises(NotAllowed):
        create_member(session, ANALYST, applicant, channel="service_centre")


# -- profile edits ------------------------------------------------------------------------------
def test_profile_edit_writes_one_history_row_per_changed_field(session: Session) -> None:
    wang = _member(session, address="旧地址")
    version = wang.version
    written = update_profile(
        session,
        STAFF,
        wang.member_no,
        {
            "mobile": "+86 139 1234 5678",
            "address": "北京市朝阳区",
            "name": "王小明",  # unchanged: no row
            "email": "ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ",
        },
        expected_version=version,
    )
    assert [(c.field, c.old_value, c.new_value) for c in written] == [
        ("mobile", "13800138000", "13912345678"),
        ("address", "旧地址", "北京市朝阳区"),
        ("email", None, "wang@example.cn"),
    ]
    assert all(c.changed_by == "clerk1" and c.changed_at.tzinfo is not None for c in written)
    assert wang.version == version + 1
    detail = get_member_detail(session, wang.member_no)
    assert detail is not None
    assert {(c.field, c.old_value, c.new_value) for c in detail.changes} == {
        ("mobile", "138****8000", "139****5678"),  # masked in the member's file
        ("address", "旧地址", "北京市朝阳区"),
        ("email", None, "wang@example.cn"),
    }


def test_a_stale_version_is_a_conflict_and_changes_nothing(session: Session) -> None:
    wang = _member(session)
    opened = wang.version
    update_profile(session, REVIEWER, wang.member_no, {"address": "上海"}, expected_version=opened)
    with pytest.raises(Conflict) as excinfo:
        update_profile(session, STAFF, wang.member_no, {"address": "广州"}, expected_version=opened)
    assert excinfo.value.code == "stale"
    assert "rev1" in excinfo.value.message and "reload" in excinfo.value.message
    assert wang.address == "上海"
    assert [c[0] for c in _changes(session, wang)] == ["address"]


def test_a_new_id_number_is_checked_and_sets_gender_birthday_and_region(session: Session) -> None:
    wang = _member(session, "王小明")
    with pytest.raises(ValidationFailed) as excinfo:
        update_profile(
            session,
            STAFF,
            wang.member_no,
            {"id_number": "110105194912310025", "mobile": "1380013", "tier": "vip"},
        )
    codes = {p.field: p.code for p in excinfo.value.problems}
    assert codes == {
        "id_number": "id_check_digit",
        "mobile": "mobile_format",
        "tier": "not_editable",
    }
    assert "expected X" in str(excinfo.value)
    assert _changes(session, wang) == []

    update_profile(session, STAFF, wang.member_no, {"id_number": "11010519491231002x"})
    assert (wang.id_number, wang.gender, wang.birthday, wang.region) == (
        WANG_ID,
        "F",
        date(1949, 12, 31),
        "11",
    )
    assert [c[:3] for c in _changes(session, wang)] == [
        ("id_number", None, WANG_ID),
        ("gender", None, "F"),
        ("birthday", None, "1949-12-31"),
        ("region", None, "11"),
    ]


def test_a_name_edit_keeps_the_name_key_in_sync(session: Session) -> None:
    wang = _member(session, "王小明")
    update_profile(session, STAFF, wang.member_no, {"name": " 章　晓明 "})
    assert (wang.name, wang.name_key) == ("章晓明", "zhang xiao ming")


def test_profile_edit_refuses_a_taken_id_and_losing_both_id_and_mobile(session: Session) -> None:
    _member(session, "李雷", id_number=LI_ID, mobile="13912345678")
    wang = _member(session, "王小明")
    with pytest.raises(ValidationFailed) as excinfo:
        update_profile(session, STAFF, wang.member_no, {"id_number": LI_ID})
    assert [p.code for p in excinfo.value.problems] == ["id_number_taken"]
    with pytest.raises(ValidationFailed) as excinfo:
        update_profile(session, STAFF, wang.member_no, {"mobile": ""})
    assert [p.code for p in excinfo.value.problems] == ["id_or_mobile_required"]
    with pytest.raises(NotAllowed):
        update_profile(session, ANALYST, wang.member_no, {"address": "x"})
    with pytest.raises(NotFound):
        update_profile(session, STAFF, "M99999999", {"address": "x"})


# -- consents -----------------------------------------------------------------------------------
def test_withdrawn_consent_blocks_notices_on_that_channel(session: Session) -> None:
    wang = _member(session, consent_channels=["sms", "email"])
    assert has_consent(session, wang.id, "sms")
    set_consent(session, STAFF, wang.member_no, "sms", False, source="phone call")
    assert not has_consent(session, wang.id, "sms")
    assert current_consents(session, wang.id) == {
        "sms": False,
        "email": True,
        "letter": False,
        "phone": False,
    }
    with pytest.raises(ServiceError) as excinfo:
        record_notification(session, STAFF, wang.id, kind="approval", method="sms", reached=True)
    assert (excinfo.value.code, excinfo.value.field) == ("no_consent", "method")
    assert "another method" in excinfo.value.message
    assert session.scalar(select(func.count()).select_from(MemberNotification)) == 0
    assert not wang.notified

    note = record_notification(
        session, STAFF, wang.id, kind="approval", method="email", reached=True
    )
    assert (note.status, wang.notified) == ("notified", True)
    # Granted again later: the latest row counts; the history keeps all three.
    set_consent(session, STAFF, wang.member_no, "短信", True, source="website")
    assert has_consent(session, wang.id, "sms")
    rows = session.scalars(
        select(MemberConsent.granted)
        .where(MemberConsent.member_id == wang.id, MemberConsent.channel == "sms")
        .order_by(MemberConsent.id)
    ).all()
    assert rows == [True, False, True]


def test_consent_needs_a_known_channel_and_a_source(session: Session) -> None:
    wang = _member(session)
    with pytest.raises(ValidationFailed) as excinfo:
        set_consent(session, STAFF, wang.member_no, "fax", True, source="form")
    assert excinfo.value.problems[0].code == "unknown_code"
    with pytest.raises(ValidationFailed):
        set_consent(session, STAFF, wang.member_no, "sms", True, source=" ")


# -- exit, archive, restore ---------------------------------------------------------------------
def test_exit_approved_archives_the_member_cancels_cards_and_keeps_history(
    session: Session,
) -> None:
    wang = _member(session, id_number=WANG_ID, consent_channels="letter")
    main, sub = _cards(session, wang)
    update_profile(session, STAFF, wang.member_no, {"address": "北京"})

    request = request_exit(session, STAFF, wang.member_no, "normal", reason="moving abroad")
    assert (request.status, request.requested_by, wang.status) == (
        "pending",
        "clerk1",
        "exit_pending",
    )
    with pytest.raises(NotAllowed):
        review_exit(session, STAFF, request.id, approve=True)
    assert wang.status == "exit_pending"

    review_exit(session, REVIEWER, request.id, approve=True)
    assert (request.status, request.reviewed_by) == ("approved", "rev1")
    assert (wang.status, wang.exit_type) == ("archived", "normal")
    assert wang.archived_at is not None
    assert [(c.status, c.end_reason) for c in (main, sub)] == [
        ("cancelled", "member_exit"),
        ("cancelled", "member_exit"),
    ]
    note = session.scalars(select(MemberNotification)).one()
    assert (note.kind, note.method, note.status) == ("exit", "letter", "retry")

    assert search_members(session, "13800138000") == []
    assert search_members(session, WANG_ID) == []
    assert [h.status for h in search_members(session, WANG_ID, include_archived=True)] == [
        "archived"
    ]
    detail = get_member_detail(session, wang.member_no)
    assert detail is not None and detail.status == "archived"
    assert {c.field for c in detail.changes} == {"address", "status", "exit_type"}
    assert [c[:4] for c in _changes(session, wang) if c[0] == "status"] == [
        ("status", "active", "exit_pending", "clerk1"),
        ("status", "exit_pending", "archived", "rev1"),
    ]

    with pytest.raises(Conflict) as excinfo:
        review_exit(session, REVIEWER, request.id, approve=False)
    assert excinfo.value.code == "already_reviewed" and "rev1" in excinfo.value.message
    with pytest.raises(Conflict):
        request_exit(session, STAFF, wang.member_no, "normal")


def test_restore_brings_an_archived_member_back_with_the_history(session: Session) -> None:
    wang = _member(session)
    request = request_exit(session, STAFF, wang.member_no, "data_error")
    review_exit(session, REVIEWER, request.id, approve=True, notify_method="phone", notified=True)
    with pytest.raises(NotAllowed):
        restore_member(session, STAFF, wang.member_no, "mistake")

    restore_member(session, REVIEWER, wang.member_no, "exit entered for the wrong member")
    assert (wang.status, wang.exit_type, wang.archived_at) == ("active", None, None)
    assert [h.member_no for h in search_members(session, "13800138000")] == [wang.member_no]
    assert [c[:3] for c in _changes(session, wang)] == [
        ("status", "active", "exit_pending"),
        ("status", "exit_pending", "archived"),
        ("exit_type", None, "data_error"),
        ("status", "archived", "active"),
        ("exit_type", "data_error", None),
        ("restore_reason", None, "exit entered for the wrong member"),
    ]
    assert session.scalar(select(func.count()).select_from(ExitRequest)) == 1
    with pytest.raises(Conflict) as excinfo:
        restore_member(session, REVIEWER, wang.member_no, "again")
    assert excinfo.value.code == "not_archived"


def test_a_rejected_exit_returns_the_member_to_active(session: Session) -> None:
    wang = _member(session)
    main, _ = _cards(session, wang)
    request = request_exit(session, STAFF, wang.member_no, "expired")
    with pytest.raises(Conflict) as excinfo:
        request_exit(session, STAFF, wang.member_no, "normal")
    assert excinfo.value.code == "exit_pending"
    review_exit(session, REVIEWER, request.id, approve=False)
    assert (request.status, wang.status, wang.archived_at, main.status) == (
        "rejected",
        "active",
        None,
        "active",
    )
    assert session.scalar(select(func.count()).select_from(MemberNotification)) == 0


def test_exit_types_come_from_the_dictionary(session: Session) -> None:
    wang = _member(session)
    with pytest.raises(ValidationFailed) as excinfo:
        request_exit(session, STAFF, wang.member_no, "bored")
    [problem] = excinfo.value.problems
    assert (problem.field, problem.code) == ("exit_type", "unknown_code")
    assert "contact_invalid" in problem.message  # lists the choices
    assert wang.status == "active"


def test_approving_with_a_withdrawn_notice_method_changes_nothing(session: Session) -> None:
    wang = _member(session, consent_channels="sms")
    main, _ = _cards(session, wang)
    set_consent(session, STAFF, wang.member_no, "sms", False, source="letter")
    request = request_exit(session, STAFF, wang.member_no, "normal")
    with pytest.raises(ServiceError) as excinfo:
        review_exit(session, REVIEWER, request.id, approve=True, notify_method="sms")
    assert excinfo.value.code == "no_consent"
    assert (request.status, wang.status, main.status) == ("pending", "exit_pending", "active")


def _contact(session: Session, member: Member, when: datetime, status: str, n: int) -> None:
    care = Care(trigger="manual", channel="sms", title=f"care {n}", run_on=when.date())
    session.add(care)
    session.flush()
    session.add(
        CareContact(
            care_id=care.id, member_id=member.id, channel="sms", status=status, contacted_at=when
        )
    )


def test_the_contact_invalid_rule_flags_each_unreachable_member_once(session: Session) -> None:
    recent = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    unreachable = _member(session, "甲", mobile="13800000001")
    reached_once = _member(session, "乙", mobile="13800000002")
    two_failures = _member(session, "丙", mobile="13800000003")
    long_ago = _member(session, "丁", mobile="13800000004")
    notices_fail = _member(session, "戊", mobile="13800000005")
    for n in range(3):
        _contact(session, unreachable, recent - timedelta(days=10 * n), "failed", n)
        _contact(session, reached_once, recent - timedelta(days=10 * n), "failed", 10 + n)
        _contact(session, long_ago, recent - timedelta(days=400 + n), "failed", 20 + n)
    _contact(session, reached_once, recent - timedelta(days=50), "sent", 30)
    _contact(session, two_failures, recent, "failed", 40)
    _contact(session, two_failures, recent - timedelta(days=1), "failed", 41)
    note = record_notification(
        session, STAFF, notices_fail.id, kind="approval", method="phone", reached=False
    )
    note.attempted_at = recent
    retry_notification(session, STAFF, note.id, method="phone", reached=False)
    retry_notification(session, STAFF, note.id, method="letter", reached=False)
    note.attempted_at = recent  # the tries happened in the window
    session.flush()

    flagged = flag_contact_invalid_exits(session, today=TODAY)
    by_member = {r.member_id: r for r in flagged}
    assert set(by_member) == {unreachable.id, notices_fail.id}
    request = by_member[unreachable.id]
    assert (request.exit_type, request.is_automatic, request.status, request.requested_by) == (
        "contact_invalid",
        True,
        "pending",
        "system",
    )
    assert "3 contact attempts" in (request.reason or "")
    assert (unreachable.status, reached_once.status, two_failures.status) == (
        "exit_pending",
        "active",
        "active",
    )

    assert flag_contact_invalid_exits(session, today=TODAY) == []  # idempotent
    # A reviewer keeps the member: no new request until a new failure comes in.
    review_exit(session, REVIEWER, request.id, approve=False)
    assert flag_contact_invalid_exits(session, today=TODAY) == []
    later = datetime.now(UTC) + timedelta(minutes=1)  # after the first automatic request
    _contact(session, unreachable, later, "failed", 50)
    _contact(session, unreachable, later, "failed", 51)
    session.flush()
    assert flag_contact_invalid_exits(session, today=later.date()) == []  # 2 new ones only
    _contact(session, unreachable, later + timedelta(minutes=1), "failed", 52)
    session.flush()
    again = flag_contact_invalid_exits(session, today=later.date())
    assert [r.member_id for r in again] == [unreachable.id]
    count = session.scalar(select(func.count()).where(ExitRequest.member_id == unreachable.id))
    assert count == 2


# -- personal numbers ---------------------------------------------------------------------------
def test_only_roles_that_need_it_may_reveal_and_each_reveal_is_logged(session: Session) -> None:
    wang = _member(session, id_number=WANG_ID)
    with pytest.raises(NotAllowed):
        reveal_member(session, ANALYST, wang.member_no)
    session.flush()
    assert session.scalar(select(func.count()).select_from(PiiAccessLog)) == 0

    detail = reveal_member(session, STAFF, wang.member_no)
    assert (detail.id_number, detail.mobile, detail.pii_revealed) == (
        WANG_ID,
        "13800138000",
        True,
    )
    reveal_member(session, STAFF, wang.member_no.lower())
    logged = session.execute(
        select(PiiAccessLog.field, PiiAccessLog.viewed_by).order_by(PiiAccessLog.id)
    ).all()
    assert logged == [("id_number", "clerk1"), ("mobile", "clerk1")] * 2
    with pytest.raises(NotFound):
        reveal_member(session, STAFF, "M99999999")


# -- notices ------------------------------------------------------------------------------------
def test_unreached_notices_are_listed_for_the_next_try_until_reached(session: Session) -> None:
    wang = _member(session)
    li = _member(session, "李雷", mobile="13912345678")
    missed = record_notification(
        session, SYSTEM, wang.id, kind="approval", method="phone", reached=False
    )
    record_notification(session, STAFF, li.id, kind="approval", method="other", reached=True)
    assert (missed.status, missed.attempts, wang.notified, li.notified) == (
        "retry",
        1,
        False,
        True,
    )
    [item] = notifications_to_retry(session)
    assert (item.notification_id, item.member_no, item.method, item.mobile_masked) == (
        missed.id,
        wang.member_no,
        "phone",
        "138****8000",
    )
    assert notifications_to_retry(session, kind="exit") == []

    retry_notification(session, STAFF, missed.id, method="phone", reached=False)
    assert (missed.attempts, missed.status) == (2, "retry")
    retry_notification(session, STAFF, missed.id, method="letter", reached=True)
    assert (missed.attempts, missed.status, missed.method, wang.notified) == (
        3,
        "notified",
        "letter",
        True,
    )
    assert notifications_to_retry(session) == []
    with pytest.raises(Conflict) as excinfo:
        retry_notification(session, STAFF, missed.id, method="sms", reached=True)
    assert excinfo.value.code == "already_notified"


def test_notice_method_and_kind_come_from_the_dictionary(session: Session) -> None:
    wang = _member(session)
    with pytest.raises(ValidationFailed) as excinfo:
        record_notification(session, STAFF, wang.id, kind="approval", method="pigeon", reached=True)
    assert excinfo.value.problems[0].code == "unknown_code"
    with pytest.raises(ValidationFailed):
        record_notification(session, STAFF, wang.id, kind="birthday", method="sms", reached=True)
    assert session.scalar(select(func.count()).select_from(MemberNotification)) == 0
