"""Redemption plans and redeeming points (operational.services.redemption), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.models import Member, PointEntry, Redemption, RedemptionPlan
from operational.services.common import Actor, NotAllowed, ServiceError, ValidationFailed
from operational.services.points import balance_of, post_entry
from operational.services.redemption import (
    active_plans,
    create_plan,
    member_redemptions,
    redeem,
    redemption_stats,
    update_plan,
)

CLERK = Actor("clerk1", "staff")
REVIEWER = Actor("rev1", "reviewer")
TODAY = date(2026, 3, 1)


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        seeding.add(Member(member_no="M00000001", name="王小明", joined_at=date(2025, 1, 1)))
    with Session(engine) as session:
        member = session.scalar(select(Member).where(Member.member_no == "M00000001"))
        post_entry(
            session,
            member_id=member.id,
            points=1000,
            event_type="activity",
            idempotency_key="activity:seed",
            actor=CLERK,
        )
        create_plan(
            session,
            REVIEWER,
            code="mug",
            item="Club mug",
            points_cost=300,
            stock=2,
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
        )
        session.commit()
        yield session
    engine.dispose()


def _member_id(session: Session) -> int:
    return session.scalar(select(Member.id).where(Member.member_no == "M00000001"))


def test_redeeming_spends_points_and_stock(session: Session) -> None:
    redemption = redeem(
        session, CLERK, member_no="m00000001", plan_code="MUG", idempotency_key="k1", today=TODAY
    )
    session.commit()
    assert (redemption.quantity, redemption.points) == (1, 300)
    assert balance_of(session, _member_id(session)) == 700
    plan = session.scalar(select(RedemptionPlan).where(RedemptionPlan.code == "MUG"))
    assert plan.stock == 1
    entry = session.get(PointEntry, redemption.point_entry_id)
    assert (entry.points, entry.event_type, entry.reference, entry.idempotency_key) == (
        -300,
        "redemption",
        "MUG",
        "redemption:k1",
    )
    history = member_redemptions(session, "M00000001")
    assert [(r.plan_code, r.points) for r in history] == [("MUG", 300)]


def test_a_retried_key_redeems_once(session: Session) -> None:
    first = redeem(
        session, CLERK, member_no="M00000001", plan_code="MUG", idempotency_key="k1", today=TODAY
    )
    session.commit()
    again = redeem(
        session, CLERK, member_no="M00000001", plan_code="MUG", idempotency_key="k1", today=TODAY
    )
    session.commit()
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert balance_of(session, _member_id(session)) == 700


def test_out_of_stock_is_refused_clearly_and_changes_nothing(session: Session) -> None:
    with pytest.raises(ServiceError) as caught:
        redeem(
            session,
            CLERK,
            member_no="M00000001",
            plan_code="MUG",
            quantity=3,
            idempotency_key="k1",
            today=TODAY,
        )
    assert caught.value.code == "out_of_stock"
    session.rollback()
    for key in ("a", "b"):
        redeem(
            session, CLERK, member_no="M00000001", plan_code="MUG", idempotency_key=key, today=TODAY
        )
        session.commit()
    with pytest.raises(ServiceError) as caught:
        redeem(
            session, CLERK, member_no="M00000001", plan_code="MUG", idempotency_key="c", today=TODAY
        )
    assert caught.value.code == "out_of_stock"
    session.rollback()
    assert balance_of(session, _member_id(session)) == 400
    assert session.scalar(select(RedemptionPlan.stock)) == 0


def test_insufficient_points_are_refused_clearly(session: Session) -> None:
    update_plan(session, REVIEWER, "MUG", stock=10)
    session.commit()
    with pytest.raises(ServiceError) as caught:
        redeem(
            session,
            CLERK,
            member_no="M00000001",
            plan_code="MUG",
            quantity=4,  # 1200 points, the member has 1000
            idempotency_key="k1",
            today=TODAY,
        )
    assert caught.value.code == "insufficient_points"
    session.rollback()
    assert balance_of(session, _member_id(session)) == 1000
    assert session.scalar(select(RedemptionPlan.stock)) == 10
    assert session.scalar(select(func.count()).select_from(Redemption)) == 0


@pytest.mark.parametrize(
    ("change", "today", "code"),
    [
        ({"active": False}, TODAY, "plan_inactive"),
        ({}, date(2025, 12, 31), "plan_not_started"),
        ({}, date(2027, 1, 1), "plan_ended"),
    ],
)
def test_plan_state_and_period_are_checked(
    session: Session, change: dict, today: date, code: str
) -> None:
    if change:
        update_plan(session, REVIEWER, "MUG", **change)
        session.commit()
    with pytest.raises(ServiceError) as caught:
        redeem(
            session, CLERK, member_no="M00000001", plan_code="MUG", idempotency_key="k", today=today
        )
    assert caught.value.code == code


def test_plans_roles_listing_and_statistics(session: Session) -> None:
    with pytest.raises(NotAllowed):
        create_plan(session, CLERK, code="x", item="X", points_cost=1, stock=1, starts_on=TODAY)
    with pytest.raises(ValidationFailed) as caught:
        create_plan(
            session,
            REVIEWER,
            code="mug",
            item="",
            points_cost=0,
            stock=-1,
            starts_on=TODAY,
            ends_on=date(2025, 1, 1),
        )
    assert {p.field for p in caught.value.problems} == {
        "code",
        "item",
        "points_cost",
        "stock",
        "ends_on",
    }
    create_plan(
        session, REVIEWER, code="tea", item="Tea set", points_cost=100, stock=5, starts_on=TODAY
    )
    assert [p.code for p in active_plans(session, today=TODAY)] == ["MUG", "TEA"]
    assert [p.code for p in active_plans(session, today=date(2027, 1, 1))] == ["TEA"]
    redeem(
        session,
        CLERK,
        member_no="M00000001",
        plan_code="tea",
        quantity=2,
        idempotency_key="t",
        today=TODAY,
    )
    redeem(session, CLERK, member_no="M00000001", plan_code="mug", idempotency_key="m", today=TODAY)
    session.commit()
    stats = redemption_stats(session, start=date(2000, 1, 1), end=date(2100, 1, 1))
    assert [(s.plan_code, s.count, s.quantity, s.points) for s in stats] == [
        ("MUG", 1, 1, 300),
        ("TEA", 1, 2, 200),
    ]
    assert redemption_stats(session, start=date(2000, 1, 1), end=date(2000, 1, 2)) == []


def test_concurrent_clerks_never_oversell_or_overspend(op_db_url: str, session: Session) -> None:
    """8 clerks redeem at once: stock 2 and 1000 points allow exactly 2 mugs (600 points)."""
    import threading

    from operational.db import make_engine

    engine = make_engine(op_db_url)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def clerk(number: int) -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                redeem(
                    own,
                    CLERK,
                    member_no="M00000001",
                    plan_code="MUG",
                    idempotency_key=f"clerk-{number}",
                    today=TODAY,
                )
                own.commit()
                outcomes.append("ok")
            except ServiceError as error:
                own.rollback()
                outcomes.append(error.code)

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert sorted(outcomes) == ["ok", "ok"] + ["out_of_stock"] * 6
    session.expire_all()
    assert session.scalar(select(RedemptionPlan.stock)) == 0
    assert balance_of(session, _member_id(session)) == 400
    assert session.scalar(select(func.count()).select_from(Redemption)) == 2


def test_a_key_reused_for_another_plan_is_refused(session: Session) -> None:
    create_plan(
        session, REVIEWER, code="tea", item="Tea set", points_cost=100, stock=5, starts_on=TODAY
    )
    redeem(session, CLERK, member_no="M00000001", plan_code="MUG", idempotency_key="k", today=TODAY)
    with pytest.raises(ServiceError) as caught:
        redeem(
            session, CLERK, member_no="M00000001", plan_code="TEA", idempotency_key="k", today=TODAY
        )
    assert caught.value.code == "idempotency_key_reused"
