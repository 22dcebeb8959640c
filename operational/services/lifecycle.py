"""A member's life after approval: profile edits with history, consents, exit, archive, restore,
revealing personal numbers, and notices (会籍管理, 退会).

Every change to a member is written to ``member_changes`` (who, when, field, old, new), status
changes included, so an archived and restored member keeps the whole story. Consents are rows
too: a withdrawal is a new row, the latest row per channel counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from operational import idnumber
from operational.models import (
    Card,
    CareContact,
    ExitRequest,
    Member,
    MemberChange,
    MemberConsent,
    MemberNotification,
    MemberPointBalance,
)
from operational.models.base import utcnow
from operational.names import name_key
from operational.services.common import (
    DECIDE_ROLES,
    ENTER_ROLES,
    PII_REVEAL_ROLES,
    SYSTEM,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ServiceError,
    ValidationFailed,
    check_code,
    next_number,
    require_role,
)
from operational.services.members import MemberDetail, get_member_detail, mask_mobile
from operational.validation import (
    CONSENT_CHANNELS,
    Applicant,
    clean_consent_channels,
    clean_email,
    clean_home_phone,
    clean_id_number,
    clean_mobile_field,
    clean_name_field,
    clean_plain,
    clean_region,
    id_number_problem,
    normalise_text,
    region_from_id,
)

#: Profile fields a clerk may edit with :func:`update_profile` (tier: ``cards.change_tier``).
EDITABLE_FIELDS = (
    "name",
    "id_number",
    "mobile",
    "home_phone",
    "email",
    "address",
    "region",
    "industry",
)
NOTIFICATION_KINDS = ("approval", "exit", "card")


# -- returned views -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryItem:
    """A notice that did not reach the member: the "next try" list."""

    notification_id: int
    member_id: int
    member_no: str
    name: str
    member_status: str
    kind: str
    method: str
    attempts: int
    attempted_at: datetime
    mobile_masked: str | None


# -- helpers ------------------------------------------------------------------------------------
def _member_by_no(session: Session, member_no: str, *, for_update: bool = False) -> Member:
    number = (normalise_text(member_no) or "").upper()
    statement = select(Member).where(Member.member_no == number)
    if for_update:
        statement = statement.with_for_update()
    member = session.scalar(statement)
    if member is None:
        raise NotFound(
            f"no member has the number {member_no!r} — check the number or search by name/mobile",
            field="member_no",
            member_no=member_no,
        )
    return member


def _member_by_id(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}", field="member_id", member_id=member_id)
    return member


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _record_change(
    session: Session,
    member: Member,
    actor: Actor,
    field: str,
    old: object,
    new: object,
    at: datetime,
) -> MemberChange:
    change = MemberChange(
        member_id=member.id,
        changed_at=at,
        changed_by=actor.username,
        field=field,
        old_value=_as_text(old),
        new_value=_as_text(new),
    )
    session.add(change)
    return change


def _set_status(session: Session, member: Member, actor: Actor, status: str, at: datetime) -> None:
    if member.status != status:
        _record_change(session, member, actor, "status", member.status, status, at)
        member.status = status


def _id_number_taken(session: Session, id_number: str, member_id: int | None) -> Problem | None:
    statement = select(Member.member_no).where(Member.id_number == id_number)
    if member_id is not None:
        statement = statement.where(Member.id != member_id)
    other = session.scalar(statement.limit(1))
    if other is None:
        return None
    return Problem(
        "id_number",
        "id_number_taken",
        f"ID number {id_number} already belongs to member {other} — search for that member "
        "instead of entering a second one",
        {"value": id_number, "member_no": other},
    )


# -- creating and editing -----------------------------------------------------------------------
def create_member(
    session: Session,
    actor: Actor,
    applicant: Applicant,
    *,
    channel: str,
    source: str | None = None,
    joined_at: date | None = None,
    member_no: str | None = None,
    tier: str = "ordinary",
    application_id: int | None = None,
    is_incomplete: bool = False,
    consent_source: str = "application",
) -> Member:
    """Store a new active member from validated data.

    Assigns the next member number when none is given, records one consent row per granted
    channel and opens a zero points balance. Channel, source and tier are dictionary codes.
    """
    require_role(actor, ENTER_ROLES, "create members")
    problems = [
        problem
        for problem in (
            check_code(session, "application_channel", channel, "channel"),
            check_code(session, "application_source", source, "source") if source else None,
            check_code(session, "tier", tier, "tier"),
            _id_number_taken(session, applicant.id_number, None) if applicant.id_number else None,
        )
        if problem is not None
    ]
    if member_no is not None:
        member_no = (normalise_text(member_no) or "").upper()
        if not member_no:
            problems.append(Problem("member_no", "required", "the member number is blank", {}))
        elif session.scalar(select(Member.id).where(Member.member_no == member_no)):
            problems.append(
                Problem(
                    "member_no",
                    "member_no_taken",
                    f"member number {member_no} is already in use — leave it blank to get a new "
                    "one",
                    {"member_no": member_no},
                )
            )
    if problems:
        raise ValidationFailed(problems)

    member = Member(
        member_no=member_no
        or next_number(session, "member_no", Member.member_no, prefix="M", width=8),
        name=applicant.name,
        name_key=name_key(applicant.name),
        id_number=applicant.id_number,
        gender=applicant.gender,
        birthday=applicant.birthday,
        mobile=applicant.mobile,
        home_phone=applicant.home_phone,
        email=applicant.email,
        address=applicant.address,
        region=applicant.region,
        tier=tier,
        status="active",
        channel=channel,
        source=source,
        joined_at=joined_at or date.today(),
        application_id=application_id,
        is_incomplete=is_incomplete,
    )
    session.add(member)
    session.flush()
    now = utcnow()
    for channel_code in applicant.consent_channels:
        session.add(
            MemberConsent(
                member_id=member.id,
                channel=channel_code,
                granted=True,
                recorded_at=now,
                source=consent_source,
                recorded_by=actor.username,
            )
        )
    session.add(MemberPointBalance(member_id=member.id, balance=0, earned_total=0))
    session.flush()
    return member


def update_profile(
    session: Session,
    actor: Actor,
    member_no: str,
    changes: Mapping[str, object],
    *,
    expected_version: int | None = None,
) -> list[MemberChange]:
    """Apply a clerk's edits; one ``MemberChange`` per field whose value really changed.

    Values are checked like an application's (same messages, all problems at once). A new ID
    number also sets gender and birthday (and the region when it was empty). ``expected_version``
    is the ``member.version`` the clerk's form was loaded with: when someone saved in between,
    ``Conflict`` (code ``stale``) and nothing is changed.
    """
    require_role(actor, ENTER_ROLES, "edit member profiles")
    member = _member_by_no(session, member_no)
    if expected_version is not None and expected_version != member.version:
        last = session.scalar(
            select(MemberChange)
            .where(MemberChange.member_id == member.id)
            .order_by(MemberChange.changed_at.desc(), MemberChange.id.desc())
            .limit(1)
        )
        by = f" by {last.changed_by} at {last.changed_at:%Y-%m-%d %H:%M} UTC" if last else ""
        raise Conflict(
            f"member {member.member_no} was changed{by} after you opened it — reload the member "
            "and make your edit again",
            code="stale",
            member_no=member.member_no,
            expected_version=expected_version,
            version=member.version,
            changed_by=last.changed_by if last else None,
        )
    if member.status == "archived":
        raise Conflict(
            f"member {member.member_no} is archived — restore the member before editing",
            code="archived",
            member_no=member.member_no,
        )

    problems: list[Problem] = []
    new_values: dict[str, object] = {}
    for field, raw in changes.items():
        if field not in EDITABLE_FIELDS:
            problems.append(
                Problem(
                    field,
                    "not_editable",
                    f"{field} cannot be edited here; editable fields: {', '.join(EDITABLE_FIELDS)}",
                    {"choices": ", ".join(EDITABLE_FIELDS)},
                )
            )
            continue
        value, problem = _clean_field(session, field, raw)
        if problem is not None:
            problems.append(problem)
        else:
            new_values[field] = value

    info: idnumber.IdNumberInfo | None = None
    if new_values.get("id_number") and new_values["id_number"] != member.id_number:
        taken = _id_number_taken(session, str(new_values["id_number"]), member.id)
        if taken is not None:
            problems.append(taken)
        else:
            info = idnumber.parse(str(new_values["id_number"]))
            new_values["gender"] = info.gender
            new_values["birthday"] = info.birth_date
            if not member.region and "region" not in new_values:
                new_values["region"] = region_from_id(session, info)
    final_id = new_values.get("id_number", member.id_number)
    final_mobile = new_values.get("mobile", member.mobile)
    if not final_id and not final_mobile and ("id_number" in changes or "mobile" in changes):
        problems.append(
            Problem(
                "id_number",
                "id_or_mobile_required",
                "a member needs an ID number or a mobile — keep at least one of them",
                {},
            )
        )
    if problems:
        raise ValidationFailed(problems)

    now = utcnow()
    written: list[MemberChange] = []
    for field, value in new_values.items():
        old = getattr(member, field)
        if old == value:
            continue
        written.append(_record_change(session, member, actor, field, old, value, now))
        setattr(member, field, value)
        if field == "name":
            member.name_key = name_key(str(value))
    session.flush()
    return written


def _clean_field(session: Session, field: str, raw: object) -> tuple[object, Problem | None]:
    if field == "name":
        return clean_name_field(raw)
    if field == "id_number":
        id_number = clean_id_number(raw)
        if id_number is None:
            return None, None
        return id_number, id_number_problem(id_number)
    if field == "mobile":
        return clean_mobile_field(raw)
    if field == "home_phone":
        return clean_home_phone(raw)
    if field == "email":
        return clean_email(raw)
    if field == "region":
        return clean_region(session, raw)
    return clean_plain(field, raw)  # address, industry


# -- consents -----------------------------------------------------------------------------------
def set_consent(
    session: Session, actor: Actor, member_no: str, channel: str, granted: bool, *, source: str
) -> MemberConsent:
    """Record that the member agreed to (or withdrew from) contact on ``channel``."""
    require_role(actor, ENTER_ROLES, "record consents")
    channels, problem = clean_consent_channels(channel)
    if problem is not None or len(channels) != 1:
        shown = ", ".join(CONSENT_CHANNELS)
        raise ValidationFailed(
            [
                Problem(
                    "channel",
                    "unknown_code",
                    f"{channel!r} is not a contact channel; choose one of: {shown}",
                    {"value": channel, "choices": shown},
                )
            ]
        )
    if not normalise_text(source):
        raise ValidationFailed(
            [Problem("source", "required", "say where the consent came from (form, call…)", {})]
        )
    member = _member_by_no(session, member_no)
    consent = MemberConsent(
        member_id=member.id,
        channel=channels[0],
        granted=bool(granted),
        recorded_at=utcnow(),
        source=normalise_text(source),
        recorded_by=actor.username,
    )
    session.add(consent)
    session.flush()
    return consent


def _latest_consents(session: Session, member_id: int) -> dict[str, bool]:
    latest: dict[str, bool] = {}
    rows = session.execute(
        select(MemberConsent.channel, MemberConsent.granted)
        .where(MemberConsent.member_id == member_id)
        .order_by(MemberConsent.recorded_at.desc(), MemberConsent.id.desc())
    )
    for channel, granted in rows:
        latest.setdefault(channel, bool(granted))
    return latest


def current_consents(session: Session, member_id: int) -> dict[str, bool]:
    """Every consent channel -> whether the latest record grants it (no record: False)."""
    latest = _latest_consents(session, member_id)
    return {channel: latest.get(channel, False) for channel in CONSENT_CHANNELS}


def has_consent(session: Session, member_id: int, channel: str) -> bool:
    """True when the member's latest record for ``channel`` grants contact (care, marketing)."""
    return current_consents(session, member_id).get(channel, False)


