"""Complaints (投诉): intake, handling steps, closing, service levels, overdue, search.

Rules (DOMAIN.md "Complaints"; issue 5 item 1):

- **Intake** (:func:`log_complaint`; staff, reviewers, admins). Channel and type are dictionary
  codes (``complaint_channel``, ``complaint_type``); content and receiver are required (the
  receiver defaults to the signed-in user); importance is ``low``/``normal``/``high``/``urgent``
  (default ``normal``). The member is optional (an anonymous caller), but a member number or card
  number that is given must resolve (``complaint_member_unknown``); a card number names its
  member, a member number records the member's active main card. ``received_at`` defaults to now;
  a naive time is club-local (Asia/Shanghai); it may not be in the future. Complaint numbers are
  ``C`` + 8 digits (``common.next_number``).
- **Service levels** (:func:`set_service_level`; managers, admins). ``due_at = received_at +
  due_hours`` of the complaint's importance, fixed when the complaint is logged: changing a level
  changes the due time of complaints logged afterwards only, never of those already logged.
- **States** pending → in progress → done. The first handling step (:func:`add_step`) moves a
  pending complaint to in progress; :func:`close_complaint` closes an in-progress one with the
  member's satisfaction (1–5). "Done" closes the record; it does not claim the business problem
  is solved. Refused transitions (``Conflict``): a step or a close on a done complaint
  (``complaint_closed`` / ``complaint_already_closed``, naming who closed it and when), closing
  a pending one (``complaint_not_in_progress``: add a handling step first). There is no reopen.
- **Overdue**: not done and now > ``due_at`` (:func:`is_overdue`; strictly after, compared as
  instants, so time zones do not matter). A done complaint closed after its due time is
  "closed late" (:func:`is_closed_late`), not overdue.
- **Points**: closing a member's complaint awards the points the active ``complaint`` rule gives
  (``point_rules.award_by_rule``, match code = the complaint type, key ``complaint:{no}``), once;
  pending when the rule needs approval; nothing when no rule is active.
- **Concurrency**: steps and closing lock the complaint row (``FOR UPDATE``; on SQLite the
  database write lock) and check the state after the lock, so of two clerks closing at once one
  succeeds and the other is told who closed it. Every change bumps the complaint's ``version``;
  a caller passing ``expected_version`` (what its page showed) is refused with
  ``complaint_changed`` when someone changed the complaint since.
- **Search** (:func:`search_complaints`): every filter given must hold. Text search matches
  every word of the query in the content, any case; words of 5 or more characters also match
  with one typo (rapidfuzz partial ratio), checked on the rows the other filters leave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rapidfuzz import fuzz
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from operational.db import begin_sqlite_transaction
from operational.dictionary_defaults import DEFAULT_SERVICE_LEVELS
from operational.models import (
    Complaint,
    ComplaintServiceLevel,
    ComplaintStep,
    Member,
    PointEntry,
    Purchase,
)
from operational.models.base import utcnow
from operational.models.engagement import COMPLAINT_IMPORTANCE
from operational.services import point_rules, points
from operational.services.cards import active_main_card, clean_card_no, find_card
from operational.services.common import (
    ENTER_ROLES,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ValidationFailed,
    check_code,
    next_number,
    require_role,
)
from operational.validation import normalise_text

CLUB_ZONE = points.CLUB_TIMEZONE
#: Who may change the service levels.
LEVEL_ROLES = frozenset({"manager", "admin"})
#: Importance from most to least pressing (the order pages list them in).
IMPORTANCE_ORDER = ("urgent", "high", "normal", "low")
MAX_DUE_HOURS = 24 * 366
MAX_CONTENT = 4000
MAX_SHORT = 60  # receiver, handler, department (the columns' width)
#: A typed time up to this far ahead of the server's clock is not "in the future" (clock skew).
FUTURE_TOLERANCE = timedelta(minutes=2)
#: The department of the step that records the note typed when closing.
CLOSING_DEPARTMENT = "(closing)"
#: Rows the fuzzy (one typo) text match looks at, newest first, after the other filters.
FUZZY_POOL = 5000
FUZZY_MIN_WORD = 5  # shorter words with a typo match too much by chance
SEARCH_LIMIT = 200
RECENT_PURCHASES = 5
EARLIER_COMPLAINTS = 10


# -- returned types -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ComplaintRow:
    """One complaint as lists show it. ``overdue``/``closed_late`` are as of the call."""

    complaint_no: str
    received_at: datetime
    member_no: str | None
    member_name: str | None
    card_no: str | None
    channel: str
    complaint_type: str
    content: str
    receiver: str
    importance: str
    due_at: datetime
    status: str
    closed_at: datetime | None
    closed_by: str | None
    satisfaction: int | None
    version: int
    steps: int
    last_handled_at: datetime | None
    overdue: bool
    closed_late: bool


@dataclass(frozen=True)
class StepRow:
    handled_at: datetime
    handler: str
    department: str
    opinion: str
    expected_completion: datetime | None
    is_closing_note: bool  # the note typed when the complaint was closed


@dataclass(frozen=True)
class PurchaseBrief:
    purchase_no: str
    purchased_at: datetime
    product: str
    amount: Decimal
    paid_amount: Decimal


@dataclass(frozen=True)
class EarlierComplaint:
    complaint_no: str
    received_at: datetime
    complaint_type: str
    status: str
    satisfaction: int | None


@dataclass(frozen=True)
class MemberContext:
    """What the desk wants to know about the member while handling a complaint."""

    member_no: str
    name: str
    tier: str
    status: str
    points_balance: int
    card_no: str | None  # the card the lookup found, else the member's active main card
    recent_purchases: tuple[PurchaseBrief, ...]  # newest first, at most 5
    complaints: tuple[EarlierComplaint, ...]  # the member's other complaints, newest first


@dataclass(frozen=True)
class AwardedPoints:
    points: int
    status: str  # posted | pending | rejected


@dataclass(frozen=True)
class ComplaintDetail:
    row: ComplaintRow
    steps: tuple[StepRow, ...]  # oldest first
    member: MemberContext | None  # None for an anonymous complaint
    points: AwardedPoints | None  # the rule's award on closing, when there is one


@dataclass(frozen=True)
class ServiceLevelRow:
    importance: str
    due_hours: int
    updated_at: datetime | None
    updated_by: str | None


@dataclass(frozen=True)
class OpenCount:
    """Open complaints of one type, split by overdue."""

    complaint_type: str
    overdue: bool
    count: int


# -- service levels -----------------------------------------------------------------------------
def service_levels(session: Session) -> list[ServiceLevelRow]:
    """The level of every importance, most pressing first (a missing one: the default)."""
    stored = {level.importance: level for level in session.scalars(select(ComplaintServiceLevel))}
    rows = []
    for importance in IMPORTANCE_ORDER:
        level = stored.get(importance)
        rows.append(
            ServiceLevelRow(importance, level.due_hours, level.updated_at, level.updated_by)
            if level is not None
            else ServiceLevelRow(importance, DEFAULT_SERVICE_LEVELS[importance], None, None)
        )
    return rows


def set_service_level(
    session: Session, actor: Actor, importance: str, due_hours: int
) -> ServiceLevelRow:
    """Set the hours a complaint of ``importance`` may stay open (managers, admins).

    Only complaints logged afterwards get due times from the new level; complaints already
    logged keep theirs (their due time is a promise made when they were received).
    """
    require_role(actor, LEVEL_ROLES, "change complaint service levels")
    problems: list[Problem] = []
    if importance not in COMPLAINT_IMPORTANCE:
        problems.append(_importance_problem(importance))
    if (
        isinstance(due_hours, bool)
        or not isinstance(due_hours, int)
        or not 1 <= due_hours <= MAX_DUE_HOURS
    ):
        problems.append(
            Problem(
                "due_hours",
                "complaint_due_hours",
                f"the hours are a whole number from 1 to {MAX_DUE_HOURS}",
                {"low": 1, "high": MAX_DUE_HOURS, "value": due_hours},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    level = session.get(ComplaintServiceLevel, importance)
    if level is None:
        level = ComplaintServiceLevel(importance=importance)
        session.add(level)
    level.due_hours = due_hours
    level.updated_at = utcnow()
    level.updated_by = actor.username
    session.flush()
    return ServiceLevelRow(importance, level.due_hours, level.updated_at, level.updated_by)


def due_hours_for(session: Session, importance: str) -> int:
    level = session.get(ComplaintServiceLevel, importance)
    return level.due_hours if level is not None else DEFAULT_SERVICE_LEVELS[importance]


# -- overdue ------------------------------------------------------------------------------------
def is_overdue(complaint: Complaint | ComplaintRow, now: datetime | None = None) -> bool:
    """Not done and ``now`` strictly after the due time (a naive ``now`` is club-local)."""
    now = _aware(now) if now is not None else utcnow()
    return complaint.status != "done" and now > _aware(complaint.due_at)


def is_closed_late(complaint: Complaint | ComplaintRow) -> bool:
    """Done, and closed after its due time."""
    return (
        complaint.status == "done"
        and complaint.closed_at is not None
        and _aware(complaint.closed_at) > _aware(complaint.due_at)
    )


# -- intake -------------------------------------------------------------------------------------
def log_complaint(
    session: Session, actor: Actor, data: Mapping[str, object], *, now: datetime | None = None
) -> ComplaintRow:
    """Log a new complaint (see the module docstring); every bad field is reported at once.

    ``data``: ``member_or_card`` (or ``member_no`` / ``card_no``; all optional), ``channel``,
    ``complaint_type``, ``content``, ``receiver`` (default: the actor), ``received_at``
    (datetime or text such as ``2026-03-01 14:30``; naive = club-local; default now),
    ``importance`` (default ``normal``). The caller commits.
    """
    require_role(actor, ENTER_ROLES, "log complaints")
    now = _aware(now) if now is not None else utcnow()
    problems: list[Problem] = []

    number = normalise_text(
        data.get("member_or_card") or data.get("member_no") or data.get("card_no")
    )
    member = None
    card_no = None
    if number:
        found = _find_member(session, number)
        if found is None:
            problems.append(_member_unknown(number))
        else:
            member, card_no = found
    for category, field in (("complaint_channel", "channel"), ("complaint_type", "complaint_type")):
        if problem := check_code(session, category, normalise_text(data.get(field)), field):
            problems.append(problem)
    content = _text(data.get("content"), "content", problems, limit=MAX_CONTENT, keep_lines=True)
    receiver = _text(data.get("receiver") or actor.username, "receiver", problems, limit=MAX_SHORT)
    importance = normalise_text(data.get("importance")) or "normal"
    if importance not in COMPLAINT_IMPORTANCE:
        problems.append(_importance_problem(importance))
    received_at = _time(data.get("received_at"), "received_at", problems, default=now)
    if received_at is not None and received_at > now + FUTURE_TOLERANCE:
        problems.append(_future_problem("received_at", received_at))
    if problems:
        raise ValidationFailed(problems)
    assert received_at is not None and content is not None and receiver is not None

    begin_sqlite_transaction(session, write_lock=True)
    complaint = Complaint(
        complaint_no=next_number(session, "complaint_no", Complaint.complaint_no, prefix="C"),
        member_id=member.id if member is not None else None,
        card_no=card_no,
        channel=normalise_text(data.get("channel")),
        complaint_type=normalise_text(data.get("complaint_type")),
        content=content,
        receiver=receiver,
        received_at=received_at,
        importance=importance,
        due_at=received_at + timedelta(hours=due_hours_for(session, importance)),
        status="pending",
    )
    session.add(complaint)
    session.flush()
    return _rows(session, [complaint], now)[0]


def member_context(
    session: Session, actor: Actor, member_or_card: str, *, exclude: str | None = None
) -> MemberContext | None:
    """The member a member or card number names, with tier, points, recent purchases and their
    complaints (but ``exclude``); None when the number names no one."""
    require_role(actor, ENTER_ROLES, "view members' complaints")
    found = _find_member(session, member_or_card)
    if found is None:
        return None
    member, card_no = found
    return _context(session, member, card_no, exclude=exclude)


# -- handling -----------------------------------------------------------------------------------
def add_step(
    session: Session,
    actor: Actor,
    complaint_no: str,
    *,
    handler: str,
    department: str,
    opinion: str,
    handled_at: object = None,
    expected_completion: object = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ComplaintRow:
    """Record one handling step; the first one moves a pending complaint to in progress.

    ``handled_at`` defaults to now (naive = club-local; not in the future, not before the
    complaint was received); ``expected_completion`` is optional and not before the step.
    Refused on a done complaint (``complaint_closed``). The caller commits.
    """
    require_role(actor, ENTER_ROLES, "handle complaints")
    now = _aware(now) if now is not None else utcnow()
    problems: list[Problem] = []
    handler_text = _text(handler, "handler", problems, limit=MAX_SHORT)
    department_text = _text(department, "department", problems, limit=MAX_SHORT)
    opinion_text = _text(opinion, "opinion", problems, limit=MAX_CONTENT, keep_lines=True)
    when = _time(handled_at, "handled_at", problems, default=now)
    expected = _time(expected_completion, "expected_completion", problems, default=None)
    if when is not None and when > now + FUTURE_TOLERANCE:
        problems.append(_future_problem("handled_at", when))
    if when is not None and expected is not None and expected < when:
        problems.append(
            Problem(
                "expected_completion",
                "complaint_expected_before_step",
                "the expected completion is on or after the step's time",
            )
        )
    complaint = _locked(session, complaint_no)
    if complaint.status == "done":
        raise _closed_conflict(complaint, "complaint_closed", "no more steps can be added")
    _check_version(complaint, expected_version)
    # staff type minutes: a step in the minute the complaint was received is not before it
    if when is not None and when < complaint.received_at.replace(second=0, microsecond=0):
        problems.append(
            Problem(
                "handled_at",
                "complaint_step_before_receipt",
                "a step cannot be before the complaint was received "
                f"({_local_text(complaint.received_at)})",
                {"received_at": _local_text(complaint.received_at)},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    session.add(
        ComplaintStep(
            complaint_id=complaint.id,
            handled_at=when,
            handler=handler_text,
            department=department_text,
            opinion=opinion_text,
            expected_completion=expected,
        )
    )
    if complaint.status == "pending":
        complaint.status = "in_progress"
    else:
        flag_modified(complaint, "status")  # every change is a new version
    session.flush()
    return _rows(session, [complaint], now)[0]


def close_complaint(
    session: Session,
    actor: Actor,
    complaint_no: str,
    *,
    satisfaction: int,
    note: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ComplaintRow:
    """Close an in-progress complaint with the member's satisfaction (1–5); award rule points.

    A ``note`` is kept as a last handling step (department :data:`CLOSING_DEPARTMENT`, handler
    the actor). Refused: closing a pending complaint (``complaint_not_in_progress``), closing a
    done one (``complaint_already_closed``, naming who closed it), a stale ``expected_version``
    (``complaint_changed``). The caller commits.
    """
    require_role(actor, ENTER_ROLES, "close complaints")
    now = _aware(now) if now is not None else utcnow()
    problems: list[Problem] = []
    if isinstance(satisfaction, bool) or not isinstance(satisfaction, int):
        problems.append(
            Problem("satisfaction", "required", "choose the member's satisfaction from 1 to 5", {})
        )
    elif not 1 <= satisfaction <= 5:
        problems.append(
            Problem(
                "satisfaction",
                "complaint_satisfaction_range",
                f"satisfaction is from 1 to 5, got {satisfaction}",
                {"value": satisfaction},
            )
        )
    note_text = None
    if note is not None and str(note).strip():
        note_text = _text(str(note), "note", problems, limit=MAX_CONTENT, keep_lines=True)
    complaint = _locked(session, complaint_no)
    if complaint.status == "done":
        raise _closed_conflict(complaint, "complaint_already_closed", "it cannot be closed again")
    _check_version(complaint, expected_version)
    if complaint.status == "pending":
        raise Conflict(
            f"complaint {complaint.complaint_no} has no handling step yet; "
            "record at least one step before closing it",
            code="complaint_not_in_progress",
            field="complaint_no",
            complaint_no=complaint.complaint_no,
        )
    if problems:
        raise ValidationFailed(problems)
    if note_text:
        session.add(
            ComplaintStep(
                complaint_id=complaint.id,
                handled_at=now,
                handler=actor.username[:MAX_SHORT],
                department=CLOSING_DEPARTMENT,
                opinion=note_text,
            )
        )
    complaint.status = "done"
    complaint.closed_at = now
    complaint.closed_by = actor.username
    complaint.satisfaction = satisfaction
    session.flush()
    if complaint.member_id is not None:
        card = active_main_card(session, complaint.member_id)
        point_rules.award_by_rule(
            session,
            actor,
            event_type="complaint",
            member_id=complaint.member_id,
            idempotency_key=f"complaint:{complaint.complaint_no}",
            reference=f"complaint:{complaint.complaint_no}",
            match_code=complaint.complaint_type,
            card_id=card.id if card is not None else None,
            reason=f"complaint {complaint.complaint_no} closed",
        )
    return _rows(session, [complaint], now)[0]


# -- reading ------------------------------------------------------------------------------------
def complaint_detail(
    session: Session, actor: Actor, complaint_no: str, *, now: datetime | None = None
) -> ComplaintDetail:
    """A complaint with its steps, its member's context and the points its closing awarded."""
    require_role(actor, ENTER_ROLES, "view complaints")
    now = _aware(now) if now is not None else utcnow()
    complaint = _by_number(session, complaint_no)
    steps = tuple(
        StepRow(
            s.handled_at,
            s.handler,
            s.department,
            s.opinion,
            s.expected_completion,
            s.department == CLOSING_DEPARTMENT,
        )
        for s in session.scalars(
            select(ComplaintStep)
            .where(ComplaintStep.complaint_id == complaint.id)
            .order_by(ComplaintStep.handled_at, ComplaintStep.id)
        )
    )
    member = session.get(Member, complaint.member_id) if complaint.member_id is not None else None
    context = (
        _context(session, member, complaint.card_no, exclude=complaint.complaint_no)
        if member is not None
        else None
    )
    entry = session.scalar(
        select(PointEntry).where(
            PointEntry.idempotency_key == f"complaint:{complaint.complaint_no}"
        )
    )
    return ComplaintDetail(
        row=_rows(session, [complaint], now)[0],
        steps=steps,
        member=context,
        points=AwardedPoints(entry.points, entry.status) if entry is not None else None,
    )


