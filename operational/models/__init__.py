"""Operational schema: every entity of DOMAIN.md as a SQLAlchemy 2 model."""

from .base import Base, UTCDateTime, utcnow
from .cards_points import Card, MemberPointBalance, PointEntry, Redemption, RedemptionPlan
from .engagement import (
    Activity,
    ActivityAttendance,
    ActivityCost,
    Care,
    CareContact,
    Complaint,
    ComplaintStep,
    Merchant,
    MerchantService,
    MerchantServiceUse,
)
from .membership import (
    Application,
    ExitRequest,
    Member,
    MemberChange,
    MemberConsent,
    MemberNotification,
    PiiAccessLog,
    ReviewDecision,
)
from .reference import CardReader, DictionaryItem, NumberSequence, StaffAccount
from .sales import Purchase, PurchasePayment

__all__ = [
    "Activity",
    "ActivityAttendance",
    "ActivityCost",
    "Application",
    "Base",
    "Card",
    "CardReader",
    "Care",
    "CareContact",
    "Complaint",
    "ComplaintStep",
    "DictionaryItem",
    "ExitRequest",
    "Member",
    "MemberChange",
    "MemberConsent",
    "MemberNotification",
    "MemberPointBalance",
    "Merchant",
    "MerchantService",
    "MerchantServiceUse",
    "NumberSequence",
    "PiiAccessLog",
    "PointEntry",
    "Purchase",
    "PurchasePayment",
    "Redemption",
    "RedemptionPlan",
    "ReviewDecision",
    "StaffAccount",
    "UTCDateTime",
    "utcnow",
]
