"""Merchants (商家) and the services they offer members, and members' use of those services.

Rules (DOMAIN.md "Merchants"; issue 5):

- A merchant has a unique code (upper-cased; letters, digits, ``-`` and ``_``, at most 30), a
  name, a type from the dictionary ``merchant_type`` (active items only for new entries; a
  merchant keeps a type deactivated later until someone edits the type), an importance (one of
  :data:`IMPORTANCE_LEVELS`), an optional region (dictionary ``region``), contact, address,
  two phones, a parent company and a contract end date. Codes never change (card readers at a
  merchant's counter name it). Phones are checked leniently: full-width digits, blanks, dashes,
  brackets, ``+86`` and an extension (``转``/``ext``) are fine; 5 to 20 digits are required. A
  mainland mobile is stored as its 11 digits, anything else as typed (folded).
- Staff, reviewers and admins create and edit merchants and services and record uses;
  deactivating or reactivating a merchant needs a reviewer or an admin. An inactive merchant
  keeps its history but no new use of its services is recorded.
- A service has a name, a period (``starts_on`` to ``ends_on`` inclusive, open-ended when
  ``ends_on`` is empty), content, a member restriction (``tier:<code>`` with a dictionary
  ``tier`` code, or none), a discount (0 < discount <= 1 with two decimals: 0.85 means 15% off),
  quarterly feedback text and a rating (1 to 5).
- A member meets ``tier:<code>`` when their tier ranks at least as high as ``<code>`` in the
  dictionary ``tier`` order (the admin's sort order: ordinary before vip).
- :func:`record_service_use` finds the member from a member number or a card number (a card must
  be usable), and refuses (``ServiceError``, nothing written) an archived member
  (``member_archived``), an inactive merchant (``merchant_inactive``), a use outside the
  service's period (``service_not_started`` / ``service_ended``) and a member below the
  restriction (``service_tier_too_low``). With an ``idempotency_key`` a retry (a card reader
  resending a swipe) returns the first use and writes nothing, even if the merchant or member
  changed since; the same key for another service or member is refused
  (``idempotency_key_reused``).
- Bad input is reported all at once (:class:`ValidationFailed`); dates are the club's local
  dates (Asia/Shanghai); a naive ``used_at`` is club-local time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import DictionaryItem, Member
from operational.models.base import utcnow
from operational.models.engagement import Merchant, MerchantService, MerchantServiceUse
from operational.services.common import (
    DECIDE_ROLES,
    ENTER_ROLES,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ServiceError,
    ValidationFailed,
    check_code,
    require_role,
)
from operational.services.points import CLUB_TIMEZONE, club_today
from operational.validation import mobile_digits, normalise_text

IMPORTANCE_LEVELS = ("low", "normal", "high", "urgent")
USE_SOURCES = ("manual", "reader")
RESTRICTION_PREFIX = "tier:"
#: Field sizes of the merchants tables.
MAX_LENGTHS = {
    "merchant_name": 200,
    "merchant_contact": 60,
    "address": 300,
    "parent_company": 200,
    "service_name": 200,
    "service_content": 5000,
    "quarterly_feedback": 5000,
}
_MERCHANT_CODE = re.compile(r"[A-Z0-9][A-Z0-9_\-]{0,29}")
_PHONE_EXTENSION = re.compile(r"(转|分机|ext\.?|x)\s*\d{1,6}$", re.IGNORECASE)
_PHONE_CHARACTERS = re.compile(r"[\d\s\-‐‑‒–—―().（）+/]+")
_UNSET: object = object()
_MULTILINE = frozenset({"service_content", "quarterly_feedback"})


# -- returned types ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MerchantRow:
    code: str
    name: str
    merchant_type: str
    importance: str
    region: str | None
    contact: str | None
    phone1: str | None
    phone2: str | None
    address: str | None
    parent_company: str | None
    contract_ends_on: date | None
    active: bool
    services: int  # services offered (all periods)


@dataclass(frozen=True)
class ServiceRow:
    service_id: int
    merchant_code: str
    merchant_name: str
    merchant_active: bool
    name: str
    starts_on: date
    ends_on: date | None
    content: str | None
    member_restriction: str | None
    discount: Decimal | None
    quarterly_feedback: str | None
    rating: int | None
    members: int  # distinct members who used it
    uses: int


@dataclass(frozen=True)
class UseRow:
    use_id: int
    service_id: int
    service_name: str
    member_no: str
    member_name: str
    used_at: datetime
    source: str


@dataclass(frozen=True)
class MerchantDetail:
    merchant: MerchantRow
    services: list[ServiceRow]
    members: int  # distinct members over all its services
    uses: int
    recent_uses: list[UseRow]


# -- merchants ----------------------------------------------------------------------------------
def create_merchant(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    merchant_type: str,
    contact: str | None = None,
    address: str | None = None,
    phone1: str | None = None,
    phone2: str | None = None,
    parent_company: str | None = None,
    importance: str = "normal",
    region: str | None = None,
    contract_ends_on: date | None = None,
) -> Merchant:
    """A new active merchant; see the module docstring for the rules.

    A code already in use is ``merchant_code_taken`` (also when another clerk takes it at the
    same moment). The caller commits.
    """
    require_role(actor, ENTER_ROLES, "create merchants")
    begin_sqlite_transaction(session, write_lock=True)
    problems: list[Problem] = []
    code_text = (normalise_text(code) or "").upper().replace(" ", "")
    if not code_text:
        problems.append(Problem("merchant_code", "required", "enter the merchant's code"))
    elif not _MERCHANT_CODE.fullmatch(code_text):
        problems.append(
            Problem(
                "merchant_code",
                "merchant_code_format",
                f"{code_text!r} is not a merchant code: use 1 to 30 letters, digits, - or _",
                {"value": code_text},
            )
        )
    elif session.scalar(select(Merchant.id).where(Merchant.code == code_text)):
        problems.append(_code_taken(code_text))
    values = _merchant_values(
        session,
        problems,
        name=name,
        merchant_type=merchant_type,
        contact=contact,
        address=address,
        phone1=phone1,
        phone2=phone2,
        parent_company=parent_company,
        importance=importance,
        region=region,
        contract_ends_on=contract_ends_on,
    )
    if problems:
        raise ValidationFailed(problems)
    merchant = Merchant(code=code_text, active=True, **values)
    try:
        with session.begin_nested():
            session.add(merchant)
            session.flush()
    except IntegrityError:
        raise ValidationFailed([_code_taken(code_text)]) from None
    return merchant


def update_merchant(
    session: Session,
    actor: Actor,
    code: str,
    *,
    name: str | object = _UNSET,
    merchant_type: str | object = _UNSET,
    contact: str | None | object = _UNSET,
    address: str | None | object = _UNSET,
    phone1: str | None | object = _UNSET,
    phone2: str | None | object = _UNSET,
    parent_company: str | None | object = _UNSET,
    importance: str | object = _UNSET,
    region: str | None | object = _UNSET,
    contract_ends_on: date | None | object = _UNSET,
) -> Merchant:
    """Change a merchant's data (not its code); arguments left out stay as they are, ``None``
    clears an optional field. Checked as :func:`create_merchant`, except that an unchanged type
    or region deactivated in the dictionary since is kept."""
    require_role(actor, ENTER_ROLES, "edit merchants")
    merchant = _locked_merchant(session, code)
    given = {
        "name": name,
        "merchant_type": merchant_type,
        "contact": contact,
        "address": address,
        "phone1": phone1,
        "phone2": phone2,
        "parent_company": parent_company,
        "importance": importance,
        "region": region,
        "contract_ends_on": contract_ends_on,
    }
    current = {key: getattr(merchant, key) for key in given}
    merged = {key: current[key] if value is _UNSET else value for key, value in given.items()}
    problems: list[Problem] = []
    values = _merchant_values(session, problems, keep=current, **merged)
    if problems:
        raise ValidationFailed(problems)
    for key, value in values.items():
        setattr(merchant, key, value)
    session.flush()
    return merchant


def deactivate_merchant(session: Session, actor: Actor, code: str) -> Merchant:
    """Mark a merchant inactive (reviewer or admin): its history stays, new uses are refused."""
    return _set_active(session, actor, code, False)


def reactivate_merchant(session: Session, actor: Actor, code: str) -> Merchant:
    """Make an inactive merchant active again (reviewer or admin)."""
    return _set_active(session, actor, code, True)


def _set_active(session: Session, actor: Actor, code: str, active: bool) -> Merchant:
    require_role(
        actor, DECIDE_ROLES, "deactivate merchants" if not active else "reactivate merchants"
    )
    merchant = _locked_merchant(session, code)
    merchant.active = active
    session.flush()
    return merchant


def _merchant_values(
    session: Session,
    problems: list[Problem],
    *,
    name: object,
    merchant_type: object,
    contact: object,
    address: object,
    phone1: object,
    phone2: object,
    parent_company: object,
    importance: object,
    region: object,
    contract_ends_on: object,
    keep: dict[str, object] | None = None,
) -> dict[str, object]:
    """Cleaned merchant columns; each problem appended to ``problems``."""
    keep = keep or {}
    values: dict[str, object] = {}
    values["name"] = _text(name, "merchant_name", problems, required="enter the merchant's name")
    values["contact"] = _text(contact, "merchant_contact", problems)
    values["address"] = _text(address, "address", problems)
    values["parent_company"] = _text(parent_company, "parent_company", problems)
    values["phone1"] = _phone(phone1, "phone1", problems)
    values["phone2"] = _phone(phone2, "phone2", problems)

    type_code = (normalise_text(merchant_type) or "").lower()
    if type_code != keep.get("merchant_type"):
        problem = check_code(session, "merchant_type", type_code or None, "merchant_type")
        if problem is not None:
            problems.append(problem)
    values["merchant_type"] = type_code

    region_code = normalise_text(region)
    if region_code is not None and region_code != keep.get("region"):
        problem = check_code(session, "region", region_code, "region")
        if problem is not None:
            problems.append(problem)
    values["region"] = region_code

    level = (normalise_text(importance) or "").lower()
    if level not in IMPORTANCE_LEVELS:
        problems.append(
            Problem(
                "merchant_importance",
                "merchant_importance",
                f"{importance!r} is not an importance; choose one of: "
                f"{', '.join(IMPORTANCE_LEVELS)}",
                {"value": importance or "", "choices": ", ".join(IMPORTANCE_LEVELS)},
            )
        )
    values["importance"] = level

    if contract_ends_on is not None and not isinstance(contract_ends_on, date):
        problems.append(
            Problem(
                "contract_ends_on",
                "merchant_date_format",
                f"{contract_ends_on!r} is not a date (YYYY-MM-DD)",
                {"value": contract_ends_on},
            )
        )
    elif isinstance(contract_ends_on, datetime):
        contract_ends_on = contract_ends_on.date()
    values["contract_ends_on"] = contract_ends_on
    return values


# -- services ------------------------------------------------------------------------------------
def add_service(
    session: Session,
    actor: Actor,
    *,
    merchant_code: str,
    name: str,
    starts_on: date,
    ends_on: date | None = None,
    content: str | None = None,
    member_restriction: str | None = None,
    discount: Decimal | float | str | None = None,
    quarterly_feedback: str | None = None,
    rating: int | None = None,
) -> MerchantService:
    """A new service of a merchant (active or not: an inactive merchant's offer can be prepared
    before its contract is renewed). See the module docstring for the rules."""
    require_role(actor, ENTER_ROLES, "add merchant services")
    merchant = _locked_merchant(session, merchant_code)
    problems: list[Problem] = []
    values = _service_values(
        session,
        problems,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        content=content,
        member_restriction=member_restriction,
        discount=discount,
        quarterly_feedback=quarterly_feedback,
        rating=rating,
    )
    if problems:
        raise ValidationFailed(problems)
    service = MerchantService(merchant_id=merchant.id, **values)
    session.add(service)
    session.flush()
    return service


def update_service(
    session: Session,
    actor: Actor,
    service_id: int,
    *,
    name: str | object = _UNSET,
    starts_on: date | object = _UNSET,
    ends_on: date | None | object = _UNSET,
    content: str | None | object = _UNSET,
    member_restriction: str | None | object = _UNSET,
    discount: Decimal | float | str | None | object = _UNSET,
    quarterly_feedback: str | None | object = _UNSET,
    rating: int | None | object = _UNSET,
) -> MerchantService:
    """Change a service; arguments left out stay as they are, ``None`` clears an optional one
    (``ends_on=None`` opens the period's end). Quarterly feedback and the rating are usually
    filled in here, after the quarter."""
    require_role(actor, ENTER_ROLES, "edit merchant services")
    begin_sqlite_transaction(session, write_lock=True)
    service = session.scalar(
        select(MerchantService)
        .where(MerchantService.id == service_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if service is None:
        raise NotFound(
            f"no merchant service has the id {service_id}", code="not_found", field="service"
        )
    given = {
        "name": name,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "content": content,
        "member_restriction": member_restriction,
        "discount": discount,
        "quarterly_feedback": quarterly_feedback,
        "rating": rating,
    }
    current = {key: getattr(service, key) for key in given}
    merged = {key: current[key] if value is _UNSET else value for key, value in given.items()}
    problems: list[Problem] = []
    values = _service_values(session, problems, keep=current, **merged)
    if problems:
        raise ValidationFailed(problems)
    for key, value in values.items():
        setattr(service, key, value)
    session.flush()
    return service


def _service_values(
    session: Session,
    problems: list[Problem],
    *,
    name: object,
    starts_on: object,
    ends_on: object,
    content: object,
    member_restriction: object,
    discount: object,
    quarterly_feedback: object,
    rating: object,
    keep: dict[str, object] | None = None,
) -> dict[str, object]:
    keep = keep or {}
    values: dict[str, object] = {}
    values["name"] = _text(name, "service_name", problems, required="enter the service's name")
    values["content"] = _text(content, "service_content", problems)
    values["quarterly_feedback"] = _text(quarterly_feedback, "quarterly_feedback", problems)

    if isinstance(starts_on, datetime):
        starts_on = starts_on.date()
    if isinstance(ends_on, datetime):
        ends_on = ends_on.date()
    if not isinstance(starts_on, date):
        problems.append(
            Problem("service_starts_on", "required", "enter the first day of the service")
        )
    elif ends_on is not None and (not isinstance(ends_on, date) or ends_on < starts_on):
        problems.append(
            Problem(
                "service_ends_on",
                "period",
                "the last day is on or after the first day, or empty",
            )
        )
    values["starts_on"] = starts_on
    values["ends_on"] = ends_on

    restriction = (normalise_text(member_restriction) or "").lower().replace(" ", "")
    if restriction and restriction != keep.get("member_restriction"):
        tier = restriction.removeprefix(RESTRICTION_PREFIX)
        problem = (
            check_code(session, "tier", tier, "member_restriction")
            if restriction.startswith(RESTRICTION_PREFIX) and tier
            else Problem(
                "member_restriction",
                "service_restriction_format",
                f"{member_restriction!r} is not a restriction: write tier:<tier code>, e.g. "
                "tier:vip, or leave it empty",
                {"value": member_restriction},
            )
        )
        if problem is not None:
            problems.append(problem)
    values["member_restriction"] = restriction or None

    values["discount"] = _discount(discount, problems)

    if rating is not None and rating != "":
        try:
            whole = int(str(normalise_text(rating)))
        except ValueError:
            whole = 0
        if isinstance(rating, bool) or not 1 <= whole <= 5 or Decimal(str(rating)) != whole:
            problems.append(
                Problem(
                    "service_rating",
                    "service_rating_range",
                    f"the rating is a whole number from 1 to 5, got {rating!r}",
                    {"value": rating},
                )
            )
        values["rating"] = whole
    else:
        values["rating"] = None
    return values


def _discount(value: object, problems: list[Problem]) -> Decimal | None:
    """0 < discount <= 1 with at most two decimals (0.85 = 15% off); blank is no discount."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = normalise_text(value) or ""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if (
        isinstance(value, bool)
        or amount is None
        or not amount.is_finite()
        or not Decimal(0) < amount <= Decimal(1)
        or amount != amount.quantize(Decimal("0.01"))
    ):
        problems.append(
            Problem(
                "service_discount",
                "service_discount_range",
                f"{text!r} is not a discount: write a rate above 0 and at most 1 with two "
                "decimals, e.g. 0.85 for 15% off",
                {"value": text},
            )
        )
        return None
    return amount.quantize(Decimal("0.01"))


