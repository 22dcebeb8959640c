"""Activities (operational.services.activities): the state machine, attendance with points once,
lists of card numbers, and cost arithmetic — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.models import Activity, Card, Member, PointEntry
from operational.services import activities as act
from operational.services.common import (
    Actor,
    Conflict,
    NotAllowed,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from operational.services.point_rules import set_rule
from operational.services.points import balance_of

CLERK = Actor("clerk1", "staff")
REVIEWER = Actor("rev1", "reviewer")
ADMIN = Actor("admin", "admin")
T0 = datetime(2025, 1, 1, tzinfo=UTC)

PLAN = {
    "name": "春季品酒沙龙",
    "activity_type": "salon",
    "starts_at": "2026-04-10 14:00",
    "ends_at": "2026-04-10 17:30",
    "place": "会所二楼",
    "expected_headcount": 40,
    "expected_cost": "6000",
    "plan_text": "品酒与讲座",
}


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    """Members M1 (main card C1, sub-card S1), M2 (C2), M3 (lost card L3, active C3b),
    M4 archived (card C4)."""
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        members = {}
        for n, status in ((1, "active"), (2, "active"), (3, "active"), (4, "archived")):
            member = Member(
                member_no=f"M{n:08d}", name=f"会员{n}", joined_at=date(2025, 1, 1), status=status
            )
            seeding.add(member)
            seeding.flush()
            members[n] = member
        main1 = Card(card_no="C0000001", member_id=members[1].id, kind="main", card_type="vip")
        seeding.add(main1)
        seeding.flush()
        seeding.add_all(
            [
                Card(
                    card_no="S0000001",
                    member_id=members[1].id,
                    kind="sub",
                    card_type="discount",
                    parent_card_id=main1.id,
                    chip_uid="0012345678",
                ),
                Card(
                    card_no="C0000002", member_id=members[2].id, kind="main", card_type="ordinary"
                ),
                Card(
                    card_no="L0000003",
                    member_id=members[3].id,
                    kind="main",
                    card_type="ordinary",
                    status="lost",
                ),
                Card(
                    card_no="C0000003", member_id=members[3].id, kind="main", card_type="ordinary"
                ),
                Card(
                    card_no="C0000004", member_id=members[4].id, kind="main", card_type="ordinary"
                ),
            ]
        )
    with Session(engine) as session:
        yield session
    engine.dispose()


def _member_id(session: Session, n: int) -> int:
    return session.scalar(select(Member.id).where(Member.member_no == f"M{n:08d}"))


def _in_state(session: Session, state: str, **plan: object) -> str:
    """A new activity (planned by the clerk) moved to ``state``; its code."""
    code = act.plan_activity(session, CLERK, {**PLAN, **plan}).code
    path = {
        "planned": [],
        "submitted": ["submit"],
        "rejected": ["submit", "reject"],
        "approved": ["submit", "approve"],
        "running": ["submit", "approve", "start"],
        "closed": ["submit", "approve", "start", "close"],
    }[state]
    for step in path:
        if step == "submit":
            act.submit(session, CLERK, code)
        elif step == "approve":
            act.approve(session, REVIEWER, code)
        elif step == "reject":
            act.reject(session, REVIEWER, code, reason="too expensive")
        elif step == "start":
            act.start(session, CLERK, code)
        elif step == "close":
            act.close(session, CLERK, code)
    session.commit()
    return code


def _do(session: Session, action: str, code: str) -> object:
    """Try ``action`` on activity ``code`` as a person allowed to do it (the reviewer decides)."""
    if action == "edit":
        return act.update_plan(session, CLERK, code, {"place": "花园"})
    if action == "submit":
        return act.submit(session, CLERK, code)
    if action == "approve":
        return act.approve(session, REVIEWER, code)
    if action == "reject":
        return act.reject(session, REVIEWER, code, reason="no")
    if action == "start":
        return act.start(session, CLERK, code)
    if action == "close":
        return act.close(session, CLERK, code)
    if action == "attend":
        return act.record_attendance(session, CLERK, code, "C0000002")
    if action == "costs":
        return act.add_cost(session, CLERK, code, kind="shared", description="场地", amount="100")
    raise AssertionError(action)


ACTIONS = ("edit", "submit", "approve", "reject", "start", "close", "attend", "costs")


# -- planning -----------------------------------------------------------------------------------
def test_planning_numbers_the_activity_and_keeps_the_plan(session: Session) -> None:
    first = act.plan_activity(session, CLERK, PLAN)
    second = act.plan_activity(session, CLERK, {**PLAN, "code": " spring-2026 "})
    session.commit()
    assert (first.code, first.status, first.created_by) == ("ACT000001", "planned", "clerk1")
    assert second.code == "SPRING-2026"
    # naive times are club time (UTC+8)
    assert first.starts_at == datetime(2026, 4, 10, 6, 0, tzinfo=UTC)
    assert (first.expected_headcount, first.expected_cost) == (40, Decimal("6000.00"))
    assert first.allowed_actions == ("edit", "submit")
    with pytest.raises(ValidationFailed) as taken:
        act.plan_activity(session, CLERK, {**PLAN, "code": "spring-2026"})
    assert [p.code for p in taken.value.problems] == ["activity_code_taken"]


def test_a_bad_plan_is_refused_with_every_problem_at_once(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        act.plan_activity(
            session,
            CLERK,
            {
                "name": " ",
                "activity_type": "rave",
                "starts_at": "2026-04-10 14:00",
                "ends_at": "2026-04-10 13:00",
                "expected_headcount": -1,
                "expected_cost": "-5",
                "points_per_attendee": "ten",
            },
        )
    found = {(p.field, p.code) for p in refused.value.problems}
    assert found == {
        ("name", "required"),
        ("activity_type", "unknown_code"),
        ("ends_at", "activity_ends_before_start"),
        ("expected_headcount", "activity_out_of_range"),
        ("expected_cost", "activity_amount_negative"),
        ("points_per_attendee", "activity_not_a_number"),
    }
    assert session.scalar(select(func.count()).select_from(Activity)) == 0


# -- the state machine --------------------------------------------------------------------------
def test_the_whole_life_of_an_activity(session: Session) -> None:
    code = act.plan_activity(session, CLERK, PLAN).code
    assert act.submit(session, CLERK, code).status == "submitted"
    approved = act.approve(session, REVIEWER, code, note="好")
    assert (approved.status, approved.decided_by, approved.decision_note) == (
        "approved",
        "rev1",
        "好",
    )
    assert approved.decided_at is not None
    assert act.start(session, CLERK, code).status == "running"
    closed = act.close(session, CLERK, code)
    session.commit()
    assert closed.status == "closed" and closed.closed_at is not None
    assert closed.allowed_actions == ("costs",)
    with pytest.raises(NotFound) as missing:
        act.submit(session, CLERK, "NOPE")
    assert missing.value.code == "activity_not_found"


def test_a_rejected_plan_keeps_the_reason_and_may_be_edited_and_resubmitted(
    session: Session,
) -> None:
    code = _in_state(session, "submitted")
    with pytest.raises(ServiceError) as no_reason:
        act.reject(session, REVIEWER, code, reason="  ")
    assert no_reason.value.code == "reason_required"
    rejected = act.reject(session, REVIEWER, code, reason="预算太高")
    assert (rejected.status, rejected.decision_note) == ("rejected", "预算太高")
    edited = act.update_plan(session, CLERK, code, {"expected_cost": "4500.50"})
    assert edited.expected_cost == Decimal("4500.50")
    assert edited.decision_note == "预算太高"
    assert act.submit(session, CLERK, code).status == "submitted"
    assert act.approve(session, REVIEWER, code).decision_note is None
    planned = _in_state(session, "planned")
    with pytest.raises(ValidationFailed) as refused:
        act.update_plan(session, CLERK, planned, {"ends_at": "2026-04-09 10:00"})
    assert [p.code for p in refused.value.problems] == ["activity_ends_before_start"]


def test_every_state_allows_its_actions_and_refuses_the_others_clearly(
    session: Session,
) -> None:
    legal = {
        "planned": {"edit", "submit"},
        "submitted": {"approve", "reject"},
        "rejected": {"edit", "submit"},
        "approved": {"start", "costs"},
        "running": {"attend", "costs", "close"},
        "closed": {"costs"},
    }
    for state, actions in legal.items():
        for action in actions:
            code = _in_state(session, state)
            _do(session, action, code)
            session.commit()
    for state, allowed in act.ALLOWED_ACTIONS.items():
        code = _in_state(session, state)
        for action in ACTIONS:
            if action in allowed:
                continue
            with pytest.raises(Conflict) as refused:
                _do(session, action, code)
            error = refused.value
            assert error.code == "activity_wrong_state", (state, action)
            assert error.params == {
                "activity": code,
                "status": state,
                "action": action,
                "allowed": ", ".join(allowed),
            }
            assert f"is {state}" in error.message and ", ".join(allowed) in error.message
            session.rollback()
        status = session.scalar(select(Activity.status).where(Activity.code == code))
        assert status == state


def test_only_a_second_person_with_a_reviewer_role_decides(session: Session) -> None:
    code = act.plan_activity(session, REVIEWER, PLAN).code
    act.submit(session, REVIEWER, code)
    with pytest.raises(NotAllowed) as own:
        act.approve(session, REVIEWER, code)
    assert own.value.code == "activity_own_plan"
    with pytest.raises(NotAllowed) as own:
        act.reject(session, REVIEWER, code, reason="x")
    assert own.value.code == "activity_own_plan"
    with pytest.raises(NotAllowed) as staff:
        act.approve(session, CLERK, code)
    assert staff.value.code == "not_allowed"
    assert act.approve(session, ADMIN, code).status == "approved"


def test_the_person_who_submitted_a_plan_does_not_decide_it_either(session: Session) -> None:
    code = act.plan_activity(session, CLERK, PLAN).code
    submitted = act.submit(session, REVIEWER, code)
    assert (submitted.submitted_by, submitted.submitted_at is not None) == ("rev1", True)
    with pytest.raises(NotAllowed) as own:
        act.approve(session, REVIEWER, code)
    assert own.value.code == "activity_own_plan"
    approved = act.approve(session, ADMIN, code)
    started = act.start(session, CLERK, code)
    assert (approved.decided_by, started.started_at is not None) == ("admin", True)


# -- attendance ---------------------------------------------------------------------------------
def test_attendance_is_recorded_once_and_earns_pending_points_once(session: Session) -> None:
    code = _in_state(session, "running")
    first = act.record_attendance(session, CLERK, code, "ｃ０００ ０００２")
    again = act.record_attendance(session, CLERK, code, "C0000002", source="reader")
    by_member_no = act.record_attendance(session, CLERK, code, "m00000002")
    session.commit()
    assert (first.status, first.member_no, first.card_no) == ("recorded", "M00000002", "C0000002")
    # the default activity rule: 50 points, waiting for a supervisor
    assert (first.points, first.points_status) == (50, "pending")
    assert (again.status, by_member_no.status) == ("already", "already")
    assert again.source == "single"  # what was recorded first
    entries = session.scalars(select(PointEntry).where(PointEntry.event_type == "activity")).all()
    assert [(e.points, e.status, e.idempotency_key, e.reference) for e in entries] == [
        (50, "pending", f"activity:{code}:M00000002", f"activity:{code}")
    ]
    assert balance_of(session, _member_id(session, 2)) == 0


def test_points_are_posted_at_once_when_the_rule_needs_no_approval(session: Session) -> None:
    set_rule(
        session, ADMIN, event_type="activity", match_code="party", points=30, needs_approval=False
    )
    code = _in_state(session, "running", activity_type="party")
    own_points = _in_state(session, "running", activity_type="party", points_per_attendee=120)
    done = act.record_attendance(session, CLERK, code, "C0000002")
    more = act.record_attendance(session, CLERK, own_points, "C0000002")
    session.commit()
    assert (done.points, done.points_status) == (30, "posted")
    assert (more.points, more.points_status) == (120, "posted")
    assert balance_of(session, _member_id(session, 2)) == 150


def test_points_earned_on_a_sub_card_go_to_the_main_card(session: Session) -> None:
    set_rule(session, ADMIN, event_type="activity", points=10, needs_approval=False)
    code = _in_state(session, "running")
    done = act.record_attendance(session, CLERK, code, "0012345678", source="reader")  # chip
    session.commit()
    assert done.card_no == "S0000001"
    entry = session.scalar(select(PointEntry).where(PointEntry.event_type == "activity"))
    main = session.scalar(select(Card.id).where(Card.card_no == "C0000001"))
    assert entry.card_id == main
    assert balance_of(session, _member_id(session, 1)) == 10


def test_archived_members_lost_cards_and_unknown_numbers_are_refused(session: Session) -> None:
    code = _in_state(session, "running")
    expected = {
        "C0000004": "member_archived",
        "M00000004": "member_archived",
        "L0000003": "card_not_active",
        "C9999999": "activity_number_unknown",
        " ": "required",
    }
    for number, problem in expected.items():
        with pytest.raises(ServiceError) as refused:
            act.record_attendance(session, CLERK, code, number)
        assert refused.value.code == problem, number
    with pytest.raises(ServiceError) as bad_source:
        act.record_attendance(session, CLERK, code, "C0000002", source="fax")
    assert bad_source.value.code == "invalid_source"
    assert act.activity_detail(session, CLERK, code).attendees == ()


def test_a_list_reports_each_line(session: Session) -> None:
    code = _in_state(session, "running")
    result = act.record_attendance_list(
        session,
        CLERK,
        code,
        [
            "card_no,name",
            "C0000001,会员1",
            "",
            "Ｃ０００ ０００２",
            "C0000001",
            "L0000003\nC0000004\nXYZ",
            "  m00000003  ",
            "M00000001",
        ],
    )
    session.commit()
    shown = [(line.line_no, line.number, line.status, line.code) for line in result.lines]
    assert shown == [
        (2, "C0000001", "recorded", None),
        (4, "C0000002", "recorded", None),
        (5, "C0000001", "already", "listed_twice"),
        (6, "L0000003", "problem", "card_not_active"),
        (7, "C0000004", "problem", "member_archived"),
        (8, "XYZ", "problem", "activity_number_unknown"),
        (9, "M00000003", "recorded", None),
        (10, "M00000001", "already", "already_recorded"),
    ]
    assert (result.recorded, result.already, result.problems) == (3, 2, 3)
    detail = act.activity_detail(session, CLERK, code)
    assert [(a.member_no, a.source, a.points_status) for a in detail.attendees] == [
        ("M00000001", "list", "pending"),
        ("M00000002", "list", "pending"),
        ("M00000003", "list", "pending"),
    ]
    assert detail.attendees[2].card_no == "C0000003"  # the member's active main card
    act.close(session, CLERK, code)
    with pytest.raises(Conflict):
        act.record_attendance_list(session, CLERK, code, ["C0000002"])


# -- costs --------------------------------------------------------------------------------------
def test_costs_add_shared_lines_and_per_head_rates_times_attendees(session: Session) -> None:
    code = _in_state(session, "running", expected_headcount=4, expected_cost="1500")
    for number in ("C0000001", "C0000002", "C0000003"):
        act.record_attendance(session, CLERK, code, number)
    act.add_cost(session, CLERK, code, kind="shared", description="场地", amount="1,000")
    act.add_cost(session, CLERK, code, kind="shared", description="布置", amount=Decimal("333.33"))
    gift = act.add_cost(session, CLERK, code, kind="per_head", description="礼品", amount="50")
    act.add_cost(session, CLERK, code, kind="per_head", description="餐", amount="¥12.34")
    session.commit()
    assert gift.line_total == Decimal("150.00")
    costs = act.activity_costs(session, CLERK, code)
    assert costs.attendees == 3
    assert costs.shared_total == Decimal("1333.33")
    assert costs.per_head_rate == Decimal("62.34")
    assert costs.per_head_total == Decimal("187.02")
    assert costs.total == Decimal("1520.35")
    assert costs.average_per_attendee == Decimal("506.78")  # 506.7833…
    assert (costs.expected_headcount, costs.headcount_difference) == (4, -1)
    assert (costs.expected_cost, costs.cost_difference) == (Decimal("1500.00"), Decimal("20.35"))


def test_no_average_without_attendees_and_rounding_half_up_at_the_end(session: Session) -> None:
    code = _in_state(session, "approved", expected_headcount=10, expected_cost="800")
    act.add_cost(session, CLERK, code, kind="shared", description="定金", amount="300")
    act.add_cost(session, CLERK, code, kind="per_head", description="礼品", amount="20")
    costs = act.activity_costs(session, CLERK, code)
    assert (costs.attendees, costs.per_head_total, costs.total) == (
        0,
        Decimal("0.00"),
        Decimal("300.00"),
    )
    assert costs.average_per_attendee is None
    assert (costs.headcount_difference, costs.cost_difference) == (-10, Decimal("-500.00"))
    code = _in_state(session, "running", expected_cost="0")
    act.record_attendance(session, CLERK, code, "C0000001")
    act.record_attendance(session, CLERK, code, "C0000002")
    act.add_cost(session, CLERK, code, kind="shared", description="茶水", amount="0.05")
    costs = act.activity_costs(session, CLERK, code)
    assert costs.average_per_attendee == Decimal("0.03")  # 0.025 half up, not to even


def test_cost_lines_are_validated_and_may_be_removed_after_closing(session: Session) -> None:
    code = _in_state(session, "closed")
    with pytest.raises(ValidationFailed) as refused:
        act.add_cost(session, CLERK, code, kind="bulk", description="", amount="12.345")
    assert {(p.field, p.code) for p in refused.value.problems} == {
        ("kind", "unknown_code"),
        ("description", "required"),
        ("amount", "activity_money_format"),
    }
    with pytest.raises(ValidationFailed) as zero:
        act.add_cost(session, CLERK, code, kind="shared", description="x", amount="0")
    assert [p.code for p in zero.value.problems] == ["activity_amount_positive"]
    late = act.add_cost(session, CLERK, code, kind="shared", description="迟到的发票", amount="88")
    session.commit()
    assert act.activity_costs(session, CLERK, code).total == Decimal("88.00")
    act.remove_cost(session, CLERK, code, late.id)
    session.commit()
    assert act.activity_costs(session, CLERK, code).lines == ()
    with pytest.raises(NotFound) as gone:
        act.remove_cost(session, CLERK, code, late.id)
    assert gone.value.code == "activity_cost_not_found"


# -- queries ------------------------------------------------------------------------------------
def test_activities_are_found_by_status_type_day_and_text(session: Session) -> None:
    salon = _in_state(session, "running")
    party = _in_state(
        session,
        "planned",
        name="Summer party",
        activity_type="party",
        place="Garden",
        starts_at="2026-07-01 18:00",
        ends_at="2026-07-01 22:00",
    )
    _in_state(session, "closed")
    act.record_attendance(session, CLERK, salon, "C0000001")
    session.commit()
    running = act.search_activities(session, status="running")
    assert [(a.code, a.attendees) for a in running] == [(salon, 1)]
    assert [a.code for a in act.search_activities(session, activity_type="party")] == [party]
    assert [a.code for a in act.search_activities(session, text="garden")] == [party]
    assert [a.code for a in act.search_activities(session, since=date(2026, 6, 1))] == [party]
    assert len(act.search_activities(session, until=date(2026, 4, 10))) == 2
    assert len(act.search_activities(session, status=["running", "closed"])) == 2
    counts = act.status_counts(session)
    assert (counts["planned"], counts["running"], counts["closed"], counts["submitted"]) == (
        1,
        1,
        1,
        0,
    )