# -- exit ---------------------------------------------------------------------------------------
def request_exit(
    session: Session,
    actor: Actor,
    member_no: str,
    exit_type: str,
    reason: str | None = None,
) -> ExitRequest:
    """Ask for a member's exit; it waits for a reviewer (member status ``exit_pending``)."""
    require_role(actor, ENTER_ROLES, "request exits")
    problem = check_code(session, "exit_type", exit_type, "exit_type")
    if problem is not None:
        raise ValidationFailed([problem])
    member = _member_by_no(session, member_no)
    return _open_exit(session, actor, member, exit_type, normalise_text(reason), automatic=False)


def _open_exit(
    session: Session,
    actor: Actor,
    member: Member,
    exit_type: str,
    reason: str | None,
    *,
    automatic: bool,
) -> ExitRequest:
    if member.status == "archived":
        raise Conflict(
            f"member {member.member_no} has already left (archived) — restore the member first "
            "if this was a mistake",
            code="archived",
            member_no=member.member_no,
        )
    pending = session.scalar(
        select(ExitRequest).where(
            ExitRequest.member_id == member.id, ExitRequest.status == "pending"
        )
    )
    if pending is not None or member.status == "exit_pending":
        raise Conflict(
            f"member {member.member_no} already has an exit request waiting for review — "
            "review that one",
            code="exit_pending",
            member_no=member.member_no,
            exit_request_id=pending.id if pending else None,
        )
    now = utcnow()
    request = ExitRequest(
        member_id=member.id,
        exit_type=exit_type,
        is_automatic=automatic,
        reason=reason,
        status="pending",
        requested_at=now,
        requested_by=actor.username,
    )
    session.add(request)
    _set_status(session, member, actor, "exit_pending", now)
    session.flush()
    return request


