"""Membership applications (入会申请): entry, the exact-ID rule, the review queue and decisions.

An application comes from a dictionary channel (sales site, service centre with its sources,
website) entered by hand, or automatically from a purchase by a customer who is not a member.

Review (DOMAIN.md "Membership"; seed 000 入会):

- On entry the system matches the resident ID number exactly against current (not archived)
  members: from the service centre or the website the application is closed as
  ``already_member``; from the sales site (and a purchase) it is ``linked``: the member's blank
  fields are filled from the application, each fill a ``MemberChange``. An exact match with a
  *pending application* decides nothing: both stay in the queue and the reviewer sees them.
- Otherwise the application waits in the review queue with its similar members and similar
  pending applications (``operational.matching``), and a reviewer decides one of four outcomes:

  1. a member and pending applications chosen: this application and the chosen ones merge into
     the member (``merge_member_and_pending``);
  2. a member only: merge into it (``merge_member``);
  3. pending applications only: they merge with this application into one new member, with the
     final mobile, home phone and address supplied by the reviewer
     (``merge_pending_new_member``);
  4. nothing chosen: approve as a new member (``new_member``).

  Merging into a member fills the member's *blank* fields (one ``MemberChange`` each); changing a
  filled field is a profile edit (``lifecycle.update_profile``), not a review decision.

Approval assigns a member number, may issue the main card at once and records the notification
(reached -> notified, otherwise listed for the next try). Every decision writes one
``ReviewDecision`` (who, when, outcome, member, merged applications).

Two reviewers deciding the same application at once: the application rows involved are locked
(``SELECT … FOR UPDATE`` on PostgreSQL) and carry a version column (``version_id_col``), so
exactly one decision wins; the other gets ``Conflict`` (code ``already_decided``) naming who
decided and when. A decision's writes run inside a SAVEPOINT, so a refused or lost decision
leaves nothing behind (no member, card, notification or decision row), even if the caller keeps
using the session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from operational import matching
from operational.db import begin_sqlite_transaction
from operational.matching import Candidate
from operational.models import (
    Application,
    DictionaryItem,
    Member,
    MemberChange,
    Purchase,
    ReviewDecision,
)
from operational.models.base import utcnow
from operational.names import name_key
from operational.services import cards as card_service
from operational.services import lifecycle
from operational.services.common import (
    DECIDE_ROLES,
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
from operational.services.members import mask_id_number, mask_mobile
from operational.validation import (
    CONSENT_CHANNELS,
    Applicant,
    clean_email,
    clean_home_phone,
    clean_id_number,
    clean_mobile,
    clean_mobile_field,
    clean_plain,
    id_number_problem,
    normalise_text,
    validate_applicant,
)

# Channels where a clerk types the application by hand and can ask for the ID card and mobile.
MANUAL_DESK_CHANNELS = frozenset({"service_centre", "sales_site"})
# Exact ID match with a current member: these channels link the data, the others say "already
# a member" (seed 000: 客服中心/网站 -> 会员已存在; 案场 -> 数据关联).
LINKING_CHANNELS = frozenset({"sales_site", "purchase"})
PURCHASE_CHANNEL = "purchase"

# Outcome codes written to ``review_decisions.outcome``.
OUTCOME_MEMBER_AND_PENDING = "merge_member_and_pending"  # 1
OUTCOME_MEMBER = "merge_member"  # 2
OUTCOME_PENDING_NEW_MEMBER = "merge_pending_new_member"  # 3
OUTCOME_NEW_MEMBER = "new_member"  # 4
OUTCOME_REJECTED = "rejected"
OUTCOME_ALREADY_MEMBER = "already_member"  # by the system, on entry
OUTCOME_LINKED = "linked"  # by the system, on entry

#: Person fields an application carries, in the order they are copied to a member.
PERSON_FIELDS = (
    "name",
    "id_number",
    "gender",
    "birthday",
    "mobile",
    "home_phone",
    "email",
    "address",
    "region",
)
#: Member fields a merge may fill when blank (never the name: a member always has one).
FILLABLE_FIELDS = PERSON_FIELDS[1:]
#: Fields the reviewer may supply when deciding (the final contact details, DOMAIN.md 3).
SUPPLEMENT_FIELDS = ("mobile", "home_phone", "address", "email")


# -- returned types ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SubmitResult:
    """What the clerk sees after entering an application."""

    application_id: int
    label: str  # "A123"
    status: str  # pending | already_member | linked
    version: int  # pass to decide()/reject() as expected_version
    member_no: str | None  # the member it matched exactly (already_member, linked)
    message: str  # for the clerk
    filled_fields: tuple[str, ...] = ()  # member fields filled from the application (linked)


@dataclass(frozen=True)
class QueueItem:
    """One pending application in the review queue, with its best candidate."""

    application_id: int
    label: str
    version: int
    name: str
    channel: str
    source: str | None
    is_automatic: bool
    submitted_at: datetime
    submitted_by: str | None
    mobile_masked: str | None
    id_number_masked: str | None
    best_label: str | None  # member_no or "A123" of the best candidate, None when none
    best_kind: str | None  # member | application
    best_score: float | None
    best_reason: str | None  # the best candidate's first reason code (e.g. "mobile_one_digit")


@dataclass(frozen=True)
class ApplicationView:
    """One application for the review page: personal numbers masked, candidates best first."""

    application_id: int
    label: str
    version: int
    status: str
    channel: str
    source: str | None
    is_automatic: bool
    purchase_id: int | None
    name: str
    id_number_masked: str | None
    gender: str | None
    birthday: date | None
    mobile_masked: str | None
    home_phone_masked: str | None
    email: str | None
    address: str | None
    region: str | None
    requested_tier: str | None
    consent_channels: tuple[str, ...]
    submitted_at: datetime
    submitted_by: str | None
    notes: str | None
    member_no: str | None  # the outcome's member, once decided
    decided_at: datetime | None
    decided_by: str | None
    candidates: list[Candidate] = field(default_factory=list)  # pending applications only


@dataclass(frozen=True)
class Decision:
    """The result of decide()/reject()."""

    application_id: int
    outcome: str  # one of the OUTCOME_* codes
    status: str  # the application's new status: approved | merged | rejected
    member_no: str | None
    member_id: int | None
    merged_application_ids: tuple[int, ...]
    filled_fields: tuple[str, ...]  # member fields supplemented (merge outcomes)
    card_no: str | None  # the main card issued at once
    notification_status: str | None  # notified | retry | None (no notification recorded)
    decided_by: str
    decided_at: datetime
    review_decision_id: int
    message: str


# -- entry ------------------------------------------------------------------------------------
def submit_application(
    session: Session,
    actor: Actor,
    data: Mapping[str, object],
    *,
    channel: str,
    source: str | None = None,
    is_automatic: bool = False,
    purchase_id: int | None = None,
) -> SubmitResult:
    """Validate and store one application, then apply the exact-ID rule.

    ``data`` holds the person fields (name, id_number, gender, birthday, mobile, home_phone,
    email, address, region, consent_channels) and optionally ``requested_tier`` and ``notes``.
    A manual entry at the service centre or the sales site needs the ID number and the mobile.
    All problems (channel, source, fields) are raised together in one ``ValidationFailed``.
    """
    require_role(actor, ENTER_ROLES, "enter a membership application")
    problems = _channel_problems(session, channel, source)
    requested_tier = normalise_text(data.get("requested_tier"))
    if requested_tier is not None:
        problem = check_code(session, "tier", requested_tier, "requested_tier")
        if problem:
            problems.append(problem)
    manual_desk = not is_automatic and channel in MANUAL_DESK_CHANNELS
    applicant: Applicant | None = None
    try:
        applicant = validate_applicant(
            session,
            _person_data(data),
            require_id_number=manual_desk,
            require_mobile=manual_desk,
        )
    except ValidationFailed as failed:
        problems.extend(failed.problems)
    if problems:
        raise ValidationFailed(problems)
    assert applicant is not None

    application = _new_application(
        applicant,
        actor=actor,
        channel=channel,
        source=source,
        is_automatic=is_automatic,
        purchase_id=purchase_id,
        requested_tier=requested_tier,
        notes=normalise_text(data.get("notes")),
    )
    session.add(application)
    session.flush()
    return _apply_exact_id_rule(session, actor, application)


def application_from_purchase(
    session: Session, purchase: Purchase, *, actor: Actor = SYSTEM
) -> Application | None:
    """The automatic application of a purchase by a non-member; once per purchase.

    Returns the purchase's application (the existing one when called again), or None when the
    purchase belongs to a member: already linked, or the customer is a current member by ID
    number (or by mobile, when exactly one member has it and no ID number contradicts it); then
    ``purchase.member_id`` is set. Incomplete customer data is still recorded for the reviewer;
    values that fail validation are kept in ``notes``, never stored as if valid.
    """
    if purchase.id is None:
        session.flush()
    # Lock the purchase (PostgreSQL) so that two recorders of the same purchase create one.
    locked = session.scalar(
        select(Purchase)
        .where(Purchase.id == purchase.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFound(f"purchase {purchase.id} does not exist", code="purchase_not_found")
    purchase = locked
    if purchase.member_id is not None:
        return None
    existing = session.scalar(
        select(Application)
        .where(Application.purchase_id == purchase.id)
        .order_by(Application.id)
        .limit(1)
    )
    if existing is not None:
        return existing

    notes: list[str] = []
    name = normalise_text(purchase.customer_name)
    id_number = clean_id_number(purchase.customer_id_number)
    if id_number is not None:
        problem = id_number_problem(id_number)
        if problem is not None:
            notes.append(f"ID number {purchase.customer_id_number!r} not stored: {problem.message}")
            id_number = None
    mobile: str | None = None
    raw_mobile = normalise_text(purchase.customer_mobile)
    if raw_mobile is not None:
        try:
            mobile = clean_mobile(raw_mobile)
        except ValidationFailed as failed:
            reason = "; ".join(p.message for p in failed.problems)
            notes.append(f"mobile {purchase.customer_mobile!r} not stored: {reason}")

    member = _member_for_customer(session, id_number, mobile)
    if member is not None:
        purchase.member_id = member.id
        session.flush()
        return None

    if name is None:
        notes.append("the purchase has no customer name; ask the salesperson")
    if id_number is None and mobile is None:
        notes.append("no valid ID number or mobile: complete them before approving")
    applicant = _lenient_applicant(session, name, id_number, mobile)
    notes.insert(0, f"automatic application for purchase {purchase.purchase_no}")
    application = _new_application(
        applicant,
        actor=actor,
        channel=PURCHASE_CHANNEL,
        source=None,
        is_automatic=True,
        purchase_id=purchase.id,
        requested_tier=None,
        notes="\n".join(notes),
    )
    session.add(application)
    session.flush()
    return application


# -- queue and one application ---------------------------------------------------------------
def review_queue(session: Session, *, limit: int = 100, offset: int = 0) -> list[QueueItem]:
    """Pending applications, oldest first, each with its best candidate (score and reason)."""
    applications = session.scalars(
        select(Application)
        .where(Application.status == "pending")
        .order_by(Application.submitted_at, Application.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = []
    for application in applications:
        best = next(
            iter(matching.candidates_for_application(session, application.id, limit=1)), None
        )
        items.append(
            QueueItem(
                application_id=application.id,
                label=application_label(application.id),
                version=application.version,
                name=application.name,
                channel=application.channel,
                source=application.source,
                is_automatic=application.is_automatic,
                submitted_at=application.submitted_at,
                submitted_by=application.submitted_by,
                mobile_masked=mask_mobile(application.mobile),
                id_number_masked=mask_id_number(application.id_number),
                best_label=best.label if best else None,
                best_kind=best.kind if best else None,
                best_score=best.score if best else None,
                best_reason=best.reasons[0] if best and best.reasons else None,
            )
        )
    return items


def get_application(session: Session, application_id: int, *, limit: int = 10) -> ApplicationView:
    """One application with masked personal numbers and, while pending, its candidates."""
    application = session.get(Application, application_id, populate_existing=True)
    if application is None:
        raise _not_found(application_id)
    member_no = None
    if application.member_id is not None:
        member_no = session.scalar(
            select(Member.member_no).where(Member.id == application.member_id)
        )
    candidates = (
        matching.candidates_for_application(session, application.id, limit=limit)
        if application.status == "pending"
        else []
    )
    return ApplicationView(
        application_id=application.id,
        label=application_label(application.id),
        version=application.version,
        status=application.status,
        channel=application.channel,
        source=application.source,
        is_automatic=application.is_automatic,
        purchase_id=application.purchase_id,
        name=application.name,
        id_number_masked=mask_id_number(application.id_number),
        gender=application.gender,
        birthday=application.birthday,
        mobile_masked=mask_mobile(application.mobile),
        home_phone_masked=mask_mobile(application.home_phone),
        email=application.email,
        address=application.address,
        region=application.region,
        requested_tier=application.requested_tier,
        consent_channels=_consents(application),
        submitted_at=application.submitted_at,
        submitted_by=application.submitted_by,
        notes=application.notes,
        member_no=member_no,
        decided_at=application.decided_at,
        decided_by=application.decided_by,
        candidates=list(candidates),
    )


def application_label(application_id: int) -> str:
    """How staff (and matching candidates) name an application: "A123"."""
    return f"A{application_id}"


# -- decisions --------------------------------------------------------------------------------
def decide(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    expected_version: int,
    member_no: str | None = None,
    merge_application_ids: Sequence[int] = (),
    supplement: Mapping[str, object] | None = None,
    issue_main_card: bool = False,
    card_type: str | None = None,
    notify_method: str | None = None,
    notified: bool = False,
    comment: str | None = None,
) -> Decision:
    """Decide a pending application (the four outcomes of DOMAIN.md "Membership").

    - ``member_no`` and ``merge_application_ids``: merge all into the member (1);
    - ``member_no`` only: merge into the member (2);
    - ``merge_application_ids`` only: merge them with this one into one new member (3);
    - neither: approve as a new member (4).

    ``supplement`` (mobile, home_phone, address, email) gives the final contact details: for a
    new member (3, 4) it overrides what the applications say; for a merge into a member (1, 2)
    it may only fill the member's blank fields; blank values are ignored. ``issue_main_card`` issues the main card of
    ``card_type`` (default: the member's tier; for a new member ``card_type`` is also its tier).
    ``notify_method`` (dictionary notice_method) records the approval notice, ``notified``
    saying whether the member was reached (else it is listed for the next try).

    Raises NotAllowed (not a reviewer), NotFound, ValidationFailed, Conflict (``already_decided``
    when another reviewer decided this or a chosen application first; ``changed`` when the
    application changed since the page loaded it), ServiceError ``id_number_taken`` /
    ``member_archived``. Nothing is written when it raises.
    """
    require_role(actor, DECIDE_ROLES, "decide membership applications")
    merge_ids = _merge_ids(application_id, merge_application_ids)
    supplement_values = _check_decision_inputs(
        session,
        supplement,
        card_type=card_type,
        notify_method=notify_method,
    )

    application, chosen = _lock_applications(session, application_id, merge_ids, expected_version)
    member: Member | None = None
    if member_no is not None:
        member = _member_to_merge_into(session, member_no)
    comment = normalise_text(comment)

    _open_sqlite_transaction(session)
    try:
        with session.begin_nested():
            now = utcnow()
            # Claim the application first: the version check makes a concurrent decision fail
            # here, before anything else is written.
            application.decided_by = actor.username
            application.decided_at = now
            session.flush()

            filled: tuple[str, ...] = ()
            if member is not None:
                outcome = OUTCOME_MEMBER_AND_PENDING if chosen else OUTCOME_MEMBER
                filled = _merge_into_member(
                    session, actor, member, [application, *chosen], supplement_values
                )
                status = "merged"
                _close(application, "merged", member, actor, now)
            else:
                outcome = OUTCOME_PENDING_NEW_MEMBER if chosen else OUTCOME_NEW_MEMBER
                member = _new_member(
                    session, actor, application, chosen, supplement_values, card_type=card_type
                )
                status = "approved"
                _close(application, "approved", member, actor, now)
            for other in chosen:
                _close(other, "merged", member, actor, now)
            _link_purchases(session, [application, *chosen], member)

            card_no = None
            if issue_main_card:
                card = card_service.issue_main_card(session, actor, member, card_type=card_type)
                card_no = card.card_no
            notification_status = None
            if notify_method is not None:
                notice = lifecycle.record_notification(
                    session,
                    actor,
                    member.id,
                    kind="approval",
                    method=notify_method,
                    reached=notified,
                )
                notification_status = notice.status
            record = ReviewDecision(
                application_id=application.id,
                outcome=outcome,
                member_id=member.id,
                merged_application_ids=",".join(str(other.id) for other in chosen) or None,
                decided_by=actor.username,
                decided_at=now,
                comment=comment,
            )
            session.add(record)
            session.flush()
    except (StaleDataError, OperationalError) as error:
        if isinstance(error, OperationalError) and not _is_lock_error(error):
            raise
        raise _lost_race(session, application_id) from error

    return Decision(
        application_id=application.id,
        outcome=outcome,
        status=status,
        member_no=member.member_no,
        member_id=member.id,
        merged_application_ids=tuple(other.id for other in chosen),
        filled_fields=filled,
        card_no=card_no,
        notification_status=notification_status,
        decided_by=actor.username,
        decided_at=now,
        review_decision_id=record.id,
        message=_decision_message(
            outcome, application, chosen, member, card_no, notification_status
        ),
    )


def reject(
    session: Session, actor: Actor, application_id: int, *, expected_version: int, reason: str
) -> Decision:
    """Reject a pending application with a reason (kept in the decision and the notes)."""
    require_role(actor, DECIDE_ROLES, "reject membership applications")
    reason_text = normalise_text(reason)
    if reason_text is None:
        raise ValidationFailed(
            [Problem("reason", "required", "say why the application is rejected")]
        )
    application, _ = _lock_applications(session, application_id, (), expected_version)
    _open_sqlite_transaction(session)
    try:
        with session.begin_nested():
            now = utcnow()
            application.status = "rejected"
            application.decided_by = actor.username
            application.decided_at = now
            application.notes = _append_note(application.notes, f"rejected: {reason_text}")
            session.flush()
            record = ReviewDecision(
                application_id=application.id,
                outcome=OUTCOME_REJECTED,
                decided_by=actor.username,
                decided_at=now,
                comment=reason_text,
            )
            session.add(record)
            session.flush()
    except (StaleDataError, OperationalError) as error:
        if isinstance(error, OperationalError) and not _is_lock_error(error):
            raise
        raise _lost_race(session, application_id) from error
    return Decision(
        application_id=application.id,
        outcome=OUTCOME_REJECTED,
        status="rejected",
        member_no=None,
        member_id=None,
        merged_application_ids=(),
        filled_fields=(),
        card_no=None,
        notification_status=None,
        decided_by=actor.username,
        decided_at=now,
        review_decision_id=record.id,
        message=f"{application_label(application.id)} rejected: {reason_text}",
    )


# -- entry helpers ----------------------------------------------------------------------------
def _channel_problems(session: Session, channel: str, source: str | None) -> list[Problem]:
    problems: list[Problem] = []
    problem = check_code(session, "application_channel", channel, "channel")
    if problem:
        return [problem]
    sources = list(
        session.scalars(
            select(DictionaryItem.code)
            .where(
                DictionaryItem.category == "application_source",
                DictionaryItem.parent_code == channel,
                DictionaryItem.active.is_(True),
            )
            .order_by(DictionaryItem.sort_order, DictionaryItem.code)
        )
    )
    shown = ", ".join(sources)
    if source is None:
        if sources:
            problems.append(
                Problem(
                    "source",
                    "required",
                    f"say where the applicant came from; choose one of: {shown}",
                    {"choices": shown},
                )
            )
    elif source not in sources:
        message = (
            f"{source!r} is not a source of the {channel} channel; choose one of: {shown}"
            if sources
            else f"the {channel} channel has no sources; leave the source empty"
        )
        problems.append(
            Problem("source", "unknown_code", message, {"value": source, "choices": shown})
        )
    return problems


def _person_data(data: Mapping[str, object]) -> dict[str, object]:
    person = {key: data.get(key) for key in PERSON_FIELDS if key in data}
    if "consent_channels" in data:
        person["consent_channels"] = data["consent_channels"]
    return person


def _new_application(
    applicant: Applicant,
    *,
    actor: Actor,
    channel: str,
    source: str | None,
    is_automatic: bool,
    purchase_id: int | None,
    requested_tier: str | None,
    notes: str | None,
) -> Application:
    return Application(
        channel=channel,
        source=source,
        is_automatic=is_automatic,
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
        requested_tier=requested_tier,
        consent_channels=",".join(applicant.consent_channels) or None,
        status="pending",
        submitted_at=utcnow(),
        submitted_by=actor.username,
        purchase_id=purchase_id,
        notes=notes,
    )


def _apply_exact_id_rule(session: Session, actor: Actor, application: Application) -> SubmitResult:
    label = application_label(application.id)
    if application.id_number is None:
        return _pending_result(application, f"{label} is waiting for review.")
    members = session.scalars(select(Member).where(Member.id_number == application.id_number)).all()
    current = next((m for m in members if m.status != "archived"), None)
    if current is None:
        archived = next(iter(members), None)
        if archived is not None:
            note = (
                f"the ID number belongs to archived member {archived.member_no}: restore that "
                "member and merge this application into it"
            )
            application.notes = _append_note(application.notes, note)
            session.flush()
            return _pending_result(application, f"{label} is waiting for review; {note}.")
        twins = session.scalars(
            select(Application.id)
            .where(
                Application.id_number == application.id_number,
                Application.status == "pending",
                Application.id != application.id,
            )
            .order_by(Application.id)
        ).all()
        if twins:
            others = ", ".join(application_label(i) for i in twins)
            return _pending_result(
                application,
                f"{label} is waiting for review; pending {others} has the same ID number and "
                "the reviewer will see both.",
            )
        return _pending_result(application, f"{label} is waiting for review.")

    now = utcnow()
    filled: tuple[str, ...] = ()
    if application.channel in LINKING_CHANNELS:
        status = OUTCOME_LINKED
        filled = _fill_blank_fields(session, current, [application], {}, SYSTEM.username)
        _grant_consents(session, actor, current, [application])
        _link_purchases(session, [application], current)
        what = ", ".join(filled) if filled else "nothing (the member's file was complete)"
        message = (
            f"{application.name} is already member {current.member_no}; the application was "
            f"linked to the member and filled: {what}."
        )
    else:
        status = OUTCOME_ALREADY_MEMBER
        message = (
            f"{application.name} is already member {current.member_no} (same ID number); no new "
            "membership is needed — use the member's file for changes."
        )
    application.status = status
    application.member_id = current.id
    application.decided_by = SYSTEM.username
    application.decided_at = now
    session.add(
        ReviewDecision(
            application_id=application.id,
            outcome=status,
            member_id=current.id,
            decided_by=SYSTEM.username,
            decided_at=now,
            comment=f"exact ID number match on entry ({application.channel})",
        )
    )
    session.flush()
    return SubmitResult(
        application_id=application.id,
        label=label,
        status=status,
        version=application.version,
        member_no=current.member_no,
        message=message,
        filled_fields=filled,
    )


def _pending_result(application: Application, message: str) -> SubmitResult:
    return SubmitResult(
        application_id=application.id,
        label=application_label(application.id),
        status=application.status,
        version=application.version,
        member_no=None,
        message=message,
    )


def _member_for_customer(
    session: Session, id_number: str | None, mobile: str | None
) -> Member | None:
    """The current member a purchase's customer is: by ID number, else by an unambiguous mobile."""
    if id_number is not None:
        member = session.scalar(
            select(Member).where(Member.id_number == id_number, Member.status != "archived")
        )
        if member is not None:
            return member
    if mobile is not None:
        members = session.scalars(
            select(Member).where(Member.mobile == mobile, Member.status != "archived").limit(2)
        ).all()
        if len(members) == 1:
            member = members[0]
            # A different ID number on file means a different person sharing the phone.
            if id_number is None or member.id_number in (None, id_number):
                return member
    return None


def _lenient_applicant(
    session: Session, name: str | None, id_number: str | None, mobile: str | None
) -> Applicant:
    """The purchase's customer as an Applicant; incomplete data is kept, not refused."""
    if name is not None and (id_number or mobile):
        try:
            return validate_applicant(
                session, {"name": name, "id_number": id_number, "mobile": mobile}
            )
        except ValidationFailed:
            pass  # keep the individually checked values below
    return Applicant(
        name=name or "(no name)",
        id_number=id_number,
        gender=None,
        birthday=None,
        mobile=mobile,
        home_phone=None,
        email=None,
        address=None,
        region=None,
    )


# -- decision helpers -------------------------------------------------------------------------
def _merge_ids(application_id: int, merge_application_ids: Sequence[int]) -> tuple[int, ...]:
    ids: list[int] = []
    for value in merge_application_ids:
        value = int(value)
        if value == application_id:
            raise ValidationFailed(
                [
                    Problem(
                        "merge_application_ids",
                        "self_merge",
                        f"{application_label(application_id)} cannot be merged with itself; "
                        "untick it in the similar applications",
                    )
                ]
            )
        if value not in ids:
            ids.append(value)
    return tuple(ids)


def _check_decision_inputs(
    session: Session,
    supplement: Mapping[str, object] | None,
    *,
    card_type: str | None,
    notify_method: str | None,
) -> dict[str, object]:
    problems: list[Problem] = []
    values: dict[str, object] = {}
    for key, value in (supplement or {}).items():
        if key not in SUPPLEMENT_FIELDS:
            problems.append(
                Problem(
                    key,
                    "not_supplementable",
                    f"{key} cannot be supplied when deciding; only "
                    f"{', '.join(SUPPLEMENT_FIELDS)} can (other changes: the member's file)",
                )
            )
        elif normalise_text(value) is not None:  # blank: keep what the applications say
            values[key] = value
    if card_type is not None:
        main_types = _main_card_types(session)
        if card_type not in main_types:
            problems.append(
                Problem(
                    "card_type",
                    "unknown_code",
                    f"{card_type!r} is not a main card type; choose one of: {', '.join(main_types)}",
                    {"value": card_type, "choices": ", ".join(main_types)},
                )
            )
    if notify_method is not None:
        problem = check_code(session, "notice_method", notify_method, "notify_method")
        if problem:
            problems.append(problem)
    if problems:
        raise ValidationFailed(problems)
    return values


def _main_card_types(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(DictionaryItem.code)
            .where(
                DictionaryItem.category == "card_type",
                DictionaryItem.parent_code == "main",
                DictionaryItem.active.is_(True),
            )
            .order_by(DictionaryItem.sort_order, DictionaryItem.code)
        )
    )


