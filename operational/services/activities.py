"""Activities (活动): plan → submit → approve or reject → run → close; attendance; costs.

State machine (DOMAIN.md "Activities"; issue 5 item 2). Every transition locks the activity row
(``SELECT … FOR UPDATE``; on SQLite the database write lock) and checks the state *after* the
lock, so two clicks or two people never move an activity twice:

==========  ====================================================  ==========================
state       allowed actions (who)                                 next state
==========  ====================================================  ==========================
planned     edit the plan, submit (staff, reviewers, admins)      submitted
submitted   approve / reject with a reason (reviewers, admins;    approved / rejected
            never the person who planned it: maker-checker)
rejected    edit the plan, submit again (staff, reviewers,        submitted
            admins); the reviewer's reason stays visible until
            the next decision
approved    start (staff, reviewers, admins); add / remove costs  running
running     record attendance; add / remove costs; close          closed
closed      add / remove costs only (invoices arrive late)        —
==========  ====================================================  ==========================

Any other action is refused with :class:`Conflict` code ``activity_wrong_state`` whose message
names the activity, its current state and the actions it allows (params ``code``, ``status``,
``action``, ``allowed``). Approving or rejecting a plan one made or submitted is refused with
:class:`NotAllowed` code ``activity_own_plan``. A plan cannot change once submitted: the reviewer
approves what was submitted (reject it to change it).

Attendance (only while ``running``): a member number or a card number (full-width digits and
blanks tolerated; a card reader's chip number too). One attendance per activity and member: the
same member again — by another card, from the list and the reader — is "already recorded", not
an error, and earns nothing more. Archived members and cards that are lost, cancelled, expired or
replaced are refused (``member_archived``, ``card_not_active``). Each new attendee earns points
through the ledger, once (:func:`point_rules.award_by_rule`, key
``activity:{code}:{member_no}``): the activity's ``points_per_attendee`` when positive, else the
activity rule's points; *pending* (waiting for a supervisor) when the rule needs approval, posted
at once otherwise; none when no active rule exists. Points earned on a sub-card go to the main
card; a member number alone earns on the member's active main card.

Costs (approved, running or closed): lines of kind ``shared`` (the whole activity: venue,
catering) or ``per_head`` (the amount per attendee: gifts, tickets). Actual total = shared lines
+ sum of per-head rates × attendees; average per attendee = total / attendees, rounded to cents
(ROUND_HALF_UP) only at the end, and None when nobody attended. Plan vs actual compares the
expected headcount and cost with the attendees and the actual total.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import (
    Activity,
    ActivityAttendance,
    ActivityCost,
    Card,
    Member,
    PointEntry,
)
from operational.models.base import utcnow
from operational.models.engagement import ACTIVITY_STATUSES
from operational.services import point_rules
from operational.services.cards import active_main_card, clean_card_no, find_card
from operational.services.common import (
    DECIDE_ROLES,
    ENTER_ROLES,
    Actor,
    Conflict,
    NotAllowed,
    NotFound,
    Problem,
    ServiceError,
    ValidationFailed,
    check_code,
    next_number,
    require_role,
)
from operational.services.points import CLUB_TIMEZONE, club_day_start
from operational.validation import normalise_text

#: Who may read activities (the list, a detail, costs): desk roles and managers.
READ_ROLES = frozenset(ENTER_ROLES | {"manager"})
#: The actions each state allows (see the module docstring); the page shows these buttons.
ALLOWED_ACTIONS: dict[str, tuple[str, ...]] = {
    "planned": ("edit", "submit"),
    "submitted": ("approve", "reject"),
    "rejected": ("edit", "submit"),
    "approved": ("start", "costs"),
    "running": ("attend", "costs", "close"),
    "closed": ("costs",),
}
#: The state each transition leads to.
TRANSITIONS: dict[str, str] = {
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "start": "running",
    "close": "closed",
}
ATTENDANCE_SOURCES = ("list", "single", "reader")
COST_KINDS = ("shared", "per_head")
MAX_POINTS_PER_ATTENDEE = 100_000
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,29}$")
_CSV_CELL = re.compile(r"[,，\t;；]")

assert set(ALLOWED_ACTIONS) == set(ACTIVITY_STATUSES)


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivitySummary:
    """An activity's plan and state history, and the actions its state allows now."""

    code: str
    name: str
    activity_type: str
    starts_at: datetime
    ends_at: datetime
    place: str | None
    region: str | None
    expected_headcount: int
    expected_cost: Decimal
    plan_text: str | None
    points_per_attendee: int
    status: str
    created_at: datetime
    created_by: str | None
    submitted_at: datetime | None
    submitted_by: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    started_at: datetime | None
    closed_at: datetime | None
    allowed_actions: tuple[str, ...]
    attendees: int = 0