def flag_contact_invalid_exits(
    session: Session,
    *,
    today: date,
    days: int = 180,
    min_failures: int = 3,
    actor: Actor = SYSTEM,
) -> list[ExitRequest]:
    """The automatic exit rule: contact has been impossible for a while.

    An active member whose contact attempts over the last ``days`` (care contacts sent or failed;
    notices, counting each try of a notice still to retry) number at least ``min_failures``
    failures and no success gets an automatic ``contact_invalid`` exit request. Idempotent: after
    an automatic request (kept by a reviewer, say) only attempts made after it count again.
    """
    since = datetime.combine(today - timedelta(days=days), time.min, tzinfo=UTC)
    until = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    outcomes = _contact_outcomes(session, since, until)
    candidates = sorted(
        member_id
        for member_id, (failed, succeeded) in outcomes.items()
        if failed >= min_failures and not succeeded
    )
    if not candidates:
        return []
    previous = dict(
        session.execute(
            select(ExitRequest.member_id, func.max(ExitRequest.requested_at))
            .where(
                ExitRequest.member_id.in_(candidates),
                ExitRequest.exit_type == "contact_invalid",
                ExitRequest.is_automatic.is_(True),
            )
            .group_by(ExitRequest.member_id)
        ).all()
    )
    members = session.scalars(
        select(Member)
        .where(Member.id.in_(candidates), Member.status == "active")
        .order_by(Member.member_no)
    ).all()
    flagged: list[ExitRequest] = []
    for member in members:
        failed = outcomes[member.id][0]
        start = since
        if member.id in previous:
            start = max(since, _aware(previous[member.id]))
            failed, succeeded = _contact_outcomes(session, start, until, member.id).get(
                member.id, (0, False)
            )
            if failed < min_failures or succeeded:
                continue  # already flagged for these failures
        reason = (
            f"{failed} contact attempts since {start:%Y-%m-%d} failed and none reached the member"
        )
        flagged.append(
            _open_exit(session, actor, member, "contact_invalid", reason, automatic=True)
        )
    return flagged


