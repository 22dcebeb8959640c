"""Redemption (兑付): plans members redeem points for, and the redemptions themselves.

Rules (DOMAIN.md "Points"; issue 4 "Redemption"):

- A plan (兑付方案) has an item, a points cost per unit, a stock, a period (``starts_on`` to
  ``ends_on`` inclusive, open-ended when ``ends_on`` is empty), an active flag and whether the
  website shows it. Reviewers and admins create and change plans.
- Redeeming (staff, reviewers, admins) is one transaction: the plan row is locked
  (``SELECT … FOR UPDATE``; on SQLite the database write lock), the plan is checked (active, in
  its period, enough stock), the points are spent through :func:`points.post_entry` (a negative
  ``redemption`` entry, key ``redemption:{idempotency_key}``, reference the plan code), which
  refuses ``insufficient_points``, and the stock goes down. Refusals are :class:`ServiceError`
  with the codes ``plan_inactive``, ``plan_not_started``, ``plan_ended``, ``out_of_stock``,
  ``insufficient_points``; nothing is written then.
- A retried ``idempotency_key`` returns the first redemption and changes nothing.
- Dates ("today", statistics periods) are the club's local dates (Asia/Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import Member, Redemption, RedemptionPlan
from operational.models.base import utcnow
from operational.services import points
from operational.services.cards import active_main_card
from operational.services.common import (
    DECIDE_ROLES,
    ENTER_ROLES,
    Actor,
    Conflict,
    NotFound,
    Problem,
    ServiceError,
    ValidationFailed,
    require_role,
)
from operational.validation import normalise_text

_UNSET: object = object()


def _today() -> date:
    return datetime.now(points.CLUB_TIMEZONE).date()


# -- plans --------------------------------------------------------------------------------------
def create_plan(
    session: Session,
    actor: Actor,
    *,
    code: str,
    item: str,
    points_cost: int,
    stock: int,
    starts_on: date,
    ends_on: date | None = None,
    visible_on_website: bool = True,
) -> RedemptionPlan:
    """A new active redemption plan (reviewer or admin). Codes are unique (``plan_code_taken``)."""
    require_role(actor, DECIDE_ROLES, "create redemption plans")
    problems: list[Problem] = []
    code_text = (normalise_text(code) or "").upper()
    if not code_text or len(code_text) > 40:
        problems.append(Problem("code", "required", "enter a plan code of 1 to 40 characters"))
    elif session.scalar(select(RedemptionPlan.id).where(RedemptionPlan.code == code_text)):
        problems.append(
            Problem("code", "plan_code_taken", f"plan code {code_text} is already in use")
        )
    item_text = normalise_text(item)
    if not item_text:
        problems.append(Problem("item", "required", "enter the item members receive"))
    _check_whole(points_cost, "points_cost", 1, problems)
    _check_whole(stock, "stock", 0, problems)
    _check_period(starts_on, ends_on, problems)
    if problems:
        raise ValidationFailed(problems)
    plan = RedemptionPlan(
        code=code_text,
        item=item_text,
        points_cost=points_cost,
        stock=stock,
        starts_on=starts_on,
        ends_on=ends_on,
        active=True,
        visible_on_website=visible_on_website,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"plan code {code_text} was just taken by someone else", code="plan_code_taken"
        ) from None
    return plan


def update_plan(
    session: Session,
    actor: Actor,
    code: str,
    *,
    item: str | None = None,
    points_cost: int | None = None,
    stock: int | None = None,
    starts_on: date | None = None,
    ends_on: date | None | object = _UNSET,
    active: bool | None = None,
    visible_on_website: bool | None = None,
) -> RedemptionPlan:
    """Change a plan (reviewer or admin); arguments left out stay as they are.

    ``stock`` sets the stock (not an increment); ``ends_on=None`` opens the period's end. The
    plan row is locked, so a change never loses a concurrent redemption's decrement.
    """
    require_role(actor, DECIDE_ROLES, "change redemption plans")
    plan = _locked_plan(session, code)
    problems: list[Problem] = []
    if item is not None and not normalise_text(item):
        problems.append(Problem("item", "required", "enter the item members receive"))
    if points_cost is not None:
        _check_whole(points_cost, "points_cost", 1, problems)
    if stock is not None:
        _check_whole(stock, "stock", 0, problems)
    new_start = starts_on if starts_on is not None else plan.starts_on
    new_end = plan.ends_on if ends_on is _UNSET else ends_on
    _check_period(new_start, new_end, problems)  # type: ignore[arg-type]
    if problems:
        raise ValidationFailed(problems)
    if item is not None:
        plan.item = normalise_text(item)  # type: ignore[assignment]
    if points_cost is not None:
        plan.points_cost = points_cost
    if stock is not None:
        plan.stock = stock
    plan.starts_on = new_start
    plan.ends_on = new_end  # type: ignore[assignment]
    if active is not None:
        plan.active = active
    if visible_on_website is not None:
        plan.visible_on_website = visible_on_website
    session.flush()
    return plan


def active_plans(session: Session, *, today: date) -> list[RedemptionPlan]:
    """Active plans whose period includes ``today``, by code (out-of-stock ones included, so a
    page can show them as such)."""
    return list(
        session.scalars(
            select(RedemptionPlan)
            .where(
                RedemptionPlan.active.is_(True),
                RedemptionPlan.starts_on <= today,
                (RedemptionPlan.ends_on.is_(None)) | (RedemptionPlan.ends_on >= today),
            )
            .order_by(RedemptionPlan.code)
        )
    )


# -- redeeming ----------------------------------------------------------------------------------
def redeem(
    session: Session,
    actor: Actor,
    *,
    member_no: str,
    plan_code: str,
    quantity: int = 1,
    idempotency_key: str,
    today: date | None = None,
) -> Redemption:
    """Redeem ``quantity`` units of a plan for a member, atomically; see the module docstring.

    Returns the redemption (the first one when ``idempotency_key`` was used before). The caller
    commits.
    """
    require_role(actor, ENTER_ROLES, "redeem points")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ServiceError(
            f"the quantity is a whole number of at least 1, got {quantity!r}",
            code="invalid_quantity",
            field="quantity",
        )
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise ServiceError(
            "an idempotency key of 1 to 100 characters naming this redemption is required",
            code="invalid_idempotency_key",
            field="idempotency_key",
        )
    existing = _by_key(session, key)
    if existing is not None:
        return _same_redemption(session, existing, member_no, plan_code)
    today = today or _today()
    number = (normalise_text(member_no) or "").upper()
    member = session.scalar(select(Member).where(Member.member_no == number))
    if member is None:
        raise NotFound(f"no member has the number {member_no}", code="not_found", field="member")
    if member.status == "archived":
        raise ServiceError(
            f"member {member.member_no} is archived; restore the member first",
            code="member_archived",
            field="member",
        )

    plan = _locked_plan(session, plan_code)
    # A concurrent retry may have redeemed this key while we waited for the plan lock.
    existing = _by_key(session, key)
    if existing is not None:
        return _same_redemption(session, existing, member_no, plan_code)
    _check_redeemable(plan, quantity, today)

    cost = plan.points_cost * quantity
    card = active_main_card(session, member.id)
    entry, _ = points.post_entry(
        session,
        member_id=member.id,
        points=-cost,
        event_type="redemption",
        idempotency_key=f"redemption:{key}",
        actor=actor,
        reason=f"redeemed {quantity} × {plan.item}"[:500],
        reference=plan.code,
        card_id=card.id if card else None,
    )
    plan.stock -= quantity
    redemption = Redemption(
        plan_id=plan.id,
        member_id=member.id,
        card_id=card.id if card else None,
        quantity=quantity,
        points=cost,
        point_entry_id=entry.id,
        redeemed_at=utcnow(),
        redeemed_by=actor.username,
        idempotency_key=key,
    )
    session.add(redemption)
    session.flush()
    return redemption


def _check_redeemable(plan: RedemptionPlan, quantity: int, today: date) -> None:
    if not plan.active:
        raise ServiceError(
            f"plan {plan.code} ({plan.item}) is not active", code="plan_inactive", field="plan"
        )
    if today < plan.starts_on:
        raise ServiceError(
            f"plan {plan.code} starts on {plan.starts_on.isoformat()}",
            code="plan_not_started",
            field="plan",
            starts_on=plan.starts_on.isoformat(),
        )
    if plan.ends_on is not None and today > plan.ends_on:
        raise ServiceError(
            f"plan {plan.code} ended on {plan.ends_on.isoformat()}",
            code="plan_ended",
            field="plan",
            ends_on=plan.ends_on.isoformat(),
        )
    if plan.stock < quantity:
        raise ServiceError(
            f"plan {plan.code} ({plan.item}) is out of stock: {plan.stock} left, "
            f"{quantity} requested",
            code="out_of_stock",
            field="quantity",
            stock=plan.stock,
            requested=quantity,
        )


# -- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RedemptionRecord:
    redemption_id: int
    plan_code: str
    item: str
    quantity: int
    points: int  # points spent (positive)
    redeemed_at: datetime
    redeemed_by: str | None


@dataclass(frozen=True)
class PlanStats:
    plan_code: str
    item: str
    count: int  # redemptions
    quantity: int  # units
    points: int  # points spent


def member_redemptions(session: Session, member_no: str) -> list[RedemptionRecord]:
    """A member's redemptions, newest first."""
    number = (normalise_text(member_no) or "").upper()
    rows = session.execute(
        select(Redemption, RedemptionPlan.code, RedemptionPlan.item)
        .join(RedemptionPlan, RedemptionPlan.id == Redemption.plan_id)
        .join(Member, Member.id == Redemption.member_id)
        .where(Member.member_no == number)
        .order_by(Redemption.redeemed_at.desc(), Redemption.id.desc())
    ).all()
    return [
        RedemptionRecord(r.id, code, item, r.quantity, r.points, r.redeemed_at, r.redeemed_by)
        for r, code, item in rows
    ]