# -- recording a use -----------------------------------------------------------------------------
def record_service_use(
    session: Session,
    actor: Actor,
    *,
    service_id: int,
    member_or_card: str,
    used_at: datetime | None = None,
    source: str = "manual",
    idempotency_key: str | None = None,
) -> MerchantServiceUse:
    """Record that a member took part in a merchant's service; see the module docstring.

    ``member_or_card`` is a member number or a card number as typed or swiped. Returns the use
    (the first one when ``idempotency_key`` was seen before). The caller commits.
    """
    require_role(actor, ENTER_ROLES, "record merchant service uses")
    if source not in USE_SOURCES:
        raise ServiceError(
            f"source is one of {', '.join(USE_SOURCES)}, got {source!r}",
            code="merchant_use_source",
            field="source",
        )
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > 120:
        raise ServiceError(
            "the idempotency key has at most 120 characters",
            code="invalid_idempotency_key",
            field="idempotency_key",
        )
    begin_sqlite_transaction(session, write_lock=True)
    service = session.get(MerchantService, service_id)
    if service is None:
        raise NotFound(
            f"no merchant service has the id {service_id}", code="not_found", field="service"
        )
    if key is not None:
        # A retry returns the first use even if the member or merchant changed since.
        existing = _use_by_key(session, key)
        if existing is not None:
            return _same_use(existing, service.id, _member_id_of(session, member_or_card))
    member = _resolve_member(session, member_or_card)

    merchant = session.get(Merchant, service.merchant_id)
    assert merchant is not None
    if not merchant.active:
        raise ServiceError(
            f"merchant {merchant.code} ({merchant.name}) is inactive; no new uses are recorded",
            code="merchant_inactive",
            field="service",
            merchant=merchant.name,
        )
    when = _aware(used_at) if used_at is not None else utcnow()
    day = when.astimezone(CLUB_TIMEZONE).date()
    if day < service.starts_on:
        raise ServiceError(
            f"service {service.name} starts on {service.starts_on.isoformat()}",
            code="service_not_started",
            field="used_at",
            starts_on=service.starts_on.isoformat(),
        )
    if service.ends_on is not None and day > service.ends_on:
        raise ServiceError(
            f"service {service.name} ended on {service.ends_on.isoformat()}",
            code="service_ended",
            field="used_at",
            ends_on=service.ends_on.isoformat(),
        )
    _check_restriction(session, service, member)

    use = MerchantServiceUse(
        service_id=service.id,
        member_id=member.id,
        used_at=when,
        source=source,
        idempotency_key=key,
    )
    try:
        with session.begin_nested():
            session.add(use)
            session.flush()
    except IntegrityError:
        existing = _use_by_key(session, key) if key else None
        if existing is None:
            raise
        return _same_use(existing, service.id, member.id)
    return use


