"""Finding a member and showing one member's file (会员查询), for the service-centre desk.

Staff search by whatever the caller gives them: a member number, a card number, a mobile
(however it is written, or just its last four digits), part of a name, or an ID number. Results
and the member's file show personal numbers masked; revealing them is logged (PII access log).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from operational.models import (
    Card,
    Complaint,
    Member,
    MemberChange,
    MemberPointBalance,
    PiiAccessLog,
    PointEntry,
    Purchase,
)
from operational.validation import mobile_digits

#: Profile fields whose values (also in the change history) are masked unless revealed.
PII_FIELDS = frozenset({"id_number", "mobile", "home_phone"})

_ID_NUMBER = re.compile(r"\d{17}[\dXx]|\d{15}")


# -- returned types ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MemberSummary:
    """One search hit: enough to tell members apart at the desk."""

    member_no: str
    name: str
    tier: str
    status: str
    region: str | None
    joined_at: date
    mobile_masked: str | None
    main_card_no: str | None
    matched_on: str  # member_no | card_no | id_number | mobile | member_no_prefix | ...


@dataclass(frozen=True)
class CardInfo:
    card_no: str
    kind: str  # main | sub
    card_type: str
    status: str
    issued_at: datetime
    expires_on: date | None
    ended_at: datetime | None
    parent_card_no: str | None


@dataclass(frozen=True)
class PurchaseInfo:
    purchase_no: str
    purchased_at: datetime
    product: str
    amount: Decimal
    paid_amount: Decimal
    purchase_type: str
    salesperson: str | None


@dataclass(frozen=True)
class PointEntryInfo:
    points: int
    event_type: str
    status: str
    created_at: datetime
    posted_at: datetime | None
    reason: str | None
    reference: str | None


@dataclass(frozen=True)
class ProfileChange:
    changed_at: datetime
    changed_by: str
    field: str
    old_value: str | None
    new_value: str | None


@dataclass(frozen=True)
class MemberDetail:
    """A member's file: profile (PII masked unless revealed), cards, points, history."""

    member_no: str
    name: str
    gender: str | None
    birthday: date | None
    tier: str
    status: str
    region: str | None
    channel: str | None
    source: str | None
    joined_at: date
    is_incomplete: bool
    exit_type: str | None
    archived_at: datetime | None
    id_number: str | None
    mobile: str | None
    home_phone: str | None
    email: str | None
    address: str | None
    pii_revealed: bool
    points_balance: int
    points_earned_total: int
    points_pending: int
    open_complaints: int
    cards: list[CardInfo]
    recent_purchases: list[PurchaseInfo]
    recent_point_entries: list[PointEntryInfo]
    changes: list[ProfileChange]


# -- masking and normalising ------------------------------------------------------------------
def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    hidden = len(value) - keep_start - keep_end
    if hidden < 4:  # too short to show both ends safely: show only the last two characters
        return "*" * max(len(value) - 2, 0) + value[-2:]
    return value[:keep_start] + "*" * hidden + value[-keep_end:]


def mask_id_number(value: str | None) -> str | None:
    """110105194912310021 -> 110105********0021 (region code and last four stay visible)."""
    return None if value is None else _mask_middle(value, 6, 4)


def mask_mobile(value: str | None) -> str | None:
    """13800135678 -> 138****5678; other phone numbers keep their first three and last four."""
    return None if value is None else _mask_middle(value, 3, 4)


def _mask_field(field: str, value: str | None) -> str | None:
    if field == "id_number":
        return mask_id_number(value)
    if field in PII_FIELDS:
        return mask_mobile(value)
    return value


def normalize_mobile(text: str) -> str | None:
    """The 11 digits of a mainland mobile written as '+86 138-0013-8000', '0086…' or plain
    (full-width digits too). Returns None when ``text`` is not a mobile number.
    """
    return mobile_digits(text)


# -- search -----------------------------------------------------------------------------------
def search_members(
    session: Session, query: str, limit: int = 50, *, include_archived: bool = False
) -> list[MemberSummary]:
    """Members matching ``query``, best matches first; an empty list when nothing matches.

    Exact matches (member number, card number, ID number, mobile) come before member-number
    prefixes, mobile last-four matches and name substrings. Archived members are left out unless
    ``include_archived``. A blank query matches nothing (no accidental full-table dump).
    """
    text = query.strip()
    if not text or limit <= 0:
        return []

    rules: list[tuple[str, ColumnElement[bool]]] = []
    upper = text.upper()
    rules.append(("member_no", Member.member_no.in_(sorted({text, upper}))))
    card_owner = select(Card.member_id).where(Card.card_no.in_(sorted({text, upper})))
    rules.append(("card_no", Member.id.in_(card_owner)))
    if _ID_NUMBER.fullmatch(text):
        # Stored upper-case by the services; tolerate a legacy lower-case x as well.
        rules.append(("id_number", Member.id_number.in_(sorted({upper, upper.replace("X", "x")}))))
    mobile = normalize_mobile(text)
    if mobile:
        rules.append(("mobile", Member.mobile.in_([mobile, f"+86{mobile}"])))
    rules.append(("member_no_prefix", Member.member_no.startswith(upper, autoescape=True)))
    if re.fullmatch(r"\d{4}", text):
        rules.append(("mobile_last4", Member.mobile.endswith(text)))
    rules.append(("name", Member.name.icontains(text, autoescape=True)))

    matched_on = case(*[(condition, literal(name)) for name, condition in rules])
    rank = case(*[(condition, position) for position, (_, condition) in enumerate(rules)])
    statement = (
        select(Member, matched_on.label("matched_on"))
        .where(or_(*(condition for _, condition in rules)))
        .order_by(rank, Member.member_no)
        .limit(limit)
    )
    if not include_archived:
        statement = statement.where(Member.status != "archived")
    rows = session.execute(statement).all()

    main_cards = _active_main_cards(session, [member.id for member, _ in rows])
    return [
        MemberSummary(
            member_no=member.member_no,
            name=member.name,
            tier=member.tier,
            status=member.status,
            region=member.region,
            joined_at=member.joined_at,
            mobile_masked=mask_mobile(member.mobile),
            main_card_no=main_cards.get(member.id),
            matched_on=matched,
        )
        for member, matched in rows
    ]