def _contact_outcomes(
    session: Session, since: datetime, until: datetime, member_id: int | None = None
) -> dict[int, tuple[int, bool]]:
    """member id -> (failed attempts, any success) between ``since`` and ``until``."""
    care = (
        select(
            CareContact.member_id,
            func.sum(case((CareContact.status == "failed", 1), else_=0)),
            func.sum(case((CareContact.status == "sent", 1), else_=0)),
        )
        .where(
            CareContact.status.in_(("sent", "failed")),
            CareContact.contacted_at >= since,
            CareContact.contacted_at < until,
        )
        .group_by(CareContact.member_id)
    )
    notices = (
        select(
            MemberNotification.member_id,
            func.sum(
                case((MemberNotification.status == "retry", MemberNotification.attempts), else_=0)
            ),
            func.sum(case((MemberNotification.status == "notified", 1), else_=0)),
        )
        .where(
            MemberNotification.attempted_at >= since,
            MemberNotification.attempted_at < until,
        )
        .group_by(MemberNotification.member_id)
    )
    if member_id is not None:
        care = care.where(CareContact.member_id == member_id)
        notices = notices.where(MemberNotification.member_id == member_id)
    outcomes: dict[int, tuple[int, bool]] = {}
    for key, failed, succeeded in [*session.execute(care), *session.execute(notices)]:
        before_failed, before_succeeded = outcomes.get(key, (0, False))
        outcomes[key] = (before_failed + int(failed or 0), before_succeeded or bool(succeeded))
    return outcomes