def search_complaints(
    session: Session,
    actor: Actor,
    *,
    channel: str | None = None,
    complaint_type: str | None = None,
    text: str | None = None,
    received_from: date | datetime | None = None,
    received_to: date | datetime | None = None,
    receiver: str | None = None,
    handled_from: date | datetime | None = None,
    handled_to: date | datetime | None = None,
    department: str | None = None,
    handler: str | None = None,
    overdue: bool | None = None,
    status: str | None = None,
    member_or_card: str | None = None,
    limit: int = SEARCH_LIMIT,
    now: datetime | None = None,
) -> list[ComplaintRow]:
    """Complaints matching every filter given, newest received first, at most ``limit``.

    Dates are club-local days, both ends included (a datetime is an instant; naive =
    club-local). ``receiver``, ``department``, ``handler``: part of the name, any case.
    ``handled_*``, ``department`` and ``handler`` must hold for one and the same step.
    ``overdue`` True: open and past due; False: the others. ``member_or_card``: a member or
    card number (an unknown one is refused with ``complaint_member_unknown``). ``text``: see
    the module docstring.
    """
    require_role(actor, ENTER_ROLES, "search complaints")
    now = _aware(now) if now is not None else utcnow()
    problems: list[Problem] = []
    conditions = []
    for category, field, value, column in (
        ("complaint_channel", "channel", channel, Complaint.channel),
        ("complaint_type", "complaint_type", complaint_type, Complaint.complaint_type),
    ):
        code = normalise_text(value)
        if code:
            if problem := check_code(session, category, code, field):
                problems.append(problem)
            conditions.append(column == code)
    wanted_status = normalise_text(status)
    if wanted_status:
        conditions.append(Complaint.status == wanted_status)
    if normalise_text(member_or_card):
        found = _find_member(session, member_or_card)
        if found is None:
            problems.append(_member_unknown(normalise_text(member_or_card)))
        else:
            conditions.append(Complaint.member_id == found[0].id)
    if problems:
        raise ValidationFailed(problems)
    if received_from is not None:
        conditions.append(Complaint.received_at >= _lower(received_from))
    if received_to is not None:
        conditions.append(_upper_condition(Complaint.received_at, received_to))
    if normalise_text(receiver):
        conditions.append(_contains(Complaint.receiver, receiver))
    step_conditions = []
    if handled_from is not None:
        step_conditions.append(ComplaintStep.handled_at >= _lower(handled_from))
    if handled_to is not None:
        step_conditions.append(_upper_condition(ComplaintStep.handled_at, handled_to))
    if normalise_text(department):
        step_conditions.append(_contains(ComplaintStep.department, department))
    if normalise_text(handler):
        step_conditions.append(_contains(ComplaintStep.handler, handler))
    if step_conditions:
        conditions.append(
            exists().where(ComplaintStep.complaint_id == Complaint.id, *step_conditions)
        )
    is_late = and_(Complaint.status != "done", Complaint.due_at < now)
    if overdue is True:
        conditions.append(is_late)
    elif overdue is False:
        conditions.append(~is_late)

    newest = (Complaint.received_at.desc(), Complaint.id.desc())
    limit = max(int(limit), 1)
    words = (normalise_text(text) or "").lower().split()
    exact = [_contains(Complaint.content, word) for word in words]
    found = list(
        session.scalars(select(Complaint).where(*conditions, *exact).order_by(*newest).limit(limit))
    )
    fuzzy_words = [w for w in words if len(w) >= FUZZY_MIN_WORD]
    if words and fuzzy_words and len(found) < limit:
        seen = {c.id for c in found}
        exact_short = [_contains(Complaint.content, w) for w in words if len(w) < FUZZY_MIN_WORD]
        pool = session.scalars(
            select(Complaint).where(*conditions, *exact_short).order_by(*newest).limit(FUZZY_POOL)
        )
        extra = [c for c in pool if c.id not in seen and _fuzzy_match(c.content, fuzzy_words)]
        found = sorted(found + extra, key=lambda c: (c.received_at, c.id), reverse=True)[:limit]
    return _rows(session, found, now)


