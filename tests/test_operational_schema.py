"""The operational schema: migrations, init, and the round trip of the main entities."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.bootstrap import initialise
from operational.models import (
    Base,
    Card,
    DictionaryItem,
    Member,
    PointEntry,
    Purchase,
    StaffAccount,
)
from operational.passwords import verify_password


def test_migration_creates_every_model_table(op_db_url: str) -> None:
    engine = create_engine(op_db_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_init_is_idempotent_and_keeps_the_admin_password(op_db_url: str) -> None:
    report = initialise(op_db_url, admin_password="another-password")
    assert report.dictionary_items_added == 0
    assert report.admin_password is None  # the account existed: nothing printed, nothing reset
    engine = create_engine(op_db_url)
    with Session(engine) as session:
        admin = session.scalar(select(StaffAccount).where(StaffAccount.username == "admin"))
        assert admin.role == "admin"
        assert verify_password(admin.password_hash, "admin-password-1")
        assert not verify_password(admin.password_hash, "another-password")
        categories = set(session.scalars(select(DictionaryItem.category).distinct()))
    engine.dispose()
    assert {
        "application_channel",
        "exit_type",
        "card_type",
        "complaint_type",
        "region",
    } <= categories


def test_timestamps_round_trip_as_utc(op_db_url: str) -> None:
    engine = create_engine(op_db_url)
    shanghai_noon = datetime.fromisoformat("2025-03-01T12:00:00+08:00")
    with Session(engine) as session, session.begin():
        member = Member(member_no="M000001", name="王小明", joined_at=date(2025, 3, 1))
        session.add(member)
        session.flush()
        session.add(
            Purchase(
                purchase_no="P1",
                member_id=member.id,
                product="Model A",
                amount=Decimal("199999.50"),
                paid_amount=Decimal("0"),
                purchased_at=shanghai_noon,
            )
        )
    with Session(engine) as session:
        purchase = session.scalar(select(Purchase))
        assert purchase.purchased_at == datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
        assert purchase.amount == Decimal("199999.50")
    engine.dispose()


def test_member_numbers_and_idempotency_keys_are_unique(op_db_url: str) -> None:
    engine = create_engine(op_db_url)
    with Session(engine) as session, session.begin():
        member = Member(member_no="M000001", name="李雷", joined_at=date(2025, 1, 1))
        session.add(member)
        session.flush()
        session.add(
            PointEntry(member_id=member.id, points=10, event_type="manual", idempotency_key="k1")
        )
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(PointEntry(member_id=1, points=5, event_type="manual", idempotency_key="k1"))
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(Member(member_no="M000001", name="韩梅梅", joined_at=date(2025, 1, 1)))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PointEntry)) == 1
    engine.dispose()


def test_a_sub_card_needs_a_main_card(op_db_url: str) -> None:
    engine = create_engine(op_db_url)
    with Session(engine) as session, session.begin():
        session.add(Member(member_no="M000002", name="张伟", joined_at=date(2025, 1, 1)))
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(Card(card_no="C1", member_id=1, kind="sub", card_type="discount"))
    engine.dispose()


def test_naive_datetimes_are_refused(op_db_url: str) -> None:
    engine = create_engine(op_db_url)
    with (
        pytest.raises(Exception, match="timezone-aware"),
        Session(engine) as session,
        session.begin(),
    ):
        session.add(
            Member(
                member_no="M3",
                name="赵敏",
                joined_at=date(2025, 1, 1),
                archived_at=datetime(2025, 1, 1),
            )
        )
    engine.dispose()
