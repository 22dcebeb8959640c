"""The daily membership jobs: run directly and through the Dagster job; idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from clubcrm.settings import Settings
from operational.models import (
    Card,
    CareContact,
    ExitRequest,
    Member,
    MemberConsent,
    MemberPointBalance,
    OutboxMessage,
    PointEntry,
)
from operational.services.cards import issue_main_card, issue_sub_card
from operational.services.common import Actor
from operational.services.daily import deliver_care_messages, run_daily_membership_jobs
from orchestration.membership_jobs import membership_daily

CLERK = Actor("clerk1", "staff")


def _seed(url: str) -> None:
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        for number, name, earned in (("M00000001", "王小明", 200), ("M00000002", "李小红", 12_000)):
            member = Member(
                member_no=number,
                name=name,
                joined_at=date(2025, 1, 1),
                birthday=date(1990, 6, 1),  # the day the tests run the jobs
                mobile="13800138000",
            )
            session.add(member)
            session.flush()
            session.add(
                MemberConsent(member_id=member.id, channel="sms", granted=True, source="form")
            )
            session.add(
                MemberPointBalance(member_id=member.id, balance=earned, earned_total=earned)
            )
            posted_at = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # earned within the tier period
            session.add(
                PointEntry(
                    member_id=member.id,
                    points=earned,
                    event_type="activity",
                    status="posted",
                    idempotency_key=f"seed:{number}",
                    remaining=earned,
                    expires_on=date(2028, 12, 31),
                    created_at=posted_at,
                    posted_at=posted_at,
                )
            )
            issue_main_card(session, CLERK, member)
        issue_sub_card(
            session, CLERK, "M00000001", "discount", date(2026, 5, 31), today=date(2026, 5, 1)
        )
    engine.dispose()


def _state(url: str) -> tuple[list[str], str]:
    engine = create_engine(url)
    with Session(engine) as session:
        subs = list(session.scalars(select(Card.status).where(Card.kind == "sub")))
        tier = session.scalar(select(Member.tier).where(Member.member_no == "M00000002"))
    engine.dispose()
    return subs, tier


def test_daily_jobs_expire_sub_cards_and_upgrade_tiers_once(op_db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("CLUBCRM_CARE_CONTROL_SHARE", "0")
    _seed(op_db_url)
    engine = create_engine(op_db_url)
    with Session(engine) as session, session.begin():
        report = run_daily_membership_jobs(session, today=date(2026, 6, 1))
    assert report.sub_cards_expired == 1
    assert report.tier_upgrades == ["M00000002"]
    assert report.contact_invalid_exits == []
    assert _state(op_db_url) == (["expired"], "vip")
    # both members' birthday care, sent through the outbox once the jobs committed
    assert report.cares is not None and report.cares.triggers["birthday"].contacted == 2
    delivery = deliver_care_messages(op_db_url)
    assert (delivery.delivered, delivery.failed) == (2, 0)

    with Session(engine) as session, session.begin():
        again = run_daily_membership_jobs(session, today=date(2026, 6, 1))
    assert (again.sub_cards_expired, again.tier_upgrades) == (0, [])
    assert again.cares is not None and again.cares.triggers["birthday"].contacted == 0
    assert deliver_care_messages(op_db_url).delivered == 0
    with Session(engine) as session:
        vip_cards = session.scalars(
            select(Card).where(Card.card_type == "vip", Card.status == "active")
        ).all()
        assert len(vip_cards) == 1
        assert session.scalar(select(ExitRequest.id)) is None
        contacts = session.scalars(select(CareContact.status)).all()
        assert contacts == ["sent", "sent"]
        assert session.scalars(select(OutboxMessage.status)).all() == ["delivered"] * 2
    engine.dispose()


def test_the_scheduled_dagster_job_runs_the_same_work(
    op_db_url: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("CLUBCRM_CARE_CONTROL_SHARE", "0")
    _seed(op_db_url)
    settings = Settings(
        home=tmp_path,
        database_url=op_db_url,
        buyer_horizon_days=90,
        churn_horizon_days=180,
        locale="zh_CN",
        test_database_url=None,
    )
    result = membership_daily.execute_in_process(
        run_config={"ops": {"membership_daily_op": {"config": {"day": "2026-06-01"}}}},
        resources={"clubcrm": dg.ResourceDefinition.hardcoded_resource(settings)},
    )
    assert result.success
    output = result.output_for_node("membership_daily_op")
    assert output == {
        "day": "2026-06-01",
        "sub_cards_expired": 1,
        "points_expired": 0,
        "tier_upgrades": 1,
        "contact_invalid_exits": 0,
        "care_contacted": 2,
        "care_messages_delivered": 2,
        "care_messages_failed": 0,
    }
    assert _state(op_db_url) == (["expired"], "vip")