def _aware(value: datetime | str) -> datetime:
    # An aggregate (max) may bypass the column type: naive on PostgreSQL, text on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def review_exit(
    session: Session,
    actor: Actor,
    exit_request_id: int,
    approve: bool,
    *,
    notify_method: str | None = None,
    notified: bool = False,
) -> ExitRequest:
    """A reviewer decides an exit request.

    Approve: the member is archived (logical delete: status, time, exit type), active cards are
    cancelled and an exit notice is recorded (``notify_method``, reached when ``notified``; else
    listed for the next try). Reject: the member is active again. History is kept either way.
    """
    require_role(actor, DECIDE_ROLES, "review exits")
    request = session.scalar(
        select(ExitRequest).where(ExitRequest.id == exit_request_id).with_for_update()
    )
    if request is None:
        raise NotFound(
            f"no exit request {exit_request_id}",
            field="exit_request_id",
            exit_request_id=exit_request_id,
        )
    member = _member_by_id(session, request.member_id)
    if approve and notify_method is not None:
        _check_notice_method(session, member, notify_method)  # refuse before changing anything
    if request.status != "pending":
        when = f" at {request.reviewed_at:%Y-%m-%d %H:%M} UTC" if request.reviewed_at else ""
        raise Conflict(
            f"this exit request was already {request.status} by {request.reviewed_by}{when} — "
            "reload the list",
            code="already_reviewed",
            status=request.status,
            reviewed_by=request.reviewed_by,
        )
    now = utcnow()
    request.status = "approved" if approve else "rejected"
    request.reviewed_at = now
    request.reviewed_by = actor.username
    if not approve:
        _set_status(session, member, actor, "active", now)
        session.flush()
        return request

    _set_status(session, member, actor, "archived", now)
    if member.exit_type != request.exit_type:
        _record_change(
            session, member, actor, "exit_type", member.exit_type, request.exit_type, now
        )
    member.exit_type = request.exit_type
    member.archived_at = now
    for card in session.scalars(
        select(Card).where(Card.member_id == member.id, Card.status == "active")
    ):
        card.status = "cancelled"
        card.ended_at = now
        card.end_reason = "member_exit"
    session.flush()
    method = notify_method or _default_notice_method(session, member.id)
    record_notification(session, actor, member.id, kind="exit", method=method, reached=notified)
    return request


def _default_notice_method(session: Session, member_id: int) -> str:
    consents = current_consents(session, member_id)
    return next((channel for channel in CONSENT_CHANNELS if consents[channel]), "other")


