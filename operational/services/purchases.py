"""Recording a purchase (销售成交) at the desk or from a sales system.

A purchase by a member is linked to them by member number; a purchase by someone who is not a
member raises an automatic membership application (DOMAIN.md "Membership": "a recorded purchase
by a customer who is not a member creates an application by itself"), which a reviewer decides.
Recording is idempotent on the purchase number, so a retried submission records nothing twice.
Points for fully paid purchases are the ledger's concern (operational/services/points.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.models import Application, Member, Purchase
from operational.models.sales import PURCHASE_TYPES
from operational.services.applications import application_from_purchase, application_label
from operational.services.common import (
    ENTER_ROLES,
    Actor,
    Problem,
    ValidationFailed,
    check_code,
    require_role,
)
from operational.validation import clean_id_number, mobile_digits, normalise_text


@dataclass(frozen=True)
class RecordedPurchase:
    purchase_id: int
    purchase_no: str
    created: bool  # False when this purchase number was already recorded
    member_no: str | None  # the member it belongs to, when known
    application_label: str | None  # the automatic application of a non-member ("A12")


def record_purchase(session: Session, actor: Actor, data: Mapping[str, object]) -> RecordedPurchase:
    """Record one purchase; link it to its member or raise an automatic application.

    ``data``: purchase_no, purchased_at (aware datetime or ISO text), product, amount,
    paid_amount (default 0), quantity (default 1), purchase_type (new/additional/return),
    channel (dictionary sales_channel), region, salesperson, and either member_no or the
    customer's name / mobile / id_number.
    """
    require_role(actor, ENTER_ROLES, "record purchases")
    problems: list[Problem] = []
    number = normalise_text(data.get("purchase_no"))
    if not number:
        problems.append(Problem("purchase_no", "required", "enter the purchase number"))
    existing = (
        session.scalar(select(Purchase).where(Purchase.purchase_no == number)) if number else None
    )
    if existing is not None:
        return _result(session, existing, created=False)

    purchased_at = _timestamp(data.get("purchased_at"), problems)
    product = normalise_text(data.get("product"))
    if not product:
        problems.append(Problem("product", "required", "enter the product"))
    amount = _money(data.get("amount"), "amount", problems, required=True)
    paid = _money(data.get("paid_amount"), "paid_amount", problems, required=False)
    quantity = _quantity(data.get("quantity"), problems)
    kind = normalise_text(data.get("purchase_type")) or "new"
    if kind not in PURCHASE_TYPES:
        problems.append(
            Problem(
                "purchase_type",
                "unknown_code",
                f"{kind!r} is not a purchase type; choose one of: {', '.join(PURCHASE_TYPES)}",
                {"value": kind, "choices": ", ".join(PURCHASE_TYPES)},
            )
        )
    channel = normalise_text(data.get("channel"))
    if channel is not None and (
        problem := check_code(session, "sales_channel", channel, "channel")
    ):
        problems.append(problem)

    member = None
    member_no = normalise_text(data.get("member_no"))
    if member_no:
        member = session.scalar(select(Member).where(Member.member_no == member_no.upper()))
        if member is None:
            problems.append(
                Problem(
                    "member_no",
                    "member_not_found",
                    f"no member has the number {member_no}; leave it empty for a non-member",
                    {"value": member_no},
                )
            )
        elif member.status == "archived":
            problems.append(
                Problem(
                    "member_no",
                    "member_archived",
                    f"member {member.member_no} is archived; restore the member first",
                    {"member_no": member.member_no},
                )
            )
    elif not normalise_text(data.get("customer_name")):
        problems.append(
            Problem(
                "customer_name",
                "required",
                "enter the member number, or the customer's name for a non-member",
            )
        )
    if problems:
        raise ValidationFailed(problems)

    purchase = Purchase(
        purchase_no=number,
        member_id=member.id if member else None,
        customer_name=normalise_text(data.get("customer_name")),
        customer_mobile=mobile_digits(data.get("customer_mobile"))
        or normalise_text(data.get("customer_mobile")),
        customer_id_number=clean_id_number(data.get("customer_id_number")),
        product=product,
        quantity=quantity,
        amount=amount,
        paid_amount=paid if paid is not None else Decimal("0"),
        region=normalise_text(data.get("region")),
        channel=channel,
        salesperson=normalise_text(data.get("salesperson")),
        purchase_type=kind,
        purchased_at=purchased_at,
        created_by=actor.username,
    )
    if amount is not None and paid is not None and amount > 0 and paid >= amount:
        purchase.fully_paid_at = purchased_at
    session.add(purchase)
    session.flush()
    if member is None:
        application_from_purchase(session, purchase, actor=actor)
    return _result(session, purchase, created=True)


def _result(session: Session, purchase: Purchase, *, created: bool) -> RecordedPurchase:
    member_no = (
        session.scalar(select(Member.member_no).where(Member.id == purchase.member_id))
        if purchase.member_id
        else None
    )
    application_id = session.scalar(
        select(Application.id).where(Application.purchase_id == purchase.id).limit(1)
    )
    return RecordedPurchase(
        purchase_id=purchase.id,
        purchase_no=purchase.purchase_no,
        created=created,
        member_no=member_no,
        application_label=application_label(application_id) if application_id else None,
    )


def _timestamp(value: object, problems: list[Problem]) -> datetime | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            problems.append(
                Problem("purchased_at", "naive_time", "give the time with its time zone")
            )
            return None
        return value
    text = normalise_text(value)
    if not text:
        problems.append(Problem("purchased_at", "required", "enter the purchase date and time"))
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        problems.append(
            Problem(
                "purchased_at",
                "datetime_format",
                f"{text!r} is not a date and time; write it as 2026-03-01 14:30",
                {"value": text},
            )
        )
        return None
    if parsed.tzinfo is None:  # the club's local time (Beijing)
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return parsed.astimezone(UTC)


def _money(value: object, field: str, problems: list[Problem], *, required: bool) -> Decimal | None:
    text = normalise_text(value)
    if text is None:
        if required:
            problems.append(Problem(field, "required", "enter the amount in yuan"))
        return None
    try:
        amount = Decimal(text.replace(",", "").replace("¥", "").replace("￥", ""))
    except InvalidOperation:
        problems.append(
            Problem(field, "money_format", f"{text!r} is not an amount in yuan", {"value": text})
        )
        return None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        problems.append(
            Problem(field, "money_format", f"{text!r}: at most two decimals", {"value": text})
        )
        return None
    if field == "paid_amount" and amount < 0:
        problems.append(Problem(field, "negative", "the paid amount cannot be negative"))
        return None
    return amount


def _quantity(value: object, problems: list[Problem]) -> int:
    text = normalise_text(value)
    if text is None:
        return 1
    if not text.isdigit() or int(text) < 1:
        problems.append(
            Problem("quantity", "quantity_format", f"{text!r} is not a whole number of at least 1")
        )
        return 1
    return int(text)
