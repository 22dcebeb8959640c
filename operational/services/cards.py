"""Member cards (会员卡): issue, batch issue, replacement, loss, tier changes, expiry, lookup.

Rules (DOMAIN.md "Cards", seed 000 会员卡管理):

- A member has at most one *active main card*; its type is the member's tier (dictionary
  ``card_type`` items with ``parent_code`` "main": ordinary, vip). Main cards carry
  ``chip_uid = card_no`` so a reader's number finds them.
- *Sub-cards* (``parent_code`` "sub": discount, cobrand) hang under the active main card and have
  their own expiry. They are never replaced: a lost sub-card is cancelled, and a new one issued.
- Replacing a main card (on request, on loss, on a tier change) ends the old card (status
  ``replaced`` or ``lost``, ``ended_at``, ``end_reason``, ``replaced_by_card_id``) and cancels its
  active sub-cards (``end_reason`` "main_replaced").
- Expired sub-cards are set to ``expired`` by a daily job; a sub-card is valid through its
  ``expires_on`` date.
- Archived members get no cards. Staff, reviewers and admins (``ENTER_ROLES``) issue and replace.

Functions never commit; the caller's ``session_scope`` does. Every refusal raises a
``ServiceError`` subclass with a stable ``code`` and a message that says what to do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from operational.models import Card, DictionaryItem, Member, MemberChange
from operational.models.base import utcnow
from operational.services.common import (
    ENTER_ROLES,
    SYSTEM,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ServiceError,
    ValidationFailed,
    next_number,
    require_role,
)

#: Points earned in the last 365 days (``points.earned_in_period``) a member needs to reach a
#: tier. Tiers not listed (ordinary) need nothing. ``apply_tier_upgrades`` only ever moves
#: members up.
TIER_THRESHOLDS: dict[str, int] = {"vip": 10_000}

#: Why a main card was replaced (``cards.end_reason`` of the old card).
REPLACE_REASONS = ("request", "damaged", "lost", "tier_change")
#: ``end_reason`` of sub-cards ended because their main card was replaced or lost.
MAIN_REPLACED = "main_replaced"

KINDS = ("main", "sub")
CARD_NO_WIDTH = 10


# -- returned types ----------------------------------------------------------------------------
@dataclass(frozen=True)
class IssuedCard:
    """One card issued by a batch."""

    member_no: str
    card_no: str
    kind: str
    card_type: str
    card: Card


@dataclass(frozen=True)
class BatchProblem:
    """Why one member of a batch got no card (``code`` is the refusal's stable code)."""

    member_no: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.member_no}: {self.message}"