def tier_meets(session: Session, member_tier: str | None, restriction: str | None) -> bool:
    """Whether a member of ``member_tier`` may use a service restricted to ``restriction``.

    Tiers rank in the dictionary's ``tier`` order (inactive tiers included: members may still
    hold them); a tier unknown to the dictionary meets no restriction.
    """
    if not restriction:
        return True
    wanted = restriction.removeprefix(RESTRICTION_PREFIX)
    order = list(
        session.scalars(
            select(DictionaryItem.code)
            .where(DictionaryItem.category == "tier")
            .order_by(DictionaryItem.sort_order, DictionaryItem.code)
        )
    )
    if member_tier not in order or wanted not in order:
        return member_tier == wanted
    return order.index(member_tier) >= order.index(wanted)


def _check_restriction(session: Session, service: MerchantService, member: Member) -> None:
    if tier_meets(session, member.tier, service.member_restriction):
        return
    required = (service.member_restriction or "").removeprefix(RESTRICTION_PREFIX)
    raise ServiceError(
        f"service {service.name} is for tier {required} members and above; member "
        f"{member.member_no} is tier {member.tier}",
        code="service_tier_too_low",
        field="member_or_card",
        member_no=member.member_no,
        tier=member.tier,
        required=required,
    )


def _resolve_member(session: Session, member_or_card: str) -> Member:
    """The member of a member number, else of a card number (which must be usable)."""
    from operational.services.cards import clean_card_no, find_card

    number = clean_card_no(member_or_card)
    if not number:
        raise ValidationFailed(
            [Problem("member_or_card", "required", "enter a member number or a card number")]
        )
    member = session.scalar(select(Member).where(Member.member_no == number))
    if member is None:
        found = find_card(session, number)
        if found is None:
            raise NotFound(
                f"no member or card has the number {number} — check the number",
                code="merchant_member_not_found",
                field="member_or_card",
                value=number,
            )
        member = session.get(Member, found.card.member_id)
        assert member is not None
        if member.status != "archived" and not found.usable:
            raise Conflict(
                f"card {found.card_no} is {found.status} — use the member's active card",
                code="card_not_active",
                field="member_or_card",
                card_no=found.card_no,
                status=found.status,
            )
    if member.status == "archived":
        raise ServiceError(
            f"member {member.member_no} is archived; restore the member first",
            code="member_archived",
            field="member_or_card",
            member_no=member.member_no,
        )
    return member