def restore_member(session: Session, actor: Actor, member_no: str, reason: str) -> Member:
    """Bring an archived member back (a mistaken or reversed exit); the history stays.

    Cards cancelled at the exit stay cancelled: issue a new main card if needed.
    """
    require_role(actor, DECIDE_ROLES, "restore archived members")
    text = normalise_text(reason)
    if text is None:
        raise ValidationFailed(
            [Problem("reason", "required", "say why the member is restored", {})]
        )
    member = _member_by_no(session, member_no)
    if member.status != "archived":
        raise Conflict(
            f"member {member.member_no} is {member.status}, not archived — nothing to restore",
            code="not_archived",
            member_no=member.member_no,
            status=member.status,
        )
    now = utcnow()
    _set_status(session, member, actor, "active", now)
    _record_change(session, member, actor, "exit_type", member.exit_type, None, now)
    _record_change(session, member, actor, "restore_reason", None, text, now)
    member.exit_type = None
    member.archived_at = None
    session.flush()
    return member


# -- personal numbers ---------------------------------------------------------------------------
def reveal_member(session: Session, actor: Actor, member_no: str) -> MemberDetail:
    """The member's file with ID number and mobile unmasked; each reveal is logged."""
    require_role(actor, PII_REVEAL_ROLES, "see unmasked ID numbers and mobiles")
    detail = get_member_detail(session, member_no, reveal_pii=True, viewed_by=actor.username)
    if detail is None:
        raise NotFound(
            f"no member has the number {member_no!r} — check the number",
            field="member_no",
            member_no=member_no,
        )
    session.flush()
    return detail


# -- notices ------------------------------------------------------------------------------------
def _check_notice_method(session: Session, member: Member, method: str) -> None:
    problem = check_code(session, "notice_method", method, "method")
    if problem is not None:
        raise ValidationFailed([problem])
    if method in CONSENT_CHANNELS and _latest_consents(session, member.id).get(method) is False:
        raise ServiceError(
            f"member {member.member_no} withdrew consent to be contacted by {method} — "
            "choose another method",
            code="no_consent",
            field="method",
            method=method,
            member_no=member.member_no,
        )


def _apply_outcome(note: MemberNotification, member: Member, reached: bool) -> None:
    note.status = "notified" if reached else "retry"
    if reached and note.kind == "approval":
        member.notified = True


def record_notification(
    session: Session,
    actor: Actor,
    member_id: int,
    *,
    kind: str,
    method: str,
    reached: bool,
) -> MemberNotification:
    """Record a notice to a member: reached (notified) or listed for the next try (retry).

    Service notices are not sent on a channel the member has withdrawn (code ``no_consent``);
    a channel never mentioned is allowed (care and marketing need a granted consent instead,
    see :func:`has_consent`).
    """
    require_role(actor, ENTER_ROLES, "record notices")
    if kind not in NOTIFICATION_KINDS:
        raise ValidationFailed(
            [
                Problem(
                    "kind",
                    "unknown_code",
                    f"{kind!r} is not a kind of notice; choose one of: "
                    f"{', '.join(NOTIFICATION_KINDS)}",
                    {"value": kind, "choices": ", ".join(NOTIFICATION_KINDS)},
                )
            ]
        )
    member = _member_by_id(session, member_id)
    _check_notice_method(session, member, method)
    note = MemberNotification(
        member_id=member.id, kind=kind, method=method, attempted_at=utcnow(), attempts=1
    )
    _apply_outcome(note, member, reached)
    session.add(note)
    session.flush()
    return note


