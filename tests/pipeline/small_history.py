"""A tiny, hand-made club history touching every operational table (and the swipe spool).

Used by the pipeline tests that must not depend on the demo generator (PostgreSQL ingestion,
publishing, read-only SQL) and as a development fixture. The balances are consistent with the
ledger, so the warehouse's reconciliation test passes on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.models import (
    Activity,
    ActivityAttendance,
    ActivityCost,
    Application,
    Base,
    Card,
    CardReader,
    Care,
    CareContact,
    Complaint,
    ComplaintStep,
    ExitRequest,
    Member,
    MemberChange,
    MemberConsent,
    MemberNotification,
    MemberPointBalance,
    Merchant,
    MerchantService,
    MerchantServiceUse,
    PiiAccessLog,
    PointEntry,
    Purchase,
    PurchasePayment,
    Redemption,
    RedemptionPlan,
    ReviewDecision,
)

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)

MEMBERS = [
    # member_no, name, id_number, gender, birthday, mobile, region, tier, status, joined_at
    (
        "M000001",
        "张伟",
        "11010519491231002X",
        "F",
        date(1949, 12, 31),
        "13812345678",
        "11",
        "vip",
        "active",
        date(2024, 1, 15),
    ),
    (
        "M000002",
        "王芳",
        "310101198507150023",
        "F",
        date(1985, 7, 15),
        "13900001111",
        "31",
        "ordinary",
        "active",
        date(2024, 1, 20),
    ),
    (
        "M000003",
        "李强",
        "440103199003030017",
        "M",
        date(1990, 3, 3),
        "13700002222",
        "44",
        "ordinary",
        "active",
        date(2024, 6, 2),
    ),
    ("M000004", "刘洋", None, "M", None, None, "44", "ordinary", "archived", date(2024, 6, 9)),
    (
        "M000005",
        "陈静",
        "320102197801010026",
        "F",
        date(1978, 1, 1),
        "13600003333",
        None,
        "vip",
        "active",
        date(2025, 2, 1),
    ),
    (
        "M000006",
        "赵磊",
        None,
        None,
        None,
        "13500004444",
        "11",
        "ordinary",
        "exit_pending",
        date(2025, 2, 20),
    ),
]


@dataclass(frozen=True)
class Swipe:
    swipe_id: str
    reader_id: str
    seq: int
    card_no: str
    swiped_at: datetime


def write_small_history(database_url: str) -> None:
    """Insert the history into an initialised (migrated, empty) operational database."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            _write(session)
    finally:
        engine.dispose()