def _member_id_of(session: Session, member_or_card: str) -> int | None:
    """The member a number names (member number, else card), whatever their status."""
    from operational.services.cards import clean_card_no, find_card

    number = clean_card_no(member_or_card)
    member_id = session.scalar(select(Member.id).where(Member.member_no == number))
    if member_id is None and number:
        found = find_card(session, number)
        member_id = found.card.member_id if found is not None else None
    return member_id


def _use_by_key(session: Session, key: str) -> MerchantServiceUse | None:
    return session.scalar(
        select(MerchantServiceUse).where(MerchantServiceUse.idempotency_key == key)
    )


def _same_use(
    use: MerchantServiceUse, service_id: int, member_id: int | None
) -> MerchantServiceUse:
    if use.service_id != service_id or use.member_id != member_id:
        raise Conflict(
            f"idempotency key {use.idempotency_key!r} was already used for another service use",
            code="idempotency_key_reused",
            field="idempotency_key",
        )
    return use


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=CLUB_TIMEZONE).astimezone(UTC)
    return value.astimezone(UTC)


# -- searching -----------------------------------------------------------------------------------
def search_merchants(
    session: Session,
    *,
    text: str | None = None,
    merchant_type: str | None = None,
    region: str | None = None,
    contract_ends_before: date | None = None,
    include_inactive: bool = False,
    limit: int = 200,
) -> list[MerchantRow]:
    """Merchants by code or name (every word of ``text`` in the code, name, contact or parent
    company, any case), type, region, and a contract ending before a date; by code."""
    statement = select(Merchant)
    for word in _words(text):
        pattern = f"%{word}%"
        statement = statement.where(
            or_(
                Merchant.code.ilike(pattern, escape="\\"),
                Merchant.name.ilike(pattern, escape="\\"),
                Merchant.contact.ilike(pattern, escape="\\"),
                Merchant.parent_company.ilike(pattern, escape="\\"),
            )
        )
    if merchant_type:
        statement = statement.where(Merchant.merchant_type == merchant_type)
    if region:
        statement = statement.where(Merchant.region == region)
    if contract_ends_before is not None:
        statement = statement.where(Merchant.contract_ends_on < contract_ends_before)
    if not include_inactive:
        statement = statement.where(Merchant.active.is_(True))
    merchants = list(session.scalars(statement.order_by(Merchant.code).limit(limit)))
    return _merchant_rows(session, merchants)