def overdue_complaints(
    session: Session, *, now: datetime | None = None, limit: int = 500
) -> list[ComplaintRow]:
    """Open complaints past their due time, the longest overdue first (the daily job's list)."""
    now = _aware(now) if now is not None else utcnow()
    found = session.scalars(
        select(Complaint)
        .where(Complaint.status != "done", Complaint.due_at < now)
        .order_by(Complaint.due_at, Complaint.id)
        .limit(max(int(limit), 1))
    )
    return _rows(session, list(found), now)


def open_complaints_by_type(session: Session, *, now: datetime | None = None) -> list[OpenCount]:
    """Open complaints per type, split into overdue and not (for the page's chart)."""
    now = _aware(now) if now is not None else utcnow()
    counts: list[OpenCount] = []
    for late, condition in ((False, Complaint.due_at >= now), (True, Complaint.due_at < now)):
        rows = session.execute(
            select(Complaint.complaint_type, func.count())
            .where(Complaint.status != "done", condition)
            .group_by(Complaint.complaint_type)
        ).all()
        counts.extend(OpenCount(kind, late, int(count)) for kind, count in rows)
    return sorted(counts, key=lambda c: (c.complaint_type, c.overdue))


# -- helpers ------------------------------------------------------------------------------------
def _aware(value: datetime) -> datetime:
    """A datetime as an aware one; naive means club-local."""
    return value.replace(tzinfo=CLUB_ZONE) if value.tzinfo is None else value


