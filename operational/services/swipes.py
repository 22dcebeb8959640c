"""Posting card-reader swipes (刷卡) through the operational services, exactly once.

A reader spools each accepted swipe (``devices.spool``); the poster (``devices.poster``) hands
every spooled swipe to :func:`post_swipe`, which does what the reader's purpose says, through the
same services the staff use:

- ``activity_checkin`` (target: an activity code): ``activities.record_attendance`` with
  ``source="reader"`` — attendance and the activity's points, once per member;
- ``merchant_counter`` (target: a merchant service id, ``12`` or ``service:12``, or a merchant
  code: the merchant's service running on the swipe's club day, the latest started): ``merchants.record_service_use`` with
  ``source="reader"``;
- ``points_award`` (target: a rule code, e.g. a merchant code, or empty):
  ``point_rules.award_for_swipe`` — the ``swipe`` rule's points;
- no purpose: the swipe is only recorded (it still reaches the warehouse from the spool).

Exactly once. Each swipe's outcome is a :class:`~operational.models.SwipePosting` row keyed by the
swipe id, written in the same transaction as what it posted; the services' own idempotency keys
(``swipe:<swipe id>``) make a replay after a crash between the two impossible to double. A swipe
already posted returns its stored outcome and does nothing.

Nothing is dropped: a swipe the services refuse (unknown card, lost or cancelled card, a member
who left, an activity not running, a service out of its period…) is stored as ``refused`` with
the service's code and message, and :func:`refused_swipes` lists them for the readers page.
Errors that are not the swipe's fault (the database is down) propagate: the poster retries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import CardReader, SwipePosting
from operational.models.base import utcnow
from operational.services import activities, merchants, point_rules
from operational.services.cards import find_card
from operational.services.common import ENTER_ROLES, Actor, ServiceError, require_role
from operational.services.points import CLUB_TIMEZONE

PURPOSES = ("activity_checkin", "merchant_counter", "points_award")


@dataclass(frozen=True)
class SwipeOutcome:
    swipe_id: str
    reader_id: str
    card_no: str | None
    purpose: str | None
    target: str | None
    swiped_at: datetime
    outcome: str  # posted | already | recorded | refused
    code: str | None
    message: str | None
    params: dict[str, object]  # the refusal's parameters, to word it in the reader's language
    member_no: str | None
    posted_at: datetime


def reader_actor(reader_id: str) -> Actor:
    """The actor a reader's postings are recorded under (``reader:<id>``)."""
    return Actor(f"reader:{reader_id}", "staff")


def post_swipe(session: Session, actor: Actor, swipe: Mapping[str, object]) -> SwipeOutcome:
    """Post one spooled swipe (a spool line: ``swipe_id``, ``reader_id``, ``card_no``,
    ``swiped_at``, ``purpose``, ``target``) once; return what happened.

    Runs in the caller's transaction; a refusal is part of the outcome, not an exception.
    """
    require_role(actor, ENTER_ROLES, "post card-reader swipes")
    # One transaction for what is posted and its outcome row (SQLite: take the write lock now,
    # so the savepoint below cannot start, and commit, a transaction of its own).
    begin_sqlite_transaction(session, write_lock=True)
    swipe_id = str(swipe["swipe_id"])
    done = session.get(SwipePosting, swipe_id)
    if done is not None:
        return _outcome(done)
    card_no = _text(swipe.get("card_no"))
    purpose = _text(swipe.get("purpose"))
    target = _text(swipe.get("target"))
    swiped_at = _when(swipe["swiped_at"])
    key = f"swipe:{swipe_id}"
    outcome, code, message, params = "posted", None, None, None
    try:
        with session.begin_nested():
            if purpose is None:
                outcome = "recorded"
            elif not card_no:
                raise ServiceError("the reader sent no card number", code="unknown_card")
            elif purpose == "activity_checkin":
                result = activities.record_attendance(
                    session, actor, target or "", card_no, source="reader",
                    attended_at=swiped_at, idempotency_key=key,
                )  # fmt: skip
                outcome = "posted" if result.status == "recorded" else "already"
            elif purpose == "merchant_counter":
                merchants.record_service_use(
                    session, actor, service_id=_service_id(session, target, swiped_at),
                    member_or_card=card_no,
                    used_at=swiped_at, source="reader", idempotency_key=key,
                )  # fmt: skip
            elif purpose == "points_award":
                point_rules.award_for_swipe(
                    session, actor, card_number=card_no, swipe_id=swipe_id, target=target
                )
            else:
                raise ServiceError(
                    f"the reader's purpose {purpose!r} is not one of {', '.join(PURPOSES)}",
                    code="unknown_purpose",
                )
    except ServiceError as error:
        outcome, code, message = "refused", error.code, error.message[:300]
        params = json.dumps(error.params, ensure_ascii=False, default=str)
    found = find_card(session, card_no) if card_no else None
    posting = SwipePosting(
        swipe_id=swipe_id,
        reader_id=str(swipe.get("reader_id") or swipe_id.rsplit("-", 1)[0]),
        card_no=card_no,
        purpose=purpose,
        target=target,
        swiped_at=swiped_at,
        outcome=outcome,
        code=code,
        message=message,
        params=params,
        member_no=found.member_no if found else None,
        posted_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(posting)
            session.flush()
    except IntegrityError:  # another poster stored this swipe first: its outcome stands
        existing = session.get(SwipePosting, swipe_id)
        if existing is None:
            raise
        return _outcome(existing)
    return _outcome(posting)


def posted_swipe_ids(session: Session, swipe_ids: Iterable[str]) -> set[str]:
    """Which of these swipes have an outcome already."""
    ids = list(swipe_ids)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            session.scalars(select(SwipePosting.swipe_id).where(SwipePosting.swipe_id.in_(chunk)))
        )
    return found