def search_services(
    session: Session,
    *,
    text: str | None = None,
    active_on: date | None = None,
    merchant_code: str | None = None,
    include_inactive_merchants: bool = False,
    limit: int = 200,
) -> list[ServiceRow]:
    """Services by words (every word of ``text`` in the service's name or content, any case),
    running on a date (``active_on`` within the period), and merchant; by merchant code, then
    first day. Each row counts the members who used the service and the uses."""
    statement = select(MerchantService, Merchant).join(
        Merchant, Merchant.id == MerchantService.merchant_id
    )
    for word in _words(text):
        pattern = f"%{word}%"
        statement = statement.where(
            or_(
                MerchantService.name.ilike(pattern, escape="\\"),
                MerchantService.content.ilike(pattern, escape="\\"),
            )
        )
    if active_on is not None:
        statement = statement.where(
            MerchantService.starts_on <= active_on,
            or_(MerchantService.ends_on.is_(None), MerchantService.ends_on >= active_on),
        )
    if merchant_code:
        statement = statement.where(Merchant.code == _clean_code(merchant_code))
    if not include_inactive_merchants and not merchant_code:
        statement = statement.where(Merchant.active.is_(True))
    rows = session.execute(
        statement.order_by(Merchant.code, MerchantService.starts_on, MerchantService.id).limit(
            limit
        )
    ).all()
    return _service_rows(session, rows)