def redemption_stats(session: Session, *, start: date, end: date) -> list[PlanStats]:
    """Per plan, the redemptions made from ``start`` to ``end`` (local dates, inclusive), by
    plan code; plans without redemptions in the period are left out."""
    since = datetime.combine(start, time(), points.CLUB_TIMEZONE)
    until = datetime.combine(end + timedelta(days=1), time(), points.CLUB_TIMEZONE)
    rows = session.execute(
        select(
            RedemptionPlan.code,
            RedemptionPlan.item,
            func.count(Redemption.id),
            func.sum(Redemption.quantity),
            func.sum(Redemption.points),
        )
        .join(RedemptionPlan, RedemptionPlan.id == Redemption.plan_id)
        .where(Redemption.redeemed_at >= since, Redemption.redeemed_at < until)
        .group_by(RedemptionPlan.code, RedemptionPlan.item)
        .order_by(RedemptionPlan.code)
    ).all()
    return [PlanStats(c, i, int(n), int(q or 0), int(p or 0)) for c, i, n, q, p in rows]


# -- helpers ------------------------------------------------------------------------------------
def _by_key(session: Session, key: str) -> Redemption | None:
    return session.scalar(select(Redemption).where(Redemption.idempotency_key == key))


def _same_redemption(
    session: Session, redemption: Redemption, member_no: str, plan_code: str
) -> Redemption:
    """The earlier redemption of a retried key; a key reused for another member or plan is
    refused (``idempotency_key_reused``)."""
    member = session.get(Member, redemption.member_id)
    plan = session.get(RedemptionPlan, redemption.plan_id)
    if (
        member is None
        or plan is None
        or member.member_no != (normalise_text(member_no) or "").upper()
        or plan.code != (normalise_text(plan_code) or "").upper()
    ):
        raise Conflict(
            f"idempotency key {redemption.idempotency_key!r} was already used for another "
            "redemption; each redemption needs its own key",
            code="idempotency_key_reused",
            field="idempotency_key",
        )
    return redemption


def _locked_plan(session: Session, code: str) -> RedemptionPlan:
    """The plan row, locked until the transaction ends (SQLite: the database write lock)."""
    begin_sqlite_transaction(session, write_lock=True)
    text = (normalise_text(code) or "").upper()
    plan = session.scalar(
        select(RedemptionPlan)
        .where(RedemptionPlan.code == text)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if plan is None:
        raise NotFound(f"no redemption plan has the code {code}", code="not_found", field="plan")
    return plan


def _check_whole(value: object, field: str, minimum: int, problems: list[Problem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(
            Problem(field, "invalid_number", f"{field} is a whole number of at least {minimum}")
        )


def _check_period(starts_on: object, ends_on: object, problems: list[Problem]) -> None:
    if not isinstance(starts_on, date):
        problems.append(Problem("starts_on", "required", "enter the first day of the plan"))
        return
    if ends_on is not None and (not isinstance(ends_on, date) or ends_on < starts_on):
        problems.append(
            Problem("ends_on", "period", "the last day is on or after the first day, or empty")
        )