def _lock_applications(
    session: Session, application_id: int, merge_ids: Sequence[int], expected_version: int
) -> tuple[Application, list[Application]]:
    """Load (and on PostgreSQL lock, in id order) the application and the chosen ones."""
    ids = sorted({application_id, *merge_ids})
    try:
        rows = session.scalars(
            select(Application)
            .where(Application.id.in_(ids))
            .order_by(Application.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    except OperationalError as error:  # PostgreSQL: two crossed merges deadlocked
        if not _is_lock_error(error):
            raise
        raise Conflict(
            "another reviewer is deciding the same applications right now; reload the queue "
            "and try again",
            code="already_decided",
        ) from error
    by_id = {row.id: row for row in rows}
    application = by_id.get(application_id)
    if application is None:
        raise _not_found(application_id)
    missing = [i for i in merge_ids if i not in by_id]
    if missing:
        raise NotFound(
            f"no application {', '.join(application_label(i) for i in missing)}; "
            "reload the similar applications",
            code="not_found",
            field="merge_application_ids",
        )
    if application.status != "pending":
        raise _already_decided(session, application)
    if application.version != expected_version:
        raise Conflict(
            f"{application_label(application.id)} changed since you opened it (version "
            f"{application.version}, your page had {expected_version}); reload it and decide again",
            code="changed",
            version=application.version,
        )
    chosen = [by_id[i] for i in merge_ids]
    for other in chosen:
        if other.status != "pending":
            raise _already_decided(session, other, field="merge_application_ids")
    return application, chosen


def _member_to_merge_into(session: Session, member_no: str) -> Member:
    number = member_no.strip()
    member = session.scalar(
        select(Member)
        .where(Member.member_no.in_(sorted({number, number.upper()})))
        .execution_options(populate_existing=True)
    )
    if member is None:
        raise NotFound(
            f"no member {number}; check the member number or choose from the similar members",
            code="not_found",
            field="member_no",
        )
    if member.status == "archived":
        raise ServiceError(
            f"member {member.member_no} is archived; restore the member first, then merge",
            code="member_archived",
            field="member_no",
            member_no=member.member_no,
        )
    return member


def _merge_into_member(
    session: Session,
    actor: Actor,
    member: Member,
    applications: Sequence[Application],
    supplement: Mapping[str, object],
) -> tuple[str, ...]:
    cleaned = _clean_supplement(supplement)
    taken = [
        Problem(
            key,
            "not_blank",
            f"member {member.member_no} already has a {key.replace('_', ' ')}; change it on the "
            "member's file (profile edit), not in the review",
        )
        for key, value in cleaned.items()
        if value is not None
        and getattr(member, key) not in (None, "")
        and getattr(member, key) != value
    ]
    if taken:
        raise ValidationFailed(taken)
    filled = _fill_blank_fields(session, member, applications, cleaned, actor.username)
    _grant_consents(session, actor, member, applications)
    return filled


def _clean_supplement(supplement: Mapping[str, object]) -> dict[str, object]:
    """Supplied contact details checked by validation.py (same messages as on entry)."""
    cleaners = {
        "mobile": lambda value: clean_mobile_field(value, "mobile"),
        "home_phone": clean_home_phone,
        "email": clean_email,
        "address": lambda value: clean_plain("address", value),
    }
    problems: list[Problem] = []
    cleaned: dict[str, object] = {}
    for key, value in supplement.items():
        result, problem = cleaners[key](value)
        if problem is not None:
            problems.append(problem)
        cleaned[key] = result
    if problems:
        raise ValidationFailed(problems)
    return cleaned


def _fill_blank_fields(
    session: Session,
    member: Member,
    applications: Sequence[Application],
    first_choice: Mapping[str, object],
    changed_by: str,
) -> tuple[str, ...]:
    """Fill the member's blank fields (supplement first, then the applications in order)."""
    filled: list[str] = []
    now = utcnow()
    for key in FILLABLE_FIELDS:
        if getattr(member, key) not in (None, ""):
            continue
        value = first_choice.get(key)
        if value is None:
            value = next(
                (getattr(a, key) for a in applications if getattr(a, key) not in (None, "")),
                None,
            )
        if value is None:
            continue
        if key == "id_number" and _id_number_owner(session, value, exclude=member.id):
            continue  # unique: never move another member's ID number onto this one
        setattr(member, key, value)
        session.add(
            MemberChange(
                member_id=member.id,
                changed_at=now,
                changed_by=changed_by,
                field=key,
                old_value=None,
                new_value=_text(value),
            )
        )
        filled.append(key)
    if filled:
        session.flush()
    return tuple(filled)


def _grant_consents(
    session: Session, actor: Actor, member: Member, applications: Sequence[Application]
) -> None:
    """Channels ticked on the applications become the member's consents (grants only)."""
    wanted = [c for c in CONSENT_CHANNELS if any(c in _consents(a) for a in applications)]
    if not wanted:
        return
    current = lifecycle.current_consents(session, member.id)
    for channel in wanted:
        if not current.get(channel):
            lifecycle.set_consent(
                session, actor, member.member_no, channel, True, source="application"
            )


def _new_member(
    session: Session,
    actor: Actor,
    application: Application,
    chosen: Sequence[Application],
    supplement: Mapping[str, object],
    *,
    card_type: str | None,
) -> Member:
    """Outcomes 3 and 4: one new member from this application (+ the chosen ones)."""
    everyone = [application, *chosen]
    data: dict[str, object] = {}
    for key in PERSON_FIELDS:
        data[key] = next(
            (getattr(a, key) for a in everyone if getattr(a, key) not in (None, "")), None
        )
    if data["id_number"] is not None and application.id_number is None:
        # The ID number came from a chosen application: take its birthday/gender with it.
        source = next(a for a in everyone if a.id_number == data["id_number"])
        data["birthday"], data["gender"] = source.birthday, source.gender
    data.update(supplement)
    data["consent_channels"] = [
        c for c in CONSENT_CHANNELS if any(c in _consents(a) for a in everyone)
    ]
    applicant = validate_applicant(session, data)
    if applicant.id_number is not None:
        owner = _id_number_owner(session, applicant.id_number)
        if owner is not None:
            if owner.status == "archived":
                raise ServiceError(
                    f"the ID number belongs to archived member {owner.member_no}; restore that "
                    "member, then merge this application into it",
                    code="member_archived",
                    field="id_number",
                    member_no=owner.member_no,
                )
            raise ServiceError(
                f"the ID number belongs to member {owner.member_no}; choose that member to merge "
                "into instead of making a new one",
                code="id_number_taken",
                field="id_number",
                member_no=owner.member_no,
            )
    tier = card_type or application.requested_tier or "ordinary"
    return lifecycle.create_member(
        session,
        actor,
        applicant,
        channel=application.channel,
        source=application.source,
        tier=tier,
        application_id=application.id,
        consent_source="application",
    )


def _id_number_owner(
    session: Session, id_number: str, *, exclude: int | None = None
) -> Member | None:
    statement = select(Member).where(Member.id_number == id_number)
    if exclude is not None:
        statement = statement.where(Member.id != exclude)
    return session.scalar(statement.limit(1))


def _close(
    application: Application, status: str, member: Member, actor: Actor, now: datetime
) -> None:
    application.status = status
    application.member_id = member.id
    application.decided_by = actor.username
    application.decided_at = now


def _link_purchases(session: Session, applications: Sequence[Application], member: Member) -> None:
    """Data linking (数据关联): purchases that raised these applications now belong to the member."""
    ids = [a.purchase_id for a in applications if a.purchase_id is not None]
    if not ids:
        return
    # Imported here: purchases imports this module (a purchase raises an application).
    from operational.services.purchases import post_points_for_linked_purchase

    linked = []
    for purchase in session.scalars(select(Purchase).where(Purchase.id.in_(ids))):
        if purchase.member_id is None:
            purchase.member_id = member.id
            linked.append(purchase.id)
    session.flush()
    for purchase_id in linked:  # a fully paid purchase earns its points now, once
        post_points_for_linked_purchase(session, purchase_id)


def _decision_message(
    outcome: str,
    application: Application,
    chosen: Sequence[Application],
    member: Member,
    card_no: str | None,
    notification_status: str | None,
) -> str:
    labels = ", ".join(application_label(a.id) for a in [application, *chosen])
    if outcome in (OUTCOME_MEMBER, OUTCOME_MEMBER_AND_PENDING):
        text = f"{labels} merged into member {member.member_no}."
    elif outcome == OUTCOME_PENDING_NEW_MEMBER:
        text = f"{labels} merged into new member {member.member_no}."
    else:
        text = f"{labels} approved: new member {member.member_no}."
    if card_no:
        text += f" Main card {card_no} issued."
    if notification_status == "notified":
        text += " Member notified."
    elif notification_status == "retry":
        text += " Not reached: listed for the next notification try."
    return text


# -- conflicts --------------------------------------------------------------------------------
def _open_sqlite_transaction(session: Session) -> None:
    """Make the decision's SAVEPOINT a nested one on SQLite too.

    The sqlite3 driver opens a transaction only before its first INSERT/UPDATE/DELETE; a
    SAVEPOINT issued outside one starts a transaction itself, and releasing it would COMMIT at
    once, so a caller that rolls back afterwards could not undo the decision. Opening the
    (deferred: no lock is taken yet) transaction first keeps the decision in the caller's
    transaction, as on PostgreSQL.
    """
    begin_sqlite_transaction(session, write_lock=False)


def _is_lock_error(error: OperationalError) -> bool:
    text = str(error.orig if error.orig is not None else error).lower()
    return "database is locked" in text or "deadlock" in text or "could not serialize" in text


def _already_decided(
    session: Session, application: Application, *, field: str | None = None
) -> Conflict:
    label = application_label(application.id)
    who = application.decided_by or "another reviewer"
    when = (
        application.decided_at.strftime("%Y-%m-%d %H:%M UTC")
        if application.decided_at
        else "just now"
    )
    member_no = None
    if application.member_id is not None:
        member_no = session.scalar(
            select(Member.member_no).where(Member.id == application.member_id)
        )
    result = application.status.replace("_", " ") + (f" ({member_no})" if member_no else "")
    return Conflict(
        f"{label} was already decided by {who} at {when}: {result}. Reload the review queue.",
        code="already_decided",
        field=field,
        application_id=application.id,
        decided_by=application.decided_by,
        decided_at=application.decided_at,
        status=application.status,
        member_no=member_no,
    )


def _lost_race(session: Session, application_id: int) -> Conflict:
    """The savepoint was rolled back; say who won when it is visible already."""
    try:
        application = session.get(Application, application_id, populate_existing=True)
    except OperationalError:
        application = None
    if application is not None and application.status != "pending":
        return _already_decided(session, application)
    return Conflict(
        f"{application_label(application_id)} was decided by another reviewer at the same "
        "moment; nothing of your decision was saved. Reload the review queue.",
        code="already_decided",
        application_id=application_id,
    )


def _not_found(application_id: int) -> NotFound:
    return NotFound(
        f"no application {application_label(application_id)}; reload the review queue",
        code="not_found",
        application_id=application_id,
    )


# -- small helpers ----------------------------------------------------------------------------
def _consents(application: Application) -> tuple[str, ...]:
    if not application.consent_channels:
        return ()
    return tuple(c for c in application.consent_channels.split(",") if c)


def _append_note(notes: str | None, note: str) -> str:
    return f"{notes}\n{note}" if notes else note


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