def merchant_detail(session: Session, code: str, *, recent: int = 20) -> MerchantDetail:
    """A merchant, its services with participation (members, uses), totals and the latest uses."""
    merchant = session.scalar(select(Merchant).where(Merchant.code == _clean_code(code)))
    if merchant is None:
        raise NotFound(f"no merchant has the code {code}", code="not_found", field="merchant")
    rows = session.execute(
        select(MerchantService, Merchant)
        .join(Merchant, Merchant.id == MerchantService.merchant_id)
        .where(MerchantService.merchant_id == merchant.id)
        .order_by(MerchantService.starts_on, MerchantService.id)
    ).all()
    services = _service_rows(session, rows)
    members, uses = session.execute(
        select(func.count(func.distinct(MerchantServiceUse.member_id)), func.count())
        .select_from(MerchantServiceUse)
        .join(MerchantService, MerchantService.id == MerchantServiceUse.service_id)
        .where(MerchantService.merchant_id == merchant.id)
    ).one()
    recent_rows = session.execute(
        select(MerchantServiceUse, MerchantService.name, Member.member_no, Member.name)
        .join(MerchantService, MerchantService.id == MerchantServiceUse.service_id)
        .join(Member, Member.id == MerchantServiceUse.member_id)
        .where(MerchantService.merchant_id == merchant.id)
        .order_by(MerchantServiceUse.used_at.desc(), MerchantServiceUse.id.desc())
        .limit(recent)
    ).all()
    return MerchantDetail(
        merchant=_merchant_rows(session, [merchant])[0],
        services=services,
        members=int(members or 0),
        uses=int(uses or 0),
        recent_uses=[
            UseRow(u.id, u.service_id, service_name, member_no, member_name, u.used_at, u.source)
            for u, service_name, member_no, member_name in recent_rows
        ],
    )