def _active_main_cards(session: Session, member_ids: list[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = session.execute(
        select(Card.member_id, Card.card_no)
        .where(Card.member_id.in_(member_ids), Card.kind == "main", Card.status == "active")
        .order_by(Card.issued_at)
    )
    return {member_id: card_no for member_id, card_no in rows}


# -- detail -----------------------------------------------------------------------------------
def get_member_detail(
    session: Session,
    member_no: str,
    *,
    recent: int = 10,
    reveal_pii: bool = False,
    viewed_by: str | None = None,
) -> MemberDetail | None:
    """One member's file, or None when no member has that number (archived ones included).

    Personal numbers are masked unless ``reveal_pii``; revealing needs ``viewed_by`` and is
    written to the PII access log in the caller's transaction.
    """
    if reveal_pii and not viewed_by:
        raise ValueError("revealing a member's ID number or mobile needs the viewer's username")
    number = member_no.strip()
    member = session.scalar(
        select(Member)
        .where(Member.member_no.in_(sorted({number, number.upper()})))
        .order_by(case((Member.member_no == number, 0), else_=1))  # the exact spelling first
        .limit(1)
    )
    if member is None:
        return None

    if reveal_pii:
        for field in ("id_number", "mobile"):
            session.add(PiiAccessLog(member_id=member.id, field=field, viewed_by=viewed_by))

    def shown(field: str, value: str | None) -> str | None:
        return value if reveal_pii else _mask_field(field, value)

    balance = session.get(MemberPointBalance, member.id)
    return MemberDetail(
        member_no=member.member_no,
        name=member.name,
        gender=member.gender,
        birthday=member.birthday,
        tier=member.tier,
        status=member.status,
        region=member.region,
        channel=member.channel,
        source=member.source,
        joined_at=member.joined_at,
        is_incomplete=member.is_incomplete,
        exit_type=member.exit_type,
        archived_at=member.archived_at,
        id_number=shown("id_number", member.id_number),
        mobile=shown("mobile", member.mobile),
        home_phone=shown("home_phone", member.home_phone),
        email=member.email,
        address=member.address,
        pii_revealed=reveal_pii,
        points_balance=balance.balance if balance else 0,
        points_earned_total=balance.earned_total if balance else 0,
        points_pending=_pending_points(session, member.id),
        open_complaints=_open_complaints(session, member.id),
        cards=_cards(session, member.id),
        recent_purchases=_recent_purchases(session, member.id, recent),
        recent_point_entries=_recent_point_entries(session, member.id, recent),
        changes=[
            ProfileChange(
                changed_at=change.changed_at,
                changed_by=change.changed_by,
                field=change.field,
                old_value=shown(change.field, change.old_value),
                new_value=shown(change.field, change.new_value),
            )
            for change in session.scalars(
                select(MemberChange)
                .where(MemberChange.member_id == member.id)
                .order_by(MemberChange.changed_at.desc(), MemberChange.id.desc())
            )
        ],
    )


def _pending_points(session: Session, member_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id == member_id, PointEntry.status == "pending"
        )
    )
    return int(total or 0)


def _open_complaints(session: Session, member_id: int) -> int:
    count = session.scalar(
        select(func.count()).where(Complaint.member_id == member_id, Complaint.status != "done")
    )
    return int(count or 0)


def _cards(session: Session, member_id: int) -> list[CardInfo]:
    parent = aliased(Card)
    rows = session.execute(
        select(Card, parent.card_no)
        .outerjoin(parent, Card.parent_card_id == parent.id)
        .where(Card.member_id == member_id)
        # Main cards first, then each kind newest first.
        .order_by(Card.kind, Card.issued_at.desc(), Card.id.desc())
    )
    return [
        CardInfo(
            card_no=card.card_no,
            kind=card.kind,
            card_type=card.card_type,
            status=card.status,
            issued_at=card.issued_at,
            expires_on=card.expires_on,
            ended_at=card.ended_at,
            parent_card_no=parent_no,
        )
        for card, parent_no in rows
    ]


def _recent_purchases(session: Session, member_id: int, limit: int) -> list[PurchaseInfo]:
    purchases = session.scalars(
        select(Purchase)
        .where(Purchase.member_id == member_id)
        .order_by(Purchase.purchased_at.desc(), Purchase.id.desc())
        .limit(limit)
    )
    return [
        PurchaseInfo(
            purchase_no=purchase.purchase_no,
            purchased_at=purchase.purchased_at,
            product=purchase.product,
            amount=purchase.amount,
            paid_amount=purchase.paid_amount,
            purchase_type=purchase.purchase_type,
            salesperson=purchase.salesperson,
        )
        for purchase in purchases
    ]


def _recent_point_entries(session: Session, member_id: int, limit: int) -> list[PointEntryInfo]:
    entries = session.scalars(
        select(PointEntry)
        .where(PointEntry.member_id == member_id)
        .order_by(PointEntry.created_at.desc(), PointEntry.id.desc())
        .limit(limit)
    )
    return [
        PointEntryInfo(
            points=entry.points,
            event_type=entry.event_type,
            status=entry.status,
            created_at=entry.created_at,
            posted_at=entry.posted_at,
            reason=entry.reason,
            reference=entry.reference,
        )
        for entry in entries
    ]