def notifications_to_retry(session: Session, *, kind: str | None = None) -> list[RetryItem]:
    """Notices that did not reach the member, oldest try first (the "next try" list).

    Exit notices of archived members stay on the list; other notices of archived members don't.
    """
    statement = (
        select(MemberNotification, Member)
        .join(Member, Member.id == MemberNotification.member_id)
        .where(MemberNotification.status == "retry")
        .where((Member.status != "archived") | (MemberNotification.kind == "exit"))
        .order_by(MemberNotification.attempted_at, MemberNotification.id)
    )
    if kind is not None:
        statement = statement.where(MemberNotification.kind == kind)
    return [
        RetryItem(
            notification_id=note.id,
            member_id=member.id,
            member_no=member.member_no,
            name=member.name,
            member_status=member.status,
            kind=note.kind,
            method=note.method,
            attempts=note.attempts,
            attempted_at=note.attempted_at,
            mobile_masked=mask_mobile(member.mobile),
        )
        for note, member in session.execute(statement)
    ]


def retry_notification(
    session: Session, actor: Actor, notification_id: int, *, method: str, reached: bool
) -> MemberNotification:
    """Record another try of a notice (possibly by another method)."""
    require_role(actor, ENTER_ROLES, "record notices")
    note = session.scalar(
        select(MemberNotification).where(MemberNotification.id == notification_id).with_for_update()
    )
    if note is None:
        raise NotFound(
            f"no notice {notification_id}", field="notification_id", notification_id=notification_id
        )
    if note.status == "notified":
        raise Conflict(
            f"notice {notification_id} already reached the member — nothing to retry",
            code="already_notified",
            notification_id=notification_id,
        )
    member = _member_by_id(session, note.member_id)
    _check_notice_method(session, member, method)
    note.method = method
    note.attempts += 1
    note.attempted_at = utcnow()
    _apply_outcome(note, member, reached)
    session.flush()
    return note


# -- read views for the desk pages ----------------------------------------------------------------
@dataclass(frozen=True)
class ConsentRecord:
    """A member's current consent on one channel (never asked: granted False, no time)."""

    channel: str
    granted: bool
    recorded_at: datetime | None
    source: str | None
    recorded_by: str | None


def consent_records(session: Session, member_no: str) -> dict[str, ConsentRecord]:
    """The latest consent row per channel, for every channel in CONSENT_CHANNELS."""
    member = _member_by_no(session, member_no)
    latest: dict[str, ConsentRecord] = {}
    for row in session.scalars(
        select(MemberConsent)
        .where(MemberConsent.member_id == member.id)
        .order_by(MemberConsent.recorded_at.desc(), MemberConsent.id.desc())
    ):
        latest.setdefault(
            row.channel,
            ConsentRecord(row.channel, row.granted, row.recorded_at, row.source, row.recorded_by),
        )
    return {
        channel: latest.get(channel, ConsentRecord(channel, False, None, None, None))
        for channel in CONSENT_CHANNELS
    }


@dataclass(frozen=True)
class PendingExit:
    request_id: int
    member_no: str
    name: str
    exit_type: str
    is_automatic: bool
    reason: str | None
    requested_by: str | None
    requested_at: datetime


def pending_exits(session: Session, *, member_no: str | None = None) -> list[PendingExit]:
    """Exit requests waiting for a reviewer, oldest first (one member's when ``member_no``)."""
    statement = (
        select(ExitRequest, Member)
        .join(Member, Member.id == ExitRequest.member_id)
        .where(ExitRequest.status == "pending")
        .order_by(ExitRequest.requested_at, ExitRequest.id)
    )
    if member_no is not None:
        statement = statement.where(Member.member_no == member_no)
    return [
        PendingExit(
            request_id=request.id,
            member_no=member.member_no,
            name=member.name,
            exit_type=request.exit_type,
            is_automatic=request.is_automatic,
            reason=request.reason,
            requested_by=request.requested_by,
            requested_at=request.requested_at,
        )
        for request, member in session.execute(statement)
    ]


@dataclass(frozen=True)
class EditState:
    """What a profile-edit form needs: the version to send back, and the editable values."""

    member_no: str
    version: int
    values: dict[str, str | None]


def edit_state(session: Session, member_no: str) -> EditState:
    member = _member_by_no(session, member_no)
    return EditState(
        member_no=member.member_no,
        version=member.version,
        values={name: getattr(member, name) for name in EDITABLE_FIELDS},
    )