def contracts_ending(
    session: Session, *, within_days: int = 30, today: date | None = None
) -> list[MerchantRow]:
    """Active merchants whose contract ends from ``today`` to ``today + within_days``
    (inclusive; club dates), soonest first — the ones to renew."""
    today = today or club_today()
    merchants = session.scalars(
        select(Merchant)
        .where(
            Merchant.active.is_(True),
            and_(
                Merchant.contract_ends_on >= today,
                Merchant.contract_ends_on <= today + timedelta(days=within_days),
            ),
        )
        .order_by(Merchant.contract_ends_on, Merchant.code)
    )
    return _merchant_rows(session, list(merchants))


def service_of(session: Session, service_id: int) -> ServiceRow:
    """One service with its merchant and participation (for an edit form)."""
    row = session.execute(
        select(MerchantService, Merchant)
        .join(Merchant, Merchant.id == MerchantService.merchant_id)
        .where(MerchantService.id == service_id)
    ).first()
    if row is None:
        raise NotFound(
            f"no merchant service has the id {service_id}", code="not_found", field="service"
        )
    return _service_rows(session, [row])[0]


# -- helpers -------------------------------------------------------------------------------------
def _merchant_rows(session: Session, merchants: list[Merchant]) -> list[MerchantRow]:
    ids = [m.id for m in merchants]
    counts: dict[int, int] = {}
    if ids:
        counts = dict(
            session.execute(
                select(MerchantService.merchant_id, func.count())
                .where(MerchantService.merchant_id.in_(ids))
                .group_by(MerchantService.merchant_id)
            ).all()
        )
    return [
        MerchantRow(
            code=m.code,
            name=m.name,
            merchant_type=m.merchant_type,
            importance=m.importance,
            region=m.region,
            contact=m.contact,
            phone1=m.phone1,
            phone2=m.phone2,
            address=m.address,
            parent_company=m.parent_company,
            contract_ends_on=m.contract_ends_on,
            active=m.active,
            services=int(counts.get(m.id, 0)),
        )
        for m in merchants
    ]