@dataclass(frozen=True)
class AttendanceResult:
    """One attendance: ``status`` is ``recorded`` (new) or ``already`` (recorded before)."""

    status: str
    activity_code: str
    member_no: str
    member_name: str
    card_no: str | None
    attended_at: datetime
    source: str
    points: int | None  # the attendee's activity points (None: no rule gives any)
    points_status: str | None  # pending | posted | rejected | None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AttendanceLine:
    """One line of a pasted or uploaded list: ``recorded``, ``already`` or ``problem``."""

    line_no: int
    number: str
    status: str
    member_no: str | None = None
    member_name: str | None = None
    points_status: str | None = None
    code: str | None = None  # why: listed_twice (already) or the refusal's code (problem)
    message: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchAttendanceResult:
    lines: list[AttendanceLine] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(line.status == status for line in self.lines)

    @property
    def recorded(self) -> int:
        return self.count("recorded")

    @property
    def already(self) -> int:
        return self.count("already")

    @property
    def problems(self) -> int:
        return self.count("problem")


@dataclass(frozen=True)
class CostLine:
    id: int
    kind: str
    description: str
    amount: Decimal  # per head for kind per_head
    line_total: Decimal  # amount, or amount × attendees for per_head
    recorded_at: datetime


@dataclass(frozen=True)
class CostSummary:
    """Actual costs of an activity, and plan vs actual (money in yuan, Decimal)."""

    activity_code: str
    lines: tuple[CostLine, ...]
    attendees: int
    shared_total: Decimal
    per_head_rate: Decimal  # sum of per-head lines: what one attendee costs on top
    per_head_total: Decimal  # per_head_rate × attendees
    total: Decimal
    average_per_attendee: Decimal | None  # None when nobody attended
    expected_headcount: int
    expected_cost: Decimal
    headcount_difference: int  # attendees - expected
    cost_difference: Decimal  # total - expected


@dataclass(frozen=True)
class AttendeeRow:
    member_no: str
    member_name: str
    card_no: str | None
    attended_at: datetime
    source: str
    recorded_by: str | None
    points: int | None
    points_status: str | None


@dataclass(frozen=True)
class ActivityDetail:
    activity: ActivitySummary
    attendees: tuple[AttendeeRow, ...]
    costs: CostSummary


# -- planning -----------------------------------------------------------------------------------
def plan_activity(session: Session, actor: Actor, data: Mapping[str, object]) -> ActivitySummary:
    """A new activity in state ``planned``.

    ``data``: name, activity_type (dictionary ``activity_type``), starts_at, ends_at (aware
    datetimes, naive ones or ISO text in club time; the end after the start), place, region
    (dictionary ``region``, optional), expected_headcount (≥ 0), expected_cost (yuan, ≥ 0, at
    most two decimals), plan_text, points_per_attendee (≥ 0; 0 = the activity rule's points),
    and optionally code (letters, digits, ``-``, ``_``; unique). Without a code the next
    ``ACT000001`` number is taken. Every problem is reported at once; nothing is written then.
    """
    require_role(actor, ENTER_ROLES, "plan activities")
    begin_sqlite_transaction(session, write_lock=True)
    problems: list[Problem] = []
    code = normalise_text(data.get("code"))
    if code is not None:
        code = code.upper()
        if not CODE_PATTERN.match(code):
            problems.append(
                Problem(
                    "code",
                    "activity_code_format",
                    "the code has 1 to 30 letters, digits, - or _",
                    {"value": code},
                )
            )
        elif session.scalar(select(Activity.id).where(Activity.code == code)) is not None:
            problems.append(
                Problem(
                    "code",
                    "activity_code_taken",
                    f"activity code {code} is already in use",
                    {"value": code},
                )
            )
    values = _validated_plan(session, data, problems)
    if problems:
        raise ValidationFailed(problems)
    if code is None:
        code = next_number(session, "activity", Activity.code, prefix="ACT", width=6)
    activity = Activity(
        code=code,
        status="planned",
        created_at=utcnow(),
        created_by=actor.username,
        **values,
    )
    try:
        with session.begin_nested():
            session.add(activity)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"activity code {code} was just taken by someone else — choose another",
            code="activity_code_taken",
            field="code",
            value=code,
        ) from None
    return _summary(session, activity)