def _local_text(value: datetime) -> str:
    return _aware(value).astimezone(CLUB_ZONE).strftime("%Y-%m-%d %H:%M")


def _time(
    value: object, field: str, problems: list[Problem], *, default: datetime | None
) -> datetime | None:
    """A typed time as aware UTC: a datetime (naive = club-local) or text
    ``2026-03-01 14:30`` (``/`` and full-width digits tolerated); blank -> ``default``."""
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC)
    if isinstance(value, date):
        return points.club_day_start(value)
    text = normalise_text(value)
    if not text:
        return default
    try:
        parsed = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        problems.append(
            Problem(
                field,
                "complaint_time_format",
                f"{text!r} is not a date and time; write it as 2026-03-01 14:30",
                {"value": text},
            )
        )
        return None
    return _aware(parsed).astimezone(UTC)


def _text(
    value: object, field: str, problems: list[Problem], *, limit: int, keep_lines: bool = False
) -> str | None:
    if keep_lines and isinstance(value, str):
        lines = [normalise_text(line) or "" for line in value.splitlines()]
        text = "\n".join(lines).strip() or None
    else:
        text = normalise_text(value)
    if not text:
        problems.append(Problem(field, "required", f"{field} is required"))
        return None
    if len(text) > limit:
        problems.append(
            Problem(
                field,
                "too_long",
                f"{len(text)} characters is too long; at most {limit}",
                {"length": len(text), "max": limit},
            )
        )
        return None
    return text