def _service_rows(session: Session, rows) -> list[ServiceRow]:
    ids = [service.id for service, _ in rows]
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        counts = {
            service_id: (int(members), int(uses))
            for service_id, members, uses in session.execute(
                select(
                    MerchantServiceUse.service_id,
                    func.count(func.distinct(MerchantServiceUse.member_id)),
                    func.count(),
                )
                .where(MerchantServiceUse.service_id.in_(ids))
                .group_by(MerchantServiceUse.service_id)
            ).all()
        }
    return [
        ServiceRow(
            service_id=s.id,
            merchant_code=m.code,
            merchant_name=m.name,
            merchant_active=m.active,
            name=s.name,
            starts_on=s.starts_on,
            ends_on=s.ends_on,
            content=s.content,
            member_restriction=s.member_restriction,
            discount=s.discount,
            quarterly_feedback=s.quarterly_feedback,
            rating=s.rating,
            members=counts.get(s.id, (0, 0))[0],
            uses=counts.get(s.id, (0, 0))[1],
        )
        for s, m in rows
    ]


def _locked_merchant(session: Session, code: str) -> Merchant:
    """The merchant row, locked until the transaction ends (SQLite: the database write lock)."""
    begin_sqlite_transaction(session, write_lock=True)
    merchant = session.scalar(
        select(Merchant)
        .where(Merchant.code == _clean_code(code))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if merchant is None:
        raise NotFound(f"no merchant has the code {code}", code="not_found", field="merchant")
    return merchant


def _clean_code(code: object) -> str:
    return (normalise_text(code) or "").upper().replace(" ", "")


def _code_taken(code: str) -> Problem:
    return Problem(
        "merchant_code",
        "merchant_code_taken",
        f"merchant code {code} is already in use",
        {"value": code},
    )


def _words(text: str | None) -> list[str]:
    cleaned = normalise_text(text) or ""
    return [w.replace("%", r"\%").replace("_", r"\_") for w in cleaned.split(" ") if w][:8]


def _text(
    value: object, field: str, problems: list[Problem], *, required: str | None = None
) -> str | None:
    if field in _MULTILINE:  # keeps its line breaks
        text = unicodedata.normalize("NFKC", str(value)).strip() or None if value else None
    else:
        text = normalise_text(value)
    if text is None:
        if required:
            problems.append(Problem(field, "required", required))
        return None
    limit = MAX_LENGTHS.get(field)
    if limit is not None and len(text) > limit:
        problems.append(
            Problem(
                field,
                "too_long",
                f"{len(text)} characters is too long, at most {limit} fit — shorten it",
                {"length": len(text), "max": limit},
            )
        )
    return text


def _phone(value: object, field: str, problems: list[Problem]) -> str | None:
    """A phone checked leniently (see the module docstring); blank is None."""
    text = normalise_text(value)
    if text is None:
        return None
    mobile = mobile_digits(text)
    if mobile is not None:
        return mobile
    body = _PHONE_EXTENSION.sub("", text).strip()
    digits = re.sub(r"\D", "", body)
    if _PHONE_CHARACTERS.fullmatch(body) and 5 <= len(digits) <= 20 and len(text) <= 30:
        return text
    problems.append(
        Problem(
            field,
            "merchant_phone_format",
            f"{text!r} is not a phone number: write 5 to 20 digits (area code, dashes, +86 "
            "and an extension are fine)",
            {"value": text},
        )
    )
    return None