def update_plan(
    session: Session, actor: Actor, activity_code: str, data: Mapping[str, object]
) -> ActivitySummary:
    """Change the plan of a ``planned`` or ``rejected`` activity; only the keys in ``data``
    change (same fields and checks as :func:`plan_activity`; the code never changes)."""
    require_role(actor, ENTER_ROLES, "edit activity plans")
    activity = _locked(session, activity_code)
    _require_state(activity, "edit")
    problems: list[Problem] = []
    merged: dict[str, object] = {
        "name": activity.name,
        "activity_type": activity.activity_type,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "place": activity.place,
        "region": activity.region,
        "expected_headcount": activity.expected_headcount,
        "expected_cost": activity.expected_cost,
        "plan_text": activity.plan_text,
        "points_per_attendee": activity.points_per_attendee,
    }
    merged.update({key: value for key, value in data.items() if key in merged})
    unchanged = {
        key
        for key in ("activity_type", "region")
        if key not in data or normalise_text(data[key]) == getattr(activity, key)
    }
    values = _validated_plan(session, merged, problems, unchanged=unchanged)
    if problems:
        raise ValidationFailed(problems)
    for key, value in values.items():
        setattr(activity, key, value)
    session.flush()
    return _summary(session, activity)


def _validated_plan(
    session: Session,
    data: Mapping[str, object],
    problems: list[Problem],
    *,
    unchanged: set[str] | frozenset[str] = frozenset(),
) -> dict[str, object]:
    name = normalise_text(data.get("name"))
    if not name:
        problems.append(Problem("name", "required", "enter the activity's name"))
    else:
        _length(name, "name", 200, problems)
    activity_type = normalise_text(data.get("activity_type"))
    if "activity_type" not in unchanged and (
        problem := check_code(session, "activity_type", activity_type, "activity_type")
    ):
        problems.append(problem)
    starts_at = _timestamp(data.get("starts_at"), "starts_at", problems)
    ends_at = _timestamp(data.get("ends_at"), "ends_at", problems)
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        problems.append(
            Problem(
                "ends_at",
                "activity_ends_before_start",
                "the activity must end after it starts",
                {"starts_at": _local_text(starts_at), "ends_at": _local_text(ends_at)},
            )
        )
    place = normalise_text(data.get("place"))
    if place:
        _length(place, "place", 200, problems)
    region = normalise_text(data.get("region"))
    if (
        region
        and "region" not in unchanged
        and (problem := check_code(session, "region", region, "region"))
    ):
        problems.append(problem)
    headcount = _whole(data.get("expected_headcount"), "expected_headcount", 0, None, problems)
    points = _whole(
        data.get("points_per_attendee"),
        "points_per_attendee",
        0,
        MAX_POINTS_PER_ATTENDEE,
        problems,
    )
    cost = _money(data.get("expected_cost"), "expected_cost", problems, allow_zero=True)
    plan_text = data.get("plan_text")
    plan_text = str(plan_text).strip() if plan_text is not None else None
    return {
        "name": name,
        "activity_type": activity_type,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "place": place,
        "region": region or None,
        "expected_headcount": headcount if headcount is not None else 0,
        "expected_cost": cost if cost is not None else Decimal("0"),
        "plan_text": plan_text or None,
        "points_per_attendee": points if points is not None else 0,
    }


# -- transitions --------------------------------------------------------------------------------
def submit(session: Session, actor: Actor, activity_code: str) -> ActivitySummary:
    """planned or rejected → submitted (staff, reviewers, admins)."""
    require_role(actor, ENTER_ROLES, "submit activity plans")
    return _move(session, actor, activity_code, "submit")


def approve(
    session: Session, actor: Actor, activity_code: str, *, note: str | None = None
) -> ActivitySummary:
    """submitted → approved (reviewers, admins; not the person who planned it)."""
    require_role(actor, DECIDE_ROLES, "approve activity plans")
    return _move(session, actor, activity_code, "approve", note=normalise_text(note))


