"""Care (operational.services.care): triggers, control group, consent, outbox, responses, views;
on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from operational.db import make_engine
from operational.models import (
    Activity,
    ActivityAttendance,
    Card,
    Care,
    CareContact,
    Member,
    MemberConsent,
    MemberPointBalance,
    OutboxMessage,
    Purchase,
)
from operational.services import care
from operational.services.common import Actor, Conflict, NotAllowed, ValidationFailed
from operational.services.outbox import DeliveryResult, LocalOutboxChannel, deliver_outbox
from operational.services.point_rules import set_rule
from operational.services.points import CLUB_TIMEZONE, balance_of

CLERK = Actor("clerk1", "staff")
ADMIN = Actor("admin", "admin")
MANAGER = Actor("boss", "manager")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _member(
    session: Session,
    number: int,
    *,
    birthday: date | None = None,
    consents: tuple[str, ...] = ("sms", "email", "letter"),
    status: str = "active",
    mobile: str | None = "13800138000",
    **extra,
) -> Member:
    member = Member(
        member_no=f"M{number:08d}",
        name=f"会员{number}",
        birthday=birthday,
        mobile=mobile,
        email=f"m{number}@example.com",
        address="上海市浦东新区1号",
        status=status,
        archived_at=NOW if status == "archived" else None,
        joined_at=extra.pop("joined_at", date(2024, 1, 1)),
        **extra,
    )
    session.add(member)
    session.flush()
    session.add(MemberPointBalance(member_id=member.id, balance=0, earned_total=0))
    for channel in consents:
        session.add(
            MemberConsent(
                member_id=member.id, channel=channel, granted=True, recorded_at=NOW, source="form"
            )
        )
    session.flush()
    return member


def _contacts(session: Session, **where) -> list[CareContact]:
    statement = select(CareContact).order_by(CareContact.id)
    for name, value in where.items():
        statement = statement.where(getattr(CareContact, name) == value)
    return list(session.scalars(statement))


def _birthday_only(session: Session, today: date, share: float = 0.0) -> care.CareRunReport:
    return care.run_care_triggers(session, today=today, control_share=share, triggers=("birthday",))


# -- birthdays ----------------------------------------------------------------------------------
def test_29_february_birthday_is_celebrated_on_28_february_in_non_leap_years(
    session: Session,
) -> None:
    leapling = _member(session, 1, birthday=date(2000, 2, 29))
    born_28th = _member(session, 2, birthday=date(1990, 2, 28))
    session.commit()

    report = _birthday_only(session, date(2027, 2, 28))  # 2027 is not a leap year
    session.commit()
    assert report.triggers["birthday"].contacted == 2
    assert {c.member_id for c in _contacts(session)} == {leapling.id, born_28th.id}
    assert {c.trigger_ref for c in _contacts(session)} == {"birthday:2027"}
    assert _birthday_only(session, date(2027, 3, 1)).triggers["birthday"].contacted == 0


def test_29_february_birthday_in_a_leap_year_is_on_the_day_itself(session: Session) -> None:
    leapling = _member(session, 1, birthday=date(2000, 2, 29))
    born_28th = _member(session, 2, birthday=date(1990, 2, 28))
    session.commit()

    _birthday_only(session, date(2028, 2, 28))
    session.commit()
    assert [c.member_id for c in _contacts(session)] == [born_28th.id]
    _birthday_only(session, date(2028, 2, 29))
    session.commit()
    assert [c.member_id for c in _contacts(session, trigger_ref="birthday:2028")] == [
        born_28th.id,
        leapling.id,
    ]


def test_birthday_care_is_once_a_year(session: Session) -> None:
    _member(session, 1, birthday=date(1980, 5, 20))
    session.commit()
    _birthday_only(session, date(2026, 5, 20))
    again = _birthday_only(session, date(2026, 5, 20))
    _birthday_only(session, date(2027, 5, 20))
    session.commit()
    assert again.triggers["birthday"].skipped_already == 1
    assert [c.trigger_ref for c in _contacts(session)] == ["birthday:2026", "birthday:2027"]


def test_archived_and_exiting_members_get_nothing(session: Session) -> None:
    _member(session, 1, birthday=date(1980, 5, 20), status="archived")
    _member(session, 2, birthday=date(1980, 5, 20), status="exit_pending")
    session.commit()
    report = _birthday_only(session, date(2026, 5, 20))
    session.commit()
    assert report.triggers["birthday"].contacted == 0
    assert _contacts(session) == []
    summary = care.send_care(
        session, CLERK, channel="sms", title="问候", content="您好", member_numbers="M00000001"
    )
    assert summary.care_id is None
    assert summary.skipped_inactive == ["M00000001"]
    assert session.scalar(select(func.count()).select_from(Care)) == 0


def test_members_without_consent_to_the_channel_are_not_contacted(session: Session) -> None:
    _member(session, 1, birthday=date(1980, 5, 20), consents=("email",))
    withdrawn = _member(session, 2, birthday=date(1980, 5, 20))
    session.add(
        MemberConsent(
            member_id=withdrawn.id,
            channel="sms",
            granted=False,
            recorded_at=NOW + timedelta(days=1),
            source="call",
        )
    )
    with_consent = _member(session, 3, birthday=date(1980, 5, 20))
    _member(session, 4, birthday=date(1980, 5, 20), mobile=None)
    session.commit()

    report = _birthday_only(session, date(2026, 5, 20))
    session.commit()
    counts = report.triggers["birthday"]
    assert (counts.contacted, counts.skipped_no_consent, counts.skipped_no_address) == (1, 2, 1)
    assert [c.member_id for c in _contacts(session)] == [with_consent.id]


# -- control group ------------------------------------------------------------------------------
def _many_birthday_members(session: Session, count: int, birthday: date) -> None:
    session.execute(
        insert(Member),
        [
            {
                "member_no": f"B{n:08d}",
                "name": f"会员{n}",
                "birthday": birthday,
                "mobile": f"139{n:08d}",
                "joined_at": date(2024, 1, 1),
                "status": "active",
                "tier": "ordinary",
                "version": 1,
            }
            for n in range(count)
        ],
    )
    ids = session.scalars(select(Member.id).where(Member.member_no.like("B%"))).all()
    session.execute(
        insert(MemberConsent),
        [
            {"member_id": i, "channel": "sms", "granted": True, "recorded_at": NOW, "source": "x"}
            for i in ids
        ],
    )
    session.commit()


def test_control_share_is_within_binomial_bounds_and_controls_get_no_message(
    session: Session,
) -> None:
    members, share = 2000, 0.2
    _many_birthday_members(session, members, date(1985, 7, 1))
    report = _birthday_only(session, date(2026, 7, 1), share)
    session.commit()
    counts = report.triggers["birthday"]
    margin = 4 * math.sqrt(members * share * (1 - share))  # about 72
    assert abs(counts.control - members * share) < margin
    assert counts.control + counts.contacted == members
    controls = _contacts(session, is_control=True)
    assert len(controls) == counts.control
    assert {c.status for c in controls} == {"control"}
    messages = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert messages == counts.contacted
    control_ids = {c.id for c in controls}
    assert not control_ids & set(session.scalars(select(OutboxMessage.contact_id)))
    saved = session.scalar(select(Care))
    assert float(saved.control_share) == share

    rerun = _birthday_only(session, date(2026, 7, 1), share)
    session.commit()
    assert rerun.triggers["birthday"].skipped_already == members
    assert (rerun.triggers["birthday"].contacted, rerun.triggers["birthday"].control) == (0, 0)
    assert session.scalar(select(func.count()).select_from(CareContact)) == members
    assert session.scalar(select(func.count()).select_from(Care)) == 1


def test_the_control_draw_is_the_same_on_every_run() -> None:
    drawn = [care.in_control_group("birthday:2026", f"M{n:08d}", 0.3) for n in range(500)]
    assert drawn == [care.in_control_group("birthday:2026", f"M{n:08d}", 0.3) for n in range(500)]
    assert 0 < sum(drawn) < 500
    assert not any(care.in_control_group("birthday:2026", f"M{n:08d}", 0.0) for n in range(500))


def test_two_runs_at_once_contact_nobody_twice(op_db_url: str) -> None:
    engine = make_engine(op_db_url)
    with Session(engine) as session:
        _many_birthday_members(session, 300, date(1985, 7, 1))
    barrier = threading.Barrier(2)
    reports: list[care.CareRunReport] = []
    failures: list[BaseException] = []

    def run() -> None:
        factory = sessionmaker(make_engine(op_db_url))
        try:
            barrier.wait()
            with factory.begin() as session:
                reports.append(_birthday_only(session, date(2026, 7, 1), 0.1))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(CareContact)) == 300
        assert session.scalar(select(func.count()).select_from(Care)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == sum(
            r.triggers["birthday"].contacted for r in reports
        )
    done = sorted(r.triggers["birthday"].skipped_already for r in reports)
    assert done == [0, 300]


# -- purchases and activities -------------------------------------------------------------------
def _club_time(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CLUB_TIMEZONE)


def test_purchase_care_goes_to_yesterdays_buyers_once_each(session: Session) -> None:
    today = date(2026, 4, 10)
    yesterday = today - timedelta(days=1)
    buyer = _member(session, 1)
    two_purchases = _member(session, 2)
    today_buyer = _member(session, 3)
    returner = _member(session, 4)
    rows = [
        (buyer, _club_time(yesterday, 23, 30), "new", 100),
        (two_purchases, _club_time(yesterday, 9), "new", 100),
        (two_purchases, _club_time(yesterday, 10), "additional", 50),
        (today_buyer, _club_time(today, 0, 5), "new", 100),
        (returner, _club_time(yesterday, 12), "return", -100),
    ]
    purchases = []
    for n, (member, at, kind, amount) in enumerate(rows):
        purchase = Purchase(
            purchase_no=f"P{n}",
            member_id=member.id,
            product="villa",
            amount=amount,
            paid_amount=max(amount, 0),
            purchase_type=kind,
            purchased_at=at,
        )
        session.add(purchase)
        purchases.append(purchase)
    session.commit()

    report = care.run_care_triggers(session, today=today, control_share=0, triggers=("purchase",))
    session.commit()
    assert report.triggers["purchase"].contacted == 2
    assert [(c.member_id, c.trigger_ref) for c in _contacts(session)] == [
        (buyer.id, f"purchase:{purchases[0].id}"),
        (two_purchases.id, f"purchase:{purchases[1].id}"),
    ]
    again = care.run_care_triggers(session, today=today, control_share=0, triggers=("purchase",))
    assert again.triggers["purchase"].skipped_already == 2
    assert len(_contacts(session)) == 2


def test_activity_care_goes_to_yesterdays_attendees(session: Session) -> None:
    today = date(2026, 4, 10)
    attendee = _member(session, 1)
    _member(session, 2)
    activity = Activity(
        code="ACT-7",
        name="品酒沙龙",
        activity_type="salon",
        starts_at=_club_time(today - timedelta(days=1), 18),
        ends_at=_club_time(today - timedelta(days=1), 21),
        status="running",
    )
    session.add(activity)
    session.flush()
    session.add(
        ActivityAttendance(
            activity_id=activity.id,
            member_id=attendee.id,
            attended_at=_club_time(today - timedelta(days=1), 18, 30),
        )
    )
    session.commit()
    report = care.run_care_triggers(session, today=today, control_share=0)
    session.commit()
    assert report.triggers["activity"].contacted == 1
    assert [(c.member_id, c.trigger_ref) for c in _contacts(session)] == [
        (attendee.id, "activity:ACT-7")
    ]


# -- sending ------------------------------------------------------------------------------------
def test_outbox_delivery_sets_the_contacts_sent_or_failed(session: Session, tmp_path) -> None:
    _member(session, 1)
    _member(session, 2, mobile="12345")  # not a mobile number: the local outbox refuses it
    session.commit()
    summary = care.send_care(
        session,
        CLERK,
        channel="sms",
        title="春节问候",
        content="新春快乐",
        member_numbers="Ｍ00000001, m00000002",
    )
    session.commit()
    assert summary.contacted == ["M00000001", "M00000002"]
    assert {c.status for c in _contacts(session)} == {"pending"}

    report = deliver_outbox(session, LocalOutboxChannel(tmp_path / "outbox"))
    session.commit()
    assert (report.delivered, report.failed) == (1, 1)
    [written] = (tmp_path / "outbox").rglob("*.json")  # the delivered one, as a file
    assert "新春快乐" in written.read_text("utf-8")
    rows = {r.member_no: r for r in care.care_members(session, summary.care_id)}
    assert (rows["M00000001"].status, rows["M00000001"].outbox_status) == ("sent", "delivered")
    assert (rows["M00000002"].status, rows["M00000002"].outbox_status) == ("failed", "failed")
    assert "12345" in rows["M00000002"].outbox_error
    assert deliver_outbox(session, LocalOutboxChannel()).delivered == 0  # nothing sent twice


def test_a_gateway_error_fails_that_message_only(session: Session) -> None:
    _member(session, 1)
    _member(session, 2)
    session.commit()
    care.send_care(
        session,
        CLERK,
        channel="email",
        title="通知",
        content="…",
        member_numbers="M00000001 M00000002",
    )
    session.commit()

    class FlakyGateway:
        def send(self, message: OutboxMessage) -> DeliveryResult:
            if message.address.startswith("m2@"):
                raise TimeoutError("gateway timed out")
            return DeliveryResult(True)

    report = deliver_outbox(session, FlakyGateway())
    session.commit()
    assert (report.delivered, report.failed) == (1, 1)
    assert "gateway timed out" in report.errors[0][1]
    assert sorted(c.status for c in _contacts(session)) == ["failed", "sent"]


def test_manual_care_refuses_bad_input_all_at_once_and_writes_nothing(session: Session) -> None:
    _member(session, 1)
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        care.send_care(
            session, CLERK, channel="fax", title="", content="", member_numbers="M00000001 M404"
        )
    assert {(p.field, p.code) for p in caught.value.problems} == {
        ("care_channel", "unknown_code"),
        ("care_title", "required"),
        ("care_members", "care_unknown_members"),
    }
    with pytest.raises(ValidationFailed) as caught:
        care.send_care(session, CLERK, channel="letter", title="t", content=None)
    assert [p.code for p in caught.value.problems] == ["care_members_or_segment"]
    with pytest.raises(NotAllowed):  # managers look, staff send
        care.send_care(
            session, MANAGER, channel="sms", title="t", content="c", member_numbers="M00000001"
        )
    assert session.scalar(select(func.count()).select_from(Care)) == 0


def test_manual_care_accepts_card_numbers_and_records_letters_by_hand(session: Session) -> None:
    member = _member(session, 1)
    session.add(Card(card_no="800001", member_id=member.id, kind="main", card_type="ordinary"))
    session.commit()
    summary = care.send_care(
        session, CLERK, channel="letter", title="会刊", content=None, member_numbers="８０００01"
    )
    session.commit()
    assert (summary.contacted, summary.queued) == (["M00000001"], 0)
    [contact] = _contacts(session)
    assert contact.status == "pending"
    with pytest.raises(Conflict) as refused:
        care.record_response(session, CLERK, contact.id, response="来电致谢")
    assert refused.value.code == "care_not_sent"
    care.mark_result(session, CLERK, contact.id, status="sent")
    session.commit()
    assert _contacts(session)[0].status == "sent"


# -- responses ----------------------------------------------------------------------------------
def test_a_response_earns_the_care_points_once(session: Session) -> None:
    member = _member(session, 1, birthday=date(1980, 5, 20))
    set_rule(session, ADMIN, event_type="care", points=20, needs_approval=False)
    session.commit()
    _birthday_only(session, date(2026, 5, 20))
    deliver_outbox(session, LocalOutboxChannel())
    session.commit()
    [contact] = _contacts(session)
    result = care.record_response(
        session,
        CLERK,
        contact.id,
        response="回电感谢",
        responded_at=datetime.now(CLUB_TIMEZONE).replace(tzinfo=None),
    )
    session.commit()
    assert (result.points, result.points_status) == (20, "posted")
    with pytest.raises(Conflict) as again:
        care.record_response(session, CLERK, contact.id, response="再次回电")
    assert again.value.code == "care_already_responded"
    session.rollback()
    assert balance_of(session, member.id) == 20
    [row] = care.member_cares(session, "M00000001")
    assert (row.trigger, row.response) == ("birthday", "回电感谢")


def test_a_control_members_response_is_recorded_without_points(session: Session) -> None:
    number = next(
        n for n in range(1, 100) if care.in_control_group("birthday:2026", f"M{n:08d}", 0.5)
    )
    member = _member(session, number, birthday=date(1980, 5, 20))
    set_rule(session, ADMIN, event_type="care", points=20, needs_approval=False)
    session.commit()
    _birthday_only(session, date(2026, 5, 20), share=0.5)
    session.commit()
    [contact] = _contacts(session)
    assert contact.is_control
    result = care.record_response(session, CLERK, contact.id, response="来店")
    session.commit()
    assert result.points == 0
    assert balance_of(session, member.id) == 0
    stats = care.care_stats(session, since=date(2026, 1, 1), until=date(2026, 12, 31))
    [birthday] = [row for row in stats.by_trigger if row.trigger == "birthday"]
    assert (birthday.control, birthday.control_rate, birthday.treated_rate) == (1, 1.0, None)


def test_response_checks_text_and_time(session: Session) -> None:
    _member(session, 1)
    session.commit()
    care.send_care(
        session, CLERK, channel="sms", title="t", content="c", member_numbers="M00000001"
    )
    deliver_outbox(session, LocalOutboxChannel())
    session.commit()
    [contact] = _contacts(session)
    with pytest.raises(ValidationFailed) as caught:
        care.record_response(
            session, CLERK, contact.id, response=" ", responded_at=datetime(2030, 1, 1)
        )
    assert {(p.field, p.code) for p in caught.value.problems} == {
        ("care_response", "required"),
        ("care_responded_at", "care_in_future"),
    }


# -- segments and views -------------------------------------------------------------------------
def test_segments_select_members_by_their_criteria_when_sent(session: Session) -> None:
    _member(session, 1, birthday=date(1990, 6, 1), gender="F", region="31", tier="vip")
    _member(session, 2, birthday=date(1960, 6, 1), gender="F", region="31", tier="vip")
    _member(session, 3, birthday=date(1990, 6, 1), gender="M", region="31", tier="vip")
    session.commit()
    criteria = {"genders": ["F"], "tiers": ["vip"], "age_min": 30, "age_max": 40}
    assert care.preview_segment(session, criteria, today=date(2026, 6, 1)) == 1
    segment = care.save_segment(session, CLERK, "VIP 女士 30-40", criteria)
    session.commit()
    assert [s.name for s in care.list_segments(session)] == ["VIP 女士 30-40"]
    members = care.segment_members(session, segment.id, today=date(2026, 6, 1))
    assert [m.member_no for m in members] == ["M00000001"]
    summary = care.send_care(
        session, CLERK, channel="email", title="t", content="c", segment_id=segment.id
    )
    session.commit()
    assert summary.contacted == ["M00000001"]
    assert care.list_cares(session)[0].segment_name == "VIP 女士 30-40"


def test_segment_criteria_problems_are_reported_together(session: Session) -> None:
    care.save_segment(session, CLERK, "all", {})
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        care.save_segment(
            session,
            CLERK,
            "all",
            {"tiers": ["gold"], "age_min": 50, "age_max": 20, "joined_from": "2026-13-01"},
        )
    assert {(p.field, p.code) for p in caught.value.problems} == {
        ("segment_name", "segment_name_taken"),
        ("segment_tiers", "unknown_code"),
        ("segment_age_max", "care_range_reversed"),
        ("segment_joined_from", "care_bad_date"),
    }


def test_care_stats_give_channel_shares_per_month(session: Session) -> None:
    for n in range(1, 5):
        _member(session, n)
    session.commit()
    care.send_care(
        session,
        CLERK,
        channel="sms",
        title="t",
        content="c",
        member_numbers="M00000001 M00000002 M00000003",
    )
    care.send_care(
        session, CLERK, channel="letter", title="t", content=None, member_numbers="M00000004"
    )
    session.commit()
    today = datetime.now(CLUB_TIMEZONE).date()
    stats = care.care_stats(session, since=today, until=today)
    shares = {row.channel: (row.contacts, round(row.share, 2)) for row in stats.by_channel_month}
    assert shares == {"sms": (3, 0.75), "letter": (1, 0.25)}
    assert [(r.trigger, r.treated) for r in stats.by_trigger] == [("manual", 4)]
