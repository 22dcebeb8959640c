"""Automatic points rules: the specific rule wins, pending or posted as the rule says, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational.db import session_scope
from operational.models import Card, Member, PointEntry
from operational.services import point_rules, points
from operational.services.common import Actor, Conflict, NotAllowed, NotFound, ValidationFailed

ADMIN = Actor("admin", "admin")
CLERK = Actor("clerk1", "staff")
SUPERVISOR = Actor("boss", "reviewer")
READER = Actor("reader:R1", "staff")


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    with session_scope(op_db_url) as session:
        yield session


def _member(session: Session, member_no: str = "M00000001", *, status: str = "active") -> Member:
    member = Member(member_no=member_no, name="李雷", joined_at=date(2024, 5, 1), status=status)
    session.add(member)
    session.flush()
    return member


def _card(session: Session, member: Member, card_no: str, **extra) -> Card:
    card = Card(card_no=card_no, member_id=member.id, kind="main", card_type="ordinary", **extra)
    session.add(card)
    session.flush()
    return card


def _entries(session: Session, member: Member) -> list[PointEntry]:
    return list(session.scalars(select(PointEntry).where(PointEntry.member_id == member.id)))


def test_a_new_club_has_a_rule_per_event_type(session: Session) -> None:
    rules = {rule.event_type: rule for rule in point_rules.list_rules(session)}
    assert set(rules) == {"activity", "care", "complaint", "swipe"}
    assert rules["activity"].needs_approval and rules["activity"].active
    assert not rules["complaint"].active  # goodwill points only once the club turns them on


def test_a_rule_that_needs_approval_creates_a_pending_entry_awarded_once(session: Session) -> None:
    member = _member(session)
    for _ in range(2):
        entry = point_rules.award_by_rule(
            session, CLERK, event_type="activity", member_id=member.id,
            idempotency_key="activity:A1:M00000001", reference="activity:A1",
        )  # fmt: skip
        assert entry is not None and entry.status == "pending" and entry.points == 50
    assert len(_entries(session, member)) == 1
    assert points.balance_of(session, member.id) == 0  # pending moves nothing
    with pytest.raises(NotAllowed):
        points.approve_entry(session, CLERK, entry.id)  # not by the person who created it
    points.approve_entry(session, SUPERVISOR, entry.id)
    assert points.balance_of(session, member.id) == 50


def test_the_specific_rule_wins_and_an_override_replaces_its_points(session: Session) -> None:
    member = _member(session)
    point_rules.set_rule(
        session, ADMIN, event_type="activity", match_code="Salon", points=80, needs_approval=False
    )
    salon = point_rules.award_by_rule(
        session, CLERK, event_type="activity", member_id=member.id,
        idempotency_key="k1", reference="activity:A1", match_code="salon",
    )  # fmt: skip
    assert salon is not None and (salon.status, salon.points) == ("posted", 80)
    party = point_rules.award_by_rule(
        session, CLERK, event_type="activity", member_id=member.id,
        idempotency_key="k2", reference="activity:A2", match_code="party",
    )  # fmt: skip
    assert party is not None and (party.status, party.points) == ("pending", 50)
    own = point_rules.award_by_rule(
        session, CLERK, event_type="activity", member_id=member.id,
        idempotency_key="k3", reference="activity:A3", match_code="salon", points_override=200,
    )  # fmt: skip
    assert own is not None and (own.status, own.points) == ("posted", 200)
    assert points.balance_of(session, member.id) == 280


def test_no_active_rule_or_zero_points_awards_nothing(session: Session) -> None:
    member = _member(session)
    assert (
        point_rules.award_by_rule(
            session,
            CLERK,
            event_type="complaint",
            member_id=member.id,
            idempotency_key="complaint:C1",
            reference="complaint:C1",
        )  # fmt: skip
        is None
    )
    point_rules.set_rule(session, ADMIN, event_type="care", points=0, needs_approval=False)
    assert (
        point_rules.award_by_rule(
            session,
            CLERK,
            event_type="care",
            member_id=member.id,
            idempotency_key="care:1",
            reference="care:1",
        )  # fmt: skip
        is None
    )
    assert _entries(session, member) == []


def test_only_admins_change_rules_and_bad_values_are_refused_together(session: Session) -> None:
    with pytest.raises(NotAllowed):
        point_rules.set_rule(session, CLERK, event_type="swipe", points=5, needs_approval=False)
    with pytest.raises(ValidationFailed) as refused:
        point_rules.set_rule(session, ADMIN, event_type="birthday", points=-5, needs_approval=True)
    assert {p.field for p in refused.value.problems} == {"event_type", "points"}
    rule = point_rules.set_rule(
        session, ADMIN, event_type="swipe", points=15, needs_approval=False, description=" x "
    )
    assert (rule.points, rule.updated_by, rule.description) == (15, "admin", "x")
    assert session.scalar(select(func.count()).select_from(point_rules.PointRule)) == 4


def test_a_swipe_awards_once_by_chip_number_and_sub_card_points_go_to_the_main_card(
    session: Session,
) -> None:
    member = _member(session)
    main = _card(session, member, "C000000001", chip_uid="0004283503")
    sub = Card(
        card_no="C000000002", member_id=member.id, kind="sub", card_type="discount",
        parent_card_id=main.id, chip_uid="0000000777",
    )  # fmt: skip
    session.add(sub)
    session.flush()
    for _ in range(3):  # the spool replays the same swipe
        entry = point_rules.award_for_swipe(
            session, READER, card_number="0000000777", swipe_id="R1-000042"
        )
    assert entry is not None and entry.status == "posted" and entry.card_id == main.id
    assert points.balance_of(session, member.id) == 10
    point_rules.award_for_swipe(session, READER, card_number="c000000001", swipe_id="R1-000043")
    assert points.balance_of(session, member.id) == 20


def test_a_swipe_of_an_unknown_lost_or_former_members_card_is_refused_clearly(
    session: Session,
) -> None:
    member = _member(session)
    _card(session, member, "C000000001", status="lost")
    gone = _member(session, "M00000002", status="archived")
    _card(session, gone, "C000000003")
    with pytest.raises(NotFound) as unknown:
        point_rules.award_for_swipe(session, READER, card_number="9999", swipe_id="R1-1")
    assert unknown.value.code == "unknown_card"
    with pytest.raises(Conflict) as lost:
        point_rules.award_for_swipe(session, READER, card_number="C000000001", swipe_id="R1-2")
    assert (lost.value.code, lost.value.params["status"]) == ("card_not_active", "lost")
    with pytest.raises(Conflict) as archived:
        point_rules.award_for_swipe(session, READER, card_number="C000000003", swipe_id="R1-3")
    assert archived.value.code == "member_not_active"
    assert session.scalar(select(func.count()).select_from(PointEntry)) == 0