def reject(session: Session, actor: Actor, activity_code: str, *, reason: str) -> ActivitySummary:
    """submitted → rejected with a reason (reviewers, admins; not the person who planned it).
    The planner may edit the plan and submit it again."""
    require_role(actor, DECIDE_ROLES, "reject activity plans")
    text = (reason or "").strip()
    if not text:
        raise ServiceError(
            "a reason is required to reject a plan", code="reason_required", field="reason"
        )
    return _move(session, actor, activity_code, "reject", note=text)


def start(session: Session, actor: Actor, activity_code: str) -> ActivitySummary:
    """approved → running: attendance may be recorded from now on."""
    require_role(actor, ENTER_ROLES, "start activities")
    return _move(session, actor, activity_code, "start")


def close(session: Session, actor: Actor, activity_code: str) -> ActivitySummary:
    """running → closed: no more attendance (costs may still be added)."""
    require_role(actor, ENTER_ROLES, "close activities")
    return _move(session, actor, activity_code, "close")


def _move(
    session: Session, actor: Actor, activity_code: str, action: str, *, note: str | None = None
) -> ActivitySummary:
    activity = _locked(session, activity_code)
    _require_state(activity, action)
    now = utcnow()
    if action == "submit":
        activity.submitted_at = now
        activity.submitted_by = actor.username
    if action in ("approve", "reject"):
        if actor.username in (activity.created_by, activity.submitted_by):
            raise NotAllowed(
                f"{actor.username} planned or submitted activity {activity.code} and cannot "
                f"also {action} it — another reviewer must decide",
                code="activity_own_plan",
                field="activity",
                activity=activity.code,
            )
        activity.decided_at = now
        activity.decided_by = actor.username
        activity.decision_note = note
    if action == "start":
        activity.started_at = now
    if action == "close":
        activity.closed_at = now
    activity.status = TRANSITIONS[action]
    session.flush()
    return _summary(session, activity)


def _require_state(activity: Activity, action: str) -> None:
    allowed = ALLOWED_ACTIONS[activity.status]
    if action in allowed:
        return
    shown = ", ".join(allowed)
    raise Conflict(
        f"activity {activity.code} is {activity.status}: it cannot {action} now; "
        f"allowed now: {shown}",
        code="activity_wrong_state",
        field="activity",
        activity=activity.code,
        status=activity.status,
        action=action,
        allowed=shown,
    )


