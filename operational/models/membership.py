"""Applications, members, their history, consents, exits and notifications (会籍)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow

APPLICATION_STATUSES = ("pending", "approved", "merged", "already_member", "linked", "rejected")
MEMBER_STATUSES = ("active", "exit_pending", "archived")
GENDERS = ("M", "F")


class Application(Base):
    """A membership application (入会申请), manual or created by a non-member's purchase."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(f"status in {APPLICATION_STATUSES!r}", name="status"),
        Index("ix_applications_status_submitted", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))  # dictionary: application_channel
    source: Mapped[str | None] = mapped_column(String(40))  # dictionary: application_source
    is_automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(100))
    # Toneless pinyin of the name ("zhang wei"): homophones share it (operational.names).
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    birthday: Mapped[date | None] = mapped_column(Date)
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    home_phone: Mapped[str | None] = mapped_column(String(30), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(40))  # dictionary: region
    requested_tier: Mapped[str | None] = mapped_column(String(40))
    # Channels the applicant agreed to be contacted on, comma-separated (sms,email,letter,phone).
    consent_channels: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(60))
    purchase_id: Mapped[int | None] = mapped_column(BigId)  # the purchase that created it
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # outcome
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    notes: Mapped[str | None] = mapped_column(Text)
    # Optimistic lock: two reviewers deciding at once, exactly one wins.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ReviewDecision(Base):
    """Audit of one review decision: who, when, which outcome, what merged into what."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    merged_application_ids: Mapped[str | None] = mapped_column(String(500))  # comma-separated
    decided_by: Mapped[str] = mapped_column(String(60))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)


class Member(Base):
    """A club member (会员). Archived members are logically deleted and restorable."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(f"status in {MEMBER_STATUSES!r}", name="status"),
        CheckConstraint("gender is null or gender in ('M', 'F')", name="gender"),
        Index("ix_members_status_tier", "status", "tier"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)  # see Application
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    birthday: Mapped[date | None] = mapped_column(Date)
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    home_phone: Mapped[str | None] = mapped_column(String(30), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(40))  # dictionary: region
    industry: Mapped[str | None] = mapped_column(String(60))
    tier: Mapped[str] = mapped_column(String(40), default="ordinary")  # == main card type
    status: Mapped[str] = mapped_column(String(20), default="active")
    channel: Mapped[str | None] = mapped_column(String(40))  # how they joined
    source: Mapped[str | None] = mapped_column(String(40))
    joined_at: Mapped[date] = mapped_column(Date)
    application_id: Mapped[int | None] = mapped_column(BigId)
    is_incomplete: Mapped[bool] = mapped_column(Boolean, default=False)  # legacy import
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    exit_type: Mapped[str | None] = mapped_column(String(40))  # dictionary: exit_type
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class MemberChange(Base):
    """One changed field of a member's profile: who, when, field, old value, new value."""

    __tablename__ = "member_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(60))
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class MemberConsent(Base):
    """Consent to be contacted on a channel, with time and source; a withdrawal is a new row."""

    __tablename__ = "member_consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # sms | email | letter | phone
    granted: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(60))
    recorded_by: Mapped[str | None] = mapped_column(String(60))


class ExitRequest(Base):
    """An exit (退会), manual or by rule, reviewed before the member is archived."""

    __tablename__ = "exit_requests"
    __table_args__ = (
        CheckConstraint("status in ('pending', 'approved', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    exit_type: Mapped[str] = mapped_column(String(40))  # dictionary: exit_type
    is_automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by: Mapped[str | None] = mapped_column(String(60))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(60))


class MemberNotification(Base):
    """A notice to a member (approval, exit…): reached, or listed for the next try."""

    __tablename__ = "member_notifications"
    __table_args__ = (CheckConstraint("status in ('notified', 'retry')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # approval | exit | card
    method: Mapped[str] = mapped_column(String(40))  # dictionary: notice_method
    status: Mapped[str] = mapped_column(String(20))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=1)


class PiiAccessLog(Base):
    """Each unmasked view of a member's ID number or mobile."""

    __tablename__ = "pii_access_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    viewed_by: Mapped[str] = mapped_column(String(60))
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