def _importance_problem(importance: object) -> Problem:
    choices = ", ".join(IMPORTANCE_ORDER)
    return Problem(
        "importance",
        "unknown_code",
        f"{importance!r} is not an importance; choose one of: {choices}",
        {"value": importance, "choices": choices},
    )


def _future_problem(field: str, when: datetime) -> Problem:
    return Problem(
        field,
        "complaint_in_future",
        f"{_local_text(when)} is in the future",
        {"value": _local_text(when)},
    )


def _member_unknown(number: str | None) -> Problem:
    return Problem(
        "member_or_card",
        "complaint_member_unknown",
        f"no member or card has the number {number}; check it, or leave it empty",
        {"value": number},
    )


def _find_member(session: Session, number: object) -> tuple[Member, str | None] | None:
    """(member, card number) of a member number or a card number; None when neither exists."""
    cleaned = clean_card_no(number)
    if not cleaned:
        return None
    member = session.scalar(select(Member).where(Member.member_no == cleaned))
    if member is not None:
        card = active_main_card(session, member.id)
        return member, card.card_no if card is not None else None
    card = find_card(session, cleaned)
    if card is None:
        return None
    member = session.get(Member, card.card.member_id)
    return (member, card.card_no) if member is not None else None


def _by_number(session: Session, complaint_no: str) -> Complaint:
    number = (normalise_text(complaint_no) or "").replace(" ", "").upper()
    complaint = session.scalar(select(Complaint).where(Complaint.complaint_no == number))
    if complaint is None:
        raise NotFound(
            f"no complaint has the number {number}",
            code="complaint_not_found",
            field="complaint_no",
            value=number,
        )
    return complaint


