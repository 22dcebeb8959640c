"""Care (关怀): manual care, daily automatic triggers with a control group, results, responses.

Rules (DOMAIN.md "Care"; issue 5 item 3):

- **A care** (:class:`~operational.models.Care`) is one manual send or one day's run of one
  automatic trigger; **a care contact** is one member in it: contacted (``pending`` until the
  result is known, then ``sent`` or ``failed``) or held out as **control** (``control``).
- **Who is reached.** Only *active* members (not archived, not waiting for an exit) get care,
  and only on a channel they consented to (``lifecycle``: the latest consent row per channel
  counts; never asked = no). Care channels map to consent channels: ``sms`` → sms, ``email`` →
  email, ``letter`` and ``magazine`` (posted) → letter, ``website`` and ``other`` → consent on
  any channel (the member agreed to be contacted at all). A member with consent but without the
  address the channel needs (mobile, e-mail, postal address) is skipped too and reported.
- **Sending.** SMS and e-mail keep the sending process: each contact gets an
  :class:`~operational.models.OutboxMessage` that :func:`deliver_outbox` hands to the configured
  channel (``operational.services.outbox``); the contact's ``sent``/``failed`` follows the
  message. Letter, magazine, website and other record the result only: a clerk marks each
  contact sent or failed (:func:`mark_result`).
- **Automatic triggers** (:func:`run_care_triggers`, daily, for the club day ``today``):

  * ``birthday`` — members whose birthday is ``today``; a 29 February birthday is celebrated on
    28 February in non-leap years. Once a year: ``trigger_ref`` ``birthday:<year>``.
  * ``purchase`` — members with a purchase (not a return) made on the previous club day;
    ``purchase:<purchase id>``.
  * ``activity`` — members who attended an activity on the previous club day;
    ``activity:<activity code>``.

  A member appears once per care: with several events the same day, the first (lowest id /
  code) is the one contacted and the others count as already covered. A missed day is not
  caught up by itself: run the function again with that day's ``today``.
- **Control group.** Each automatic care keeps a random share of the *eligible* members (active,
  consented, with an address) as control: recorded (``is_control`` true, status ``control``),
  never contacted and never given an outbox message. The draw comes after the consent check so
  that treated and control members are comparable (a member who cannot be contacted is neither).
  The draw is deterministic — a hash of (``trigger_ref``, member number) below the share — so a
  rerun assigns the same members. The share comes from the ``control_share`` argument, else the
  setting ``CLUBCRM_CARE_CONTROL_SHARE`` (default 0.1), and is stored on the care. Manual care
  has no control group.
- **Exactly once.** ``care_contacts`` has a unique index on (member, ``trigger_ref``), so no
  member is contacted twice for one event. A run takes a lock first (PostgreSQL advisory lock;
  SQLite write lock) so two runs at once queue; the second creates nothing new. There is one
  care row per trigger and run day (a rerun reuses it).
- **Responses.** :func:`record_response` stores when and how the member responded, on a sent
  contact or on a control one (a control member who gets in touch anyway is what the comparison
  needs). A response to a contacted member earns the ``care`` points rule's points once (key
  ``care:<contact id>``, match code = the trigger); control members earn none.
- **Analysis both ways**: :func:`member_cares` (a member's cares), :func:`care_members` (a care's
  members), :func:`care_stats` (contacts by channel and month with shares; response rate of
  treated vs control per trigger — intent to treat: every non-control contact counts as treated,
  failed ones too).
- **Segments** (:func:`save_segment`): named criteria (tiers, regions, genders, age band, joined
  between, minimum points balance) stored as JSON and evaluated when a care is sent.

Dates are club days (Asia/Shanghai); stored times are UTC.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, extract, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import (
    Activity,
    ActivityAttendance,
    Care,
    CareContact,
    Member,
    MemberConsent,
    MemberPointBalance,
    OutboxMessage,
    PointEntry,
    Purchase,
    SavedSegment,
)
from operational.models.base import utcnow
from operational.models.engagement import CARE_CHANNELS, CARE_TRIGGERS
from operational.models.membership import GENDERS
from operational.services import point_rules
from operational.services.common import (
    ENTER_ROLES,
    SYSTEM,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ValidationFailed,
    check_code,
    dictionary_codes,
    require_role,
)
from operational.services.outbox import (
    SENDING_CHANNELS,
    Channel,
    DeliveryReport,
    DeliveryResult,
    LocalOutboxChannel,
    channel_from_settings,
    deliver_outbox,
)
from operational.services.points import CLUB_TIMEZONE, club_day_start, club_today
from operational.validation import CONSENT_CHANNELS, normalise_text

__all__ = [
    "AUTOMATIC_TRIGGERS",
    "Channel",
    "DeliveryReport",
    "DeliveryResult",
    "LocalOutboxChannel",
    "channel_from_settings",
    "deliver_outbox",
]

AUTOMATIC_TRIGGERS = ("birthday", "purchase", "activity")
#: Care channel -> the consent channels any one of which allows it.
CONSENT_FOR_CHANNEL: dict[str, tuple[str, ...]] = {
    "sms": ("sms",),
    "email": ("email",),
    "letter": ("letter",),
    "magazine": ("letter",),
    "website": CONSENT_CHANNELS,
    "other": CONSENT_CHANNELS,
}
#: Channels whose result a clerk records by hand (:func:`mark_result`).
RECORD_ONLY_CHANNELS = tuple(c for c in CARE_CHANNELS if c not in SENDING_CHANNELS)
DEFAULT_CONTROL_SHARE = 0.1
MAX_TITLE = 200
MAX_RESPONSE = 200
_ADVISORY_LOCK_KEY = 0x43415245  # "CARE": serialises trigger runs on PostgreSQL
_CHUNK = 500


@dataclass(frozen=True)
class TriggerTemplate:
    """What an automatic trigger sends: channel, title and content."""

    channel: str
    title: str
    content: str


DEFAULT_TEMPLATES: dict[str, TriggerTemplate] = {
    "birthday": TriggerTemplate("sms", "生日祝福", "祝您生日快乐！俱乐部全体同仁敬上。"),
    "purchase": TriggerTemplate(
        "sms", "感谢您的购买", "感谢您的信任与支持，如有需要请随时联系我们。"
    ),
    "activity": TriggerTemplate("sms", "感谢您参加活动", "感谢您参加本次活动，期待下次再见！"),
}


# -- returned views -----------------------------------------------------------------------------
@dataclass
class TriggerCount:
    trigger: str
    care_id: int | None = None
    contacted: int = 0
    control: int = 0
    skipped_no_consent: int = 0
    skipped_no_address: int = 0
    skipped_already: int = 0


@dataclass
class CareRunReport:
    day: date
    triggers: dict[str, TriggerCount] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"care {c.trigger}: contacted {c.contacted}, control {c.control}, "
            f"no consent {c.skipped_no_consent}, no address {c.skipped_no_address}, "
            f"already {c.skipped_already}"
            for c in self.triggers.values()
        ]


@dataclass(frozen=True)
class CareSummary:
    """The outcome of a manual send; ``care_id`` None when nobody could be contacted."""

    care_id: int | None
    contacted: list[str]  # member numbers
    skipped_no_consent: list[str]
    skipped_inactive: list[str]
    skipped_no_address: list[str]
    queued: int  # outbox messages written (SMS / e-mail)


@dataclass(frozen=True)
class SegmentRow:
    id: int
    name: str
    criteria: dict
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True)
class SegmentMember:
    member_id: int
    member_no: str
    name: str


@dataclass(frozen=True)
class CareRow:
    id: int
    trigger: str
    channel: str
    title: str
    run_on: date
    created_by: str | None
    segment_name: str | None
    control_share: Decimal
    contacts: int
    controls: int
    sent: int
    failed: int
    pending: int
    responded: int


@dataclass(frozen=True)
class CareMemberRow:
    contact_id: int
    member_no: str
    name: str
    status: str
    is_control: bool
    trigger_ref: str | None
    contacted_at: datetime
    responded_at: datetime | None
    response: str | None
    outbox_status: str | None
    outbox_error: str | None


@dataclass(frozen=True)
class MemberCareRow:
    contact_id: int
    care_id: int
    trigger: str
    channel: str
    title: str
    run_on: date
    status: str
    is_control: bool
    contacted_at: datetime
    responded_at: datetime | None
    response: str | None


@dataclass(frozen=True)
class ChannelMonthRow:
    month: str  # YYYY-MM, club time
    channel: str
    contacts: int
    share: float  # of the month's contacts (controls excluded)


@dataclass(frozen=True)
class TriggerResponseRow:
    trigger: str
    treated: int
    treated_responded: int
    control: int
    control_responded: int

    @property
    def treated_rate(self) -> float | None:
        return self.treated_responded / self.treated if self.treated else None

    @property
    def control_rate(self) -> float | None:
        return self.control_responded / self.control if self.control else None


@dataclass(frozen=True)
class CareStats:
    by_channel_month: list[ChannelMonthRow]
    by_trigger: list[TriggerResponseRow]


@dataclass(frozen=True)
class ResponseResult:
    contact_id: int
    responded_at: datetime
    point_entry_id: int | None
    points: int  # 0 when no rule gives any (or a control member)
    points_status: str | None  # posted | pending


# -- helpers ------------------------------------------------------------------------------------
def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year - years, day=28)


def _chunks(values: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def control_share_setting() -> float:
    """``CLUBCRM_CARE_CONTROL_SHARE`` (default 0.1), a fraction from 0 up to (not incl.) 1."""
    raw = os.environ.get("CLUBCRM_CARE_CONTROL_SHARE", "").strip()
    if not raw:
        return DEFAULT_CONTROL_SHARE
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"CLUBCRM_CARE_CONTROL_SHARE must be a fraction, got {raw!r}") from exc
    if not 0 <= value < 1:
        raise ValueError(f"CLUBCRM_CARE_CONTROL_SHARE must be from 0 to below 1, got {value}")
    return value


def in_control_group(trigger_ref: str, member_no: str, share: float) -> bool:
    """The deterministic draw: hash of (trigger_ref, member number) as a fraction below share."""
    digest = hashlib.sha256(f"{trigger_ref}|{member_no}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _latest_consents(session: Session, member_ids: Sequence[int]) -> dict[int, dict[str, bool]]:
    latest: dict[int, dict[str, bool]] = defaultdict(dict)
    for chunk in _chunks(list(member_ids)):
        rows = session.execute(
            select(MemberConsent.member_id, MemberConsent.channel, MemberConsent.granted)
            .where(MemberConsent.member_id.in_(chunk))
            .order_by(MemberConsent.recorded_at, MemberConsent.id)
        )
        for member_id, channel, granted in rows:
            latest[member_id][channel] = bool(granted)  # later rows win
    return latest


def _consents_to(consents: Mapping[str, bool], channel: str) -> bool:
    return any(consents.get(c, False) for c in CONSENT_FOR_CHANNEL[channel])


def _address(member: Member, channel: str) -> str | None:
    if channel == "sms":
        return member.mobile
    if channel == "email":
        return member.email
    if channel in ("letter", "magazine"):
        return member.address
    if channel == "website":
        return member.member_no  # the member's own page on the website
    return None


def _needs_address(channel: str) -> bool:
    return channel in ("sms", "email", "letter", "magazine")


def _is_active(member: Member) -> bool:
    return member.status == "active" and member.archived_at is None


def _active_members():
    return and_(Member.status == "active", Member.archived_at.is_(None))


def _contact(
    session: Session,
    care: Care,
    member: Member,
    *,
    trigger_ref: str | None,
    is_control: bool,
    now: datetime,
) -> CareContact:
    contact = CareContact(
        care_id=care.id,
        member_id=member.id,
        channel=care.channel,
        is_control=is_control,
        status="control" if is_control else "pending",
        trigger_ref=trigger_ref,
        contacted_at=now,
    )
    session.add(contact)
    return contact


def _queue_messages(
    session: Session, care: Care, pairs: Sequence[tuple[CareContact, Member]], now: datetime
) -> int:
    if care.channel not in SENDING_CHANNELS or not pairs:
        return 0
    session.flush()  # contact ids
    for contact, member in pairs:
        session.add(
            OutboxMessage(
                contact_id=contact.id,
                channel=care.channel,
                address=_address(member, care.channel),
                subject=care.title,
                body=care.content,
                status="queued",
                created_at=now,
            )
        )
    return len(pairs)


def _check_channel(session: Session, channel: str | None) -> Problem | None:
    if channel not in CARE_CHANNELS:
        return Problem(
            "care_channel",
            "required" if not channel else "unknown_code",
            f"choose one of: {', '.join(CARE_CHANNELS)}",
            {"value": channel or "", "choices": ", ".join(CARE_CHANNELS)},
        )
    return check_code(session, "care_channel", channel, "care_channel")


def _check_text(title: str | None, content: str | None, channel: str | None) -> list[Problem]:
    problems = []
    if not title:
        problems.append(Problem("care_title", "required", "give the care a title", {}))
    elif len(title) > MAX_TITLE:
        problems.append(
            Problem(
                "care_title",
                "too_long",
                f"at most {MAX_TITLE} characters",
                {"max": MAX_TITLE, "length": len(title)},
            )
        )
    if not content and channel in SENDING_CHANNELS:
        problems.append(
            Problem("care_content", "required", "write the message an SMS or e-mail will carry", {})
        )
    return problems


def _lock_triggers(session: Session) -> None:
    begin_sqlite_transaction(session, write_lock=True)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))


# -- automatic triggers -------------------------------------------------------------------------
def birthday_days(today: date) -> list[tuple[int, int]]:
    """(month, day) pairs celebrated on ``today``: 28 Feb also takes 29 Feb in non-leap years."""
    days = [(today.month, today.day)]
    if today.month == 2 and today.day == 28 and not _is_leap(today.year):
        days.append((2, 29))
    return days


def _birthday_candidates(session: Session, today: date) -> list[tuple[Member, str]]:
    match = or_(
        *(
            and_(extract("month", Member.birthday) == m, extract("day", Member.birthday) == d)
            for m, d in birthday_days(today)
        )
    )
    members = session.scalars(
        select(Member).where(_active_members(), Member.birthday.is_not(None), match)
    ).all()
    return [(member, f"birthday:{today.year}") for member in members]


def _purchase_candidates(session: Session, today: date) -> list[tuple[Member, str]]:
    start, end = club_day_start(today - timedelta(days=1)), club_day_start(today)
    rows = session.execute(
        select(Member, Purchase.id)
        .join(Purchase, Purchase.member_id == Member.id)
        .where(
            _active_members(),
            Purchase.purchased_at >= start,
            Purchase.purchased_at < end,
            Purchase.purchase_type != "return",
            Purchase.amount > 0,
        )
        .order_by(Member.id, Purchase.id)
    )
    return [(member, f"purchase:{purchase_id}") for member, purchase_id in rows]


def _activity_candidates(session: Session, today: date) -> list[tuple[Member, str]]:
    start, end = club_day_start(today - timedelta(days=1)), club_day_start(today)
    rows = session.execute(
        select(Member, Activity.code)
        .join(ActivityAttendance, ActivityAttendance.member_id == Member.id)
        .join(Activity, Activity.id == ActivityAttendance.activity_id)
        .where(
            _active_members(),
            ActivityAttendance.attended_at >= start,
            ActivityAttendance.attended_at < end,
        )
        .order_by(Member.id, Activity.code)
    )
    return [(member, f"activity:{code}") for member, code in rows]


_CANDIDATES = {
    "birthday": _birthday_candidates,
    "purchase": _purchase_candidates,
    "activity": _activity_candidates,
}


def run_care_triggers(
    session: Session,
    *,
    today: date,
    actor: Actor = SYSTEM,
    control_share: float | None = None,
    templates: Mapping[str, TriggerTemplate] | None = None,
    triggers: Sequence[str] = AUTOMATIC_TRIGGERS,
) -> CareRunReport:
    """Run the automatic care triggers for the club day ``today`` in the caller's transaction.

    Idempotent: a second run the same day (or at the same time) creates nothing new. See the
    module docstring for who is contacted, the control group and the locks.
    """
    require_role(actor, ENTER_ROLES, "run care triggers")
    # The share kept on the care (two decimals) is the one the draw uses.
    share = round(control_share_setting() if control_share is None else float(control_share), 2)
    if not 0 <= share < 1:
        raise ValueError(f"control share must be from 0 to below 1, got {share}")
    chosen_templates = {**DEFAULT_TEMPLATES, **(templates or {})}
    _lock_triggers(session)
    report = CareRunReport(day=today)
    for trigger in triggers:
        if trigger not in _CANDIDATES:
            raise ValueError(f"unknown care trigger {trigger!r}; use {AUTOMATIC_TRIGGERS}")
        report.triggers[trigger] = _run_trigger(
            session,
            trigger,
            today=today,
            actor=actor,
            share=share,
            template=chosen_templates[trigger],
        )
    session.flush()
    return report


def _run_trigger(
    session: Session,
    trigger: str,
    *,
    today: date,
    actor: Actor,
    share: float,
    template: TriggerTemplate,
) -> TriggerCount:
    count = TriggerCount(trigger)
    candidates = _CANDIDATES[trigger](session, today)
    care = session.scalar(
        select(Care)
        .where(Care.trigger == trigger, Care.run_on == today, Care.segment_id.is_(None))
        .order_by(Care.id)
        .limit(1)
    )
    if care is not None:
        count.care_id = care.id
    if not candidates:
        return count
    member_ids = sorted({member.id for member, _ref in candidates})
    refs = sorted({ref for _member, ref in candidates})
    done_refs: set[tuple[int, str]] = set()
    for chunk in _chunks(member_ids):
        done_refs.update(
            session.execute(
                select(CareContact.member_id, CareContact.trigger_ref).where(
                    CareContact.member_id.in_(chunk), CareContact.trigger_ref.in_(refs)
                )
            ).all()
        )
    in_care: set[int] = set()
    if care is not None:
        in_care = set(
            session.scalars(select(CareContact.member_id).where(CareContact.care_id == care.id))
        )
    consents = _latest_consents(session, member_ids)

    chosen: dict[int, tuple[Member, str]] = {}
    covered: set[int] = set()
    for member, ref in candidates:  # ordered: a member's first event first
        if member.id in chosen or member.id in covered:
            continue
        if (member.id, ref) in done_refs or member.id in in_care:
            covered.add(member.id)
            continue
        chosen[member.id] = (member, ref)
    count.skipped_already = len(covered - set(chosen))

    now = utcnow()
    to_queue: list[tuple[CareContact, Member]] = []
    for member, ref in chosen.values():
        if not _consents_to(consents.get(member.id, {}), template.channel):
            count.skipped_no_consent += 1
            continue
        if _needs_address(template.channel) and not _address(member, template.channel):
            count.skipped_no_address += 1
            continue
        if care is None:
            care = Care(
                trigger=trigger,
                channel=template.channel,
                title=template.title,
                content=template.content,
                control_share=Decimal(str(share)),
                run_on=today,
                created_at=now,
                created_by=actor.username,
            )
            session.add(care)
            session.flush()
            count.care_id = care.id
        is_control = in_control_group(ref, member.member_no, share)
        contact = _contact(session, care, member, trigger_ref=ref, is_control=is_control, now=now)
        if is_control:
            count.control += 1
        else:
            count.contacted += 1
            to_queue.append((contact, member))
    if care is not None:
        _queue_messages(session, care, to_queue, now)
    session.flush()
    return count


# -- manual care --------------------------------------------------------------------------------
def _split_numbers(text: str | Sequence[str]) -> list[str]:
    if isinstance(text, str):
        parts = [text]
    else:
        parts = list(text)
    tokens: list[str] = []
    for part in parts:
        cleaned = normalise_text(part) or ""
        for token in cleaned.replace("，", ",").replace("、", ",").replace(";", ",").split(","):
            tokens.extend(t.upper() for t in token.split() if t)
    return list(dict.fromkeys(tokens))  # keep order, drop repeats


def resolve_members(
    session: Session, numbers: str | Sequence[str]
) -> tuple[list[Member], list[str]]:
    """Members for pasted member or card numbers (full-width, blanks, commas tolerated).

    Returns the members found (in the order given, each once) and the numbers not found.
    """
    from operational.services.cards import find_card

    found: dict[int, Member] = {}
    unknown: list[str] = []
    for number in _split_numbers(numbers):
        member = session.scalar(select(Member).where(Member.member_no == number))
        if member is None:
            card = find_card(session, number)
            member = session.get(Member, card.card.member_id) if card is not None else None
        if member is None:
            unknown.append(number)
        else:
            found.setdefault(member.id, member)
    return list(found.values()), unknown


def send_care(
    session: Session,
    actor: Actor,
    *,
    channel: str,
    title: str,
    content: str | None,
    member_numbers: str | Sequence[str] | None = None,
    segment_id: int | None = None,
    today: date | None = None,
) -> CareSummary:
    """Send a manual care to the members named (member or card numbers) or to a saved segment.

    Archived or exiting members, members without consent to the channel and members without the
    channel's address are skipped and listed; no control group. Unknown numbers, a missing
    title, an unknown channel… are reported all at once (``ValidationFailed``) and nothing is
    written. When nobody is left to contact, nothing is written and ``care_id`` is None.
    """
    require_role(actor, ENTER_ROLES, "send care")
    channel = (normalise_text(channel) or "").lower()
    title = normalise_text(title) or ""
    content = (content or "").strip() or None
    problems = [p for p in [_check_channel(session, channel)] if p is not None]
    problems += _check_text(title, content, channel)
    members: list[Member] = []
    segment: SavedSegment | None = None
    has_numbers = bool(_split_numbers(member_numbers)) if member_numbers else False
    if has_numbers == (segment_id is not None):
        problems.append(
            Problem(
                "care_members",
                "care_members_or_segment",
                "paste member numbers or choose a saved segment (one of the two)",
                {},
            )
        )
    elif has_numbers:
        members, unknown = resolve_members(session, member_numbers or "")
        if unknown:
            problems.append(
                Problem(
                    "care_members",
                    "care_unknown_members",
                    f"no member or card has the number(s) {', '.join(unknown)}",
                    {"numbers": ", ".join(unknown), "count": len(unknown)},
                )
            )
    else:
        segment = session.get(SavedSegment, segment_id)
        if segment is None:
            problems.append(
                Problem(
                    "care_segment",
                    "not_found",
                    f"no saved segment {segment_id}",
                    {"id": segment_id},
                )
            )
    if problems:
        raise ValidationFailed(problems)

    begin_sqlite_transaction(session, write_lock=True)
    if segment is not None:
        criteria = json.loads(segment.criteria)
        members = _segment_query_members(session, criteria, today or club_today())
    inactive = [m.member_no for m in members if not _is_active(m)]
    active = [m for m in members if _is_active(m)]
    consents = _latest_consents(session, [m.id for m in active])
    no_consent = [m.member_no for m in active if not _consents_to(consents.get(m.id, {}), channel)]
    consented = [m for m in active if _consents_to(consents.get(m.id, {}), channel)]
    no_address = [
        m.member_no for m in consented if _needs_address(channel) and not _address(m, channel)
    ]
    reachable = [m for m in consented if not _needs_address(channel) or _address(m, channel)]
    if not reachable:
        return CareSummary(None, [], no_consent, inactive, no_address, 0)

    now = utcnow()
    care = Care(
        trigger="manual",
        channel=channel,
        title=title,
        content=content,
        control_share=Decimal("0"),
        run_on=today or club_today(),
        created_at=now,
        created_by=actor.username,
        segment_id=segment.id if segment is not None else None,
    )
    session.add(care)
    session.flush()
    pairs = [
        (_contact(session, care, m, trigger_ref=None, is_control=False, now=now), m)
        for m in reachable
    ]
    queued = _queue_messages(session, care, pairs, now)
    session.flush()
    return CareSummary(
        care.id, [m.member_no for m in reachable], no_consent, inactive, no_address, queued
    )


# -- results and responses ----------------------------------------------------------------------
def _locked_contact(session: Session, contact_id: int) -> CareContact:
    begin_sqlite_transaction(session, write_lock=True)
    contact = session.scalar(
        select(CareContact).where(CareContact.id == contact_id).with_for_update()
    )
    if contact is None:
        raise NotFound(f"no care contact {contact_id}", field="contact_id", contact_id=contact_id)
    return contact


def mark_result(session: Session, actor: Actor, contact_id: int, *, status: str) -> CareContact:
    """Record the result of a letter, magazine, website or other contact: sent or failed.

    A clerk may correct sent ↔ failed. SMS and e-mail results come from the outbox (code
    ``care_sends_itself``); control contacts are never contacted (code ``care_control_contact``).
    """
    require_role(actor, ENTER_ROLES, "record care results")
    if status not in ("sent", "failed"):
        raise ValidationFailed(
            [Problem("care_status", "unknown_code", "choose sent or failed", {"value": status})]
        )
    contact = _locked_contact(session, contact_id)
    if contact.is_control:
        raise Conflict(
            "this member is in the control group and is not contacted",
            code="care_control_contact",
            contact_id=contact_id,
        )
    if contact.channel in SENDING_CHANNELS:
        raise Conflict(
            f"{contact.channel} results come from the outbox, not by hand",
            code="care_sends_itself",
            channel=contact.channel,
        )
    if contact.responded_at is not None and status == "failed":
        raise Conflict(
            "the member already responded to this contact, so it was not a failure",
            code="care_already_responded",
            contact_id=contact_id,
        )
    contact.status = status
    session.flush()
    return contact


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=CLUB_TIMEZONE)  # typed by staff: club time
    return value.astimezone(UTC)


def record_response(
    session: Session,
    actor: Actor,
    contact_id: int,
    *,
    response: str,
    responded_at: datetime | None = None,
) -> ResponseResult:
    """Record the member's response (what, when) to a sent or control contact, once.

    A contacted member's response earns the ``care`` rule's points once (key
    ``care:<contact id>``, match code = the care's trigger); a control member's none.
    Refused: blank or too long response; a time in the future or before the contact; a contact
    still pending or failed (code ``care_not_sent``); a second response (``care_already_responded``).
    """
    require_role(actor, ENTER_ROLES, "record care responses")
    text = normalise_text(response) or ""
    when = _as_utc(responded_at) if responded_at is not None else utcnow()
    problems: list[Problem] = []
    if not text:
        problems.append(Problem("care_response", "required", "say how the member responded", {}))
    elif len(text) > MAX_RESPONSE:
        problems.append(
            Problem(
                "care_response",
                "too_long",
                f"at most {MAX_RESPONSE} characters",
                {"max": MAX_RESPONSE, "length": len(text)},
            )
        )
    if when > utcnow() + timedelta(minutes=5):
        problems.append(
            Problem("care_responded_at", "care_in_future", "the response time is in the future", {})
        )
    contact = _locked_contact(session, contact_id)
    if when < contact.contacted_at - timedelta(minutes=5):
        problems.append(
            Problem(
                "care_responded_at",
                "care_before_contact",
                "the response time is before the member was contacted",
                {"contacted_at": contact.contacted_at.isoformat()},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    if contact.responded_at is not None:
        raise Conflict(
            "a response is already recorded for this contact",
            code="care_already_responded",
            contact_id=contact_id,
        )
    if contact.status not in ("sent", "control"):
        raise Conflict(
            f"the contact is {contact.status}: record the result (sent) first",
            code="care_not_sent",
            status=contact.status,
        )
    contact.responded_at = when
    contact.response = text
    session.flush()
    entry: PointEntry | None = None
    if not contact.is_control:
        care = session.get(Care, contact.care_id)
        entry = point_rules.award_by_rule(
            session,
            actor,
            event_type="care",
            member_id=contact.member_id,
            idempotency_key=f"care:{contact.id}",
            reference=f"care:{contact.care_id}",
            match_code=care.trigger if care is not None else None,
        )
    return ResponseResult(
        contact_id=contact.id,
        responded_at=when,
        point_entry_id=entry.id if entry is not None else None,
        points=entry.points if entry is not None else 0,
        points_status=entry.status if entry is not None else None,
    )


# -- segments -----------------------------------------------------------------------------------
SEGMENT_KEYS = (
    "tiers",
    "regions",
    "genders",
    "age_min",
    "age_max",
    "joined_from",
    "joined_to",
    "min_points",
)


def _code_list(
    session: Session, key: str, value: object, choices: Sequence[str]
) -> tuple[list[str], Problem | None]:
    if value in (None, "", []):
        return [], None
    items = [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]
    codes = [str(item).strip() for item in items if str(item).strip()]
    unknown = [code for code in codes if code not in choices]
    if unknown:
        return codes, Problem(
            f"segment_{key}",
            "unknown_code",
            f"{', '.join(unknown)} not known; choose from: {', '.join(choices)}",
            {"value": ", ".join(unknown), "choices": ", ".join(choices)},
        )
    return codes, None


def _whole(key: str, value: object, low: int, high: int) -> tuple[int | None, Problem | None]:
    if value in (None, ""):
        return None, None
    try:
        number = int(str(normalise_text(value)))
    except (TypeError, ValueError):
        return None, Problem(
            f"segment_{key}", "care_not_whole", "give a whole number", {"value": str(value)}
        )
    if not low <= number <= high:
        return None, Problem(
            f"segment_{key}",
            "care_out_of_range",
            f"give a number from {low} to {high}",
            {"min": low, "max": high},
        )
    return number, None


def _day(key: str, value: object) -> tuple[date | None, Problem | None]:
    if value in (None, ""):
        return None, None
    if isinstance(value, date):
        return value, None
    try:
        return date.fromisoformat(str(normalise_text(value))), None
    except ValueError:
        return None, Problem(
            f"segment_{key}", "care_bad_date", "give a date as YYYY-MM-DD", {"value": str(value)}
        )


def validate_segment_criteria(session: Session, criteria: Mapping[str, object]) -> dict:
    """The criteria cleaned (as stored in JSON), or ``ValidationFailed`` with every problem."""
    problems: list[Problem] = []
    extra = sorted(set(criteria) - set(SEGMENT_KEYS))
    if extra:
        problems.append(
            Problem(
                "segment_criteria",
                "segment_unknown_criteria",
                f"unknown criteria {', '.join(extra)}; use {', '.join(SEGMENT_KEYS)}",
                {"value": ", ".join(extra)},
            )
        )
    tiers, p1 = _code_list(
        session, "tiers", criteria.get("tiers"), dictionary_codes(session, "tier")
    )
    regions, p2 = _code_list(
        session, "regions", criteria.get("regions"), dictionary_codes(session, "region")
    )
    genders, p3 = _code_list(session, "genders", criteria.get("genders"), GENDERS)
    age_min, p4 = _whole("age_min", criteria.get("age_min"), 0, 130)
    age_max, p5 = _whole("age_max", criteria.get("age_max"), 0, 130)
    joined_from, p6 = _day("joined_from", criteria.get("joined_from"))
    joined_to, p7 = _day("joined_to", criteria.get("joined_to"))
    min_points, p8 = _whole("min_points", criteria.get("min_points"), 0, 10**12)
    problems += [p for p in (p1, p2, p3, p4, p5, p6, p7, p8) if p is not None]
    if age_min is not None and age_max is not None and age_min > age_max:
        problems.append(
            Problem(
                "segment_age_max", "care_range_reversed", "the highest age is below the lowest", {}
            )
        )
    if joined_from and joined_to and joined_from > joined_to:
        problems.append(
            Problem(
                "segment_joined_to",
                "care_range_reversed",
                "the end date is before the start date",
                {},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    cleaned: dict[str, object] = {
        "tiers": tiers,
        "regions": regions,
        "genders": genders,
        "age_min": age_min,
        "age_max": age_max,
        "joined_from": joined_from.isoformat() if joined_from else None,
        "joined_to": joined_to.isoformat() if joined_to else None,
        "min_points": min_points,
    }
    return {key: value for key, value in cleaned.items() if value not in (None, [])}


def _segment_statement(criteria: Mapping[str, object], today: date):
    statement = select(Member).where(_active_members())
    if criteria.get("tiers"):
        statement = statement.where(Member.tier.in_(criteria["tiers"]))
    if criteria.get("regions"):
        statement = statement.where(Member.region.in_(criteria["regions"]))
    if criteria.get("genders"):
        statement = statement.where(Member.gender.in_(criteria["genders"]))
    if criteria.get("age_min") is not None:  # born on or before today minus age_min years
        statement = statement.where(
            Member.birthday <= _years_before(today, int(criteria["age_min"]))
        )
    if criteria.get("age_max") is not None:  # not yet age_max + 1
        statement = statement.where(
            Member.birthday > _years_before(today, int(criteria["age_max"]) + 1)
        )
    if criteria.get("joined_from"):
        statement = statement.where(Member.joined_at >= date.fromisoformat(criteria["joined_from"]))
    if criteria.get("joined_to"):
        statement = statement.where(Member.joined_at <= date.fromisoformat(criteria["joined_to"]))
    if criteria.get("min_points"):
        statement = statement.join(
            MemberPointBalance, MemberPointBalance.member_id == Member.id
        ).where(MemberPointBalance.balance >= int(criteria["min_points"]))
    return statement.order_by(Member.member_no)


def _segment_query_members(
    session: Session, criteria: Mapping[str, object], today: date
) -> list[Member]:
    return list(session.scalars(_segment_statement(criteria, today)))


def preview_segment(
    session: Session, criteria: Mapping[str, object], *, today: date | None = None
) -> int:
    """How many active members the criteria select today (validated first)."""
    cleaned = validate_segment_criteria(session, criteria)
    statement = _segment_statement(cleaned, today or club_today()).order_by(None)
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def save_segment(
    session: Session, actor: Actor, name: str, criteria: Mapping[str, object]
) -> SegmentRow:
    """Store named criteria (validated, as JSON); the name must be new (code ``segment_name_taken``)."""
    require_role(actor, ENTER_ROLES, "save segments")
    clean_name = normalise_text(name) or ""
    problems: list[Problem] = []
    if not clean_name:
        problems.append(Problem("segment_name", "required", "give the segment a name", {}))
    elif len(clean_name) > 100:
        problems.append(
            Problem(
                "segment_name",
                "too_long",
                "at most 100 characters",
                {"max": 100, "length": len(clean_name)},
            )
        )
    try:
        cleaned = validate_segment_criteria(session, criteria)
    except ValidationFailed as failed:
        problems += failed.problems
        cleaned = {}
    if clean_name and session.scalar(
        select(SavedSegment.id).where(SavedSegment.name == clean_name)
    ):
        problems.append(
            Problem(
                "segment_name",
                "segment_name_taken",
                f"a segment named {clean_name} exists",
                {"name": clean_name},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    segment = SavedSegment(
        name=clean_name,
        criteria=json.dumps(cleaned, ensure_ascii=False, sort_keys=True),
        created_at=utcnow(),
        created_by=actor.username,
    )
    try:
        with session.begin_nested():
            session.add(segment)
            session.flush()
    except IntegrityError:
        raise ValidationFailed(
            [
                Problem(
                    "segment_name",
                    "segment_name_taken",
                    f"a segment named {clean_name} exists",
                    {"name": clean_name},
                )
            ]
        ) from None
    return _segment_row(segment)


def _segment_row(segment: SavedSegment) -> SegmentRow:
    return SegmentRow(
        id=segment.id,
        name=segment.name,
        criteria=json.loads(segment.criteria),
        created_at=segment.created_at,
        created_by=segment.created_by,
    )


def list_segments(session: Session) -> list[SegmentRow]:
    return [
        _segment_row(s) for s in session.scalars(select(SavedSegment).order_by(SavedSegment.name))
    ]


def segment_members(
    session: Session, segment_id: int, *, today: date | None = None
) -> list[SegmentMember]:
    """The active members a saved segment selects now."""
    segment = session.get(SavedSegment, segment_id)
    if segment is None:
        raise NotFound(f"no saved segment {segment_id}", field="care_segment", id=segment_id)
    members = _segment_query_members(session, json.loads(segment.criteria), today or club_today())
    return [SegmentMember(m.id, m.member_no, m.name) for m in members]


# -- views --------------------------------------------------------------------------------------
def list_cares(
    session: Session,
    *,
    since: date | None = None,
    until: date | None = None,
    trigger: str | None = None,
    limit: int = 200,
) -> list[CareRow]:
    """Cares run from ``since`` to ``until`` (club days, inclusive), newest first, with counts."""
    statement = select(Care).order_by(Care.run_on.desc(), Care.id.desc()).limit(limit)
    if since:
        statement = statement.where(Care.run_on >= since)
    if until:
        statement = statement.where(Care.run_on <= until)
    if trigger:
        statement = statement.where(Care.trigger == trigger)
    cares = session.scalars(statement).all()
    if not cares:
        return []
    ids = [c.id for c in cares]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = session.execute(
        select(
            CareContact.care_id,
            CareContact.status,
            func.count(),
            func.count(CareContact.responded_at),
        )
        .where(CareContact.care_id.in_(ids))
        .group_by(CareContact.care_id, CareContact.status)
    )
    for care_id, status, number, responded in rows:
        counts[care_id][status] += number
        counts[care_id]["responded"] += responded
    segments = dict(session.execute(select(SavedSegment.id, SavedSegment.name)).all())
    result = []
    for care in cares:
        c = counts[care.id]
        result.append(
            CareRow(
                id=care.id,
                trigger=care.trigger,
                channel=care.channel,
                title=care.title,
                run_on=care.run_on,
                created_by=care.created_by,
                segment_name=segments.get(care.segment_id) if care.segment_id else None,
                control_share=care.control_share,
                contacts=c["sent"] + c["failed"] + c["pending"],
                controls=c["control"],
                sent=c["sent"],
                failed=c["failed"],
                pending=c["pending"],
                responded=c["responded"],
            )
        )
    return result


def care_members(session: Session, care_id: int) -> list[CareMemberRow]:
    """A care's members: contacted ones and controls, with result, response and outbox state."""
    if session.get(Care, care_id) is None:
        raise NotFound(f"no care {care_id}", field="care_id", care_id=care_id)
    rows = session.execute(
        select(
            CareContact, Member.member_no, Member.name, OutboxMessage.status, OutboxMessage.error
        )
        .join(Member, Member.id == CareContact.member_id)
        .outerjoin(OutboxMessage, OutboxMessage.contact_id == CareContact.id)
        .where(CareContact.care_id == care_id)
        .order_by(Member.member_no)
    )
    return [
        CareMemberRow(
            contact_id=contact.id,
            member_no=member_no,
            name=name,
            status=contact.status,
            is_control=contact.is_control,
            trigger_ref=contact.trigger_ref,
            contacted_at=contact.contacted_at,
            responded_at=contact.responded_at,
            response=contact.response,
            outbox_status=outbox_status,
            outbox_error=outbox_error,
        )
        for contact, member_no, name, outbox_status, outbox_error in rows
    ]


def member_cares(session: Session, member_no: str) -> list[MemberCareRow]:
    """A member's cares, newest first (member or card number accepted)."""
    members, unknown = resolve_members(session, member_no)
    if unknown or not members:
        raise NotFound(
            f"no member has the number {member_no!r}",
            code="member_not_found",
            field="member_no",
            member_no=member_no,
        )
    rows = session.execute(
        select(CareContact, Care)
        .join(Care, Care.id == CareContact.care_id)
        .where(CareContact.member_id == members[0].id)
        .order_by(CareContact.contacted_at.desc(), CareContact.id.desc())
    )
    return [
        MemberCareRow(
            contact_id=contact.id,
            care_id=care.id,
            trigger=care.trigger,
            channel=contact.channel,
            title=care.title,
            run_on=care.run_on,
            status=contact.status,
            is_control=contact.is_control,
            contacted_at=contact.contacted_at,
            responded_at=contact.responded_at,
            response=contact.response,
        )
        for contact, care in rows
    ]


def care_stats(session: Session, *, since: date, until: date) -> CareStats:
    """Contacts by channel and month (shares within the month, controls excluded) and the
    response rate of treated vs control members per trigger, for contacts made from ``since``
    to ``until`` (club days, inclusive)."""
    rows = session.execute(
        select(
            CareContact.contacted_at,
            CareContact.channel,
            CareContact.is_control,
            CareContact.responded_at,
            Care.trigger,
        )
        .join(Care, Care.id == CareContact.care_id)
        .where(
            CareContact.contacted_at >= club_day_start(since),
            CareContact.contacted_at < club_day_start(until + timedelta(days=1)),
        )
    )
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_trigger: dict[str, list[int]] = {t: [0, 0, 0, 0] for t in CARE_TRIGGERS}
    for contacted_at, channel, is_control, responded_at, trigger in rows:
        numbers = by_trigger.setdefault(trigger, [0, 0, 0, 0])
        offset = 2 if is_control else 0
        numbers[offset] += 1
        numbers[offset + 1] += responded_at is not None
        if not is_control:
            month = contacted_at.astimezone(CLUB_TIMEZONE).strftime("%Y-%m")
            by_month[month][channel] += 1
    channel_rows = []
    for month in sorted(by_month):
        total = sum(by_month[month].values())
        for channel in CARE_CHANNELS:
            if by_month[month].get(channel):
                number = by_month[month][channel]
                channel_rows.append(ChannelMonthRow(month, channel, number, number / total))
    trigger_rows = [
        TriggerResponseRow(trigger, *numbers)
        for trigger, numbers in by_trigger.items()
        if any(numbers)
    ]
    return CareStats(channel_rows, trigger_rows)
