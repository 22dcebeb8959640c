"""Complaints (operational.services.complaints): intake, service levels, the state machine,
overdue in the club's time zone, points on closing, concurrent closing, search — on both
databases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.models import Card, Complaint, ComplaintStep, Member, PointEntry, Purchase
from operational.services import complaints, point_rules
from operational.services.common import Actor, Conflict, NotAllowed, NotFound, ValidationFailed
from operational.services.points import balance_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk1", "staff")
CLERK2 = Actor("clerk2", "staff")
MANAGER = Actor("boss", "manager")
ADMIN = Actor("admin", "admin")
#: The clock of these tests: 2026-03-10 12:00 in Shanghai.
NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
CARD = "8800000001"


@pytest.fixture
def engine(op_db_url: str):
    engine = make_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        vip = Member(member_no="M00000001", name="王小明", tier="vip", joined_at=date(2025, 1, 1))
        other = Member(member_no="M00000002", name="李四", joined_at=date(2025, 2, 1))
        seeding.add_all([vip, other])
        seeding.flush()
        seeding.add(
            Card(
                card_no=CARD,
                member_id=vip.id,
                kind="main",
                card_type="vip",
                issued_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
        for k in range(6):
            seeding.add(
                Purchase(
                    purchase_no=f"P{k}",
                    member_id=vip.id,
                    product=f"Villa {k}",
                    amount=Decimal("1000.00"),
                    paid_amount=Decimal("1000.00"),
                    purchased_at=datetime(2025, 6, 1 + k, tzinfo=UTC),
                )
            )
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _log(session: Session, **changes) -> complaints.ComplaintRow:
    data = {
        "member_or_card": "M00000001",
        "channel": "phone",
        "complaint_type": "house_quality",
        "content": "Water leaks through the kitchen ceiling",
        "received_at": datetime(2026, 3, 9, 10, 0),
        "importance": "normal",
    } | changes
    row = complaints.log_complaint(session, CLERK, data, now=NOW)
    session.commit()
    return row


def _step(session: Session, number: str, **changes) -> complaints.ComplaintRow:
    arguments = {
        "handler": "张工",
        "department": "Engineering",
        "opinion": "Inspected the ceiling",
        "handled_at": datetime(2026, 3, 9, 15, 0),
        "now": NOW,
    } | changes
    row = complaints.add_step(session, CLERK, number, **arguments)
    session.commit()
    return row


# -- intake and service levels -----------------------------------------------------------------
def test_a_complaint_received_late_at_night_is_due_by_its_level_in_utc(session: Session) -> None:
    row = _log(
        session,
        member_or_card=" ８８００ ０００００１ ",  # full-width digits and blanks, a card number
        importance="urgent",
        received_at=datetime(2026, 3, 1, 23, 30),  # naive: Shanghai time
    )
    assert row.complaint_no.startswith("C") and row.status == "pending"
    assert (row.member_no, row.card_no) == ("M00000001", CARD)
    assert row.received_at == datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    assert row.due_at == datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # urgent: 24 hours
    assert row.receiver == "clerk1"  # defaults to the clerk logging it


def test_overdue_starts_exactly_after_the_due_instant_whatever_the_time_zone(
    session: Session,
) -> None:
    row = _log(session, importance="urgent", received_at="2026-03-01 23:30")
    due = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    assert row.due_at == due
    assert not complaints.is_overdue(row, due)
    assert complaints.is_overdue(row, due + timedelta(microseconds=1))
    # the same instant given in Shanghai time, aware or naive (naive = club-local)
    assert not complaints.is_overdue(row, datetime(2026, 3, 2, 23, 30, tzinfo=SHANGHAI))
    assert not complaints.is_overdue(row, datetime(2026, 3, 2, 23, 30))
    assert complaints.is_overdue(row, datetime(2026, 3, 2, 23, 30, 1))
    listed = complaints.overdue_complaints(session, now=due + timedelta(seconds=1))
    assert [r.complaint_no for r in listed] == [row.complaint_no]
    assert complaints.overdue_complaints(session, now=due) == []


def test_each_importance_gets_its_service_level(session: Session) -> None:
    hours = {level.importance: level.due_hours for level in complaints.service_levels(session)}
    assert hours == {"urgent": 24, "high": 72, "normal": 168, "low": 360}
    received = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
    for importance, due_hours in hours.items():
        row = _log(session, importance=importance, received_at=received)
        assert row.due_at == received + timedelta(hours=due_hours)


def test_a_changed_level_applies_to_new_complaints_only(session: Session) -> None:
    before = _log(session)
    with pytest.raises(NotAllowed):
        complaints.set_service_level(session, CLERK, "normal", 48)
    with pytest.raises(ValidationFailed) as refused:
        complaints.set_service_level(session, MANAGER, "soon", 0)
    assert {p.field for p in refused.value.problems} == {"importance", "due_hours"}
    level = complaints.set_service_level(session, MANAGER, "normal", 48)
    session.commit()
    assert (level.due_hours, level.updated_by) == (48, "boss")
    after = _log(session)
    assert after.due_at - after.received_at == timedelta(hours=48)
    detail = complaints.complaint_detail(session, CLERK, before.complaint_no, now=NOW)
    assert detail.row.due_at - detail.row.received_at == timedelta(hours=168)


def test_bad_intake_is_reported_field_by_field_and_nothing_is_written(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        complaints.log_complaint(
            session,
            CLERK,
            {
                "member_or_card": "M99999999",
                "channel": "fax",
                "complaint_type": "",
                "content": "   ",
                "importance": "asap",
                "received_at": datetime(2026, 3, 11, 9, 0),  # tomorrow in Shanghai
            },
            now=NOW,
        )
    codes = {p.field: p.code for p in refused.value.problems}
    assert codes == {
        "member_or_card": "complaint_member_unknown",
        "channel": "unknown_code",
        "complaint_type": "required",
        "content": "required",
        "importance": "unknown_code",
        "received_at": "complaint_in_future",
    }
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Complaint)) == 0
    with pytest.raises(ValidationFailed) as refused:
        complaints.log_complaint(
            session,
            CLERK,
            {"channel": "phone", "complaint_type": "non_service", "content": "x",
             "received_at": "yesterday"},
            now=NOW,
        )  # fmt: skip
    assert [p.code for p in refused.value.problems] == ["complaint_time_format"]


def test_a_complaint_without_a_member_is_accepted(session: Session) -> None:
    row = _log(session, member_or_card="", received_at=None)
    assert (row.member_no, row.card_no) == (None, None)
    assert row.received_at == NOW  # defaults to now
    detail = complaints.complaint_detail(session, CLERK, row.complaint_no, now=NOW)
    assert detail.member is None


# -- the state machine ---------------------------------------------------------------------------
def test_pending_to_in_progress_to_done_and_illegal_transitions_refused(session: Session) -> None:
    number = _log(session).complaint_no
    with pytest.raises(Conflict) as refused:
        complaints.close_complaint(session, CLERK, number, satisfaction=4, now=NOW)
    assert refused.value.code == "complaint_not_in_progress"
    assert "at least one step" in refused.value.message
    session.rollback()

    assert _step(session, number).status == "in_progress"
    second = _step(session, number, department="Property", opinion="Roof repaired")
    assert (second.status, second.steps) == ("in_progress", 2)

    for bad in (0, 6, None):
        with pytest.raises(ValidationFailed) as refused:
            complaints.close_complaint(session, CLERK, number, satisfaction=bad, now=NOW)
        assert refused.value.problems[0].field == "satisfaction"
        session.rollback()

    closed = complaints.close_complaint(
        session, CLERK, number, satisfaction=4, note="Member thanked us", now=NOW
    )
    session.commit()
    assert (closed.status, closed.satisfaction, closed.closed_by) == ("done", 4, "clerk1")
    assert closed.closed_at == NOW

    with pytest.raises(Conflict) as refused:
        _step(session, number)
    assert refused.value.code == "complaint_closed"
    assert "closed by clerk1 at 2026-03-10 12:00" in refused.value.message
    session.rollback()
    with pytest.raises(Conflict) as refused:
        complaints.close_complaint(session, CLERK2, number, satisfaction=5, now=NOW)
    assert refused.value.code == "complaint_already_closed"
    assert refused.value.params["closed_by"] == "clerk1"
    session.rollback()

    detail = complaints.complaint_detail(session, CLERK, number, now=NOW)
    assert [s.opinion for s in detail.steps] == [
        "Inspected the ceiling",
        "Roof repaired",
        "Member thanked us",
    ]
    assert [s.is_closing_note for s in detail.steps] == [False, False, True]


def test_steps_are_checked_against_the_complaint_times(session: Session) -> None:
    number = _log(session).complaint_no
    with pytest.raises(ValidationFailed) as refused:
        complaints.add_step(
            session, CLERK, number, handler="", department="Eng", opinion="ok",
            handled_at=datetime(2026, 3, 9, 9, 0),  # before it was received (10:00)
            expected_completion=datetime(2026, 3, 9, 8, 0), now=NOW,
        )  # fmt: skip
    assert {p.field: p.code for p in refused.value.problems} == {
        "handler": "required",
        "handled_at": "complaint_step_before_receipt",
        "expected_completion": "complaint_expected_before_step",
    }
    session.rollback()
    with pytest.raises(NotFound) as missing:
        complaints.add_step(session, CLERK, "C404", handler="a", department="b", opinion="c")
    assert missing.value.code == "complaint_not_found"


def test_a_complaint_closed_after_its_due_time_counts_as_closed_late(session: Session) -> None:
    number = _log(session, importance="urgent", received_at=datetime(2026, 3, 8, 9, 0)).complaint_no
    _step(session, number, handled_at=datetime(2026, 3, 8, 10, 0))
    assert complaints.complaint_detail(session, CLERK, number, now=NOW).row.overdue
    complaints.close_complaint(session, CLERK, number, satisfaction=2, now=NOW)
    session.commit()
    row = complaints.complaint_detail(session, CLERK, number, now=NOW).row
    assert (row.overdue, row.closed_late) == (False, True)
    assert complaints.overdue_complaints(session, now=NOW) == []


# -- points ----------------------------------------------------------------------------------------
def test_closing_awards_the_rule_points_once(session: Session) -> None:
    member_id = session.scalar(select(Member.id).where(Member.member_no == "M00000001"))
    number = _log(session).complaint_no
    _step(session, number)
    point_rules.set_rule(
        session, ADMIN, event_type="complaint", points=30, needs_approval=False, active=True
    )
    session.commit()
    complaints.close_complaint(session, CLERK, number, satisfaction=5, now=NOW)
    session.commit()
    assert balance_of(session, member_id) == 30
    entries = session.scalars(select(PointEntry).where(PointEntry.event_type == "complaint")).all()
    assert [(e.points, e.idempotency_key) for e in entries] == [(30, f"complaint:{number}")]
    with pytest.raises(Conflict):  # closing again awards nothing more
        complaints.close_complaint(session, CLERK, number, satisfaction=5, now=NOW)
    session.rollback()
    assert balance_of(session, member_id) == 30
    detail = complaints.complaint_detail(session, CLERK, number, now=NOW)
    assert (detail.points.points, detail.points.status) == (30, "posted")


def test_no_points_without_an_active_rule_and_pending_when_the_rule_needs_approval(
    session: Session,
) -> None:
    first = _log(session).complaint_no
    _step(session, first)
    complaints.close_complaint(session, CLERK, first, satisfaction=3, now=NOW)
    session.commit()
    assert complaints.complaint_detail(session, CLERK, first, now=NOW).points is None
    point_rules.set_rule(
        session, ADMIN, event_type="complaint", match_code="house_quality", points=80,
        needs_approval=True, active=True,
    )  # fmt: skip
    session.commit()
    second = _log(session).complaint_no
    _step(session, second)
    complaints.close_complaint(session, CLERK, second, satisfaction=3, now=NOW)
    session.commit()
    awarded = complaints.complaint_detail(session, CLERK, second, now=NOW).points
    assert (awarded.points, awarded.status) == (80, "pending")


# -- concurrency -----------------------------------------------------------------------------------
def test_a_stale_page_is_refused_with_a_clear_message(session: Session) -> None:
    number = _log(session).complaint_no
    opened = _step(session, number).version
    _step(session, number, opinion="Another clerk's step")  # changes the complaint
    with pytest.raises(Conflict) as refused:
        complaints.close_complaint(
            session, CLERK2, number, satisfaction=4, expected_version=opened, now=NOW
        )
    assert refused.value.code == "complaint_changed"
    session.rollback()
    fresh = complaints.complaint_detail(session, CLERK2, number, now=NOW).row.version
    closed = complaints.close_complaint(
        session, CLERK2, number, satisfaction=4, expected_version=fresh, now=NOW
    )
    session.commit()
    assert closed.version > fresh


def test_two_clerks_closing_at_once_one_wins_the_other_is_told_who(engine) -> None:
    with Session(engine) as session:
        number = _log(session).complaint_no
        version = _step(session, number).version
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def close(actor: Actor) -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                complaints.close_complaint(
                    session, actor, number, satisfaction=4, expected_version=version, now=NOW
                )
                session.commit()
                outcomes[actor.username] = "closed"
            except Conflict as error:
                session.rollback()
                outcomes[actor.username] = error

    threads = [threading.Thread(target=close, args=(a,)) for a in (CLERK, CLERK2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [name for name, outcome in outcomes.items() if outcome == "closed"]
    assert len(winners) == 1, outcomes
    (loser,) = [o for o in outcomes.values() if o != "closed"]
    assert loser.code == "complaint_already_closed"
    assert f"closed by {winners[0]}" in loser.message
    with Session(engine) as session:
        assert session.scalar(select(Complaint.closed_by)) == winners[0]


# -- search and the member's context --------------------------------------------------------------
@pytest.fixture
def three(session: Session) -> list[str]:
    a = _log(session, content="Water LEAKS in the garage", channel="phone",
             importance="low", received_at=datetime(2026, 3, 1, 9, 0),
             receiver="Wang Fang").complaint_no  # fmt: skip
    _step(session, a, handler="张工", department="Engineering", handled_at=datetime(2026, 3, 2, 9))
    b = _log(session, member_or_card="M00000002", content="Rude salesperson at the site",
             channel="visit", complaint_type="sales_service", importance="urgent",
             received_at=datetime(2026, 3, 5, 23, 30), receiver="Li Na").complaint_no  # fmt: skip
    _step(session, b, handler="Chen", department="Sales", handled_at=datetime(2026, 3, 6, 8))
    complaints.close_complaint(session, CLERK, b, satisfaction=1, now=NOW)
    session.commit()
    c = _log(session, member_or_card="", content="Noise from the garden pump",
             channel="email", complaint_type="property_management", importance="urgent",
             received_at=datetime(2026, 3, 8, 9, 0)).complaint_no  # fmt: skip
    return [a, b, c]


def _found(session: Session, **filters) -> list[str]:
    return [
        r.complaint_no for r in complaints.search_complaints(session, CLERK, now=NOW, **filters)
    ]


def test_search_by_each_filter(session: Session, three: list[str]) -> None:
    a, b, c = three
    assert _found(session) == [c, b, a]  # newest received first
    assert _found(session, channel="visit") == [b]
    assert _found(session, complaint_type="property_management") == [c]
    assert _found(session, received_from=date(2026, 3, 5), received_to=date(2026, 3, 5)) == [b]
    assert _found(session, received_to=datetime(2026, 3, 1, 9, 0)) == [a]
    assert _found(session, receiver="wang") == [a]
    assert _found(session, handled_from=date(2026, 3, 6)) == [b]
    assert _found(session, handled_to=date(2026, 3, 2)) == [a]
    assert _found(session, department="sales") == [b]
    assert _found(session, handler="张") == [a]
    assert _found(session, department="Sales", handler="张") == []  # one and the same step
    assert _found(session, overdue=True) == [c]  # urgent, open, received two days ago
    assert _found(session, overdue=False) == [b, a]
    assert _found(session, status="done") == [b]
    assert _found(session, member_or_card=CARD) == [a]
    assert _found(session, member_or_card=" m00000002 ") == [b]
    with pytest.raises(ValidationFailed) as refused:
        _found(session, member_or_card="M404", channel="fax")
    assert {p.code for p in refused.value.problems} == {"complaint_member_unknown", "unknown_code"}


def test_open_complaints_are_counted_by_type_and_overdue(
    session: Session, three: list[str]
) -> None:
    _log(session, complaint_type="property_management", importance="low")
    counts = complaints.open_complaints_by_type(session, now=NOW)
    assert [(c.complaint_type, c.overdue, c.count) for c in counts] == [
        ("house_quality", False, 1),
        ("property_management", False, 1),
        ("property_management", True, 1),
    ]


def test_search_by_words_of_the_content_any_case_and_one_typo(
    session: Session, three: list[str]
) -> None:
    a, _b, c = three
    assert _found(session, text="leaks") == [a]
    assert _found(session, text="GARAGE water") == [a]  # every word, any order, any case
    assert _found(session, text="garage") == [a]
    assert _found(session, text="garden") == [c]
    assert _found(session, text="leeks") == [a]  # one typo
    assert _found(session, text="noize garden") == [c]
    assert _found(session, text="garbage") == [a]  # a letter too many
    assert _found(session, text="lxaxs") == []  # two typos do not match
    assert _found(session, text="pmup") == []  # words under 5 characters must be exact
    assert _found(session, text="water noise") == []
    assert _found(session, text="50%") == []  # LIKE wildcards are plain characters


def test_the_detail_shows_the_members_context(session: Session, three: list[str]) -> None:
    a, _b, _c = three
    other = _log(session, content="Second complaint").complaint_no
    detail = complaints.complaint_detail(session, CLERK, f" {a.lower()} ", now=NOW)
    member = detail.member
    assert (member.member_no, member.name, member.tier, member.points_balance) == (
        "M00000001",
        "王小明",
        "vip",
        0,
    )
    assert [p.purchase_no for p in member.recent_purchases] == ["P5", "P4", "P3", "P2", "P1"]
    assert [e.complaint_no for e in member.complaints] == [other]
    context = complaints.member_context(session, CLERK, CARD)
    assert {e.complaint_no for e in context.complaints} == {a, other}
    assert complaints.member_context(session, CLERK, "M404") is None
    assert session.scalar(select(func.count()).select_from(ComplaintStep)) == 2
