"""Purchases (销售成交) and their payments. Paid ratio drives purchase points."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, Money, UTCDateTime, utcnow

PURCHASE_TYPES = ("new", "additional", "return")


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint(f"purchase_type in {PURCHASE_TYPES!r}", name="purchase_type"),
        CheckConstraint("paid_amount >= 0", name="paid_non_negative"),
        Index("ix_purchases_member_purchased", "member_id", "purchased_at"),
        Index("ix_purchases_purchased_at", "purchased_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purchase_no: Mapped[str] = mapped_column(String(30), unique=True)
    # Null until the customer is a member (a non-member's purchase raises an application).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    customer_name: Mapped[str | None] = mapped_column(String(100))
    customer_mobile: Mapped[str | None] = mapped_column(String(20))
    customer_id_number: Mapped[str | None] = mapped_column(String(18))
    product: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[Decimal] = mapped_column(Money)  # total after discount; negative for a return
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    region: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(40))  # dictionary: sales_channel
    salesperson: Mapped[str | None] = mapped_column(String(60))
    regional_manager: Mapped[str | None] = mapped_column(String(60))
    dealer: Mapped[str | None] = mapped_column(String(100))
    purchase_type: Mapped[str] = mapped_column(String(20), default="new")
    returns_purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"))
    purchased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[date | None] = mapped_column(Date)  # arrears due date
    invoice_no: Mapped[str | None] = mapped_column(String(40))
    cross_group: Mapped[bool] = mapped_column(Boolean, default=False)
    fully_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))


class PurchasePayment(Base):
    __tablename__ = "purchase_payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str | None] = mapped_column(String(30))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
