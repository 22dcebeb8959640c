"""The points ledger (积分): every change is one entry, posted exactly once, never below zero.

Every change of a member's points is a :class:`PointEntry` with a triggering event and an
idempotency key that names the event (``opening:M00000012``, ``purchase:123``, ``swipe:…``). A
retry, a re-run import or two workers racing on the same event post it once: the key is unique
in the database, and the second caller gets the first entry back. Posted entries are never
edited except for ``remaining`` (what is left of an award); corrections are reversal entries.

Locking. The member's :class:`MemberPointBalance` row is the lock that serialises postings for
one member (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the database write lock, taken up
front), so a balance never goes negative however many spendings run at once, and balance, ledger
and ``remaining`` change in one transaction.

Invariant (checked by the property tests), per member, at every commit::

    balance == sum(points of posted entries) == sum(remaining of posted positive entries) >= 0

Spending (FIFO). A posted negative entry consumes ``remaining`` of the member's positive posted
awards, oldest first: by ``expires_on`` (no expiry last), then ``posted_at``, then id. Awards
whose date has passed but which the daily expiry job has not processed yet still count (they are
the first consumed). Each award therefore knows what is left of it, and expiry takes exactly that.

Expiry. A positive award gets ``expires_on`` = :func:`expiry_date` of the club-local day it is
posted, unless the caller gives one. :func:`expire_points` (run by the daily job) writes one
``expiry`` entry of ``-remaining`` per award past its date (key ``expiry:<award id>``).

Reversal rule (:func:`reverse_entry`; once per entry, key ``reversal:<entry id>``):

- Reversing a **negative** entry (a spending, an expiry) gives the points back as a new award
  (event ``reversal``, not counted as earned), with a fresh expiry date.
- Reversing a **positive** award takes back what is left of that award first, then the member's
  other points oldest first, but never more than the balance: the reversal entry is
  ``-min(award, balance)``. The rest — points of the award already spent and no longer
  recoverable — is the **shortfall**: written in the reversal's ``reason``
  (``shortfall N points``) and returned by :func:`reversal_shortfall`. It is not charged later.
  When the balance is 0 nothing can be taken and a zero entry is not allowed, so the reversal is
  recorded as a ``rejected`` (never posted) entry of ``-award`` whose reason states the full
  shortfall: the award still counts as reversed, once.

Pending entries wait for a reviewer: :func:`approve_entry` (maker-checker: never by the person who
created the entry) or :func:`reject_entry`. Manual adjustments (:func:`post_manual`,
:func:`post_batch`) above :data:`MANUAL_APPROVAL_THRESHOLD` points are created pending, and a
clerk may enter at most :data:`DAILY_MANUAL_CAP` absolute points per club-local day.

Tiers qualify on points *earned* (:func:`earned_in_period`), not on the balance, so spending never
demotes. Posting does not upgrade tiers itself: the daily job (``services.daily``) does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from operational.db import begin_sqlite_transaction
from operational.models import Card, Member, MemberPointBalance, PointEntry
from operational.models.base import utcnow
from operational.models.cards_points import POINT_EVENT_TYPES
from operational.services.common import (
    DECIDE_ROLES,
    ENTER_ROLES,
    SYSTEM,
    Actor,
    Conflict,
    NotAllowed,
    NotFound,
    ServiceError,
    require_role,
)

#: Statuses an entry can be created with; "rejected" is only reached by reviewing a pending one.
NEW_ENTRY_STATUSES = ("posted", "pending")
#: Positive entries of these types are not earnings (they give back what was spent or taken).
NOT_EARNED = frozenset({"reversal"})
#: Points expire at the end of the EXPIRY_YEARS-th calendar year after the year they were earned.
EXPIRY_YEARS = 2
#: The club's day (caps, expiry dates, tier periods) is the local day here.
CLUB_TIMEZONE = ZoneInfo("Asia/Shanghai")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


#: A manual adjustment of more than this many points (either sign) needs a second person.
MANUAL_APPROVAL_THRESHOLD = _env_int("CLUBCRM_MANUAL_APPROVAL_THRESHOLD", 1000)
#: Absolute manual points one clerk may enter per club-local day (pending ones included).
DAILY_MANUAL_CAP = _env_int("CLUBCRM_DAILY_MANUAL_CAP", 10_000)


# -- policy -------------------------------------------------------------------------------------
def expiry_date(earned_on: date) -> date:
    """End of the EXPIRY_YEARS-th calendar year after ``earned_on`` (2026-03-01 -> 2028-12-31)."""
    return date(earned_on.year + EXPIRY_YEARS, 12, 31)


def club_today(now: datetime | None = None) -> date:
    """Today in club time."""
    return (now or utcnow()).astimezone(CLUB_TIMEZONE).date()


def club_day_start(day: date) -> datetime:
    """The instant (UTC) the club-local ``day`` begins: the lower bound of day filters."""
    return datetime.combine(day, time(0), tzinfo=CLUB_TIMEZONE).astimezone(UTC)


# -- posting ------------------------------------------------------------------------------------
def post_entry(
    session: Session,
    *,
    member_id: int,
    points: int,
    event_type: str,
    idempotency_key: str,
    actor: Actor,
    reason: str | None = None,
    reference: str | None = None,
    card_id: int | None = None,
    expires_on: date | None = None,
    status: str = "posted",
) -> tuple[PointEntry, bool]:
    """Record one ledger entry once; return it and whether this call created it.

    An existing ``idempotency_key`` returns the entry already recorded (``created`` False) and
    changes nothing, also when another transaction posts the same key at the same moment. The
    same key for a different member, amount or event is refused (``Conflict``): keys name one
    event. A posted entry moves the balance (and, when positive, ``earned_total`` and
    ``remaining``; when negative, it consumes ``remaining`` of the oldest awards); a pending one
    waits for approval and moves nothing. A posting that would take the balance below zero is
    refused with ``ServiceError`` code ``insufficient_points``, and nothing is written.

    A ``card_id`` of a sub-card is recorded as its main card (points earned on a sub-card go to
    the main card). A posted award without ``expires_on`` gets :func:`expiry_date` of today.
    """
    _check_arguments(points, event_type, idempotency_key, status)
    existing = _by_key(session, idempotency_key)
    if existing is not None:
        return _same_event(existing, member_id, points, event_type), False
    if session.get(Member, member_id) is None:
        raise NotFound(f"member id {member_id} does not exist", code="not_found", field="member")
    if card_id is not None:
        card_id = _main_card_id(session, card_id, member_id)

    balance = _locked_balance(session, member_id)
    # Another transaction may have posted this key while we waited for the lock.
    existing = _by_key(session, idempotency_key)
    if existing is not None:
        return _same_event(existing, member_id, points, event_type), False

    posted = status == "posted"
    if posted:
        _refuse_overdraw(balance, points)
    now = utcnow()
    if posted and points > 0 and expires_on is None:
        expires_on = expiry_date(club_today(now))
    entry = PointEntry(
        member_id=member_id,
        card_id=card_id,
        points=points,
        event_type=event_type,
        status=status,
        reference=reference,
        reason=reason,
        idempotency_key=idempotency_key,
        remaining=points if posted and points > 0 else None,
        expires_on=expires_on,
        created_at=now,
        created_by=actor.username,
        posted_at=now if posted else None,
    )
    inserted = _insert(session, entry)
    if inserted is not entry:
        return _same_event(inserted, member_id, points, event_type), False
    if posted:
        _apply(session, balance, entry, now)
    return entry, True


def _insert(session: Session, entry: PointEntry) -> PointEntry:
    """Add ``entry``; on a key race return the entry that won."""
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        existing = _by_key(session, entry.idempotency_key)
        if existing is None:
            raise
        return existing
    return entry


def _apply(
    session: Session,
    balance: MemberPointBalance,
    entry: PointEntry,
    now: datetime,
    *,
    first: PointEntry | None = None,
) -> None:
    """Move the (locked) balance by a just-posted entry; a negative one consumes awards."""
    if entry.points < 0:
        _consume(session, entry.member_id, -entry.points, first=first)
    balance.balance += entry.points
    if entry.points > 0 and entry.event_type not in NOT_EARNED:
        balance.earned_total += entry.points
    balance.updated_at = now
    session.flush()


def _consume(
    session: Session, member_id: int, amount: int, *, first: PointEntry | None = None
) -> int:
    """Take ``amount`` from ``remaining`` of the member's awards, ``first`` then oldest first.

    Runs under the member's balance lock. Returns what could be taken (``amount`` whenever the
    invariant holds; legacy balances without awards may leave less).
    """
    left = amount
    if first is not None and (first.remaining or 0) > 0:
        taken = min(first.remaining, left)
        first.remaining -= taken
        left -= taken
    while left > 0:
        awards = session.scalars(
            select(PointEntry)
            .where(
                PointEntry.member_id == member_id,
                PointEntry.status == "posted",
                PointEntry.remaining > 0,
            )
            .order_by(
                case((PointEntry.expires_on.is_(None), 1), else_=0),
                PointEntry.expires_on,
                PointEntry.posted_at,
                PointEntry.id,
            )
            .limit(50)
            .execution_options(populate_existing=True)
        ).all()
        if not awards:
            break
        for award in awards:
            taken = min(award.remaining, left)
            award.remaining -= taken
            left -= taken
            if left == 0:
                break
        session.flush()
    session.flush()
    return amount - left


def _refuse_overdraw(balance: MemberPointBalance, points: int) -> None:
    if balance.balance + points < 0:
        raise ServiceError(
            f"the member has {balance.balance} points, {-points} cannot be taken — "
            "the balance may not go below zero",
            code="insufficient_points",
            field="points",
            balance=balance.balance,
            requested=-points,
        )


def _main_card_id(session: Session, card_id: int, member_id: int) -> int:
    card = session.get(Card, card_id)
    if card is None or card.member_id != member_id:
        raise ServiceError(
            f"card id {card_id} is not a card of this member — choose one of the member's "
            "cards or leave the card empty",
            code="card_not_members",
            field="card",
        )
    if card.kind == "sub" and card.parent_card_id is not None:
        return card.parent_card_id
    return card.id


# -- reversal -----------------------------------------------------------------------------------
def reverse_entry(
    session: Session,
    actor: Actor,
    entry_id: int,
    *,
    reason: str,
    idempotency_key: str | None = None,
) -> tuple[PointEntry, bool]:
    """Reverse a posted entry once (see the module's reversal rule); the reversal and whether
    this call created it. A second reversal of the same entry returns the first one."""
    require_role(actor, ENTER_ROLES, "reverse points")
    reason = _required_reason(reason)
    key = idempotency_key or f"reversal:{entry_id}"
    existing = _by_key(session, key)
    if existing is not None:
        return _same_reversal(existing, entry_id), False
    original = session.get(PointEntry, entry_id)
    if original is None:
        raise NotFound(f"points entry {entry_id} does not exist", code="not_found", field="entry")
    balance = _locked_balance(session, original.member_id)
    session.refresh(original)
    existing = _by_key(session, key) or session.scalar(
        select(PointEntry).where(PointEntry.reverses_entry_id == entry_id).limit(1)
    )
    if existing is not None:
        return _same_reversal(existing, entry_id), False
    if original.status != "posted":
        raise Conflict(
            f"entry {entry_id} is {original.status}, not posted — reject a pending entry instead",
            code="not_posted",
            field="entry",
        )
    if original.event_type == "reversal" and original.reverses_entry_id is not None:
        raise Conflict(
            f"entry {entry_id} is itself a reversal and cannot be reversed",
            code="not_reversible",
            field="entry",
        )
    now = utcnow()
    entry = PointEntry(
        member_id=original.member_id,
        card_id=original.card_id,
        event_type="reversal",
        reference=original.reference or f"entry:{entry_id}",
        idempotency_key=key,
        reverses_entry_id=entry_id,
        created_at=now,
        created_by=actor.username,
    )
    if original.points < 0:
        entry.points = -original.points
        entry.status = "posted"
        entry.remaining = entry.points
        entry.expires_on = expiry_date(club_today(now))
        entry.posted_at = now
        entry.reason = reason
    else:
        taken = min(original.points, balance.balance)
        shortfall = original.points - taken
        note = f"{reason} (shortfall {shortfall} points already spent, not recovered)"
        entry.reason = note if shortfall else reason
        if taken > 0:
            entry.points = -taken
            entry.status = "posted"
            entry.posted_at = now
        else:  # nothing to take back: recorded, never posted (zero entries are not allowed)
            entry.points = -original.points
            entry.status = "rejected"
    entry.approved_by = actor.username
    inserted = _insert(session, entry)
    if inserted is not entry:
        return _same_reversal(inserted, entry_id), False
    if entry.status == "posted":
        _apply(session, balance, entry, now, first=original)
    return entry, True


def reversal_shortfall(session: Session, reversal: PointEntry) -> int:
    """Points of a reversed award that were already spent and not taken back (0 otherwise)."""
    if reversal.reverses_entry_id is None:
        return 0
    original = session.get(PointEntry, reversal.reverses_entry_id)
    if original is None or original.points < 0:
        return 0
    taken = -reversal.points if reversal.status == "posted" else 0
    return original.points - taken


def _same_reversal(entry: PointEntry, entry_id: int) -> PointEntry:
    if entry.reverses_entry_id != entry_id:
        raise Conflict(
            f"idempotency key {entry.idempotency_key!r} was already used for another entry; "
            "each event needs its own key",
            code="idempotency_key_reused",
            field="idempotency_key",
        )
    return entry


# -- approval -----------------------------------------------------------------------------------
def _pending_for_decision(
    session: Session, actor: Actor, entry_id: int, action: str
) -> tuple[PointEntry, MemberPointBalance]:
    require_role(actor, DECIDE_ROLES, action)
    entry = session.get(PointEntry, entry_id)
    if entry is None:
        raise NotFound(f"points entry {entry_id} does not exist", code="not_found", field="entry")
    balance = _locked_balance(session, entry.member_id)
    session.refresh(entry)
    return entry, balance


def _not_pending(entry: PointEntry) -> Conflict:
    return Conflict(
        f"entry {entry.id} is already {entry.status} (by {entry.approved_by}); "
        "only pending entries can be decided",
        code="not_pending",
        field="entry",
        status=entry.status,
    )


def approve_entry(session: Session, actor: Actor, entry_id: int) -> PointEntry:
    """Post a pending entry (reviewer/admin; never the person who created it).

    Approving the same entry again by the same approver returns it unchanged.
    """
    entry, balance = _pending_for_decision(session, actor, entry_id, "approve points")
    if entry.status != "pending":
        if entry.status == "posted" and entry.approved_by == actor.username:
            return entry
        raise _not_pending(entry)
    if entry.created_by == actor.username:
        raise NotAllowed(
            f"{actor.username} entered this adjustment and cannot also approve it — "
            "a second person must approve",
            code="same_person",
            field="entry",
        )
    _refuse_overdraw(balance, entry.points)
    now = utcnow()
    entry.status = "posted"
    entry.posted_at = now
    entry.approved_by = actor.username
    if entry.points > 0:
        entry.remaining = entry.points
        if entry.expires_on is None:
            entry.expires_on = expiry_date(club_today(now))
    _apply(session, balance, entry, now)
    return entry


def reject_entry(session: Session, actor: Actor, entry_id: int, *, reason: str) -> PointEntry:
    """Reject a pending entry with a reason (reviewer/admin); it never moves the balance."""
    reason = _required_reason(reason)
    entry, _ = _pending_for_decision(session, actor, entry_id, "reject points")
    if entry.status != "pending":
        if entry.status == "rejected" and entry.approved_by == actor.username:
            return entry
        raise _not_pending(entry)
    entry.status = "rejected"
    entry.approved_by = actor.username
    entry.reason = f"{entry.reason} — rejected: {reason}" if entry.reason else f"rejected: {reason}"
    session.flush()
    return entry


# -- manual -------------------------------------------------------------------------------------
@dataclass
class BatchProblem:
    card_no: str
    code: str
    message: str


@dataclass
class BatchPostResult:
    """What a batch posting did: the entries (new or already there) and each card's problem."""

    posted: list[PointEntry] = field(default_factory=list)
    problems: list[BatchProblem] = field(default_factory=list)
    already: int = 0  # entries of ``posted`` an earlier run had already made (same key)


def post_manual(
    session: Session,
    actor: Actor,
    *,
    member_no: str | None = None,
    card_no: str | None = None,
    points: int,
    reason: str,
    idempotency_key: str,
) -> PointEntry:
    """A clerk's manual adjustment for one member (by member number or card number).

    More than :data:`MANUAL_APPROVAL_THRESHOLD` points (either sign) creates a *pending* entry
    for a second person; a clerk's manual points per club-local day are capped at
    :data:`DAILY_MANUAL_CAP` (code ``daily_cap``; a retry of an entry already made is not
    counted again). The cap is checked under the member's lock, so one clerk posting to two
    different members at the very same moment could pass it by at most one adjustment. Points
    on a sub-card go to its main card.
    """
    require_role(actor, ENTER_ROLES, "adjust points")
    reason = _required_reason(reason)
    _check_arguments(points, "manual", idempotency_key, "posted")
    existing = _by_key(session, idempotency_key)
    member_id, card_id = _resolve_member(session, member_no, card_no)
    if existing is not None:
        return _same_event(existing, member_id, points, "manual")
    _locked_balance(session, member_id)
    existing = _by_key(session, idempotency_key)
    if existing is not None:
        return _same_event(existing, member_id, points, "manual")
    used = manual_points_today(session, actor.username)
    if used + abs(points) > DAILY_MANUAL_CAP:
        raise ServiceError(
            f"{actor.username} has entered {used} manual points today; {abs(points)} more would "
            f"pass the daily cap of {DAILY_MANUAL_CAP} — ask a colleague or a supervisor",
            code="daily_cap",
            field="points",
            used=used,
            cap=DAILY_MANUAL_CAP,
        )
    status = "pending" if abs(points) > MANUAL_APPROVAL_THRESHOLD else "posted"
    entry, _ = post_entry(
        session,
        member_id=member_id,
        points=points,
        event_type="manual",
        idempotency_key=idempotency_key,
        actor=actor,
        reason=reason,
        card_id=card_id,
        status=status,
    )
    return entry


def manual_points_today(session: Session, username: str, *, now: datetime | None = None) -> int:
    """Absolute manual points ``username`` entered today (club time), pending ones included."""
    today = club_today(now)
    total = session.scalar(
        select(func.coalesce(func.sum(func.abs(PointEntry.points)), 0)).where(
            PointEntry.event_type == "manual",
            PointEntry.created_by == username,
            PointEntry.status != "rejected",
            PointEntry.created_at >= club_day_start(today),
            PointEntry.created_at < club_day_start(today + timedelta(days=1)),
        )
    )
    return int(total or 0)


def post_batch(
    session: Session,
    actor: Actor,
    card_nos: Sequence[str],
    *,
    points: int,
    reason: str,
    batch_key: str,
) -> BatchPostResult:
    """The same manual adjustment for a list of card numbers, each once (key
    ``{batch_key}:{card_no}``); a bad card is reported and does not stop the others."""
    from operational.services.cards import clean_card_no

    require_role(actor, ENTER_ROLES, "adjust points")
    reason = _required_reason(reason)
    result = BatchPostResult()
    _hold_sqlite_write_lock(session)
    seen: set[str] = set()
    for raw in card_nos:
        number = clean_card_no(raw)
        if not number or number in seen:
            continue
        seen.add(number)
        key = f"{batch_key}:{number}"
        before = _by_key(session, key)
        try:
            with session.begin_nested():
                entry = post_manual(
                    session,
                    actor,
                    card_no=number,
                    points=points,
                    reason=reason,
                    idempotency_key=key,
                )
        except ServiceError as error:
            result.problems.append(BatchProblem(number, error.code, error.message))
            continue
        result.posted.append(entry)
        result.already += before is not None
    return result


def _resolve_member(
    session: Session, member_no: str | None, card_no: str | None
) -> tuple[int, int | None]:
    from operational.services.cards import clean_card_no, find_card

    if bool(member_no) == bool(card_no):
        raise ServiceError(
            "give either a member number or a card number",
            code="member_or_card",
            field="member_no",
        )
    if card_no:
        found = find_card(session, card_no)
        if found is None:
            raise NotFound(
                f"no card with number {clean_card_no(card_no)} — check the number",
                code="card_not_found",
                field="card_no",
            )
        if not found.usable:
            raise Conflict(
                f"card {found.card_no} is {found.status} (member {found.member_status}) — "
                "use the member's active card",
                code="card_not_active",
                field="card_no",
            )
        return found.card.member_id, found.card.id
    number = clean_card_no(member_no)
    member = session.scalar(select(Member).where(Member.member_no == number))
    if member is None:
        raise NotFound(
            f"no member with number {number} — check the number",
            code="member_not_found",
            field="member_no",
        )
    if member.status == "archived":
        raise Conflict(
            f"member {number} is archived — restore the member first",
            code="member_archived",
            field="member_no",
        )
    return member.id, None


def _required_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ServiceError("a reason is required", code="reason_required", field="reason")
    return text


# -- expiry -------------------------------------------------------------------------------------
def expire_points(session: Session, *, today: date, actor: Actor = SYSTEM) -> int:
    """Expire what is left of every award whose ``expires_on`` is before ``today``; how many
    expiry entries were written. Idempotent (key ``expiry:<award id>``)."""
    require_role(actor, ENTER_ROLES, "expire points")
    candidates = session.execute(
        select(PointEntry.id, PointEntry.member_id)
        .where(
            PointEntry.status == "posted",
            PointEntry.remaining > 0,
            PointEntry.expires_on < today,
        )
        .order_by(PointEntry.member_id, PointEntry.id)
    ).all()
    written = 0
    for award_id, member_id in candidates:
        balance = _locked_balance(session, member_id)
        award = session.get(PointEntry, award_id, populate_existing=True)
        assert award is not None
        amount = award.remaining or 0
        key = f"expiry:{award_id}"
        if amount <= 0 or _by_key(session, key) is not None:
            continue
        now = utcnow()
        entry = PointEntry(
            member_id=member_id,
            card_id=award.card_id,
            points=-amount,
            event_type="expiry",
            status="posted",
            reference=f"entry:{award_id}",
            reason=f"expired on {award.expires_on.isoformat()}",
            idempotency_key=key,
            created_at=now,
            created_by=actor.username,
            posted_at=now,
        )
        if _insert(session, entry) is not entry:
            continue
        _apply(session, balance, entry, now, first=award)
        written += 1
    return written


# -- reads --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MemberPoints:
    member_no: str
    name: str
    balance: int


def member_points(session: Session, member_no: str) -> MemberPoints | None:
    """A member's name and balance by member number (None when there is no such member)."""
    member = session.scalar(select(Member).where(Member.member_no == member_no))
    if member is None:
        return None
    return MemberPoints(member.member_no, member.name, balance_of(session, member.id))


def balance_of(session: Session, member_id: int) -> int:
    """The member's current balance (0 when nothing was ever posted)."""
    value = session.scalar(
        select(MemberPointBalance.balance).where(MemberPointBalance.member_id == member_id)
    )
    return value or 0


def earned_in_period(session: Session, member_id: int, *, today: date, days: int = 365) -> int:
    """Points earned (positive posted awards not reversed since) in the ``days`` club-local
    days ending with ``today``. Tiers qualify on this, never on the balance."""
    return earned_by_member(session, today=today, days=days, member_ids=[member_id]).get(
        member_id, 0
    )


def earned_by_member(
    session: Session, *, today: date, days: int = 365, member_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """:func:`earned_in_period` of many members at once (members with nothing earned omitted).

    An award that was reversed (a returned purchase, a correction) earned nothing: it does not
    count, whatever part of it the reversal could take back.
    """
    reversal = aliased(PointEntry)
    statement = (
        select(PointEntry.member_id, func.sum(PointEntry.points))
        .where(
            PointEntry.status == "posted",
            PointEntry.points > 0,
            PointEntry.event_type.not_in(sorted(NOT_EARNED)),
            ~exists().where(reversal.reverses_entry_id == PointEntry.id),
            PointEntry.posted_at >= club_day_start(today - timedelta(days=days - 1)),
            PointEntry.posted_at < club_day_start(today + timedelta(days=1)),
        )
        .group_by(PointEntry.member_id)
    )
    if member_ids is not None:
        statement = statement.where(PointEntry.member_id.in_(list(member_ids)))
    return {member_id: int(total) for member_id, total in session.execute(statement)}


@dataclass(frozen=True)
class PointHistoryRow:
    id: int
    points: int
    event_type: str
    status: str
    reference: str | None
    reason: str | None
    remaining: int | None
    expires_on: date | None
    reverses_entry_id: int | None
    card_no: str | None
    created_at: datetime
    created_by: str | None
    posted_at: datetime | None
    approved_by: str | None


def points_history(session: Session, member_no: str, *, limit: int = 100) -> list[PointHistoryRow]:
    """A member's entries, newest first (all statuses)."""
    from operational.services.cards import clean_card_no

    number = clean_card_no(member_no)
    member_id = session.scalar(select(Member.id).where(Member.member_no == number))
    if member_id is None:
        raise NotFound(
            f"no member with number {number}", code="member_not_found", field="member_no"
        )
    rows = session.execute(
        select(PointEntry, Card.card_no)
        .outerjoin(Card, Card.id == PointEntry.card_id)
        .where(PointEntry.member_id == member_id)
        .order_by(PointEntry.created_at.desc(), PointEntry.id.desc())
        .limit(limit)
    ).all()
    return [
        PointHistoryRow(
            id=e.id,
            points=e.points,
            event_type=e.event_type,
            status=e.status,
            reference=e.reference,
            reason=e.reason,
            remaining=e.remaining,
            expires_on=e.expires_on,
            reverses_entry_id=e.reverses_entry_id,
            card_no=card_no,
            created_at=e.created_at,
            created_by=e.created_by,
            posted_at=e.posted_at,
            approved_by=e.approved_by,
        )
        for e, card_no in rows
    ]


# -- helpers ------------------------------------------------------------------------------------
def _check_arguments(points: int, event_type: str, idempotency_key: str, status: str) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise ServiceError(
            f"points must be a non-zero whole number, got {points!r}",
            code="invalid_points",
            field="points",
        )
    if event_type not in POINT_EVENT_TYPES:
        raise ServiceError(
            f"{event_type!r} is not a points event; use one of: {', '.join(POINT_EVENT_TYPES)}",
            code="unknown_event_type",
            field="event_type",
        )
    if status not in NEW_ENTRY_STATUSES:
        raise ServiceError(
            f"a new entry is {' or '.join(NEW_ENTRY_STATUSES)}, not {status!r}",
            code="invalid_status",
            field="status",
        )
    if not idempotency_key or len(idempotency_key) > 120:
        raise ServiceError(
            "an idempotency key of 1 to 120 characters naming the event is required",
            code="invalid_idempotency_key",
            field="idempotency_key",
        )


def _by_key(session: Session, idempotency_key: str) -> PointEntry | None:
    return session.scalar(select(PointEntry).where(PointEntry.idempotency_key == idempotency_key))


def _same_event(entry: PointEntry, member_id: int, points: int, event_type: str) -> PointEntry:
    if (entry.member_id, entry.points, entry.event_type) != (member_id, points, event_type):
        raise Conflict(
            f"idempotency key {entry.idempotency_key!r} was already used for another entry "
            f"({entry.points} {entry.event_type} points of member id {entry.member_id}); "
            "each event needs its own key",
            code="idempotency_key_reused",
            field="idempotency_key",
        )
    return entry


def _locked_balance(session: Session, member_id: int) -> MemberPointBalance:
    """The member's balance row, locked until the transaction ends; created (0) when missing."""
    _hold_sqlite_write_lock(session)
    statement = (
        select(MemberPointBalance)
        .where(MemberPointBalance.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = session.scalar(statement)
    if row is None:
        try:
            with session.begin_nested():  # a concurrent first posting may create it too
                session.add(
                    MemberPointBalance(
                        member_id=member_id, balance=0, earned_total=0, updated_at=utcnow()
                    )
                )
        except IntegrityError:
            pass
        row = session.scalar(statement)
        assert row is not None
    return row


def _hold_sqlite_write_lock(session: Session) -> None:
    """SQLite ignores FOR UPDATE: open the transaction with its write lock instead.

    This also makes the SAVEPOINTs above nest inside a real transaction: the sqlite3 driver
    starts its transaction lazily, and a SAVEPOINT issued first would commit on release.
    """
    begin_sqlite_transaction(session, write_lock=True)


@dataclass(frozen=True)
class PendingEntryRow:
    """A pending entry waiting for a reviewer, with its member."""

    id: int
    member_no: str
    member_name: str
    points: int
    event_type: str
    reason: str | None
    card_no: str | None
    created_by: str | None
    created_at: datetime


def pending_entries(session: Session, *, limit: int = 200) -> list[PendingEntryRow]:
    """Entries waiting for approval (:func:`approve_entry` / :func:`reject_entry`), oldest
    first."""
    rows = session.execute(
        select(PointEntry, Member.member_no, Member.name, Card.card_no)
        .join(Member, Member.id == PointEntry.member_id)
        .outerjoin(Card, Card.id == PointEntry.card_id)
        .where(PointEntry.status == "pending")
        .order_by(PointEntry.created_at, PointEntry.id)
        .limit(limit)
    ).all()
    return [
        PendingEntryRow(
            id=e.id,
            member_no=member_no,
            member_name=name,
            points=e.points,
            event_type=e.event_type,
            reason=e.reason,
            card_no=card_no,
            created_by=e.created_by,
            created_at=e.created_at,
        )
        for e, member_no, name, card_no in rows
    ]
