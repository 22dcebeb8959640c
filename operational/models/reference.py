"""Dictionary items, staff accounts and card readers: the reference data of the club."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow

ROLES = ("staff", "reviewer", "manager", "analyst", "admin")


class DictionaryItem(Base):
    """One entry of a "type" list (channels, regions, tiers, …), editable by an admin."""

    __tablename__ = "dictionary_items"
    __table_args__ = (UniqueConstraint("category", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Optional parent code in the same or another category (e.g. a source under a channel).
    parent_code: Mapped[str | None] = mapped_column(String(40))


class StaffAccount(Base):
    __tablename__ = "staff_accounts"
    __table_args__ = (CheckConstraint(f"role in {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CardReader(Base):
    """A serial card reader (刷卡机) at an activity entrance or a merchant counter."""

    __tablename__ = "card_readers"
    __table_args__ = (
        CheckConstraint("protocol in ('rdm6300', 'wiegand', 'track2', 'line')", name="protocol"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reader_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(200))
    protocol: Mapped[str] = mapped_column(String(20), default="rdm6300")
    port: Mapped[str | None] = mapped_column(String(200))
    # activity_checkin | merchant_counter | points_award | None (record only)
    purpose: Mapped[str | None] = mapped_column(String(30))
    target: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


SWIPE_OUTCOMES = ("posted", "already", "recorded", "refused")


class SwipePosting(Base):
    """What posting one spooled card-reader swipe did, once per swipe (its id is the key).

    ``posted``: attendance, a service use or points were recorded; ``already``: the same member
    was already recorded (a second swipe at the same activity); ``recorded``: the reader has no
    purpose, nothing to post; ``refused``: an unknown, lost or cancelled card, a former member, a
    closed activity… with the service's code and message, listed on the readers page for staff.
    """

    __tablename__ = "swipe_postings"
    __table_args__ = (
        CheckConstraint(f"outcome in {SWIPE_OUTCOMES!r}", name="outcome"),
        Index("ix_swipe_postings_outcome", "outcome", "swiped_at"),
        Index("ix_swipe_postings_reader", "reader_id", "swiped_at"),
    )

    swipe_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    reader_id: Mapped[str] = mapped_column(String(40))
    card_no: Mapped[str | None] = mapped_column(String(40))
    purpose: Mapped[str | None] = mapped_column(String(30))
    target: Mapped[str | None] = mapped_column(String(60))
    swiped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(10))
    code: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str | None] = mapped_column(String(300))
    params: Mapped[str | None] = mapped_column(Text)  # the refusal's parameters (JSON)
    member_no: Mapped[str | None] = mapped_column(String(20))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NumberSequence(Base):
    """The next business number of a kind (member numbers, card numbers), taken under a row lock.

    A row is created on first use from the largest number already in its table, so numbers
    loaded by an import or the demo generator are never handed out again.
    """

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class ChangeTracking(Base):
    """Change tracking for the warehouse's incremental ingestion (decision D16): one row.

    Every ingested table also has a ``_changed_at`` column that is *not* mapped here: the
    database keeps it (migration 0004: a default or insert trigger, and an update trigger), so
    no code path can forget it, and a delete trigger logs the deleted key in
    :class:`RowDeletion`. ``epoch`` changes whenever history is rewritten outside the services
    with the triggers off (the demo-data loader, a restore): the next ingestion then copies every
    table in full instead of trusting the change stamps.
    """

    __tablename__ = "change_tracking"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    epoch: Mapped[str] = mapped_column(String(40))
    reset_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RowDeletion(Base):
    """A row deleted from an ingested table (written by a trigger), so ingestion removes it."""

    __tablename__ = "change_tracking_deletions"
    __table_args__ = (Index("ix_change_tracking_deletions_deleted_at", "deleted_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(60))
    row_key: Mapped[str] = mapped_column(String(80))
    # Naive UTC text written by the trigger itself (not through UTCDateTime).
    deleted_at: Mapped[datetime] = mapped_column(DateTime)
