"""Cards (会员卡), the points ledger (积分), redemption plans and redemptions (兑付)."""

from __future__ import annotations

from datetime import date, datetime

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

from .base import Base, BigId, UTCDateTime, utcnow

CARD_STATUSES = ("active", "replaced", "lost", "cancelled", "expired")
POINT_EVENT_TYPES = (
    "purchase",
    "activity",
    "care",
    "complaint",
    "redemption",
    "swipe",
    "manual",
    "expiry",
    "reversal",
    "opening",
)
POINT_STATUSES = ("pending", "posted", "rejected")


class Card(Base):
    """A main card (tier: ordinary, vip) or a sub-card (discount, cobrand) under a main card."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint("kind in ('main', 'sub')", name="kind"),
        CheckConstraint(f"status in {CARD_STATUSES!r}", name="status"),
        CheckConstraint("kind = 'main' or parent_card_id is not null", name="sub_has_parent"),
        Index("ix_cards_member_status", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_no: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(10))
    card_type: Mapped[str] = mapped_column(String(40))  # dictionary: card_type
    parent_card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_on: Mapped[date | None] = mapped_column(Date)  # sub-cards
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    replaced_by_card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    # The number a reader sends for this card (e.g. the 10-digit decimal of an EM4100 tag).
    chip_uid: Mapped[str | None] = mapped_column(String(20), unique=True)


class PointEntry(Base):
    """One ledger entry. Posted entries are never edited; corrections are reversals.

    ``remaining`` is what is left of a positive award after spending consumed the oldest points
    first, so expiry takes exactly that.
    """

    __tablename__ = "point_entries"
    __table_args__ = (
        CheckConstraint(f"event_type in {POINT_EVENT_TYPES!r}", name="event_type"),
        CheckConstraint(f"status in {POINT_STATUSES!r}", name="status"),
        CheckConstraint("points <> 0", name="nonzero"),
        Index("ix_point_entries_member_status", "member_id", "status"),
        Index("ix_point_entries_posted_at", "posted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    points: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="posted")
    reference: Mapped[str | None] = mapped_column(String(100))  # e.g. purchase:123
    reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("point_entries.id"))
    remaining: Mapped[int | None] = mapped_column(Integer)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(60))


#: Events whose points come from a rule (:class:`PointRule`) rather than a formula or a clerk.
RULE_EVENT_TYPES = ("activity", "care", "complaint", "swipe")


class PointRule(Base):
    """How many points an event earns automatically, and whether a supervisor must approve them.

    One rule per event type and ``match_code``: ``""`` is the rule for any event of the type; a
    non-empty code is more specific and wins (an activity type, a complaint type, a merchant code,
    a care trigger). ``needs_approval`` rules create *pending* entries for the approval queue.
    """

    __tablename__ = "point_rules"
    __table_args__ = (
        UniqueConstraint("event_type", "match_code"),
        CheckConstraint(f"event_type in {RULE_EVENT_TYPES!r}", name="event_type"),
        CheckConstraint("points >= 0", name="points_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(20))
    match_code: Mapped[str] = mapped_column(String(40), default="")
    points: Mapped[int] = mapped_column(Integer)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(60))


class MemberPointBalance(Base):
    """Running balance per member, updated in the same transaction as each posted entry.

    A derived row kept for locking (SELECT … FOR UPDATE) and fast reads; the ledger is the truth
    and a reconciliation check compares the two.
    """

    __tablename__ = "member_point_balances"
    __table_args__ = (CheckConstraint("balance >= 0", name="non_negative"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    earned_total: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RedemptionPlan(Base):
    """A catalogue item members can redeem points for (兑付方案)."""

    __tablename__ = "redemption_plans"
    __table_args__ = (
        CheckConstraint("points_cost > 0", name="cost_positive"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    item: Mapped[str] = mapped_column(String(200))
    points_cost: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    visible_on_website: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("redemption_plans.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[int] = mapped_column(Integer)
    point_entry_id: Mapped[int | None] = mapped_column(ForeignKey("point_entries.id"))
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redeemed_by: Mapped[str | None] = mapped_column(String(60))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
