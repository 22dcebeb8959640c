"""Reading purchases (search_purchases, purchase_detail) and the descriptive fields recorded
with a purchase (discount, regional manager, dealer, due date, invoice, cross-group)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from operational.models import Card, Member
from operational.services.cards import member_no_for
from operational.services.common import Actor, NotAllowed, NotFound, ValidationFailed
from operational.services.points import post_entry
from operational.services.purchases import (
    add_payment,
    purchase_detail,
    record_purchase,
    search_purchases,
    update_purchase,
)

CLERK = Actor("clerk1", "staff")


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        for number, name in (("M00000001", "王小明"), ("M00000002", "李小红")):
            member = Member(member_no=number, name=name, joined_at=date(2025, 1, 1))
            seeding.add(member)
            seeding.flush()
            seeding.add(
                Card(
                    card_no=f"C{number[-7:]}",
                    member_id=member.id,
                    kind="main",
                    card_type="ordinary",
                    issued_at=datetime(2025, 1, 1, tzinfo=UTC),
                )
            )
    with Session(engine) as session:
        yield session
    engine.dispose()


def _sale(number: str, member_no: str | None, when: str, amount: str, **extra: object) -> dict:
    return {
        "purchase_no": number,
        "member_no": member_no,
        "purchased_at": when,
        "product": extra.pop("product", "Villa A-12"),
        "amount": amount,
        **extra,
    }


def _club(session: Session) -> None:
    record_purchase(
        session,
        CLERK,
        _sale(
            "P-1",
            "M00000001",
            "2026-03-01 10:00",
            "300000",
            discount="12,000",
            regional_manager="周经理",
            dealer="华东经销",
            due_on="2026-04-30",
            invoice="INV-1",
            cross_group="是",
            salesperson="张三",
        ),
    )
    record_purchase(
        session,
        CLERK,
        _sale("P-2", "M00000001", "2026-04-01 00:30", "50000", paid_amount="50000", product="车位"),
    )
    record_purchase(
        session,
        CLERK,
        _sale("P-3", "M00000002", "2026-04-02 09:00", "80000", salesperson="李四"),
    )
    record_purchase(
        session,
        CLERK,
        _sale("P-4", None, "2026-04-03 09:00", "99.50", customer_name="访客", paid_amount="99.50"),
    )
    session.commit()


def test_the_descriptive_fields_are_recorded_and_shown(session: Session) -> None:
    _club(session)
    detail = purchase_detail(session, CLERK, " Ｐ-1 ")  # blanks and full width tolerated
    assert detail.row.discount == Decimal("12000")
    assert (detail.regional_manager, detail.dealer, detail.invoice_no, detail.cross_group) == (
        "周经理",
        "华东经销",
        "INV-1",
        True,
    )
    assert detail.row.due_on == date(2026, 4, 30)
    assert detail.row.overdue  # nothing paid and the due date has passed
    assert (detail.row.arrears, detail.row.paid_ratio) == (Decimal("300000"), Decimal("0"))
    assert (detail.points, detail.points_to_earn, detail.money_locked) == (None, 3000, False)
    assert detail.row.member_no == "M00000001" and detail.row.buyer_name == "王小明"
    update_purchase(
        session, CLERK, "P-1", {"dealer": "华南经销", "due_on": "", "cross_group": "no"}
    )
    session.commit()
    detail = purchase_detail(session, CLERK, "P-1")
    assert (detail.dealer, detail.row.due_on, detail.cross_group) == ("华南经销", None, False)
    assert not detail.row.overdue


def test_bad_descriptive_fields_are_reported_with_the_rest(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        record_purchase(
            session,
            CLERK,
            _sale(
                "P-9",
                "M00000001",
                "2026-03-01",
                "abc",
                discount="-5",
                due_on="30/04/2026",
                cross_group="maybe",
            ),
        )
    assert {(p.field, p.code) for p in caught.value.problems} == {
        ("amount", "money_format"),
        ("discount", "negative"),
        ("due_on", "date_format"),
        ("cross_group", "flag_format"),
    }


def test_search_filters_combine(session: Session) -> None:
    _club(session)
    numbers = lambda **filters: [  # noqa: E731
        row.purchase_no for row in search_purchases(session, CLERK, **filters)
    ]
    assert numbers() == ["P-4", "P-3", "P-2", "P-1"]  # newest first
    assert numbers(member_or_card="ｃ0000001") == ["P-2", "P-1"]  # a card number, full width
    assert numbers(member_or_card="m00000002") == ["P-3"]
    assert numbers(product="车") == ["P-2"]
    assert numbers(salesperson="张") == ["P-1"]
    assert numbers(purchase_no="p-") == ["P-4", "P-3", "P-2", "P-1"]  # any case
    assert numbers(purchase_no="100%") == []  # LIKE wildcards are plain text
    assert numbers(unpaid_only=True) == ["P-3", "P-1"]
    # club-local days: 2026-04-01 00:30 in Beijing is 2026-03-31 in UTC
    assert numbers(since=date(2026, 4, 1), until=date(2026, 4, 2)) == ["P-3", "P-2"]
    assert numbers(until=date(2026, 3, 31)) == ["P-1"]
    assert numbers(limit=2) == ["P-4", "P-3"]
    guest = search_purchases(session, CLERK, purchase_no="P-4")[0]
    assert (guest.member_no, guest.buyer_name, guest.arrears) == (None, "访客", Decimal("0"))
    with pytest.raises(NotFound) as caught:
        search_purchases(session, CLERK, member_or_card="C9999999")
    assert caught.value.code == "member_or_card_not_found"
    with pytest.raises(NotAllowed):
        search_purchases(session, Actor("ana", "analyst"))


def test_detail_shows_payments_points_and_the_return_with_its_shortfall(
    session: Session,
) -> None:
    _club(session)
    for number, amount in enumerate(("100000", "200000")):
        add_payment(
            session,
            CLERK,
            "P-1",
            amount=amount,
            paid_at=f"2026-0{number + 4}-01 10:00",
            idempotency_key=f"pay-{number}",
            method="transfer",
        )
    member_id = session.scalar(select(Member.id).where(Member.member_no == "M00000001"))
    post_entry(
        session,
        member_id=member_id,
        points=-3400,
        event_type="redemption",
        idempotency_key="redemption:spent",
        actor=CLERK,
    )  # P-2 earned 500 and P-1 3000: 100 are left
    record_purchase(
        session,
        CLERK,
        _sale(
            "R-1", None, "2026-06-01", "-300000", purchase_type="return", returns_purchase_no="P-1"
        ),
    )
    session.commit()
    detail = purchase_detail(session, CLERK, "P-1")
    assert [(p.amount, p.method) for p in detail.payments] == [
        (Decimal("100000"), "transfer"),
        (Decimal("200000"), "transfer"),
    ]
    assert (detail.row.paid_ratio, detail.row.arrears, detail.money_locked) == (
        Decimal("1"),
        Decimal("0"),
        True,
    )
    points = detail.points
    assert (points.points, points.status) == (3000, "posted")
    assert (points.reversed_points, points.shortfall) == (100, 2900)
    assert "return R-1" in points.reversal_reason
    assert [r.purchase_no for r in detail.returns] == ["R-1"]
    the_return = purchase_detail(session, CLERK, "R-1")
    assert (the_return.returns_purchase_no, the_return.row.member_no) == ("P-1", "M00000001")
    assert (the_return.points, the_return.points_to_earn, the_return.row.paid_ratio) == (
        None,
        0,
        None,
    )
    guest = purchase_detail(session, CLERK, "P-4")
    assert guest.application_label is not None and guest.points_to_earn == 0
    with pytest.raises(NotFound) as caught:
        purchase_detail(session, CLERK, "P-404")
    assert caught.value.code == "purchase_not_found"


def test_member_no_for_a_member_or_card_number(session: Session) -> None:
    assert member_no_for(session, " m00000002 ") == "M00000002"
    assert member_no_for(session, "Ｃ0000001") == "M00000001"
    assert member_no_for(session, "C404") is None
    assert member_no_for(session, "  ") is None
