"""Recording a purchase (销售成交) at the desk or from a sales system.

A purchase by a member is linked to them by member number; a purchase by someone who is not a
member raises an automatic membership application (DOMAIN.md "Membership": "a recorded purchase
by a customer who is not a member creates an application by itself"), which a reviewer decides.
Recording is idempotent on the purchase number, so a retried submission records nothing twice.

Purchase points (DOMAIN.md "Points": a purchase earns points only when it is 100% paid):

- A purchase earns :func:`purchase_points` = ``min(5000, amount // 100)`` points (the rule of the
  demo history, ``demodata/ledger.py``), posted once through :func:`points.post_entry` with the
  key ``purchase:{purchase.id}`` (event ``purchase``, the member's active main card, expiring on
  ``points.expiry_date(day fully paid)``) — by the payment that first makes ``paid_amount``
  reach ``amount`` (:func:`add_payment`), or at once when the purchase is recorded fully paid.
  Returns and purchases of non-members earn nothing; when a non-member's purchase is later linked
  to a member, :func:`post_points_for_linked_purchase` posts what it earned.
- A return (``purchase_type`` "return" with ``returns_purchase_no``) reverses the original
  purchase's points once (``points.reverse_entry``, key ``return:{original.id}``). When the
  member has spent some of them, the reversal takes what the balance still holds and the rest is
  not recovered (``reverse_entry`` caps at the balance; the balance never goes negative). A
  return reverses the whole award, also for a partial return.
- Once a purchase is fully paid its money (amount, quantity, discount) is fixed
  (:func:`update_purchase` refuses with ``money_locked``); the descriptive fields stay editable.

Reads (staff, reviewers, admins): :func:`search_purchases` (by member or card number, purchase
number, product, salesperson, type, club-local days, not fully paid), :func:`purchase_detail`
(payments, paid ratio, arrears, the points entry and what a return or a correction reversed, the
returns against it); ``cards.member_no_for`` reads a member or card number as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import Application, Member, PointEntry, Purchase, PurchasePayment
from operational.models.base import utcnow as utc_now
from operational.models.sales import PURCHASE_TYPES
from operational.services import points
from operational.services.applications import application_from_purchase, application_label
from operational.services.cards import active_main_card, member_no_for
from operational.services.common import (
    ENTER_ROLES,
    SYSTEM,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ServiceError,
    ValidationFailed,
    check_code,
    require_role,
)
from operational.validation import clean_id_number, mobile_digits, normalise_text

#: Purchase points: one point per 100 yuan of the amount, at most this many per purchase.
PURCHASE_POINTS_CAP = 5000
#: Yuan per purchase point.
YUAN_PER_POINT = 100


def purchase_points(amount: Decimal) -> int:
    """Points a fully paid purchase of ``amount`` yuan earns: min(5000, amount // 100)."""
    if amount <= 0:
        return 0
    return min(PURCHASE_POINTS_CAP, int(amount // YUAN_PER_POINT))


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
    customer's name / mobile / id_number. Optional descriptive fields (seed 002, TCCRM 5.2):
    discount (yuan, not negative), regional_manager, dealer, due_on (the arrears' due date,
    a date or ``YYYY-MM-DD``), invoice_no (or ``invoice``), cross_group (yes/no).
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

    discount = _discount(data.get("discount"), problems, required=False)
    due_on = _date(data.get("due_on"), "due_on", problems)
    cross_group = _flag(data.get("cross_group"), "cross_group", problems)

    original = None
    returns_no = normalise_text(data.get("returns_purchase_no"))
    if returns_no and kind != "return":
        problems.append(
            Problem(
                "returns_purchase_no",
                "not_a_return",
                "only a return names the purchase it returns; set the purchase type to return",
            )
        )
    elif returns_no:
        original = session.scalar(select(Purchase).where(Purchase.purchase_no == returns_no))
        if original is None or original.purchase_type == "return":
            problems.append(
                Problem(
                    "returns_purchase_no",
                    "purchase_not_found",
                    f"no purchase (other than a return) has the number {returns_no}",
                    {"value": returns_no},
                )
            )
            original = None

    member = None
    member_no = normalise_text(data.get("member_no"))
    if original is not None and original.member_id is not None and not member_no:
        member = session.get(Member, original.member_id)
    elif member_no:
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
    if (
        original is not None
        and member is not None
        and original.member_id is not None
        and original.member_id != member.id
    ):
        problems.append(
            Problem(
                "member_no",
                "not_the_buyer",
                f"purchase {original.purchase_no} was made by another member",
                {"value": member_no},
            )
        )
    if (
        not member_no
        and member is None
        and original is None
        and not normalise_text(data.get("customer_name"))
    ):
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
        regional_manager=normalise_text(data.get("regional_manager")),
        dealer=normalise_text(data.get("dealer")),
        discount=discount if discount is not None else Decimal("0"),
        due_on=due_on,
        invoice_no=normalise_text(data.get("invoice_no") or data.get("invoice")),
        cross_group=bool(cross_group),
        purchase_type=kind,
        returns_purchase_id=original.id if original is not None else None,
        purchased_at=purchased_at,
        created_by=actor.username,
    )
    if amount is not None and paid is not None and amount > 0 and paid >= amount:
        purchase.fully_paid_at = purchased_at
    session.add(purchase)
    session.flush()
    if member is None and kind != "return":
        application_from_purchase(session, purchase, actor=actor)
    if purchase.fully_paid_at is not None:
        _post_purchase_points(session, purchase, actor)
    if original is not None:
        _reverse_for_return(session, actor, original, purchase)
    return _result(session, purchase, created=True)


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    created: bool  # False when this idempotency key was already recorded
    purchase_no: str
    paid_amount: Decimal
    fully_paid: bool
    points_entry_id: int | None  # the purchase's points entry, once posted


def add_payment(
    session: Session,
    actor: Actor,
    purchase_no: str,
    *,
    amount: object,
    paid_at: object,
    idempotency_key: str,
    method: str | None = None,
) -> PaymentResult:
    """Record one payment (instalment) of a purchase, once per ``idempotency_key``.

    ``paid_amount`` grows by ``amount``; the payment that first makes it reach the purchase's
    amount sets ``fully_paid_at`` and posts the purchase points (see the module docstring). A
    payment beyond what is still due is refused (``overpayment``), as is a payment of a return
    (``return_not_payable``). The purchase row is locked, so concurrent instalments add up and
    post the points once.
    """
    require_role(actor, ENTER_ROLES, "record payments")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 120:
        raise ServiceError(
            "an idempotency key of 1 to 120 characters naming this payment is required",
            code="invalid_idempotency_key",
            field="idempotency_key",
        )
    existing = _payment_by_key(session, key)
    if existing is not None:
        return _payment_result(session, existing, created=False, purchase_no=purchase_no)
    problems: list[Problem] = []
    money = _money(amount, "amount", problems, required=True)
    if money is not None and money <= 0:
        problems.append(Problem("amount", "not_positive", "a payment is more than 0 yuan"))
    when = _timestamp(paid_at, problems, field="paid_at")
    if problems:
        raise ValidationFailed(problems)
    assert money is not None and when is not None

    purchase = _locked_purchase(session, purchase_no)
    existing = _payment_by_key(session, key)  # a concurrent retry got the lock first
    if existing is not None:
        return _payment_result(session, existing, created=False)
    if purchase.purchase_type == "return":
        raise ServiceError(
            f"purchase {purchase.purchase_no} is a return; a return takes no payments",
            code="return_not_payable",
            field="purchase",
        )
    due = purchase.amount - purchase.paid_amount
    if money > due:
        raise ServiceError(
            f"purchase {purchase.purchase_no} has {max(due, Decimal(0))} yuan still due; "
            f"a payment of {money} is more than that",
            code="overpayment",
            field="amount",
            due=str(max(due, Decimal(0))),
        )
    payment = PurchasePayment(
        purchase_id=purchase.id,
        amount=money,
        paid_at=when,
        method=normalise_text(method),
        idempotency_key=key,
    )
    session.add(payment)
    purchase.paid_amount = purchase.paid_amount + money
    if purchase.fully_paid_at is None and purchase.paid_amount >= purchase.amount:
        purchase.fully_paid_at = when
    session.flush()
    if purchase.fully_paid_at is not None:
        _post_purchase_points(session, purchase, actor)
    return _payment_result(session, payment, created=True)


def post_points_for_linked_purchase(
    session: Session, purchase_id: int, *, actor: Actor = SYSTEM
) -> PointEntry | None:
    """Post the points of a purchase that was linked to a member after it was recorded.

    Call it when a non-member's purchase gets its ``member_id`` (for instance when the automatic
    application it raised is approved). Returns the purchase's points entry (the existing one
    when already posted; the key ``purchase:{id}`` makes repeated calls harmless), or None when
    the purchase earns nothing (no member yet, not fully paid, a return, returned since, or less
    than 100 yuan).
    """
    purchase = session.scalar(
        select(Purchase)
        .where(Purchase.id == purchase_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if purchase is None:
        raise NotFound(f"purchase id {purchase_id} does not exist", code="purchase_not_found")
    return _post_purchase_points(session, purchase, actor)


#: Fields :func:`update_purchase` changes at any time, and the money fields it changes only
#: until the purchase is fully paid. ``paid_amount`` changes through :func:`add_payment` only.
DESCRIPTIVE_FIELDS = (
    "product",
    "region",
    "channel",
    "salesperson",
    "invoice_no",
    "regional_manager",
    "dealer",
    "due_on",
    "cross_group",
)
MONEY_FIELDS = ("amount", "quantity", "discount")
_FIELD_ALIASES = {"invoice": "invoice_no"}


def update_purchase(
    session: Session, actor: Actor, purchase_no: str, changes: Mapping[str, object]
) -> Purchase:
    """Change a recorded purchase: product, region, channel, salesperson, invoice (``invoice``
    or ``invoice_no``), regional manager, dealer, due date (``due_on``), cross-group flag; and
    amount, quantity or discount while it is not fully paid.

    Refused with ``money_locked`` for a money change once the purchase is fully paid (its points
    were posted from that amount), ``use_add_payment`` for ``paid_amount``, ``unknown_field``
    for anything else. A new amount at or below what was paid completes the purchase and posts
    its points.
    """
    require_role(actor, ENTER_ROLES, "change purchases")
    purchase = _locked_purchase(session, purchase_no)
    problems: list[Problem] = []
    values: dict[str, object] = {}
    for raw_field, value in changes.items():
        field = _FIELD_ALIASES.get(raw_field, raw_field)
        if field == "paid_amount":
            problems.append(
                Problem(field, "use_add_payment", "record payments with add_payment instead")
            )
        elif field in MONEY_FIELDS and purchase.fully_paid_at is not None:
            problems.append(
                Problem(
                    field,
                    "money_locked",
                    f"purchase {purchase.purchase_no} is fully paid and its points were posted "
                    f"from its amount; {field} can no longer change — record a return instead",
                )
            )
        elif field == "amount":
            values[field] = _money(value, field, problems, required=True)
        elif field == "discount":
            values[field] = _discount(value, problems, required=True)
        elif field == "quantity":
            values[field] = _quantity(value, problems)
        elif field == "due_on":
            values[field] = _date(value, field, problems)
        elif field == "cross_group":
            values[field] = bool(_flag(value, field, problems))
        elif field in DESCRIPTIVE_FIELDS:
            text = normalise_text(value)
            if field == "product" and not text:
                problems.append(Problem(field, "required", "enter the product"))
            if field == "channel" and text is not None:
                if problem := check_code(session, "sales_channel", text, "channel"):
                    problems.append(problem)
            values[field] = text
        else:
            problems.append(
                Problem(
                    raw_field,
                    "unknown_field",
                    f"{raw_field!r} cannot be changed; change one of: "
                    f"{', '.join(DESCRIPTIVE_FIELDS + MONEY_FIELDS)}",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    for field, value in values.items():
        setattr(purchase, field, value)
    if (
        purchase.fully_paid_at is None
        and purchase.purchase_type != "return"
        and purchase.amount > 0
        and purchase.paid_amount >= purchase.amount
    ):
        purchase.fully_paid_at = utc_now()
    session.flush()
    if purchase.fully_paid_at is not None:
        _post_purchase_points(session, purchase, actor)
    return purchase


def purchase_points_entry(session: Session, purchase_id: int) -> PointEntry | None:
    """The points entry a purchase earned, if any (key ``purchase:{id}``)."""
    return session.scalar(
        select(PointEntry).where(PointEntry.idempotency_key == f"purchase:{purchase_id}")
    )


# -- reads --------------------------------------------------------------------------------------
#: How many rows :func:`search_purchases` returns at most by default.
SEARCH_LIMIT = 200


@dataclass(frozen=True)
class PurchaseRow:
    """One purchase as the desk lists it. ``arrears`` is what is still due (0 for a return);
    ``paid_ratio`` is paid / amount (None for a return or a zero amount); ``overdue`` means
    money is still due after ``due_on`` (club-local day)."""

    purchase_no: str
    purchased_at: datetime
    member_no: str | None
    buyer_name: str | None  # the member's name, else the non-member customer's
    product: str
    quantity: int
    amount: Decimal
    discount: Decimal
    paid_amount: Decimal
    arrears: Decimal
    paid_ratio: Decimal | None
    purchase_type: str
    region: str | None
    channel: str | None
    salesperson: str | None
    due_on: date | None
    fully_paid_at: datetime | None
    overdue: bool


def search_purchases(
    session: Session,
    actor: Actor,
    *,
    member_or_card: str | None = None,
    purchase_no: str | None = None,
    product: str | None = None,
    salesperson: str | None = None,
    purchase_type: str | None = None,
    since: date | None = None,
    until: date | None = None,
    unpaid_only: bool = False,
    limit: int = SEARCH_LIMIT,
) -> list[PurchaseRow]:
    """Purchases matching every filter given, newest first, at most ``limit``.

    ``member_or_card``: a member number or any of the member's card numbers (an unknown number
    is refused with ``member_or_card_not_found`` rather than answered with an empty list, so a
    typo is not mistaken for "no purchases"). ``purchase_no``, ``product``, ``salesperson``:
    part of the text, any case. ``since`` / ``until``: club-local days, both included.
    ``unpaid_only``: purchases (not returns) with money still due.
    """
    require_role(actor, ENTER_ROLES, "view purchases")
    statement = select(Purchase, Member.member_no, Member.name).outerjoin(
        Member, Member.id == Purchase.member_id
    )
    if normalise_text(member_or_card):
        member_no = member_no_for(session, member_or_card)
        if member_no is None:
            shown = normalise_text(member_or_card)
            raise NotFound(
                f"no member or card has the number {shown}",
                code="member_or_card_not_found",
                field="member_or_card",
                value=shown,
            )
        statement = statement.where(Member.member_no == member_no)
    for column, text in (
        (Purchase.purchase_no, purchase_no),
        (Purchase.product, product),
        (Purchase.salesperson, salesperson),
    ):
        cleaned = normalise_text(text)
        if cleaned:
            statement = statement.where(column.ilike(f"%{_escape_like(cleaned)}%", escape="\\"))
    kind = normalise_text(purchase_type)
    if kind:
        statement = statement.where(Purchase.purchase_type == kind)
    if since is not None:
        statement = statement.where(Purchase.purchased_at >= points.club_day_start(since))
    if until is not None:
        statement = statement.where(
            Purchase.purchased_at < points.club_day_start(until + timedelta(days=1))
        )
    if unpaid_only:
        statement = statement.where(
            Purchase.purchase_type != "return", Purchase.paid_amount < Purchase.amount
        )
    rows = session.execute(
        statement.order_by(Purchase.purchased_at.desc(), Purchase.id.desc()).limit(max(limit, 1))
    ).all()
    today = points.club_today()
    return [_row(purchase, member_no, name, today) for purchase, member_no, name in rows]


@dataclass(frozen=True)
class PaymentRow:
    amount: Decimal
    paid_at: datetime
    method: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class PurchasePoints:
    """The points entry a purchase earned and what became of it.

    ``reversed_points`` is what a reversal took back (a return, or a correction on the points
    page); ``shortfall`` the part already spent and not recovered (``points.reversal_shortfall``).
    """

    entry_id: int
    points: int
    status: str
    posted_at: datetime | None
    expires_on: date | None
    remaining: int | None
    reversal_entry_id: int | None
    reversed_points: int
    shortfall: int
    reversal_reason: str | None


@dataclass(frozen=True)
class ReturnRow:
    """A return recorded against a purchase."""

    purchase_no: str
    purchased_at: datetime
    amount: Decimal
    product: str


@dataclass(frozen=True)
class PurchaseDetail:
    """Everything about one purchase: the row, the rest of its fields, its payments, its points
    (or what it will earn once fully paid), the purchase it returns, the returns against it."""

    row: PurchaseRow
    customer_name: str | None
    customer_mobile: str | None
    customer_id_number: str | None
    regional_manager: str | None
    dealer: str | None
    invoice_no: str | None
    cross_group: bool
    returns_purchase_no: str | None
    application_label: str | None  # the automatic application a non-member's purchase raised
    created_by: str | None
    created_at: datetime
    payments: tuple[PaymentRow, ...]
    points_to_earn: int  # what the purchase earns (or earned) when fully paid; 0 for a return
    points: PurchasePoints | None
    returns: tuple[ReturnRow, ...]

    @property
    def money_locked(self) -> bool:
        """Amount, quantity and discount can no longer change (see :func:`update_purchase`)."""
        return self.row.fully_paid_at is not None


def purchase_detail(session: Session, actor: Actor, purchase_no: str) -> PurchaseDetail:
    """One purchase by its number (blanks and full-width forms tolerated); ``purchase_not_found``
    when there is none."""
    require_role(actor, ENTER_ROLES, "view purchases")
    number = normalise_text(purchase_no) or ""
    found = session.execute(
        select(Purchase, Member.member_no, Member.name)
        .outerjoin(Member, Member.id == Purchase.member_id)
        .where(Purchase.purchase_no == number)
    ).first()
    if found is None:
        raise NotFound(
            f"no purchase has the number {number}",
            code="purchase_not_found",
            field="purchase_no",
            value=number,
        )
    purchase, member_no, name = found
    payments = tuple(
        PaymentRow(p.amount, p.paid_at, p.method, p.created_at)
        for p in session.scalars(
            select(PurchasePayment)
            .where(PurchasePayment.purchase_id == purchase.id)
            .order_by(PurchasePayment.paid_at, PurchasePayment.id)
        )
    )
    returns = tuple(
        ReturnRow(r.purchase_no, r.purchased_at, r.amount, r.product)
        for r in session.scalars(
            select(Purchase)
            .where(Purchase.returns_purchase_id == purchase.id)
            .order_by(Purchase.purchased_at, Purchase.id)
        )
    )
    returns_no = (
        session.scalar(
            select(Purchase.purchase_no).where(Purchase.id == purchase.returns_purchase_id)
        )
        if purchase.returns_purchase_id
        else None
    )
    application_id = session.scalar(
        select(Application.id).where(Application.purchase_id == purchase.id).limit(1)
    )
    return PurchaseDetail(
        row=_row(purchase, member_no, name, points.club_today()),
        customer_name=purchase.customer_name,
        customer_mobile=purchase.customer_mobile,
        customer_id_number=purchase.customer_id_number,
        regional_manager=purchase.regional_manager,
        dealer=purchase.dealer,
        invoice_no=purchase.invoice_no,
        cross_group=bool(purchase.cross_group),
        returns_purchase_no=returns_no,
        application_label=application_label(application_id) if application_id else None,
        created_by=purchase.created_by,
        created_at=purchase.created_at,
        payments=payments,
        points_to_earn=0
        if purchase.purchase_type == "return"
        else purchase_points(purchase.amount),
        points=_points_of(session, purchase.id),
        returns=returns,
    )


def _points_of(session: Session, purchase_id: int) -> PurchasePoints | None:
    entry = purchase_points_entry(session, purchase_id)
    if entry is None:
        return None
    reversal = session.scalar(
        select(PointEntry)
        .where(PointEntry.reverses_entry_id == entry.id)
        .order_by(PointEntry.id)
        .limit(1)
    )
    return PurchasePoints(
        entry_id=entry.id,
        points=entry.points,
        status=entry.status,
        posted_at=entry.posted_at,
        expires_on=entry.expires_on,
        remaining=entry.remaining,
        reversal_entry_id=reversal.id if reversal else None,
        reversed_points=-reversal.points if reversal and reversal.status == "posted" else 0,
        shortfall=points.reversal_shortfall(session, reversal) if reversal else 0,
        reversal_reason=reversal.reason if reversal else None,
    )


def _row(purchase: Purchase, member_no: str | None, name: str | None, today: date) -> PurchaseRow:
    is_return = purchase.purchase_type == "return"
    arrears = (
        Decimal("0") if is_return else max(purchase.amount - purchase.paid_amount, Decimal("0"))
    )
    ratio = (
        (purchase.paid_amount / purchase.amount).quantize(Decimal("0.0001"))
        if not is_return and purchase.amount > 0
        else None
    )
    return PurchaseRow(
        purchase_no=purchase.purchase_no,
        purchased_at=purchase.purchased_at,
        member_no=member_no,
        buyer_name=name or purchase.customer_name,
        product=purchase.product,
        quantity=purchase.quantity,
        amount=purchase.amount,
        discount=purchase.discount if purchase.discount is not None else Decimal("0"),
        paid_amount=purchase.paid_amount,
        arrears=arrears,
        paid_ratio=ratio,
        purchase_type=purchase.purchase_type,
        region=purchase.region,
        channel=purchase.channel,
        salesperson=purchase.salesperson,
        due_on=purchase.due_on,
        fully_paid_at=purchase.fully_paid_at,
        overdue=arrears > 0 and purchase.due_on is not None and purchase.due_on < today,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _post_purchase_points(session: Session, purchase: Purchase, actor: Actor) -> PointEntry | None:
    """Post a fully paid member's purchase's points once; None when it earns nothing."""
    if (
        purchase.member_id is None
        or purchase.fully_paid_at is None
        or purchase.purchase_type == "return"
    ):
        return None
    earned = purchase_points(purchase.amount)
    if earned < 1:
        return None
    returned = session.scalar(
        select(Purchase.id).where(Purchase.returns_purchase_id == purchase.id).limit(1)
    )
    if returned is not None:
        return purchase_points_entry(session, purchase.id)
    card = active_main_card(session, purchase.member_id)
    paid_day = purchase.fully_paid_at.astimezone(points.CLUB_TIMEZONE).date()
    entry, _ = points.post_entry(
        session,
        member_id=purchase.member_id,
        points=earned,
        event_type="purchase",
        idempotency_key=f"purchase:{purchase.id}",
        actor=actor,
        reason=f"purchase {purchase.purchase_no} fully paid ({purchase.amount} yuan)",
        reference=f"purchase:{purchase.purchase_no}",
        card_id=card.id if card else None,
        expires_on=points.expiry_date(paid_day),
    )
    return entry


def _reverse_for_return(
    session: Session, actor: Actor, original: Purchase, the_return: Purchase
) -> PointEntry | None:
    """Reverse the original purchase's points once (key ``return:{original.id}``)."""
    entry = purchase_points_entry(session, original.id)
    if entry is None or entry.status != "posted":
        return None
    reversal, _ = points.reverse_entry(
        session,
        actor,
        entry.id,
        reason=f"return {the_return.purchase_no} of purchase {original.purchase_no}",
        idempotency_key=f"return:{original.id}",
    )
    return reversal


def _locked_purchase(session: Session, purchase_no: str) -> Purchase:
    """The purchase row, locked until the transaction ends (SQLite: the database write lock)."""
    begin_sqlite_transaction(session, write_lock=True)
    number = normalise_text(purchase_no) or ""
    purchase = session.scalar(
        select(Purchase)
        .where(Purchase.purchase_no == number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if purchase is None:
        raise NotFound(
            f"no purchase has the number {purchase_no}", code="purchase_not_found", field="purchase"
        )
    return purchase


def _payment_by_key(session: Session, key: str) -> PurchasePayment | None:
    return session.scalar(select(PurchasePayment).where(PurchasePayment.idempotency_key == key))


def _payment_result(
    session: Session, payment: PurchasePayment, *, created: bool, purchase_no: str | None = None
) -> PaymentResult:
    purchase = session.get(Purchase, payment.purchase_id)
    assert purchase is not None
    if purchase_no is not None and purchase.purchase_no != normalise_text(purchase_no):
        raise Conflict(
            f"payment key {payment.idempotency_key!r} was already used for purchase "
            f"{purchase.purchase_no}; each payment needs its own key",
            code="idempotency_key_reused",
            field="idempotency_key",
        )
    entry = purchase_points_entry(session, purchase.id)
    return PaymentResult(
        payment_id=payment.id,
        created=created,
        purchase_no=purchase.purchase_no,
        paid_amount=purchase.paid_amount,
        fully_paid=purchase.fully_paid_at is not None,
        points_entry_id=entry.id if entry else None,
    )


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


def _timestamp(
    value: object, problems: list[Problem], *, field: str = "purchased_at"
) -> datetime | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            problems.append(Problem(field, "naive_time", "give the time with its time zone"))
            return None
        return value
    text = normalise_text(value)
    if not text:
        problems.append(Problem(field, "required", "enter the date and time"))
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        problems.append(
            Problem(
                field,
                "datetime_format",
                f"{text!r} is not a date and time; write it as 2026-03-01 14:30",
                {"value": text},
            )
        )
        return None
    if parsed.tzinfo is None:  # the club's local time (Beijing)
        parsed = parsed.replace(tzinfo=points.CLUB_TIMEZONE)
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


def _date(value: object, field: str, problems: list[Problem]) -> date | None:
    """An optional date: a ``date`` or ISO text (``2026-06-30``); blank -> None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = normalise_text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(
            Problem(
                field,
                "date_format",
                f"{text!r} is not a date; write it as 2026-06-30",
                {"value": text},
            )
        )
        return None


_YES = frozenset({"1", "true", "yes", "y", "是", "t"})
_NO = frozenset({"0", "false", "no", "n", "否", "f"})


def _flag(value: object, field: str, problems: list[Problem]) -> bool | None:
    """An optional yes/no: a bool, or 1/0, yes/no, true/false, 是/否; blank -> None."""
    if value is None or isinstance(value, bool):
        return value
    text = (normalise_text(value) or "").lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    problems.append(Problem(field, "flag_format", f"{text!r} is not yes or no", {"value": text}))
    return None


def _discount(value: object, problems: list[Problem], *, required: bool) -> Decimal | None:
    """A discount in yuan: money, never negative (the same rule when recording and changing)."""
    discount = _money(value, "discount", problems, required=required)
    if discount is not None and discount < 0:
        problems.append(Problem("discount", "negative", "the discount cannot be negative"))
    return discount


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
