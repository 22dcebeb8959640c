"""Purchase payments, purchase points and returns (operational.services.purchases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.models import Member, PointEntry, Purchase, PurchasePayment
from operational.services.common import Actor, ServiceError, ValidationFailed
from operational.services.points import balance_of, expiry_date, post_entry
from operational.services.purchases import (
    PURCHASE_POINTS_CAP,
    add_payment,
    post_points_for_linked_purchase,
    purchase_points,
    record_purchase,
    update_purchase,
)

CLERK = Actor("clerk1", "staff")
SALE = {
    "purchase_no": "P-1",
    "purchased_at": "2026-03-01 14:30",
    "product": "Villa A-12",
    "amount": "300000",
    "member_no": "M00000001",
}


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        seeding.add(Member(member_no="M00000001", name="王小明", joined_at=date(2025, 1, 1)))
    with Session(engine) as session:
        yield session
    engine.dispose()


def _member_id(session: Session) -> int:
    return session.scalar(select(Member.id).where(Member.member_no == "M00000001"))


def _purchase_entries(session: Session) -> list[PointEntry]:
    return list(session.scalars(select(PointEntry).where(PointEntry.event_type == "purchase")))


def test_the_points_rule() -> None:
    assert purchase_points(PURCHASE_POINTS_CAP * 100 * 3) == 5000
    assert purchase_points(12_399) == 123
    assert purchase_points(99) == 0
    assert purchase_points(-500) == 0


def test_three_instalments_post_the_points_once_at_the_last(session: Session) -> None:
    record_purchase(session, CLERK, SALE)
    session.commit()
    results = []
    for number, (amount, day) in enumerate(
        [("100000", "2026-03-01"), ("100000", "2026-04-01"), ("100000.00", "2026-05-01 10:00")]
    ):
        results.append(
            add_payment(
                session, CLERK, "P-1", amount=amount, paid_at=day, idempotency_key=f"pay-{number}"
            )
        )
        session.commit()
        if number < 2:
            assert _purchase_entries(session) == []
            assert not results[-1].fully_paid
    last = results[-1]
    assert last.fully_paid and last.points_entry_id is not None
    (entry,) = _purchase_entries(session)
    assert (entry.points, entry.idempotency_key, entry.status) == (
        3000,
        f"purchase:{session.scalar(select(Purchase.id))}",
        "posted",
    )
    assert entry.expires_on == expiry_date(date(2026, 5, 1))
    assert balance_of(session, _member_id(session)) == 3000
    # A retried last payment changes nothing and posts nothing again.
    again = add_payment(
        session, CLERK, "P-1", amount="100000", paid_at="2026-05-01", idempotency_key="pay-2"
    )
    session.commit()
    assert (again.created, again.payment_id) == (False, last.payment_id)
    assert session.scalar(select(func.count()).select_from(PurchasePayment)) == 3
    assert session.scalar(select(Purchase.paid_amount)) == 300000
    assert len(_purchase_entries(session)) == 1
    with pytest.raises(ServiceError) as caught:
        add_payment(session, CLERK, "P-1", amount="1", paid_at="2026-05-02", idempotency_key="x")
    assert caught.value.code == "overpayment"


def test_a_purchase_recorded_fully_paid_posts_its_points(session: Session) -> None:
    record_purchase(session, CLERK, {**SALE, "paid_amount": "300000"})
    record_purchase(session, CLERK, {**SALE, "paid_amount": "300000"})  # retried
    session.commit()
    assert [e.points for e in _purchase_entries(session)] == [3000]


def test_a_non_members_purchase_earns_once_linked(session: Session) -> None:
    data = {**SALE, "member_no": None, "customer_name": "李小红", "paid_amount": "300000"}
    result = record_purchase(session, CLERK, data)
    assert _purchase_entries(session) == []
    purchase = session.get(Purchase, result.purchase_id)
    purchase.member_id = _member_id(session)
    entry = post_points_for_linked_purchase(session, purchase.id)
    again = post_points_for_linked_purchase(session, purchase.id)
    session.commit()
    assert entry is not None and again.id == entry.id and entry.points == 3000


def test_money_is_locked_once_fully_paid(session: Session) -> None:
    record_purchase(session, CLERK, SALE)
    update_purchase(session, CLERK, "P-1", {"amount": "250000", "salesperson": "张三"})
    session.commit()
    add_payment(session, CLERK, "P-1", amount="250000", paid_at="2026-03-02", idempotency_key="pay")
    session.commit()
    assert [e.points for e in _purchase_entries(session)] == [2500]
    purchase = update_purchase(
        session, CLERK, "P-1", {"product": "Villa B-1", "invoice": "INV-9", "channel": "online"}
    )
    assert (purchase.product, purchase.invoice_no, purchase.salesperson) == (
        "Villa B-1",
        "INV-9",
        "张三",
    )
    with pytest.raises(ValidationFailed) as caught:
        update_purchase(session, CLERK, "P-1", {"amount": "1", "paid_amount": "1", "x": 1})
    assert {p.code for p in caught.value.problems} == {
        "money_locked",
        "use_add_payment",
        "unknown_field",
    }


def _return(session: Session, number: str = "R-1") -> None:
    record_purchase(
        session,
        CLERK,
        {
            "purchase_no": number,
            "purchased_at": "2026-06-01",
            "product": "Villa A-12",
            "amount": "-300000",
            "purchase_type": "return",
            "returns_purchase_no": "P-1",
        },
    )


def test_a_return_reverses_the_points_exactly_once(session: Session) -> None:
    record_purchase(session, CLERK, {**SALE, "paid_amount": "300000"})
    session.commit()
    _return(session)
    _return(session)  # retried
    session.commit()
    reversals = list(session.scalars(select(PointEntry).where(PointEntry.event_type == "reversal")))
    assert [(r.points, r.idempotency_key) for r in reversals] == [
        (
            -3000,
            f"return:{session.scalar(select(Purchase.id).where(Purchase.purchase_no == 'P-1'))}",
        )
    ]
    assert balance_of(session, _member_id(session)) == 0
    returned = session.scalar(select(Purchase).where(Purchase.purchase_no == "R-1"))
    assert returned.member_id == _member_id(session)
    # A second return of the same purchase reverses nothing more.
    _return(session, "R-2")
    session.commit()
    assert (
        session.scalar(
            select(func.count()).select_from(PointEntry).where(PointEntry.event_type == "reversal")
        )
        == 1
    )


def test_a_return_after_spending_takes_what_is_left_and_never_goes_negative(
    session: Session,
) -> None:
    record_purchase(session, CLERK, {**SALE, "paid_amount": "300000"})
    post_entry(
        session,
        member_id=_member_id(session),
        points=-1000,
        event_type="redemption",
        idempotency_key="redemption:spent",
        actor=CLERK,
    )
    session.commit()
    _return(session)
    session.commit()
    (reversal,) = session.scalars(select(PointEntry).where(PointEntry.event_type == "reversal"))
    assert reversal.points == -2000
    assert "shortfall 1000" in reversal.reason
    assert balance_of(session, _member_id(session)) == 0
    ledger = session.scalar(
        select(func.sum(PointEntry.points)).where(PointEntry.status == "posted")
    )
    assert ledger == 0


def test_a_return_must_name_a_real_purchase(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        record_purchase(
            session,
            CLERK,
            {**SALE, "purchase_no": "R-9", "purchase_type": "return", "returns_purchase_no": "P-x"},
        )
    assert [p.code for p in caught.value.problems] == ["purchase_not_found"]
