"""Merchants, their services and members' use of them (operational.services.merchants)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.models import Card, Member
from operational.models.engagement import MerchantServiceUse
from operational.services.common import (
    Actor,
    Conflict,
    NotAllowed,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from operational.services.dictionary import deactivate_item
from operational.services.merchants import (
    add_service,
    contracts_ending,
    create_merchant,
    deactivate_merchant,
    merchant_detail,
    reactivate_merchant,
    record_service_use,
    search_merchants,
    search_services,
    update_merchant,
    update_service,
)

CLERK = Actor("clerk1", "staff")
REVIEWER = Actor("rev1", "reviewer")
ADMIN = Actor("admin", "admin")
MANAGER = Actor("boss", "manager")
T_USE = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        for number, tier, status in (
            ("M00000001", "ordinary", "active"),
            ("M00000002", "vip", "active"),
            ("M00000003", "vip", "archived"),
        ):
            member = Member(
                member_no=number, name=f"会员{number[-1]}", tier=tier, status=status,
                joined_at=date(2025, 1, 1),
            )  # fmt: skip
            seeding.add(member)
            seeding.flush()
            seeding.add(
                Card(
                    card_no=f"00000000{number[-2:]}",
                    member_id=member.id,
                    kind="main",
                    card_type=tier,
                    issued_at=datetime(2025, 1, 1, tzinfo=UTC),
                )
            )
    with Session(engine) as session:
        yield session
    engine.dispose()


def _merchant(session: Session, code: str = "spa01", **changes) -> str:
    values = dict(
        code=code,
        name="Blue Lotus Spa",
        merchant_type="leisure",
        contact="李经理",
        phone1="021-6234 5678",
        phone2="+86 138 0013 8000",
        importance="high",
        region="31",
        contract_ends_on=date(2026, 4, 1),
        parent_company="Lotus Group",
    )
    values.update(changes)
    merchant = create_merchant(session, CLERK, **values)
    session.commit()
    return merchant.code


def _service(session: Session, code: str = "SPA01", **changes) -> int:
    values = dict(
        merchant_code=code,
        name="Massage weekend",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 6, 30),
        content="Two hours of massage and tea",
        discount="0.85",
    )
    values.update(changes)
    service = add_service(session, CLERK, **values)
    session.commit()
    return service.id


def _uses(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(MerchantServiceUse))


def test_a_merchant_is_created_with_cleaned_fields(session: Session) -> None:
    code = _merchant(session, code=" spa０１ ")
    assert code == "SPA01"
    [row] = search_merchants(session, text="lotus")
    assert (row.code, row.merchant_type, row.importance, row.region) == (
        "SPA01", "leisure", "high", "31",
    )  # fmt: skip
    assert row.phone1 == "021-6234 5678"
    assert row.phone2 == "13800138000"  # a mobile is stored as its 11 digits


def test_every_bad_merchant_field_is_reported_at_once(session: Session) -> None:
    _merchant(session)
    with pytest.raises(ValidationFailed) as refused:
        create_merchant(
            session, CLERK, code="spa01", name=" ", merchant_type="bakery", importance="vital",
            phone1="call me", region="99",
        )  # fmt: skip
    problems = {(p.field, p.code) for p in refused.value.problems}
    assert problems == {
        ("merchant_code", "merchant_code_taken"),
        ("merchant_name", "required"),
        ("merchant_type", "unknown_code"),
        ("merchant_importance", "merchant_importance"),
        ("phone1", "merchant_phone_format"),
        ("region", "unknown_code"),
    }
    session.rollback()
    assert len(search_merchants(session, include_inactive=True)) == 1


def test_phones_are_checked_leniently(session: Session) -> None:
    _merchant(session, code="A1", phone1="（010）6234-5678 转 801", phone2="400 820 8820")
    _merchant(session, code="A2", phone1="１２３45")
    with pytest.raises(ValidationFailed) as refused:
        _merchant(session, code="A3", phone1="1234", phone2="12-34-56-78-90-12-34-56-78-90-12")
    assert {p.field for p in refused.value.problems} == {"phone1", "phone2"}


def test_a_deactivated_merchant_type_is_refused_for_new_merchants_only(session: Session) -> None:
    _merchant(session, merchant_type="auto")
    deactivate_item(session, ADMIN, category="merchant_type", code="auto")
    session.commit()
    with pytest.raises(ValidationFailed) as refused:
        _merchant(session, code="CAR2", merchant_type="auto")
    assert refused.value.problems[0].code == "unknown_code"
    session.rollback()
    merchant = update_merchant(session, CLERK, "spa01", contact="王主管")  # type kept
    assert (merchant.merchant_type, merchant.contact) == ("auto", "王主管")


def test_update_changes_only_what_is_given_and_never_the_code(session: Session) -> None:
    _merchant(session)
    merchant = update_merchant(
        session, CLERK, "spa01", importance="urgent", phone2=None, contract_ends_on=None
    )
    session.commit()
    assert (merchant.code, merchant.name, merchant.importance) == (
        "SPA01", "Blue Lotus Spa", "urgent",
    )  # fmt: skip
    assert merchant.phone2 is None and merchant.contract_ends_on is None
    with pytest.raises(NotFound):
        update_merchant(session, CLERK, "NOPE", name="x")


def test_only_reviewers_and_admins_deactivate_and_managers_cannot_enter(session: Session) -> None:
    _merchant(session)
    with pytest.raises(NotAllowed):
        deactivate_merchant(session, CLERK, "SPA01")
    with pytest.raises(NotAllowed):
        create_merchant(session, MANAGER, code="X1", name="x", merchant_type="retail")
    assert deactivate_merchant(session, REVIEWER, "SPA01").active is False
    session.commit()
    assert search_merchants(session) == []
    assert [m.code for m in search_merchants(session, include_inactive=True)] == ["SPA01"]
    assert reactivate_merchant(session, ADMIN, "SPA01").active is True


def test_service_rules_period_discount_rating_restriction(session: Session) -> None:
    _merchant(session)
    with pytest.raises(ValidationFailed) as refused:
        add_service(
            session, CLERK, merchant_code="SPA01", name="", starts_on=date(2026, 5, 1),
            ends_on=date(2026, 4, 1), discount="0", rating=6, member_restriction="gold",
        )  # fmt: skip
    assert {(p.field, p.code) for p in refused.value.problems} == {
        ("service_name", "required"),
        ("service_ends_on", "period"),
        ("service_discount", "service_discount_range"),
        ("service_rating", "service_rating_range"),
        ("member_restriction", "service_restriction_format"),
    }
    session.rollback()
    for bad in ("1.2", "-0.5", "0.875", "abc"):
        with pytest.raises(ValidationFailed):
            add_service(
                session, CLERK, merchant_code="SPA01", name="x", starts_on=date(2026, 1, 1),
                discount=bad,
            )  # fmt: skip
        session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        add_service(
            session, CLERK, merchant_code="SPA01", name="x", starts_on=date(2026, 1, 1),
            member_restriction="tier:gold",
        )  # fmt: skip
    assert refused.value.problems[0].code == "unknown_code"
    session.rollback()
    service_id = _service(session, member_restriction="Tier:VIP", discount=Decimal("1"))
    service = update_service(
        session, CLERK, service_id, quarterly_feedback="Q1: members liked it\nmore towels", rating=4
    )
    session.commit()
    assert service.member_restriction == "tier:vip"
    assert service.discount == Decimal("1.00")
    assert service.quarterly_feedback == "Q1: members liked it\nmore towels"
    assert service.rating == 4
    assert update_service(session, CLERK, service_id, rating=None).rating is None


def test_a_use_is_recorded_by_member_or_card_number_once_per_key(session: Session) -> None:
    _merchant(session)
    service_id = _service(session)
    use = record_service_use(
        session, CLERK, service_id=service_id, member_or_card=" m００００００01 ", used_at=T_USE
    )
    session.commit()
    assert use.source == "manual" and use.used_at == T_USE
    first = record_service_use(
        session,
        CLERK,
        service_id=service_id,
        member_or_card="2",
        used_at=T_USE,
        source="reader",
        idempotency_key="reader-7:42",
    )  # fmt: skip  (card 0000000002 typed without its zeros)
    session.commit()
    again = record_service_use(
        session, CLERK, service_id=service_id, member_or_card="0000000002", used_at=T_USE,
        source="reader", idempotency_key="reader-7:42",
    )  # fmt: skip
    assert again.id == first.id
    assert _uses(session) == 2
    with pytest.raises(Conflict) as reused:
        record_service_use(
            session, CLERK, service_id=service_id, member_or_card="M00000001",
            idempotency_key="reader-7:42", used_at=T_USE,
        )  # fmt: skip
    assert reused.value.code == "idempotency_key_reused"
    session.rollback()
    deactivate_merchant(session, REVIEWER, "SPA01")
    session.commit()
    late_retry = record_service_use(
        session, CLERK, service_id=service_id, member_or_card="0000000002",
        source="reader", idempotency_key="reader-7:42",
    )  # fmt: skip
    assert late_retry.id == first.id  # a reader's late resend is not refused, nor counted again
    assert _uses(session) == 2


def test_naive_use_times_are_club_local(session: Session) -> None:
    _merchant(session)
    service_id = _service(session, starts_on=date(2026, 3, 10))
    # 00:30 in Shanghai on 10 March is still 9 March in UTC: inside the period all the same
    use = record_service_use(
        session, CLERK, service_id=service_id, member_or_card="M00000001",
        used_at=datetime(2026, 3, 10, 0, 30),
    )  # fmt: skip
    assert use.used_at == datetime(2026, 3, 9, 16, 30, tzinfo=UTC)


REFUSALS = [
    ("M00000003", T_USE, "member_archived"),
    ("0000000003", T_USE, "member_archived"),  # by the archived member's card
    ("M00000001", datetime(2025, 12, 31, 12, tzinfo=UTC), "service_not_started"),
    ("M00000001", datetime(2026, 7, 1, 1, tzinfo=UTC), "service_ended"),
    ("M99", T_USE, "merchant_member_not_found"),
]


def test_uses_are_refused_with_a_reason_and_nothing_written(session: Session) -> None:
    _merchant(session)
    service_id = _service(session)
    for who, when, code in REFUSALS:
        with pytest.raises(ServiceError) as refused:
            record_service_use(
                session, CLERK, service_id=service_id, member_or_card=who, used_at=when
            )
        assert refused.value.code == code, who
        session.rollback()
    assert _uses(session) == 0


def test_an_inactive_merchant_and_a_low_tier_are_refused(session: Session) -> None:
    _merchant(session)
    vip_only = _service(session, member_restriction="tier:vip")
    with pytest.raises(ServiceError) as refused:
        record_service_use(
            session, CLERK, service_id=vip_only, member_or_card="M00000001", used_at=T_USE
        )
    assert (refused.value.code, refused.value.params["required"]) == ("service_tier_too_low", "vip")
    session.rollback()
    assert record_service_use(
        session, CLERK, service_id=vip_only, member_or_card="M00000002", used_at=T_USE
    )
    ordinary_and_up = _service(session, name="Tea", member_restriction="tier:ordinary")
    assert record_service_use(
        session, CLERK, service_id=ordinary_and_up, member_or_card="M00000002", used_at=T_USE
    )  # a VIP meets an ordinary restriction
    session.commit()
    deactivate_merchant(session, REVIEWER, "SPA01")
    session.commit()
    with pytest.raises(ServiceError) as refused:
        record_service_use(
            session, CLERK, service_id=vip_only, member_or_card="M00000002", used_at=T_USE
        )
    assert refused.value.code == "merchant_inactive"


def test_search_by_merchant_and_by_service(session: Session) -> None:
    _merchant(session)
    _merchant(
        session, code="CAFE", name="Corner Café", merchant_type="dining", region="11",
        contract_ends_on=date(2027, 1, 1), parent_company=None,
    )  # fmt: skip
    _service(session)
    _service(session, code="CAFE", name="Afternoon tea", content="Scones for two",
             starts_on=date(2026, 7, 1), ends_on=None)  # fmt: skip
    assert [m.code for m in search_merchants(session, text="café")] == ["CAFE"]
    assert [m.code for m in search_merchants(session, text="spa lotus")] == ["SPA01"]
    assert [m.code for m in search_merchants(session, merchant_type="dining")] == ["CAFE"]
    assert [m.code for m in search_merchants(session, region="31")] == ["SPA01"]
    ending = search_merchants(session, contract_ends_before=date(2026, 12, 31))
    assert [m.code for m in ending] == ["SPA01"]
    assert [s.name for s in search_services(session, text="SCONES")] == ["Afternoon tea"]
    assert [s.name for s in search_services(session, text="massage tea")] == ["Massage weekend"]
    assert [s.name for s in search_services(session, active_on=date(2026, 8, 1))] == [
        "Afternoon tea"
    ]
    assert [s.name for s in search_services(session, merchant_code="spa01")] == ["Massage weekend"]
    assert search_services(session, text="100%") == []  # a wildcard is a plain character


def test_detail_counts_members_and_uses_and_contracts_ending(session: Session) -> None:
    _merchant(session)
    massage = _service(session)
    tea = _service(session, name="Tea")
    for who, service in (("M00000001", massage), ("M00000001", massage), ("M00000002", tea)):
        record_service_use(session, CLERK, service_id=service, member_or_card=who, used_at=T_USE)
    session.commit()
    detail = merchant_detail(session, "spa01")
    assert (detail.members, detail.uses) == (2, 3)
    by_name = {s.name: (s.members, s.uses) for s in detail.services}
    assert by_name == {"Massage weekend": (1, 2), "Tea": (1, 1)}
    assert detail.merchant.services == 2
    assert {u.member_no for u in detail.recent_uses} == {"M00000001", "M00000002"}
    assert [m.code for m in contracts_ending(session, within_days=30, today=date(2026, 3, 5))] == [
        "SPA01"
    ]
    assert contracts_ending(session, within_days=10, today=date(2026, 3, 5)) == []
    assert contracts_ending(session, within_days=30, today=date(2026, 4, 2)) == []


def test_a_reader_resending_the_same_swipe_at_once_records_one_use(op_db_url: str) -> None:
    """Four workers post the same reader swipe key at the same moment: one use, four answers."""
    setup = make_engine(op_db_url)
    with Session(setup) as session:
        session.add(Member(member_no="M00000001", name="王小明", joined_at=date(2025, 1, 1)))
        session.commit()
        _merchant(session)
        service_id = _service(session)
    setup.dispose()
    answers: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        engine = make_engine(op_db_url)
        try:
            with Session(engine) as session:
                start.wait()
                use = record_service_use(
                    session, CLERK, service_id=service_id, member_or_card="M00000001",
                    used_at=T_USE, source="reader", idempotency_key="reader-1:swipe-9",
                )  # fmt: skip
                session.commit()
                answers.append(use.id)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(answers) == 4 and len(set(answers)) == 1
    check = make_engine(op_db_url)
    with Session(check) as session:
        assert _uses(session) == 1
    check.dispose()
