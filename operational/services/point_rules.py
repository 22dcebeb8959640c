"""Automatic points rules (积分规则): which events earn points by themselves, and how many.

Attending an activity, a closed complaint, a response to a care contact and a swipe at a
points-award card reader earn points by rule, not by a clerk's decision. A rule
(:class:`~operational.models.PointRule`) names the event type, an optional ``match_code`` (an
activity type, a complaint type, a care trigger, a reader target or merchant code), the points,
and whether a supervisor must approve them.

- **Which rule.** The active rule with the event's ``match_code`` wins; otherwise the active rule
  for any event of the type (``match_code`` ``""``); otherwise none (no points).
- **Pending or posted.** A rule that ``needs_approval`` creates a *pending* entry that waits in the
  approval queue (``points.approve_entry`` / ``reject_entry``; never approved by the person whose
  action created it); otherwise the entry is posted at once.
- **Once.** Every award goes through ``points.post_entry`` with the caller's idempotency key (for
  example ``activity:ACT-7:M00000012``), so a retried or repeated event awards once, pending or not.

Admins edit rules (:func:`set_rule`); changing a rule never touches entries already created.

Card-reader swipes (:func:`award_for_swipe`) earn the ``swipe`` rule's points through the same
path: the card read (its printed number or the chip number) must be an active card of a current
member; the swipe's unique id is the idempotency key, so a swipe replayed from the reader's spool
awards once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.models import PointEntry, PointRule
from operational.models.base import utcnow
from operational.models.cards_points import RULE_EVENT_TYPES
from operational.services import points
from operational.services.cards import find_card
from operational.services.common import (
    ENTER_ROLES,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ValidationFailed,
    require_role,
)

ADMIN_ROLES = ("admin",)
MAX_RULE_POINTS = 100_000


@dataclass(frozen=True)
class RuleRow:
    id: int
    event_type: str
    match_code: str
    points: int
    needs_approval: bool
    active: bool
    description: str | None
    updated_at: datetime
    updated_by: str | None


def _row(rule: PointRule) -> RuleRow:
    return RuleRow(
        id=rule.id,
        event_type=rule.event_type,
        match_code=rule.match_code,
        points=rule.points,
        needs_approval=rule.needs_approval,
        active=rule.active,
        description=rule.description,
        updated_at=rule.updated_at,
        updated_by=rule.updated_by,
    )


def list_rules(session: Session) -> list[RuleRow]:
    """Every rule, by event type, the generic rule of each type first."""
    rules = session.scalars(select(PointRule).order_by(PointRule.event_type, PointRule.match_code))
    return [_row(rule) for rule in rules]


def set_rule(
    session: Session,
    actor: Actor,
    *,
    event_type: str,
    match_code: str = "",
    points: int,
    needs_approval: bool,
    active: bool = True,
    description: str | None = None,
) -> RuleRow:
    """Create or change the rule of ``(event_type, match_code)`` (admins only)."""
    require_role(actor, ADMIN_ROLES, "change points rules")
    match_code = (match_code or "").strip().lower()
    problems: list[Problem] = []
    if event_type not in RULE_EVENT_TYPES:
        problems.append(
            Problem(
                "event_type",
                "unknown_code",
                f"event type must be one of {', '.join(RULE_EVENT_TYPES)}",
                {"value": event_type, "choices": ", ".join(RULE_EVENT_TYPES)},
            )
        )
    if isinstance(points, bool) or not isinstance(points, int):
        problems.append(Problem("points", "invalid_number", "points must be a whole number"))
    elif not 0 <= points <= MAX_RULE_POINTS:
        problems.append(
            Problem(
                "points",
                "invalid_number",
                f"points must be between 0 and {MAX_RULE_POINTS}",
                {"low": 0, "high": MAX_RULE_POINTS},
            )
        )
    if len(match_code) > 40:
        problems.append(
            Problem(
                "match_code",
                "too_long",
                "the code is at most 40 characters",
                {"length": len(match_code), "max": 40},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    rule = session.scalar(
        select(PointRule).where(
            PointRule.event_type == event_type, PointRule.match_code == match_code
        )
    )
    if rule is None:
        rule = PointRule(event_type=event_type, match_code=match_code)
        session.add(rule)
    rule.points = points
    rule.needs_approval = needs_approval
    rule.active = active
    rule.description = (description or "").strip() or None
    rule.updated_at = utcnow()
    rule.updated_by = actor.username
    session.flush()
    return _row(rule)


def rule_for(session: Session, event_type: str, match_code: str | None = None) -> PointRule | None:
    """The active rule for an event: the one of its ``match_code``, else the generic one."""
    codes = [""] if not match_code else [match_code.strip().lower(), ""]
    rules = session.scalars(
        select(PointRule).where(
            PointRule.event_type == event_type,
            PointRule.active.is_(True),
            PointRule.match_code.in_(codes),
        )
    ).all()
    for code in codes:
        for rule in rules:
            if rule.match_code == code:
                return rule
    return None


def award_by_rule(
    session: Session,
    actor: Actor,
    *,
    event_type: str,
    member_id: int,
    idempotency_key: str,
    reference: str,
    match_code: str | None = None,
    points_override: int | None = None,
    card_id: int | None = None,
    reason: str | None = None,
) -> PointEntry | None:
    """Award the points the rule for this event gives, once; None when no rule gives any.

    ``points_override`` (for example an activity's own points per attendee) replaces the rule's
    points when positive; the rule still decides whether a supervisor must approve. Returns the
    entry (pending or posted; the existing one when the key was awarded before).
    """
    rule = rule_for(session, event_type, match_code)
    if rule is None:
        return None
    amount = points_override if points_override and points_override > 0 else rule.points
    if amount <= 0:
        return None
    entry, _created = points.post_entry(
        session,
        member_id=member_id,
        points=amount,
        event_type=event_type,
        idempotency_key=idempotency_key,
        actor=actor,
        reason=reason or rule.description,
        reference=reference,
        card_id=card_id,
        status="pending" if rule.needs_approval else "posted",
    )
    return entry


def award_for_swipe(
    session: Session,
    actor: Actor,
    *,
    card_number: str,
    swipe_id: str,
    target: str | None = None,
) -> PointEntry | None:
    """Award the ``swipe`` rule's points for one accepted swipe, once per ``swipe_id``.

    ``card_number`` is what the reader sent, mapped to the printed card number or the chip
    number; ``target`` (the reader's target, e.g. a merchant code) picks a specific rule. An
    unknown card raises ``NotFound`` (code ``unknown_card``); a lost, replaced, cancelled or
    expired card, or an archived member, raises ``Conflict`` (``card_not_active`` /
    ``member_not_active``): the reader's report lists them, nothing is dropped silently.
    """
    require_role(actor, ENTER_ROLES, "post card-reader points")
    found = find_card(session, card_number)
    if found is None:
        raise NotFound(
            f"no card with the number {card_number!r}",
            code="unknown_card",
            field="card_no",
            number=card_number,
        )
    if found.status != "active":
        raise Conflict(
            f"card {found.card_no} is {found.status}",
            code="card_not_active",
            field="card_no",
            card_no=found.card_no,
            status=found.status,
        )
    if not found.usable:  # the same rule as every card lookup: not an archived member
        raise Conflict(
            f"member {found.member_no} is {found.member_status}",
            code="member_not_active",
            field="card_no",
            member_no=found.member_no,
            status=found.member_status,
        )
    return award_by_rule(
        session,
        actor,
        event_type="swipe",
        member_id=found.card.member_id,
        idempotency_key=f"swipe:{swipe_id}",
        reference=f"swipe:{swipe_id}",
        match_code=target,
        card_id=found.card.id,
        reason=f"card reader swipe {swipe_id}",
    )