def _locked(session: Session, complaint_no: str) -> Complaint:
    """The complaint row, locked until the transaction ends (SQLite: the database write lock)."""
    begin_sqlite_transaction(session, write_lock=True)
    number = (normalise_text(complaint_no) or "").replace(" ", "").upper()
    complaint = session.scalar(
        select(Complaint)
        .where(Complaint.complaint_no == number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if complaint is None:
        raise NotFound(
            f"no complaint has the number {number}",
            code="complaint_not_found",
            field="complaint_no",
            value=number,
        )
    return complaint


def _closed_conflict(complaint: Complaint, code: str, consequence: str) -> Conflict:
    when = _local_text(complaint.closed_at) if complaint.closed_at else ""
    return Conflict(
        f"complaint {complaint.complaint_no} was closed by {complaint.closed_by} at {when}; "
        f"{consequence}",
        code=code,
        field="complaint_no",
        complaint_no=complaint.complaint_no,
        closed_by=complaint.closed_by or "",
        closed_at=when,
    )


def _check_version(complaint: Complaint, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != complaint.version:
        raise Conflict(
            f"complaint {complaint.complaint_no} was changed by someone else after you opened "
            "it; reload it and try again",
            code="complaint_changed",
            field="complaint_no",
            complaint_no=complaint.complaint_no,
            version=complaint.version,
        )


def _lower(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC)
    return points.club_day_start(value)


def _upper_condition(column, value: date | datetime):
    if isinstance(value, datetime):
        return column <= _aware(value).astimezone(UTC)
    end = points.club_day_start(value + timedelta(days=1))
    return column < end


def _contains(column, value: object):
    text = normalise_text(value) or ""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _fuzzy_match(content: str, words: list[str]) -> bool:
    """Every word occurs in ``content`` with at most one typo (one character changed, added or
    dropped), by rapidfuzz's best-aligned substring similarity."""
    haystack = (normalise_text(content) or "").lower()
    for word in words:
        needed = 100.0 * (len(word) - 1) / len(word) - 1e-6
        if word not in haystack and fuzz.partial_ratio(word, haystack) < needed:
            return False
    return True


def _rows(session: Session, complaints: list[Complaint], now: datetime) -> list[ComplaintRow]:
    if not complaints:
        return []
    ids = [c.id for c in complaints]
    members = {
        member_id: (member_no, name)
        for member_id, member_no, name in session.execute(
            select(Member.id, Member.member_no, Member.name).where(
                Member.id.in_({c.member_id for c in complaints if c.member_id is not None})
            )
        )
    }
    steps = {
        complaint_id: (int(count), last)
        for complaint_id, count, last in session.execute(
            select(
                ComplaintStep.complaint_id,
                func.count(),
                func.max(ComplaintStep.handled_at),
            )
            .where(ComplaintStep.complaint_id.in_(ids))
            .group_by(ComplaintStep.complaint_id)
        )
    }
    rows = []
    for c in complaints:
        member_no, name = members.get(c.member_id, (None, None))
        count, last = steps.get(c.id, (0, None))
        if last is not None and last.tzinfo is None:  # func.max bypasses the column's type
            last = last.replace(tzinfo=UTC)
        rows.append(
            ComplaintRow(
                complaint_no=c.complaint_no,
                received_at=c.received_at,
                member_no=member_no,
                member_name=name,
                card_no=c.card_no,
                channel=c.channel,
                complaint_type=c.complaint_type,
                content=c.content,
                receiver=c.receiver,
                importance=c.importance,
                due_at=c.due_at,
                status=c.status,
                closed_at=c.closed_at,
                closed_by=c.closed_by,
                satisfaction=c.satisfaction,
                version=c.version,
                steps=count,
                last_handled_at=last,
                overdue=is_overdue(c, now),
                closed_late=is_closed_late(c),
            )
        )
    return rows


def _context(
    session: Session, member: Member, card_no: str | None, *, exclude: str | None
) -> MemberContext:
    purchases = tuple(
        PurchaseBrief(p.purchase_no, p.purchased_at, p.product, p.amount, p.paid_amount)
        for p in session.scalars(
            select(Purchase)
            .where(Purchase.member_id == member.id)
            .order_by(Purchase.purchased_at.desc(), Purchase.id.desc())
            .limit(RECENT_PURCHASES)
        )
    )
    statement = select(Complaint).where(Complaint.member_id == member.id)
    if exclude:
        statement = statement.where(Complaint.complaint_no != exclude)
    earlier = tuple(
        EarlierComplaint(c.complaint_no, c.received_at, c.complaint_type, c.status, c.satisfaction)
        for c in session.scalars(
            statement.order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(
                EARLIER_COMPLAINTS
            )
        )
    )
    return MemberContext(
        member_no=member.member_no,
        name=member.name,
        tier=member.tier,
        status=member.status,
        points_balance=points.balance_of(session, member.id),
        card_no=card_no,
        recent_purchases=purchases,
        complaints=earlier,
    )


__all__ = [
    "ComplaintDetail",
    "ComplaintRow",
    "MemberContext",
    "OpenCount",
    "ServiceLevelRow",
    "StepRow",
    "add_step",
    "close_complaint",
    "complaint_detail",
    "is_closed_late",
    "is_overdue",
    "log_complaint",
    "member_context",
    "open_complaints_by_type",
    "overdue_complaints",
    "search_complaints",
    "service_levels",
    "set_service_level",
]