def _write(session: Session) -> None:
    members: list[Member] = []
    for i, (no, name, idn, gender, birthday, mobile, region, tier, status, joined) in enumerate(
        MEMBERS
    ):
        member = Member(
            member_no=no,
            name=name,
            id_number=idn,
            gender=gender,
            birthday=birthday,
            mobile=mobile,
            region=region,
            tier=tier,
            status=status,
            joined_at=joined,
            channel="service_centre" if i % 2 else "sales_site",
            is_incomplete=idn is None,
            notified=i % 2 == 0,
            created_at=T0,
            updated_at=T0,
            archived_at=T0 + timedelta(days=30) if status == "archived" else None,
        )
        session.add(member)
        members.append(member)
    session.flush()

    cards: list[Card] = []
    for i, member in enumerate(members):
        card = Card(
            card_no=f"C{100001 + i}",
            member_id=member.id,
            kind="main",
            card_type=member.tier,
            status="active",
            issued_at=T0,
            chip_uid=f"00{12345600 + i}",
        )
        session.add(card)
        cards.append(card)
    session.flush()
    # M000002 lost a card before: an ended main card, and a sub-card on the new one.
    session.add(
        Card(
            card_no="C199999",
            member_id=members[1].id,
            kind="main",
            card_type="ordinary",
            status="lost",
            issued_at=T0 - timedelta(days=200),
            ended_at=T0 - timedelta(days=10),
            end_reason="lost",
        )
    )
    session.add(
        Card(
            card_no="C200001",
            member_id=members[0].id,
            kind="sub",
            card_type="discount",
            parent_card_id=cards[0].id,
            status="active",
            issued_at=T0,
            expires_on=date(2026, 12, 31),
        )
    )

    # Points: posted entries define the balances; one pending entry does not count.
    ledger: dict[int, int] = {}
    earned: dict[int, int] = {}
    entries = [
        (0, 500, "opening", "posted"),
        (0, 1200, "purchase", "posted"),
        (0, -300, "redemption", "posted"),
        (1, 100, "activity", "posted"),
        (2, 50, "care", "posted"),
        (2, 80, "purchase", "pending"),
        (4, 200, "swipe", "posted"),
        (4, 30, "complaint", "rejected"),
    ]
    for n, (m, points, event, status) in enumerate(entries):
        member = members[m]
        at = T0 + timedelta(days=n, hours=3)
        session.add(
            PointEntry(
                member_id=member.id,
                card_id=cards[m].id,
                points=points,
                event_type=event,
                status=status,
                reference=f"{event}:{n}",
                idempotency_key=f"small:{n}",
                remaining=points if points > 0 else None,
                created_at=at,
                posted_at=at if status == "posted" else None,
            )
        )
        if status == "posted":
            ledger[member.id] = ledger.get(member.id, 0) + points
            if points > 0:
                earned[member.id] = earned.get(member.id, 0) + points
    for member_id, balance in ledger.items():
        session.add(
            MemberPointBalance(
                member_id=member_id,
                balance=balance,
                earned_total=earned.get(member_id, 0),
                updated_at=T0,
            )
        )
    session.flush()

    plan = RedemptionPlan(
        code="R01",
        item="保温杯",
        points_cost=300,
        stock=10,
        starts_on=date(2025, 1, 1),
        created_at=T0,
    )
    session.add(plan)
    session.flush()
    redemption_entry = session.scalar(
        select(PointEntry).where(PointEntry.event_type == "redemption")
    )
    session.add(
        Redemption(
            plan_id=plan.id,
            member_id=members[0].id,
            card_id=cards[0].id,
            points=300,
            point_entry_id=redemption_entry.id,
            redeemed_at=T0 + timedelta(days=2),
            idempotency_key="small:r1",
        )
    )

    purchases = [
        Purchase(
            purchase_no="P0001",
            member_id=members[0].id,
            product="别墅A",
            quantity=1,
            amount=Decimal("1200000.00"),
            paid_amount=Decimal("1200000.00"),
            region="11",
            channel="sales_site",
            salesperson="小王",
            purchase_type="new",
            purchased_at=T0 + timedelta(days=1),
            fully_paid_at=T0 + timedelta(days=5),
        ),
        Purchase(
            purchase_no="P0002",
            member_id=members[2].id,
            product="公寓B",
            quantity=1,
            amount=Decimal("850000.50"),
            paid_amount=Decimal("425000.25"),
            region="44",
            channel="store",
            salesperson="小李",
            purchase_type="new",
            purchased_at=T0 + timedelta(days=40),
            due_on=date(2025, 12, 31),
        ),
        Purchase(
            purchase_no="P0003",
            member_id=None,
            customer_name="孙丽",
            customer_mobile="13300005555",
            product="车位",
            quantity=1,
            amount=Decimal("99000.00"),
            paid_amount=Decimal("0.00"),
            region="31",
            channel="online",
            purchase_type="new",
            purchased_at=T0 + timedelta(days=60),
        ),
    ]
    session.add_all(purchases)
    session.flush()
    session.add(
        PurchasePayment(
            purchase_id=purchases[0].id,
            amount=Decimal("1200000.00"),
            paid_at=T0 + timedelta(days=5),
            method="transfer",
            idempotency_key="small:pay1",
        )
    )
    session.add(
        PurchasePayment(
            purchase_id=purchases[1].id,
            amount=Decimal("425000.25"),
            paid_at=T0 + timedelta(days=41),
            method="card",
            idempotency_key="small:pay2",
        )
    )

    activity = Activity(
        code="A0001",
        name="春季沙龙",
        activity_type="salon",
        starts_at=T0 + timedelta(days=10),
        ends_at=T0 + timedelta(days=10, hours=3),
        region="11",
        expected_headcount=30,
        expected_cost=Decimal("5000.00"),
        points_per_attendee=100,
        status="closed",
        created_at=T0,
        closed_at=T0 + timedelta(days=11),
    )
    session.add(activity)
    session.flush()
    session.add(
        ActivityCost(
            activity_id=activity.id,
            kind="shared",
            description="场地",
            amount=Decimal("3000.00"),
            recorded_at=T0,
        )
    )
    session.add(
        ActivityCost(
            activity_id=activity.id,
            kind="per_head",
            description="餐饮",
            amount=Decimal("80.00"),
            recorded_at=T0,
        )
    )
    for m in (0, 1):
        session.add(
            ActivityAttendance(
                activity_id=activity.id,
                member_id=members[m].id,
                card_id=cards[m].id,
                source="reader",
                attended_at=T0 + timedelta(days=10, minutes=5 + m),
            )
        )

    care = Care(
        trigger="birthday",
        channel="sms",
        title="生日快乐",
        control_share=Decimal("0.20"),
        run_on=date(2025, 3, 5),
        created_at=T0,
    )
    session.add(care)
    session.flush()
    for m, is_control, status, responded in (
        (0, False, "sent", True),
        (1, True, "control", False),
        (2, False, "failed", False),
    ):
        session.add(
            CareContact(
                care_id=care.id,
                member_id=members[m].id,
                channel="sms",
                is_control=is_control,
                status=status,
                contacted_at=T0 + timedelta(days=4),
                responded_at=T0 + timedelta(days=6) if responded else None,
                response="visited" if responded else None,
            )
        )

    complaint = Complaint(
        complaint_no="K0001",
        member_id=members[2].id,
        card_no=cards[2].card_no,
        channel="phone",
        complaint_type="house_quality",
        content="漏水",
        receiver="客服A",
        received_at=T0 + timedelta(days=20),
        importance="high",
        due_at=T0 + timedelta(days=27),
        status="done",
        closed_at=T0 + timedelta(days=30),
        satisfaction=4,
    )
    session.add(complaint)
    session.add(
        Complaint(
            complaint_no="K0002",
            member_id=None,
            channel="website",
            complaint_type="non_service",
            content="网站打不开",
            receiver="客服B",
            received_at=T0 + timedelta(days=25),
            due_at=T0 + timedelta(days=32),
            status="pending",
        )
    )
    session.flush()
    session.add(
        ComplaintStep(
            complaint_id=complaint.id,
            handled_at=T0 + timedelta(days=21),
            handler="工程师",
            department="工程部",
            opinion="上门维修",
        )
    )

    merchant = Merchant(code="S001", name="海景餐厅", merchant_type="dining", region="11")
    session.add(merchant)
    session.flush()
    service = MerchantService(
        merchant_id=merchant.id,
        name="会员折扣",
        starts_on=date(2025, 1, 1),
        discount=Decimal("0.85"),
        rating=5,
    )
    session.add(service)
    session.flush()
    session.add(
        MerchantServiceUse(
            service_id=service.id,
            member_id=members[0].id,
            used_at=T0 + timedelta(days=3),
            source="reader",
            idempotency_key="small:use1",
        )
    )

    session.add(
        CardReader(
            reader_id="gate-1",
            name="会所入口",
            protocol="rdm6300",
            purpose="activity_checkin",
            target="A0001",
            installed_at=T0,
        )
    )
    session.add(
        CardReader(reader_id="counter-1", name="餐厅前台", protocol="line", installed_at=T0)
    )

    application = Application(
        channel="service_centre",
        source="referral",
        name="周杰",
        id_number="510104198001010018",
        mobile="13200006666",
        status="approved",
        submitted_at=T0,
        member_id=members[5].id,
        decided_at=T0 + timedelta(days=1),
        decided_by="admin",
    )
    session.add(application)
    session.flush()
    session.add(
        ReviewDecision(
            application_id=application.id,
            outcome="approved",
            member_id=members[5].id,
            decided_by="admin",
            decided_at=T0 + timedelta(days=1),
        )
    )
    session.add(
        MemberChange(
            member_id=members[1].id,
            changed_at=T0,
            changed_by="admin",
            field="mobile",
            old_value="13900000000",
            new_value="13900001111",
        )
    )
    session.add(
        MemberConsent(
            member_id=members[0].id,
            channel="sms",
            granted=True,
            recorded_at=T0,
            source="application",
        )
    )
    session.add(
        ExitRequest(
            member_id=members[5].id,
            exit_type="normal",
            status="pending",
            requested_at=T0 + timedelta(days=50),
        )
    )
    session.add(
        MemberNotification(
            member_id=members[0].id,
            kind="approval",
            method="sms",
            status="notified",
            attempted_at=T0,
        )
    )
    session.add(
        PiiAccessLog(member_id=members[0].id, field="id_number", viewed_by="admin", viewed_at=T0)
    )


