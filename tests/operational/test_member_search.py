"""Finding members at the desk and reading a member's file (operational.services.members)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.models import (
    Card,
    Complaint,
    Member,
    MemberChange,
    MemberPointBalance,
    PiiAccessLog,
    PointEntry,
    Purchase,
)
from operational.services.members import (
    get_member_detail,
    mask_id_number,
    mask_mobile,
    normalize_mobile,
    search_members,
)

T0 = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)


def _seed(session: Session) -> None:
    wang = Member(
        member_no="M000001",
        name="王小明",
        id_number="11010519491231002X",
        mobile="13800138000",
        home_phone="010-62345678",
        tier="vip",
        region="11",
        joined_at=date(2024, 5, 1),
    )
    li = Member(
        member_no="M000002",
        name="李小红",
        id_number="310101198001010012",
        mobile="13912345678",
        joined_at=date(2024, 6, 1),
    )
    zhang = Member(  # archived; shares the last four mobile digits with 王小明
        member_no="M000103",
        name="张大伟",
        mobile="13700008000",
        status="archived",
        archived_at=T0,
        joined_at=date(2023, 1, 1),
    )
    zhao = Member(member_no="M000104", name="赵四", joined_at=date(2025, 1, 1))  # no balance row
    session.add_all([wang, li, zhang, zhao])
    session.flush()

    main = Card(card_no="C8000001", member_id=wang.id, kind="main", card_type="vip", issued_at=T0)
    session.add(main)
    session.flush()
    session.add_all(
        [
            Card(
                card_no="C8000002",
                member_id=wang.id,
                kind="sub",
                card_type="discount",
                parent_card_id=main.id,
                expires_on=date(2026, 12, 31),
                issued_at=T0,
            ),
            Card(
                card_no="C8000003",
                member_id=wang.id,
                kind="main",
                card_type="ordinary",
                status="replaced",
                issued_at=T0 - timedelta(days=300),
                ended_at=T0,
            ),
            Card(
                card_no="C9000001", member_id=li.id, kind="main", card_type="ordinary", issued_at=T0
            ),
            MemberPointBalance(member_id=wang.id, balance=1200, earned_total=1500),
            MemberPointBalance(member_id=li.id, balance=0, earned_total=0),
            MemberChange(
                member_id=wang.id,
                changed_at=T0,
                changed_by="clerk1",
                field="mobile",
                old_value="13911112222",
                new_value="13800138000",
            ),
            MemberChange(
                member_id=wang.id,
                changed_at=T0 + timedelta(hours=1),
                changed_by="clerk1",
                field="address",
                old_value="旧地址",
                new_value="北京市朝阳区",
            ),
            Complaint(
                complaint_no="TS1",
                member_id=wang.id,
                channel="phone",
                complaint_type="sales_service",
                content="…",
                receiver="clerk1",
                received_at=T0,
                due_at=T0 + timedelta(days=3),
                status="in_progress",
            ),
            Complaint(
                complaint_no="TS2",
                member_id=wang.id,
                channel="phone",
                complaint_type="sales_service",
                content="…",
                receiver="clerk1",
                received_at=T0,
                due_at=T0 + timedelta(days=3),
                status="done",
            ),
            Complaint(
                complaint_no="TS3",
                member_id=wang.id,
                channel="visit",
                complaint_type="house_quality",
                content="…",
                receiver="clerk2",
                received_at=T0,
                due_at=T0 + timedelta(days=3),
                status="pending",
            ),
        ]
    )
    for day in range(12):
        session.add(
            Purchase(
                purchase_no=f"P{day:03d}",
                member_id=wang.id,
                product="Model A",
                amount=Decimal("1000.00") + day,
                paid_amount=Decimal("1000.00") + day,
                purchased_at=T0 + timedelta(days=day),
            )
        )
    session.add_all(
        [
            PointEntry(
                member_id=wang.id,
                points=1500,
                event_type="purchase",
                status="posted",
                idempotency_key="k1",
                created_at=T0,
                posted_at=T0,
            ),
            PointEntry(
                member_id=wang.id,
                points=-300,
                event_type="redemption",
                status="posted",
                idempotency_key="k2",
                created_at=T0 + timedelta(days=1),
                posted_at=T0 + timedelta(days=1),
            ),
            PointEntry(
                member_id=wang.id,
                points=200,
                event_type="activity",
                status="pending",
                idempotency_key="k3",
                created_at=T0 + timedelta(days=2),
            ),
        ]
    )


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        _seed(seeding)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _numbers(session: Session, query: str, **options) -> list[str]:
    return [hit.member_no for hit in search_members(session, query, **options)]


def test_member_number_matches_exactly_and_by_prefix(session: Session) -> None:
    hits = search_members(session, "M000001")
    assert [(h.member_no, h.matched_on) for h in hits] == [("M000001", "member_no")]
    assert _numbers(session, "m00000") == ["M000001", "M000002"]  # lower case prefix
    assert _numbers(session, "M0001") == ["M000104"]  # the archived M000103 is left out


def test_card_number_finds_its_member_even_a_sub_card_or_a_replaced_one(session: Session) -> None:
    hits = search_members(session, "C8000002")
    assert [(h.member_no, h.matched_on) for h in hits] == [("M000001", "card_no")]
    assert hits[0].main_card_no == "C8000001"  # the active main card, not the replaced one
    assert _numbers(session, "c8000003") == ["M000001"]
    assert _numbers(session, "C80000") == []  # card numbers match exactly only


@pytest.mark.parametrize(
    "typed", ["+86 138 0013 8000", "138-0013-8000", "0086 13800138000", " 13800138000 "]
)
def test_mobile_matches_however_it_is_written(session: Session, typed: str) -> None:
    hits = search_members(session, typed)
    assert [(h.member_no, h.matched_on) for h in hits] == [("M000001", "mobile")]
    assert hits[0].mobile_masked == "138****8000"


def test_last_four_digits_of_the_mobile(session: Session) -> None:
    assert _numbers(session, "8000") == ["M000001"]
    assert _numbers(session, "8000", include_archived=True) == ["M000001", "M000103"]
    assert search_members(session, "5678")[0].matched_on == "mobile_last4"


def test_name_substring(session: Session) -> None:
    assert _numbers(session, "小") == ["M000001", "M000002"]
    assert _numbers(session, "小明") == ["M000001"]
    assert _numbers(session, "大伟") == []
    assert _numbers(session, "大伟", include_archived=True) == ["M000103"]


def test_id_number_with_a_lower_case_x(session: Session) -> None:
    hits = search_members(session, "11010519491231002x")
    assert [(h.member_no, h.matched_on) for h in hits] == [("M000001", "id_number")]


def test_archived_members_only_when_asked(session: Session) -> None:
    assert _numbers(session, "M000103") == []
    hits = search_members(session, "M000103", include_archived=True)
    assert [(h.member_no, h.status) for h in hits] == [("M000103", "archived")]


@pytest.mark.parametrize("query", ["", "   ", "nobody-by-that-name", "%", "_"])
def test_no_match_is_an_empty_list_and_blank_or_wildcards_match_nothing(
    session: Session, query: str
) -> None:
    assert search_members(session, query) == []


def test_limit_is_respected(session: Session) -> None:
    assert _numbers(session, "M", limit=1) == ["M000001"]


def test_detail_masks_the_id_number_and_the_mobile_even_in_the_history(session: Session) -> None:
    detail = get_member_detail(session, "M000001")
    assert detail is not None
    assert detail.id_number == "110105********002X"
    assert detail.mobile == "138****8000"
    assert detail.home_phone == "010*****5678"
    assert not detail.pii_revealed
    mobile_change = next(c for c in detail.changes if c.field == "mobile")
    assert (mobile_change.old_value, mobile_change.new_value) == ("139****2222", "138****8000")
    assert detail.changes[0].field == "address"  # newest first, other fields shown as they are
    assert detail.changes[0].new_value == "北京市朝阳区"


def test_detail_shows_balance_cards_purchases_points_and_open_complaints(session: Session) -> None:
    detail = get_member_detail(session, "m000001")
    assert detail is not None
    assert (detail.points_balance, detail.points_earned_total, detail.points_pending) == (
        1200,
        1500,
        200,
    )
    assert detail.open_complaints == 2  # pending and in progress, not done
    assert [(c.card_no, c.kind, c.status, c.parent_card_no) for c in detail.cards] == [
        ("C8000001", "main", "active", None),
        ("C8000003", "main", "replaced", None),
        ("C8000002", "sub", "active", "C8000001"),
    ]
    assert len(detail.recent_purchases) == 10
    assert detail.recent_purchases[0].purchase_no == "P011"  # newest first
    assert detail.recent_purchases[0].amount == Decimal("1011.00")
    assert detail.recent_purchases[0].purchased_at.tzinfo is not None
    assert [e.points for e in detail.recent_point_entries] == [200, -300, 1500]


def test_a_member_without_a_balance_row_has_zero_points(session: Session) -> None:
    detail = get_member_detail(session, "M000104")
    assert detail is not None
    assert (detail.points_balance, detail.open_complaints, detail.cards) == (0, 0, [])


def test_unknown_member_has_no_detail(session: Session) -> None:
    assert get_member_detail(session, "M999999") is None


def test_revealing_personal_numbers_is_logged(session: Session) -> None:
    with pytest.raises(ValueError, match="username"):
        get_member_detail(session, "M000001", reveal_pii=True)
    detail = get_member_detail(session, "M000001", reveal_pii=True, viewed_by="clerk1")
    assert detail is not None
    assert (detail.id_number, detail.mobile) == ("11010519491231002X", "13800138000")
    session.flush()
    logged = session.scalars(select(PiiAccessLog.field).order_by(PiiAccessLog.field)).all()
    assert logged == ["id_number", "mobile"]
    assert session.scalar(select(func.count()).select_from(PiiAccessLog)) == 2


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+86 138 0013 8000", "13800138000"),
        ("(+86) 138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("138.0013.8000", "13800138000"),
        ("23800138000", None),
        ("1380013800", None),
        ("M000001", None),
    ],
)
def test_normalize_mobile(typed: str, expected: str | None) -> None:
    assert normalize_mobile(typed) == expected


def test_masks() -> None:
    assert mask_id_number("110105194912310021") == "110105********0021"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("12345") == "***45"
    assert mask_id_number(None) is None