# -- attendance ---------------------------------------------------------------------------------
def record_attendance(
    session: Session,
    actor: Actor,
    activity_code: str,
    member_or_card: str,
    *,
    source: str = "single",
    attended_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> AttendanceResult:
    """Record that a member attended a running activity, once, and award the points once.

    ``member_or_card``: a card number (or chip number) or a member number. A member already
    recorded gives ``status`` "already" and changes nothing (also on a reader's retry; the
    ``idempotency_key`` of a reader is echoed back, attendance itself being unique per member).
    ``attended_at`` defaults to now (a naive time is club time). Refusals: ``activity_wrong_state``
    (not running), ``card_not_found`` / ``member_not_found``, ``card_not_active``,
    ``member_archived``, ``invalid_source``.
    """
    require_role(actor, ENTER_ROLES, "record activity attendance")
    if source not in ATTENDANCE_SOURCES:
        raise ServiceError(
            f"source must be one of {', '.join(ATTENDANCE_SOURCES)}, not {source!r}",
            code="invalid_source",
            field="source",
            value=source,
        )
    activity = _locked(session, activity_code)
    _require_state(activity, "attend")
    return _attend(session, actor, activity, member_or_card, source, attended_at, idempotency_key)


def record_attendance_list(
    session: Session,
    actor: Actor,
    activity_code: str,
    numbers: Sequence[str],
    *,
    source: str = "list",
) -> BatchAttendanceResult:
    """Record a pasted or uploaded list of card or member numbers, one result per line.

    Each element is a line (elements holding several lines are split); of a CSV line only the
    first cell counts; full-width digits and blanks are tolerated; blank lines are skipped, and so
    is a first line without any digit (a header such as ``card_no``). A number listed twice is
    ``already`` (code ``listed_twice``); a bad number is a ``problem`` with its reason and does
    not stop the others. The activity must be running (else nothing is recorded and
    ``activity_wrong_state`` is raised).
    """
    require_role(actor, ENTER_ROLES, "record activity attendance")
    activity = _locked(session, activity_code)
    _require_state(activity, "attend")
    result = BatchAttendanceResult()
    seen: set[str] = set()
    line_no = 0
    for element in numbers:
        for raw in str(element if element is not None else "").splitlines() or [""]:
            line_no += 1
            cell = _CSV_CELL.split(raw, maxsplit=1)[0].strip().strip('"').strip()
            number = clean_card_no(cell)
            if not number:
                continue
            if line_no == 1 and not any(ch.isdigit() for ch in number):
                continue  # a header line
            if number in seen:
                result.lines.append(
                    AttendanceLine(
                        line_no, number, "already", code="listed_twice", message="listed twice"
                    )
                )
                continue
            seen.add(number)
            try:
                with session.begin_nested():
                    done = _attend(session, actor, activity, number, source, None, None)
            except ServiceError as error:
                result.lines.append(
                    AttendanceLine(
                        line_no,
                        number,
                        "problem",
                        code=error.code,
                        message=error.message,
                        params=dict(error.params),
                    )
                )
                continue
            result.lines.append(
                AttendanceLine(
                    line_no,
                    number,
                    done.status,
                    member_no=done.member_no,
                    member_name=done.member_name,
                    points_status=done.points_status,
                    code="already_recorded" if done.status == "already" else None,
                )
            )
    return result


def _attend(
    session: Session,
    actor: Actor,
    activity: Activity,
    member_or_card: str,
    source: str,
    attended_at: datetime | None,
    idempotency_key: str | None,
) -> AttendanceResult:
    member, card = _resolve(session, member_or_card)
    existing = session.scalar(
        select(ActivityAttendance).where(
            ActivityAttendance.activity_id == activity.id,
            ActivityAttendance.member_id == member.id,
        )
    )
    if existing is not None:
        return _attendance_result(session, "already", activity, member, existing, idempotency_key)
    when = _attendance_time(attended_at)
    attendance = ActivityAttendance(
        activity_id=activity.id,
        member_id=member.id,
        card_id=card.id if card is not None else None,
        attended_at=when,
        source=source,
        recorded_by=actor.username,
    )
    try:
        with session.begin_nested():
            session.add(attendance)
            session.flush()
    except IntegrityError:  # recorded at the same moment by another caller
        existing = session.scalar(
            select(ActivityAttendance).where(
                ActivityAttendance.activity_id == activity.id,
                ActivityAttendance.member_id == member.id,
            )
        )
        if existing is None:
            raise
        return _attendance_result(session, "already", activity, member, existing, idempotency_key)
    entry = point_rules.award_by_rule(
        session,
        actor,
        event_type="activity",
        member_id=member.id,
        idempotency_key=f"activity:{activity.code}:{member.member_no}",
        reference=f"activity:{activity.code}",
        match_code=activity.activity_type,
        points_override=activity.points_per_attendee,
        card_id=card.id if card is not None else None,
        reason=f"attended activity {activity.code} {activity.name}"[:500],
    )
    if entry is not None:
        attendance.point_entry_id = entry.id
        session.flush()
    return _attendance_result(session, "recorded", activity, member, attendance, idempotency_key)


def _resolve(session: Session, member_or_card: str) -> tuple[Member, Card | None]:
    """The member (not archived) and the card used: a card number first, then a member number;
    a member number alone means the member's active main card (None when there is none)."""
    number = clean_card_no(member_or_card)
    if not number:
        raise ServiceError(
            "enter a card number or a member number", code="required", field="card_no"
        )
    found = find_card(session, number)
    if found is not None:
        if found.member_status == "archived":
            raise Conflict(
                f"member {found.member_no} is archived — restore the member first",
                code="member_archived",
                field="card_no",
                member_no=found.member_no,
            )
        if found.status != "active":
            raise Conflict(
                f"card {found.card_no} is {found.status} — use the member's active card",
                code="card_not_active",
                field="card_no",
                card_no=found.card_no,
                status=found.status,
            )
        member = session.get(Member, found.card.member_id)
        assert member is not None
        return member, found.card
    member = session.scalar(select(Member).where(Member.member_no == number))
    if member is None:
        raise NotFound(
            f"{number} is neither a card number nor a member number — check the number",
            code="activity_number_unknown",
            field="card_no",
            number=number,
        )
    if member.status == "archived":
        raise Conflict(
            f"member {member.member_no} is archived — restore the member first",
            code="member_archived",
            field="card_no",
            member_no=member.member_no,
        )
    return member, active_main_card(session, member.id)


def _attendance_result(
    session: Session,
    status: str,
    activity: Activity,
    member: Member,
    attendance: ActivityAttendance,
    idempotency_key: str | None,
) -> AttendanceResult:
    entry = (
        session.get(PointEntry, attendance.point_entry_id)
        if attendance.point_entry_id is not None
        else None
    )
    card = session.get(Card, attendance.card_id) if attendance.card_id is not None else None
    return AttendanceResult(
        status=status,
        activity_code=activity.code,
        member_no=member.member_no,
        member_name=member.name,
        card_no=card.card_no if card is not None else None,
        attended_at=attendance.attended_at,
        source=attendance.source,
        points=entry.points if entry is not None else None,
        points_status=entry.status if entry is not None else None,
        idempotency_key=idempotency_key,
    )


def _attendance_time(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        value = value.replace(tzinfo=CLUB_TIMEZONE)
    return value.astimezone(UTC)


# -- costs --------------------------------------------------------------------------------------
def add_cost(
    session: Session,
    actor: Actor,
    activity_code: str,
    *,
    kind: str,
    description: str,
    amount: object,
) -> CostLine:
    """Add a cost line to an approved, running or closed activity.

    ``kind``: ``shared`` (for the whole activity) or ``per_head`` (``amount`` per attendee).
    ``amount``: yuan, more than 0, at most two decimals (``1,200.50`` and ``¥`` tolerated).
    """
    require_role(actor, ENTER_ROLES, "record activity costs")
    problems: list[Problem] = []
    if kind not in COST_KINDS:
        problems.append(
            Problem(
                "kind",
                "unknown_code",
                f"{kind!r} is not a cost kind; choose one of: {', '.join(COST_KINDS)}",
                {"value": kind, "choices": ", ".join(COST_KINDS)},
            )
        )
    text = normalise_text(description)
    if not text:
        problems.append(Problem("description", "required", "describe the cost"))
    else:
        _length(text, "description", 200, problems)
    value = _money(amount, "amount", problems, allow_zero=False)
    if problems:
        raise ValidationFailed(problems)
    activity = _locked(session, activity_code)
    _require_state(activity, "costs")
    line = ActivityCost(
        activity_id=activity.id, kind=kind, description=text, amount=value, recorded_at=utcnow()
    )
    session.add(line)
    session.flush()
    attendees = _attendee_count(session, activity.id)
    return _cost_line(line, attendees)


def remove_cost(session: Session, actor: Actor, activity_code: str, cost_id: int) -> None:
    """Remove a cost line (a mistake) of an approved, running or closed activity."""
    require_role(actor, ENTER_ROLES, "record activity costs")
    activity = _locked(session, activity_code)
    _require_state(activity, "costs")
    line = session.get(ActivityCost, cost_id)
    if line is None or line.activity_id != activity.id:
        raise NotFound(
            f"activity {activity.code} has no cost line {cost_id}",
            code="activity_cost_not_found",
            field="cost",
            activity=activity.code,
        )
    session.delete(line)
    session.flush()


def activity_costs(session: Session, actor: Actor, activity_code: str) -> CostSummary:
    """The activity's cost lines, totals, average per attendee and plan vs actual."""
    require_role(actor, READ_ROLES, "see activity costs")
    return _costs(session, _get(session, activity_code))


def _costs(session: Session, activity: Activity) -> CostSummary:
    attendees = _attendee_count(session, activity.id)
    rows = session.scalars(
        select(ActivityCost)
        .where(ActivityCost.activity_id == activity.id)
        .order_by(ActivityCost.recorded_at, ActivityCost.id)
    ).all()
    shared = sum((Decimal(r.amount) for r in rows if r.kind == "shared"), Decimal("0"))
    rate = sum((Decimal(r.amount) for r in rows if r.kind == "per_head"), Decimal("0"))
    per_head_total = rate * attendees
    total = shared + per_head_total
    average = _cents(total / attendees) if attendees else None
    expected = Decimal(activity.expected_cost or 0)
    return CostSummary(
        activity_code=activity.code,
        lines=tuple(_cost_line(r, attendees) for r in rows),
        attendees=attendees,
        shared_total=_cents(shared),
        per_head_rate=_cents(rate),
        per_head_total=_cents(per_head_total),
        total=_cents(total),
        average_per_attendee=average,
        expected_headcount=activity.expected_headcount,
        expected_cost=_cents(expected),
        headcount_difference=attendees - activity.expected_headcount,
        cost_difference=_cents(total - expected),
    )


def _cost_line(line: ActivityCost, attendees: int) -> CostLine:
    amount = Decimal(line.amount)
    return CostLine(
        id=line.id,
        kind=line.kind,
        description=line.description,
        amount=_cents(amount),
        line_total=_cents(amount * attendees if line.kind == "per_head" else amount),
        recorded_at=line.recorded_at,
    )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- reads --------------------------------------------------------------------------------------
def search_activities(
    session: Session,
    *,
    status: str | Sequence[str] | None = None,
    activity_type: str | None = None,
    since: date | None = None,
    until: date | None = None,
    text: str | None = None,
    limit: int = 500,
) -> list[ActivitySummary]:
    """Activities by status (one or several), type, start day (club-local ``since`` to ``until``
    inclusive) and text (code, name or place, case-insensitive), the latest start first."""
    statement = select(Activity)
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        statement = statement.where(Activity.status.in_(wanted))
    if activity_type:
        statement = statement.where(Activity.activity_type == activity_type)
    if since is not None:
        statement = statement.where(Activity.starts_at >= club_day_start(since))
    if until is not None:
        statement = statement.where(Activity.starts_at < club_day_start(until + timedelta(days=1)))
    words = normalise_text(text)
    if words:
        pattern = f"%{words.lower()}%"
        statement = statement.where(
            or_(
                func.lower(Activity.code).like(pattern),
                func.lower(Activity.name).like(pattern),
                func.lower(func.coalesce(Activity.place, "")).like(pattern),
            )
        )
    activities = session.scalars(
        statement.order_by(Activity.starts_at.desc(), Activity.id.desc()).limit(limit)
    ).all()
    counts = dict(
        session.execute(
            select(ActivityAttendance.activity_id, func.count())
            .where(ActivityAttendance.activity_id.in_([a.id for a in activities]))
            .group_by(ActivityAttendance.activity_id)
        ).all()
    )
    return [_summary(session, a, attendees=counts.get(a.id, 0)) for a in activities]


def status_counts(session: Session) -> dict[str, int]:
    """How many activities are in each state (every state listed, zeros included)."""
    found = dict(
        session.execute(select(Activity.status, func.count()).group_by(Activity.status)).all()
    )
    return {status: int(found.get(status, 0)) for status in ACTIVITY_STATUSES}


def activity_detail(session: Session, actor: Actor, activity_code: str) -> ActivityDetail:
    """The plan, state history, attendees (time, source, points and their status) and costs."""
    require_role(actor, READ_ROLES, "see activities")
    activity = _get(session, activity_code)
    rows = session.execute(
        select(ActivityAttendance, Member.member_no, Member.name, Card.card_no, PointEntry)
        .join(Member, Member.id == ActivityAttendance.member_id)
        .outerjoin(Card, Card.id == ActivityAttendance.card_id)
        .outerjoin(PointEntry, PointEntry.id == ActivityAttendance.point_entry_id)
        .where(ActivityAttendance.activity_id == activity.id)
        .order_by(ActivityAttendance.attended_at, ActivityAttendance.id)
    ).all()
    attendees = tuple(
        AttendeeRow(
            member_no=member_no,
            member_name=name,
            card_no=card_no,
            attended_at=a.attended_at,
            source=a.source,
            recorded_by=a.recorded_by,
            points=entry.points if entry is not None else None,
            points_status=entry.status if entry is not None else None,
        )
        for a, member_no, name, card_no, entry in rows
    )
    return ActivityDetail(
        activity=_summary(session, activity, attendees=len(attendees)),
        attendees=attendees,
        costs=_costs(session, activity),
    )


# -- helpers ------------------------------------------------------------------------------------
def _clean_code(activity_code: str) -> str:
    return (normalise_text(activity_code) or "").upper()


def _get(session: Session, activity_code: str) -> Activity:
    code = _clean_code(activity_code)
    activity = session.scalar(select(Activity).where(Activity.code == code))
    if activity is None:
        raise NotFound(
            f"no activity with code {code}", code="activity_not_found", field="activity", value=code
        )
    return activity


def _locked(session: Session, activity_code: str) -> Activity:
    """The activity row, locked until the transaction ends, read fresh."""
    begin_sqlite_transaction(session, write_lock=True)
    code = _clean_code(activity_code)
    activity = session.scalar(
        select(Activity)
        .where(Activity.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if activity is None:
        raise NotFound(
            f"no activity with code {code}", code="activity_not_found", field="activity", value=code
        )
    return activity


def _attendee_count(session: Session, activity_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ActivityAttendance)
            .where(ActivityAttendance.activity_id == activity_id)
        )
        or 0
    )


def _summary(
    session: Session, activity: Activity, *, attendees: int | None = None
) -> ActivitySummary:
    if attendees is None:
        attendees = _attendee_count(session, activity.id)
    return ActivitySummary(
        code=activity.code,
        name=activity.name,
        activity_type=activity.activity_type,
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        place=activity.place,
        region=activity.region,
        expected_headcount=activity.expected_headcount,
        expected_cost=_cents(Decimal(activity.expected_cost or 0)),
        plan_text=activity.plan_text,
        points_per_attendee=activity.points_per_attendee,
        status=activity.status,
        created_at=activity.created_at,
        created_by=activity.created_by,
        submitted_at=activity.submitted_at,
        submitted_by=activity.submitted_by,
        decided_at=activity.decided_at,
        decided_by=activity.decided_by,
        decision_note=activity.decision_note,
        started_at=activity.started_at,
        closed_at=activity.closed_at,
        allowed_actions=ALLOWED_ACTIONS[activity.status],
        attendees=attendees,
    )


def _local_text(value: datetime) -> str:
    return value.astimezone(CLUB_TIMEZONE).strftime("%Y-%m-%d %H:%M")


def _length(text: str, field_name: str, limit: int, problems: list[Problem]) -> None:
    if len(text) > limit:
        problems.append(
            Problem(
                field_name,
                "too_long",
                f"{len(text)} characters; at most {limit}",
                {"length": len(text), "max": limit},
            )
        )


def _timestamp(value: object, field_name: str, problems: list[Problem]) -> datetime | None:
    """An aware datetime, a naive one (club time) or ISO text (club time unless it has a zone)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(0))
    else:
        text = normalise_text(value)
        if not text:
            problems.append(Problem(field_name, "required", "enter the date and time"))
            return None
        try:
            parsed = datetime.fromisoformat(text.replace("/", "-"))
        except ValueError:
            problems.append(
                Problem(
                    field_name,
                    "activity_time_format",
                    f"{text!r} is not a date and time; write it as 2026-03-01 14:30",
                    {"value": text},
                )
            )
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CLUB_TIMEZONE)
    return parsed.astimezone(UTC)


def _whole(
    value: object, field_name: str, low: int, high: int | None, problems: list[Problem]
) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = normalise_text(value) or ""
        number = (
            int(text.replace(",", "")) if re.fullmatch(r"-?\d+", text.replace(",", "")) else None
        )
    if number is None:
        problems.append(
            Problem(
                field_name, "activity_not_a_number", "enter a whole number", {"value": str(value)}
            )
        )
        return None
    if number < low or (high is not None and number > high):
        problems.append(
            Problem(
                field_name,
                "activity_out_of_range",
                f"enter a whole number from {low}" + (f" to {high}" if high is not None else ""),
                {"value": number, "low": low, "high": high if high is not None else "∞"},
            )
        )
        return None
    return number


def _money(
    value: object, field_name: str, problems: list[Problem], *, allow_zero: bool
) -> Decimal | None:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        amount = Decimal(value)
        text = str(value)
    else:
        text = normalise_text(value)
        if text is None:
            if allow_zero:
                return None
            problems.append(Problem(field_name, "required", "enter the amount in yuan"))
            return None
        try:
            amount = Decimal(text.replace(",", "").replace("¥", "").replace("￥", ""))
        except InvalidOperation:
            problems.append(
                Problem(
                    field_name,
                    "activity_money_format",
                    f"{text!r} is not an amount in yuan",
                    {"value": text},
                )
            )
            return None
    if not amount.is_finite() or amount != amount.quantize(CENT) or abs(amount) > MAX_AMOUNT:
        problems.append(
            Problem(
                field_name,
                "activity_money_format",
                f"{text!r} is not an amount in yuan with at most two decimals",
                {"value": text},
            )
        )
        return None
    if amount < 0 or (amount == 0 and not allow_zero):
        problems.append(
            Problem(
                field_name,
                "activity_amount_positive" if not allow_zero else "activity_amount_negative",
                "the amount must be more than 0" if not allow_zero else "cannot be negative",
                {"value": text},
            )
        )
        return None
    return amount
