"""Activities (活动), care (关怀), complaints (投诉) and merchants (商家)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, Money, UTCDateTime, utcnow

ACTIVITY_STATUSES = ("planned", "submitted", "approved", "rejected", "running", "closed")
CARE_TRIGGERS = ("manual", "birthday", "purchase", "activity")
CARE_CHANNELS = ("sms", "email", "letter", "magazine", "website", "other")
COMPLAINT_STATUSES = ("pending", "in_progress", "done")
COMPLAINT_IMPORTANCE = ("low", "normal", "high", "urgent")
OUTBOX_STATUSES = ("queued", "delivered", "failed")


# -- activities -------------------------------------------------------------------------------
class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (CheckConstraint(f"status in {ACTIVITY_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    activity_type: Mapped[str] = mapped_column(String(40))  # dictionary: activity_type
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(40))
    expected_headcount: Mapped[int] = mapped_column(Integer, default=0)
    expected_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    plan_text: Mapped[str | None] = mapped_column(Text)
    points_per_attendee: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(60))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reviewer's reason when rejecting (or note when approving).
    decision_note: Mapped[str | None] = mapped_column(Text)


class ActivityAttendance(Base):
    __tablename__ = "activity_attendance"
    __table_args__ = (
        UniqueConstraint("activity_id", "member_id"),
        CheckConstraint("source in ('list', 'single', 'reader')", name="source"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    attended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(10), default="list")
    point_entry_id: Mapped[int | None] = mapped_column(ForeignKey("point_entries.id"))
    recorded_by: Mapped[str | None] = mapped_column(String(60))


class ActivityCost(Base):
    """A cost line: shared (public) for the whole activity, or per head."""

    __tablename__ = "activity_costs"
    __table_args__ = (CheckConstraint("kind in ('shared', 'per_head')", name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)  # per head for kind = per_head
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- care -------------------------------------------------------------------------------------
class SavedSegment(Base):
    """A named set of members for manual care, kept as its criteria (JSON), not as a list.

    The criteria are re-evaluated when a care is sent, so the segment follows the members.
    """

    __tablename__ = "saved_segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    criteria: Mapped[str] = mapped_column(Text)  # JSON object
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))


class Care(Base):
    """One care action (a manual send or one run of an automatic trigger) and its content."""

    __tablename__ = "cares"
    __table_args__ = (
        CheckConstraint(f"trigger in {CARE_TRIGGERS!r}", name="trigger"),
        CheckConstraint(f"channel in {CARE_CHANNELS!r}", name="channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)
    control_share: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    run_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("saved_segments.id"))


class CareContact(Base):
    """One member in a care: contacted (sent or failed) or held out as control."""

    __tablename__ = "care_contacts"
    __table_args__ = (
        UniqueConstraint("care_id", "member_id"),
        CheckConstraint("status in ('pending', 'sent', 'failed', 'control')", name="status"),
        Index("ix_care_contacts_member", "member_id", "contacted_at"),
        # One contact per member and automatic trigger event (birthday:2026, purchase:123, …).
        Index("ux_care_contacts_member_trigger", "member_id", "trigger_ref", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    care_id: Mapped[int] = mapped_column(ForeignKey("cares.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(20))
    is_control: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    trigger_ref: Mapped[str | None] = mapped_column(String(60))  # e.g. purchase:123
    contacted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response: Mapped[str | None] = mapped_column(String(200))


class OutboxMessage(Base):
    """A message for a care contact, handed to the local outbox channel (or a real gateway).

    The outbox is the delivery interface: a gateway worker takes ``queued`` messages and marks
    them ``delivered`` or ``failed`` (with the error); the care contact's status follows.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"status in {OUTBOX_STATUSES!r}", name="status"),
        Index("ix_outbox_messages_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("care_contacts.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))  # mobile, e-mail or postal address
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- complaints -------------------------------------------------------------------------------
class ComplaintServiceLevel(Base):
    """How long a complaint of an importance may stay open: due = received + ``due_hours``."""

    __tablename__ = "complaint_service_levels"
    __table_args__ = (
        CheckConstraint(f"importance in {COMPLAINT_IMPORTANCE!r}", name="importance"),
        CheckConstraint("due_hours > 0", name="due_hours_positive"),
    )

    importance: Mapped[str] = mapped_column(String(10), primary_key=True)
    due_hours: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(60))


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(f"status in {COMPLAINT_STATUSES!r}", name="status"),
        CheckConstraint(f"importance in {COMPLAINT_IMPORTANCE!r}", name="importance"),
        CheckConstraint(
            "satisfaction is null or satisfaction between 1 and 5", name="satisfaction"
        ),
        Index("ix_complaints_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_no: Mapped[str] = mapped_column(String(30), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    card_no: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(40))  # dictionary: complaint_channel
    complaint_type: Mapped[str] = mapped_column(String(40))  # dictionary: complaint_type
    content: Mapped[str] = mapped_column(Text)
    receiver: Mapped[str] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    importance: Mapped[str] = mapped_column(String(10), default="normal")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(60))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ComplaintStep(Base):
    __tablename__ = "complaint_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handler: Mapped[str] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(60))
    opinion: Mapped[str] = mapped_column(Text)
    expected_completion: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- merchants --------------------------------------------------------------------------------
class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(300))
    phone1: Mapped[str | None] = mapped_column(String(30))
    phone2: Mapped[str | None] = mapped_column(String(30))
    parent_company: Mapped[str | None] = mapped_column(String(200))
    merchant_type: Mapped[str] = mapped_column(String(40))  # dictionary: merchant_type
    importance: Mapped[str] = mapped_column(String(10), default="normal")
    region: Mapped[str | None] = mapped_column(String(40))
    contract_ends_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MerchantService(Base):
    """A service a merchant offers members (discount, content, restriction, feedback)."""

    __tablename__ = "merchant_services"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    content: Mapped[str | None] = mapped_column(Text)
    member_restriction: Mapped[str | None] = mapped_column(String(100))  # e.g. tier:vip
    discount: Mapped[Decimal | None] = mapped_column(Money)  # 0.85 = 15% off
    quarterly_feedback: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)  # 1..5


class MerchantServiceUse(Base):
    """A member taking part in a merchant's service (counter swipe or entry)."""

    __tablename__ = "merchant_service_uses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("merchant_services.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(10), default="manual")  # manual | reader
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
