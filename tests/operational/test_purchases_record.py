"""Recording a purchase: members are linked, non-members raise an automatic application once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.models import Application, Member, Purchase
from operational.services.common import Actor, NotAllowed, ValidationFailed
from operational.services.purchases import record_purchase

CLERK = Actor("clerk1", "staff")
SALE = {
    "purchase_no": "P-2026-0001",
    "purchased_at": "2026-03-01 14:30",
    "product": "Villa A-12",
    "amount": "1,250,000.00",
    "paid_amount": "1250000",
    "channel": "sales_site",
}


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        seeding.add(Member(member_no="M00000001", name="王小明", joined_at=date(2025, 1, 1)))
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_a_members_purchase_is_linked_and_raises_no_application(session: Session) -> None:
    result = record_purchase(session, CLERK, {**SALE, "member_no": "m00000001"})
    assert (result.created, result.member_no, result.application_label) == (
        True,
        "M00000001",
        None,
    )
    purchase = session.get(Purchase, result.purchase_id)
    assert purchase.fully_paid_at is not None
    assert purchase.purchased_at.hour == 6  # 14:30 Beijing time is 06:30 UTC
    assert session.scalar(select(func.count()).select_from(Application)) == 0


def test_a_non_members_purchase_creates_one_automatic_application(session: Session) -> None:
    data = {**SALE, "customer_name": "李 小红", "customer_mobile": "+86 139 0000 1111"}
    first = record_purchase(session, CLERK, data)
    again = record_purchase(session, CLERK, data)  # a retried submission
    assert first.created and not again.created
    assert first.application_label == again.application_label is not None
    applications = session.scalars(select(Application)).all()
    assert len(applications) == 1
    application = applications[0]
    assert (application.channel, application.is_automatic, application.status) == (
        "purchase",
        True,
        "pending",
    )
    assert (application.name, application.mobile) == ("李小红", "13900001111")
    assert session.scalar(select(func.count()).select_from(Purchase)) == 1


def test_bad_purchase_input_is_reported_field_by_field(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        record_purchase(
            session,
            CLERK,
            {
                "purchase_no": "P-9",
                "purchased_at": "yesterday",
                "amount": "12.345",
                "member_no": "M99999999",
            },
        )
    fields = {problem.field: problem.code for problem in caught.value.problems}
    assert fields == {
        "purchased_at": "datetime_format",
        "product": "required",
        "amount": "money_format",
        "member_no": "member_not_found",
    }
    assert session.scalar(select(func.count()).select_from(Purchase)) == 0


def test_analysts_cannot_record_purchases(session: Session) -> None:
    with pytest.raises(NotAllowed):
        record_purchase(session, Actor("ana", "analyst"), SALE)


def test_approving_a_buyers_application_posts_the_purchase_points_once(session: Session) -> None:
    from operational.models import PointEntry
    from operational.services.applications import decide

    recorded = record_purchase(
        session, CLERK, {**SALE, "customer_name": "赵六", "customer_mobile": "13900002222"}
    )
    application = session.scalars(select(Application)).one()
    assert recorded.application_label is not None
    result = decide(
        session, Actor("rev", "reviewer"), application.id, expected_version=application.version
    )
    entries = session.scalars(
        select(PointEntry).where(PointEntry.member_id == result.member_id)
    ).all()
    assert [(e.event_type, e.points) for e in entries] == [("purchase", 5000)]
    assert session.get(Purchase, recorded.purchase_id).member_id == result.member_id
