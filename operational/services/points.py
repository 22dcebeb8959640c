"""The points ledger (积分): posting one entry, exactly once, never below zero.

Every change of a member's points is a :class:`PointEntry` with a triggering event and an
idempotency key that names the event (``opening:M00000012``, ``purchase:123``, ``swipe:…``). A
retry, a re-run import or two workers racing on the same event post it once: the key is unique
in the database, and the second caller gets the first entry back.

The member's :class:`MemberPointBalance` row is the lock that serialises postings for one member
(``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the database write lock, taken up front), so a
balance never goes negative however many spendings run at once, and balance and ledger change in
one transaction.

Issue 4 extends this module: spending oldest points first (consuming ``remaining`` of earlier
awards), expiry, and approval of pending entries. Until then a negative entry lowers the balance
but does not consume ``remaining``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.models import Card, Member, MemberPointBalance, PointEntry
from operational.models.base import utcnow
from operational.models.cards_points import POINT_EVENT_TYPES
from operational.services.common import Actor, Conflict, NotFound, ServiceError

#: Statuses an entry can be created with; "rejected" is only reached by reviewing a pending one.
NEW_ENTRY_STATUSES = ("posted", "pending")
#: Positive entries of these types are not earnings (they give back what was spent or taken).
NOT_EARNED = frozenset({"reversal"})


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
    ``remaining``); a pending one waits for approval and moves nothing. A posting that would take
    the balance below zero is refused with ``ServiceError`` code ``insufficient_points``, and
    nothing is written.
    """
    _check_arguments(points, event_type, idempotency_key, status)
    existing = _by_key(session, idempotency_key)
    if existing is not None:
        return _same_event(existing, member_id, points, event_type), False
    if session.get(Member, member_id) is None:
        raise NotFound(f"member id {member_id} does not exist", code="not_found", field="member")
    if card_id is not None:
        card = session.get(Card, card_id)
        if card is None or card.member_id != member_id:
            raise ServiceError(
                f"card id {card_id} is not a card of this member — choose one of the member's "
                "cards or leave the card empty",
                code="card_not_members",
                field="card",
            )

    balance = _locked_balance(session, member_id)
    # Another transaction may have posted this key while we waited for the lock.
    existing = _by_key(session, idempotency_key)
    if existing is not None:
        return _same_event(existing, member_id, points, event_type), False

    posted = status == "posted"
    if posted and balance.balance + points < 0:
        raise ServiceError(
            f"the member has {balance.balance} points, {-points} cannot be taken — "
            "the balance may not go below zero",
            code="insufficient_points",
            field="points",
            balance=balance.balance,
            requested=-points,
        )
    now = utcnow()
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
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        existing = _by_key(session, idempotency_key)
        if existing is None:
            raise
        return _same_event(existing, member_id, points, event_type), False
    if posted:
        balance.balance += points
        if points > 0 and event_type not in NOT_EARNED:
            balance.earned_total += points
        balance.updated_at = now
        session.flush()
    return entry, True


def balance_of(session: Session, member_id: int) -> int:
    """The member's current balance (0 when nothing was ever posted)."""
    value = session.scalar(
        select(MemberPointBalance.balance).where(MemberPointBalance.member_id == member_id)
    )
    return value or 0


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
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    # A no-op write keeps the lock semantics explicit even inside an open deferred transaction.
    session.execute(
        update(MemberPointBalance)
        .where(MemberPointBalance.member_id == -1)
        .values(balance=MemberPointBalance.balance)
        .execution_options(synchronize_session=False)
    )