@dataclass
class BatchResult:
    """The cards a batch issued and, for every member that got none, the reason."""

    issued: list[IssuedCard] = field(default_factory=list)
    problems: list[BatchProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return f"issued: {len(self.issued)}, refused: {len(self.problems)}"


@dataclass(frozen=True)
class CardLookup:
    """A card as the desk sees it: the card, its holder, and the main card of a sub-card."""

    card: Card
    card_no: str
    kind: str  # main | sub
    card_type: str
    status: str  # active | replaced | lost | cancelled | expired
    issued_at: datetime
    expires_on: date | None
    ended_at: datetime | None
    end_reason: str | None
    member_no: str
    member_name: str
    member_status: str
    member_tier: str
    main_card_no: str | None  # the parent main card of a sub-card; None for a main card
    replaced_by_card_no: str | None  # the card that replaced this one, if any

    @property
    def usable(self) -> bool:
        """Active card of a member who is not archived."""
        return self.status == "active" and self.member_status != "archived"


# -- helpers -----------------------------------------------------------------------------------
def clean_card_no(value: object) -> str:
    """What a clerk typed or a reader sent, as stored: full-width digits and blanks tolerated."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(text.split()).upper()


def _clean_member_no(value: object) -> str:
    return clean_card_no(value)


def _today() -> date:
    return date.today()


def _card_types(session: Session, parent: str) -> list[str]:
    """Active dictionary ``card_type`` codes of one kind ("main" or "sub")."""
    return list(
        session.scalars(
            select(DictionaryItem.code)
            .where(
                DictionaryItem.category == "card_type",
                DictionaryItem.parent_code == parent,
                DictionaryItem.active.is_(True),
            )
            .order_by(DictionaryItem.sort_order, DictionaryItem.code)
        )
    )


def _card_type_problem(
    session: Session, kind: str, card_type: str | None, field_name: str = "card_type"
) -> Problem | None:
    choices = _card_types(session, kind)
    if card_type in choices:
        return None
    shown = ", ".join(choices)
    if not card_type:
        return Problem(
            field_name,
            "required",
            f"choose a {kind} card type: {shown}",
            {"choices": shown},
        )
    return Problem(
        field_name,
        "unknown_card_type",
        f"{card_type!r} is not a {kind} card type; choose one of: {shown}",
        {"value": card_type, "choices": shown},
    )


def _expiry_problem(expires_on: object, today: date) -> Problem | None:
    if expires_on is None:
        return Problem(
            "expires_on", "required", "a sub-card needs an expiry date — enter one after today"
        )
    if isinstance(expires_on, datetime) or not isinstance(expires_on, date):
        return Problem(
            "expires_on", "invalid_date", f"{expires_on!r} is not a date — enter a calendar date"
        )
    if expires_on <= today:
        return Problem(
            "expires_on",
            "expiry_not_in_future",
            f"expiry {expires_on.isoformat()} is not after today ({today.isoformat()}) "
            "— enter a later date",
            {"value": expires_on.isoformat(), "today": today.isoformat()},
        )
    return None


def _get_member(session: Session, member_no: object, *, lock: bool = False) -> Member:
    number = _clean_member_no(member_no)
    if not number:
        raise NotFound(
            "no member number given — enter the member number",
            code="member_not_found",
            field="member_no",
        )
    statement = select(Member).where(Member.member_no == number)
    if lock:
        statement = statement.with_for_update()
    member = session.scalar(statement)
    if member is None:
        raise NotFound(
            f"no member with number {number} — check the number or search by name or mobile",
            code="member_not_found",
            field="member_no",
            member_no=number,
        )
    return member


def _lock_member(session: Session, member: Member) -> Member:
    """Serialise card changes of one member (row lock on PostgreSQL; SQLite has one writer)."""
    session.flush()
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    return member


def _refuse_archived(member: Member) -> None:
    if member.status == "archived":
        raise Conflict(
            f"member {member.member_no} is archived and cannot hold cards "
            "— restore the member first",
            code="member_archived",
            member_no=member.member_no,
        )


def active_main_card(session: Session, member_id: int) -> Card | None:
    """The member's active main card, if any."""
    return session.scalar(
        select(Card)
        .where(Card.member_id == member_id, Card.kind == "main", Card.status == "active")
        .order_by(Card.issued_at.desc(), Card.id.desc())
        .limit(1)
    )


def _new_card_no(session: Session) -> str:
    return next_number(session, "card_no", Card.card_no, width=CARD_NO_WIDTH)


def _add_main_card(session: Session, member: Member, card_type: str, now: datetime) -> Card:
    card_no = _new_card_no(session)
    chip_taken = session.scalar(select(Card.id).where(Card.chip_uid == card_no))
    card = Card(
        card_no=card_no,
        member_id=member.id,
        kind="main",
        card_type=card_type,
        status="active",
        issued_at=now,
        chip_uid=None if chip_taken else card_no,
    )
    session.add(card)
    session.flush()
    return card


def _end_sub_cards(session: Session, main: Card, now: datetime) -> int:
    subs = list(
        session.scalars(select(Card).where(Card.parent_card_id == main.id, Card.status == "active"))
    )
    for sub in subs:
        sub.status = "cancelled"
        sub.end_reason = MAIN_REPLACED
        sub.ended_at = now
    return len(subs)


def _lock_card(session: Session, card_no: object) -> Card:
    number = clean_card_no(card_no)
    card = None
    if number:
        session.flush()
        card = session.scalar(
            select(Card)
            .where(Card.card_no == number)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    if card is None:
        raise NotFound(
            f"no card with number {number or '(blank)'} — check the number on the card",
            code="card_not_found",
            field="card_no",
            card_no=number,
        )
    return card


def _refuse_inactive(card: Card, action: str) -> None:
    if card.status == "active":
        return
    hint = ""
    if card.replaced_by_card_id is not None:
        hint = " (see its replacement card)"
    raise Conflict(
        f"card {card.card_no} is {card.status}{hint} and cannot be {action} "
        "— use the member's active card",
        code="card_not_active",
        field="card_no",
        card_no=card.card_no,
        status=card.status,
    )


# -- issuing -----------------------------------------------------------------------------------
def issue_main_card(
    session: Session, actor: Actor, member: Member | str, *, card_type: str | None = None
) -> Card:
    """Issue the member's main card; its type is the member's tier (``card_type`` must match).

    ``member`` is a ``Member`` (e.g. just approved) or a member number. Refused when the member
    already has an active main card (replace it instead) or is archived.
    """
    require_role(actor, ENTER_ROLES, "issue cards")
    if not isinstance(member, Member):
        member = _get_member(session, member)
    _lock_member(session, member)
    _refuse_archived(member)
    wanted = card_type or member.tier
    problem = _card_type_problem(session, "main", wanted)
    if problem is not None:
        raise ValidationFailed([problem])
    if wanted != member.tier:
        raise Conflict(
            f"member {member.member_no} is tier {member.tier}; the main card must be a "
            f"{member.tier} card — issue a {member.tier} card, or change the tier first",
            code="card_type_not_tier",
            field="card_type",
            member_no=member.member_no,
            tier=member.tier,
            value=wanted,
        )
    existing = active_main_card(session, member.id)
    if existing is not None:
        raise Conflict(
            f"member {member.member_no} already has active main card {existing.card_no} "
            "— replace that card instead of issuing a second one",
            code="main_card_exists",
            member_no=member.member_no,
            card_no=existing.card_no,
        )
    return _add_main_card(session, member, wanted, utcnow())


def issue_sub_card(
    session: Session,
    actor: Actor,
    member_no: str,
    card_type: str,
    expires_on: date,
    *,
    today: date | None = None,
) -> Card:
    """Issue a sub-card (discount, cobrand) under the member's active main card.

    Refused without an active main card, with an expiry not after ``today`` (default: the
    current date), or when the member already has an active sub-card of that type.
    """
    require_role(actor, ENTER_ROLES, "issue cards")
    today = today or _today()
    problems = [
        p
        for p in (_card_type_problem(session, "sub", card_type), _expiry_problem(expires_on, today))
        if p is not None
    ]
    if problems:
        raise ValidationFailed(problems)
    member = _get_member(session, member_no)
    _lock_member(session, member)
    _refuse_archived(member)
    main = active_main_card(session, member.id)
    if main is None:
        raise Conflict(
            f"member {member.member_no} has no active main card; sub-cards are issued only "
            "under a main card — issue the main card first",
            code="no_main_card",
            member_no=member.member_no,
        )
    same = session.scalar(
        select(Card).where(
            Card.member_id == member.id,
            Card.kind == "sub",
            Card.card_type == card_type,
            Card.status == "active",
        )
    )
    if same is not None:
        until = same.expires_on.isoformat() if same.expires_on else "no expiry"
        raise Conflict(
            f"member {member.member_no} already has an active {card_type} card {same.card_no} "
            f"(valid until {until}) — use it, or cancel it before issuing another",
            code="sub_card_exists",
            member_no=member.member_no,
            card_no=same.card_no,
        )
    card = Card(
        card_no=_new_card_no(session),
        member_id=member.id,
        kind="sub",
        card_type=card_type,
        parent_card_id=main.id,
        status="active",
        issued_at=utcnow(),
        expires_on=expires_on,
    )
    session.add(card)
    session.flush()
    return card


def batch_issue(
    session: Session,
    actor: Actor,
    member_nos: Sequence[str],
    *,
    kind: str,
    card_type: str | None = None,
    expires_on: date | None = None,
    today: date | None = None,
) -> BatchResult:
    """Issue a card to each listed member; each one refused is reported with its reason.

    ``kind`` "main": each member's tier card (``card_type``, when given, must be their tier).
    ``kind`` "sub": ``card_type`` and ``expires_on`` are required. Problems with the batch as a
    whole (role, kind, type, expiry) raise before anything is issued; blank entries are skipped.
    """
    require_role(actor, ENTER_ROLES, "issue cards")
    today = today or _today()
    if kind not in KINDS:
        raise ValidationFailed(
            [
                Problem(
                    "kind",
                    "unknown_kind",
                    f"{kind!r} is not a card kind; choose main or sub",
                    {"value": kind},
                )
            ]
        )
    problems: list[Problem] = []
    if kind == "sub" or card_type is not None:
        problem = _card_type_problem(session, kind, card_type)
        if problem is not None:
            problems.append(problem)
    if kind == "sub":
        problem = _expiry_problem(expires_on, today)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise ValidationFailed(problems)

    result = BatchResult()
    seen: set[str] = set()
    for raw in member_nos:
        number = _clean_member_no(raw)
        if not number:
            continue
        if number in seen:
            result.problems.append(
                BatchProblem(number, "listed_twice", "listed more than once — issued only once")
            )
            continue
        seen.add(number)
        # Each issue checks everything before it writes, so a refusal leaves nothing behind.
        try:
            if kind == "main":
                card = issue_main_card(session, actor, number, card_type=card_type)
            else:
                assert card_type is not None and expires_on is not None
                card = issue_sub_card(session, actor, number, card_type, expires_on, today=today)
        except ServiceError as error:
            result.problems.append(BatchProblem(number, error.code, error.message))
            continue
        result.issued.append(IssuedCard(number, card.card_no, card.kind, card.card_type, card))
    return result


# -- replacement and loss ----------------------------------------------------------------------
def replace_card(
    session: Session,
    actor: Actor,
    card_no: str,
    *,
    reason: str = "request",
    new_card_type: str | None = None,
) -> Card:
    """Replace an active main card with a new one; returns the new card.

    The old card becomes ``lost`` (reason "lost") or ``replaced``, with ``ended_at``,
    ``end_reason`` and ``replaced_by_card_id``; its active sub-cards are cancelled. The new card
    has ``new_card_type`` (default: the member's tier), which must be the member's tier — change
    the tier with ``change_tier``. Sub-cards are not replaced (``report_loss`` cancels them).
    """
    require_role(actor, ENTER_ROLES, "replace cards")
    if reason not in REPLACE_REASONS:
        raise ValidationFailed(
            [
                Problem(
                    "reason",
                    "unknown_reason",
                    f"{reason!r} is not a replacement reason; choose one of: "
                    + ", ".join(REPLACE_REASONS),
                    {"value": reason},
                )
            ]
        )
    card = _lock_card(session, card_no)
    if card.kind != "main":
        raise Conflict(
            f"card {card.card_no} is a sub-card; sub-cards are not replaced "
            "— report it lost (which cancels it) and issue a new sub-card",
            code="sub_card_not_replaceable",
            field="card_no",
            card_no=card.card_no,
        )
    _refuse_inactive(card, "replaced")
    member = session.get(Member, card.member_id)
    assert member is not None
    _lock_member(session, member)
    _refuse_archived(member)
    wanted = new_card_type or member.tier
    problem = _card_type_problem(session, "main", wanted, "new_card_type")
    if problem is not None:
        raise ValidationFailed([problem])
    if wanted != member.tier:
        raise Conflict(
            f"member {member.member_no} is tier {member.tier}; a {wanted} main card needs "
            f"tier {wanted} — change the tier (the card is then replaced automatically)",
            code="card_type_not_tier",
            field="new_card_type",
            member_no=member.member_no,
            tier=member.tier,
            value=wanted,
        )
    now = utcnow()
    new = _add_main_card(session, member, wanted, now)
    card.status = "lost" if reason == "lost" else "replaced"
    card.ended_at = now
    card.end_reason = reason
    card.replaced_by_card_id = new.id
    _end_sub_cards(session, card, now)
    session.flush()
    return new


def report_loss(session: Session, actor: Actor, card_no: str) -> Card | None:
    """Report a card lost (挂失).

    A main card is replaced (old card ``lost``, its sub-cards cancelled) and the new card is
    returned; a sub-card is cancelled (``end_reason`` "lost") and None is returned.
    """
    require_role(actor, ENTER_ROLES, "report cards lost")
    card = _lock_card(session, card_no)
    if card.kind == "main":
        return replace_card(session, actor, card.card_no, reason="lost")
    _refuse_inactive(card, "reported lost")
    card.status = "cancelled"
    card.end_reason = "lost"
    card.ended_at = utcnow()
    session.flush()
    return None


# -- tiers -------------------------------------------------------------------------------------
def change_tier(
    session: Session, actor: Actor, member_no: str, new_tier: str, *, reason: str
) -> Card:
    """Move a member to ``new_tier``: ``member.tier``, a MemberChange row, and a new main card.

    The active main card is replaced by one of the new type (``end_reason`` "tier_change"); a
    member without an active main card gets one. Returns the new main card.
    """
    require_role(actor, ENTER_ROLES, "change a member's tier")
    if not (reason or "").strip():
        raise ValidationFailed(
            [Problem("reason", "required", "say why the tier changes (e.g. points threshold)")]
        )
    member = _get_member(session, member_no)
    _lock_member(session, member)
    _refuse_archived(member)
    problem = _card_type_problem(session, "main", new_tier, "new_tier")
    if problem is not None:
        raise ValidationFailed([problem])
    if new_tier == member.tier:
        raise Conflict(
            f"member {member.member_no} is already tier {new_tier} — choose another tier",
            code="same_tier",
            field="new_tier",
            member_no=member.member_no,
        )
    old_tier = member.tier
    member.tier = new_tier
    session.add(
        MemberChange(
            member_id=member.id,
            changed_by=actor.username,
            field="tier",
            old_value=old_tier,
            new_value=new_tier,
        )
    )
    session.flush()
    current = active_main_card(session, member.id)
    if current is None:
        return _add_main_card(session, member, new_tier, utcnow())
    return replace_card(session, actor, current.card_no, reason="tier_change")


def _tier_rank(tier: str) -> int:
    return TIER_THRESHOLDS.get(tier, 0)


def apply_tier_upgrades(
    session: Session, *, actor: Actor = SYSTEM, today: date | None = None
) -> list[str]:
    """Upgrade active members whose points earned in the last 365 days reached a higher tier;
    their member numbers.

    Earned points are ``points.earned_in_period`` (positive posted entries, reversals excluded),
    never the spendable balance, so spending does not hold a member back. Each upgrade is a
    ``change_tier`` (history row and a new main card). Never downgrades; running it again changes
    nothing. Postings do not call this: the daily job does.
    """
    from operational.services.points import club_today, earned_by_member

    require_role(actor, ENTER_ROLES, "change members' tiers")
    available = set(_card_types(session, "main"))
    targets = sorted(
        ((threshold, tier) for tier, threshold in TIER_THRESHOLDS.items() if tier in available),
        reverse=True,
    )
    if not targets:
        return []
    lowest = targets[-1][0]
    earned_by = {
        member_id: earned
        for member_id, earned in earned_by_member(session, today=today or club_today()).items()
        if earned >= lowest
    }
    if not earned_by:
        return []
    rows = session.execute(
        select(Member.id, Member.member_no, Member.tier)
        .where(Member.status == "active", Member.id.in_(list(earned_by)))
        .order_by(Member.member_no)
    ).all()
    upgraded: list[str] = []
    for member_id, member_no, tier in rows:
        earned = earned_by[member_id]
        target = next((t for threshold, t in targets if earned >= threshold), None)
        if target is None or _tier_rank(target) <= _tier_rank(tier):
            continue
        change_tier(
            session,
            actor,
            member_no,
            target,
            reason=f"earned {earned} points in 365 days, threshold {TIER_THRESHOLDS[target]} "
            f"for {target}",
        )
        upgraded.append(member_no)
    return upgraded


# -- daily job ---------------------------------------------------------------------------------
def cancel_expired_sub_cards(session: Session, *, today: date, actor: Actor = SYSTEM) -> int:
    """Set active sub-cards whose expiry is before ``today`` to ``expired``; how many.

    A sub-card is valid through its expiry date. Running it twice the same day changes nothing.
    """
    require_role(actor, ENTER_ROLES, "expire sub-cards")
    result = session.execute(
        update(Card)
        .where(Card.kind == "sub", Card.status == "active", Card.expires_on < today)
        .values(status="expired", ended_at=utcnow(), end_reason="expired")
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def end_member_cards(session: Session, member_id: int, *, reason: str) -> int:
    """Cancel all active cards of a member (e.g. on archive); how many were ended."""
    cards = list(
        session.scalars(select(Card).where(Card.member_id == member_id, Card.status == "active"))
    )
    now = utcnow()
    for card in cards:
        card.status = "cancelled"
        card.ended_at = now
        card.end_reason = reason
    session.flush()
    return len(cards)


# -- lookup ------------------------------------------------------------------------------------
def member_no_for(session: Session, member_or_card: object) -> str | None:
    """The member number of what a clerk typed: a member number or a card number (full-width
    digits, blanks, lower case tolerated; a card of any status names its member); None when
    neither exists."""
    number = clean_card_no(member_or_card)
    if not number:
        return None
    found = session.scalar(select(Member.member_no).where(Member.member_no == number))
    if found is not None:
        return found
    card = find_card(session, number)
    return card.member_no if card is not None else None


def find_card(session: Session, card_no: str) -> CardLookup | None:
    """The card with this number (or chip number), whatever its status; None when unknown.

    Full-width digits, blanks and lower-case letters in what the clerk typed are tolerated; a
    number typed without its leading zeros is found too.
    """
    number = clean_card_no(card_no)
    if not number:
        return None
    candidates = [number]
    if number.isdigit() and len(number) < CARD_NO_WIDTH:
        candidates.append(number.zfill(CARD_NO_WIDTH))
    parent = aliased(Card)
    successor = aliased(Card)
    base = (
        select(Card, Member, parent.card_no, successor.card_no)
        .join(Member, Member.id == Card.member_id)
        .outerjoin(parent, parent.id == Card.parent_card_id)
        .outerjoin(successor, successor.id == Card.replaced_by_card_id)
    )
    row = None
    for candidate in candidates:
        row = session.execute(base.where(Card.card_no == candidate)).first()
        if row is None:
            row = session.execute(base.where(Card.chip_uid == candidate)).first()
        if row is not None:
            break
    if row is None:
        return None
    card, member, parent_no, successor_no = row
    return CardLookup(
        card=card,
        card_no=card.card_no,
        kind=card.kind,
        card_type=card.card_type,
        status=card.status,
        issued_at=card.issued_at,
        expires_on=card.expires_on,
        ended_at=card.ended_at,
        end_reason=card.end_reason,
        member_no=member.member_no,
        member_name=member.name,
        member_status=member.status,
        member_tier=member.tier,
        main_card_no=parent_no,
        replaced_by_card_no=successor_no,
    )