def refused_swipes(
    session: Session, *, reader_id: str | None = None, limit: int = 200
) -> list[SwipeOutcome]:
    """The latest refused swipes (unknown, lost or cancelled cards…), newest first."""
    query = select(SwipePosting).where(SwipePosting.outcome == "refused")
    if reader_id:
        query = query.where(SwipePosting.reader_id == reader_id)
    rows = session.scalars(query.order_by(SwipePosting.swiped_at.desc()).limit(limit))
    return [_outcome(row) for row in rows]


def outcome_counts(session: Session) -> dict[str, dict[str, int]]:
    """Per reader: how many swipes had each outcome."""
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(SwipePosting.reader_id, SwipePosting.outcome, func.count()).group_by(
            SwipePosting.reader_id, SwipePosting.outcome
        )
    )
    for reader_id, outcome, count in rows:
        counts.setdefault(reader_id, {})[outcome] = count
    return counts


def _service_id(session: Session, target: str | None, swiped_at: datetime) -> int:
    """A merchant counter reader's target: a service id (``12``, ``service:12``) or a merchant
    code (its service running on the swipe's club day; the latest started wins)."""
    text = (target or "").strip()
    number = text.removeprefix("service:")
    if number.isdigit():
        return int(number)
    if not text:
        raise ServiceError("the reader has no target service", code="bad_reader_target")
    day = swiped_at.astimezone(CLUB_TIMEZONE).date()
    running = merchants.search_services(session, active_on=day, merchant_code=text)
    if not running:
        raise ServiceError(
            f"merchant {text} has no service running on {day.isoformat()}",
            code="no_running_service",
        )
    return max(running, key=lambda row: (row.starts_on, row.service_id)).service_id


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _when(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _outcome(row: SwipePosting) -> SwipeOutcome:
    return SwipeOutcome(
        swipe_id=row.swipe_id,
        reader_id=row.reader_id,
        card_no=row.card_no,
        purpose=row.purpose,
        target=row.target,
        swiped_at=row.swiped_at,
        outcome=row.outcome,
        code=row.code,
        message=row.message,
        params=json.loads(row.params) if row.params else {},
        member_no=row.member_no,
        posted_at=row.posted_at,
    )


@dataclass(frozen=True)
class ReaderRow:
    reader_id: str
    name: str
    location: str | None
    protocol: str
    purpose: str | None
    target: str | None
    active: bool
    last_seen_at: datetime | None
    last_swipe_at: datetime | None
    outcomes: dict[str, int]


def list_readers(session: Session) -> list[ReaderRow]:
    """Every reader: the registered ones (``card_readers``) and any that posted swipes."""
    counts = outcome_counts(session)
    last = dict(
        session.execute(
            select(SwipePosting.reader_id, func.max(SwipePosting.swiped_at)).group_by(
                SwipePosting.reader_id
            )
        ).all()
    )
    rows = []
    registered = session.scalars(select(CardReader).order_by(CardReader.reader_id)).all()
    for reader in registered:
        rows.append(
            ReaderRow(
                reader_id=reader.reader_id,
                name=reader.name,
                location=reader.location,
                protocol=reader.protocol,
                purpose=reader.purpose,
                target=reader.target,
                active=reader.active,
                last_seen_at=reader.last_seen_at,
                last_swipe_at=last.get(reader.reader_id),
                outcomes=counts.get(reader.reader_id, {}),
            )
        )
    known = {reader.reader_id for reader in registered}
    for reader_id in sorted(set(counts) - known):
        rows.append(
            ReaderRow(
                reader_id=reader_id, name=reader_id, location=None, protocol="", purpose=None,
                target=None, active=True, last_seen_at=None, last_swipe_at=last.get(reader_id),
                outcomes=counts[reader_id],
            )
        )  # fmt: skip
    return rows
