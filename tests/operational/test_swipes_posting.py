"""Posting spooled swipes: attendance, points, record-only and refusals, each swipe once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational.db import session_scope
from operational.models import ActivityAttendance, Card, Member, PointEntry, SwipePosting
from operational.services import activities, points, swipes
from operational.services.common import Actor

CLERK = Actor("clerk1", "staff")
ADMIN = Actor("admin", "admin")
READER = swipes.reader_actor("GATE-1")
WHEN = datetime(2026, 4, 10, 7, 0, tzinfo=UTC)


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    with session_scope(op_db_url) as session:
        for n, status in ((1, "active"), (2, "archived")):
            member = Member(
                member_no=f"M{n:08d}", name=f"会员{n}", joined_at=date(2025, 1, 1), status=status
            )
            session.add(member)
            session.flush()
            session.add(
                Card(
                    card_no=f"C{n:07d}", member_id=member.id, kind="main", card_type="ordinary",
                    chip_uid=f"000000000{n}",
                )
            )  # fmt: skip
        session.add(
            Card(card_no="C0000009", member_id=member.id, kind="main", card_type="ordinary",
                 status="lost")
        )  # fmt: skip
        session.flush()
        yield session


def _swipe(seq: int, card_no: str, purpose: str | None, target: str | None = None) -> dict:
    return {
        "swipe_id": f"GATE-1-{seq:012d}",
        "reader_id": "GATE-1",
        "seq": seq,
        "card_no": card_no,
        "raw": card_no,
        "swiped_at": WHEN.isoformat(),
        "purpose": purpose,
        "target": target,
    }


def _running_activity(session: Session) -> str:
    code = activities.plan_activity(
        session, CLERK,
        {"name": "沙龙", "activity_type": "salon", "starts_at": "2026-04-10 14:00",
         "ends_at": "2026-04-10 17:00", "points_per_attendee": 30},
    ).code  # fmt: skip
    activities.submit(session, CLERK, code)
    activities.approve(session, ADMIN, code)
    activities.start(session, CLERK, code)
    return code


def test_a_check_in_swipe_records_attendance_and_points_once(session: Session) -> None:
    code = _running_activity(session)
    first = swipes.post_swipe(session, READER, _swipe(1, "0000000001", "activity_checkin", code))
    replay = swipes.post_swipe(session, READER, _swipe(1, "0000000001", "activity_checkin", code))
    again = swipes.post_swipe(session, READER, _swipe(2, "C0000001", "activity_checkin", code))
    assert (first.outcome, first.member_no) == ("posted", "M00000001")
    assert replay == first
    assert again.outcome == "already"
    assert session.scalar(select(func.count()).select_from(ActivityAttendance)) == 1
    entries = session.scalars(select(PointEntry)).all()
    assert [(e.points, e.status, e.event_type) for e in entries] == [(30, "pending", "activity")]
    assert session.scalar(select(func.count()).select_from(SwipePosting)) == 2


def test_a_points_swipe_posts_the_swipe_rule_and_a_plain_swipe_is_only_recorded(
    session: Session,
) -> None:
    member_id = session.scalar(select(Member.id).where(Member.member_no == "M00000001"))
    award = swipes.post_swipe(session, READER, _swipe(1, "0000000001", "points_award"))
    plain = swipes.post_swipe(session, READER, _swipe(2, "0000000001", None))
    assert (award.outcome, plain.outcome) == ("posted", "recorded")
    assert points.balance_of(session, member_id) == 10
    assert swipes.outcome_counts(session) == {"GATE-1": {"posted": 1, "recorded": 1}}


def test_unknown_lost_and_former_members_cards_are_refused_and_listed(session: Session) -> None:
    code = _running_activity(session)
    outcomes = [
        swipes.post_swipe(session, READER, _swipe(1, "4242424242", "points_award")),
        swipes.post_swipe(session, READER, _swipe(2, "C0000009", "points_award")),
        swipes.post_swipe(session, READER, _swipe(3, "C0000002", "activity_checkin", code)),
        swipes.post_swipe(session, READER, _swipe(4, "C0000001", "activity_checkin", "NOPE")),
        swipes.post_swipe(session, READER, _swipe(5, "C0000001", "merchant_counter", "x")),
    ]
    assert all(o.outcome == "refused" for o in outcomes)
    assert [o.code for o in outcomes][:2] == ["unknown_card", "card_not_active"]
    assert outcomes[1].params == {"card_no": "C0000009", "status": "lost"}  # to word it later
    assert outcomes[4].code == "no_running_service"
    listed = swipes.refused_swipes(session)
    assert {o.swipe_id for o in listed} == {o.swipe_id for o in outcomes}
    assert all(o.message for o in listed)
    assert session.scalar(select(func.count()).select_from(PointEntry)) == 0