def small_swipes() -> list[Swipe]:
    """Swipes of the spool: one known main card, one chip uid, one unknown card."""
    at = T0 + timedelta(days=10)
    return [
        Swipe("gate-1:boot1:1", "gate-1", 1, "C100001", at),
        Swipe("gate-1:boot1:2", "gate-1", 2, "0012345601", at + timedelta(minutes=1)),
        Swipe("gate-1:boot1:3", "gate-1", 3, "9999999999", at + timedelta(minutes=2)),
        Swipe("counter-1:boot1:1", "counter-1", 1, "C100003", at + timedelta(days=1)),
    ]


def write_spool_file(
    spool_dir: Path, reader_id: str, name: str, swipes: list[Swipe], finished: bool = True
) -> Path:
    """Write a spool file as the reader daemon does (``.jsonl.open`` until it is closed)."""
    folder = spool_dir / reader_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"{name}.jsonl" if finished else f"{name}.jsonl.open")
    with path.open("w", encoding="utf-8") as handle:
        for swipe in swipes:
            handle.write(
                json.dumps(
                    {
                        "swipe_id": swipe.swipe_id,
                        "reader_id": swipe.reader_id,
                        "seq": swipe.seq,
                        "card_no": swipe.card_no,
                        "raw": f"\x02{swipe.card_no}\x03",
                        "swiped_at": swipe.swiped_at.isoformat(),
                        "purpose": None,
                        "target": None,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return path


def write_small_spool(spool_dir: Path) -> int:
    """Finished files (with one swipe repeated across files) and one still open; returns the
    number of distinct swipes in finished files."""
    swipes = small_swipes()
    by_reader: dict[str, list[Swipe]] = {}
    for swipe in swipes:
        by_reader.setdefault(swipe.reader_id, []).append(swipe)
    write_spool_file(spool_dir, "gate-1", "20250311T020000-boot1", by_reader["gate-1"][:2])
    # A restart re-spooled the second swipe: the same swipe_id must load once.
    write_spool_file(spool_dir, "gate-1", "20250311T021500-boot1", by_reader["gate-1"][1:])
    write_spool_file(spool_dir, "counter-1", "20250312T020000-boot1", by_reader["counter-1"])
    open_swipe = Swipe("gate-1:boot2:1", "gate-1", 1, "C100002", T0 + timedelta(days=12))
    write_spool_file(spool_dir, "gate-1", "20250313T020000-boot2", [open_swipe], finished=False)
    return len({s.swipe_id for s in swipes})


def operational_row_counts(database_url: str) -> dict[str, int]:
    """Row count of every ingested operational table, read with SQLAlchemy."""
    from ingestion.operational import OPERATIONAL_TABLES

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in Base.metadata.tables.items()
                if name in OPERATIONAL_TABLES
            }
    finally:
        engine.dispose()
