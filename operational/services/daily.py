"""The membership jobs that run once a day (scheduled by Dagster, or `clubcrm daily` from cron).

Each job is idempotent, so running the day twice (a retry after a crash) changes nothing more:
- expired sub-cards are cancelled (DOMAIN.md "Cards");
- points past their expiry date expire (what is left of each award, ``points.expire_points``);
- members whose points earned in the last 365 days reached a higher tier get it, with a new
  main card (postings never upgrade by themselves; this job does);
- members whose contact details kept failing get an automatic exit request (reviewed by staff);
- the automatic care triggers (birthday, after a purchase, after an activity) create the day's
  care contacts, with their control group (``care.run_care_triggers``; one contact per member
  and trigger event).

Afterwards the open complaints past their due time are listed (:func:`overdue_complaint_lines`,
a report for the service desk, not work done).

The queued care messages are sent afterwards by :func:`deliver_care_messages`, *after* the jobs'
transaction committed and one message per transaction: a gateway is never called for a contact
that could still roll back, and the database is not held while messages go out. A crash between
a send and its commit can send that one message again (at least once, never a batch twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.models import Member
from operational.services import cards, care, complaints, lifecycle, points
from operational.services.common import SYSTEM, Actor
from operational.services.outbox import DeliveryReport


@dataclass(frozen=True)
class DailyReport:
    day: date
    sub_cards_expired: int
    tier_upgrades: list[str]  # member numbers
    contact_invalid_exits: list[str]  # member numbers with a new automatic exit request
    points_expired: int = 0  # expiry entries written
    cares: care.CareRunReport | None = None

    def lines(self) -> list[str]:
        cares = self.cares.lines() if self.cares is not None else []
        return [
            f"day: {self.day.isoformat()}",
            f"sub-cards expired: {self.sub_cards_expired}",
            f"tier upgrades: {len(self.tier_upgrades)}",
            f"automatic exit requests (contact invalid): {len(self.contact_invalid_exits)}",
            f"point awards expired: {self.points_expired}",
            *cares,
        ]


def run_daily_membership_jobs(
    session: Session, *, today: date, actor: Actor = SYSTEM, contact_invalid_days: int = 180
) -> DailyReport:
    """Run the daily membership jobs in the caller's transaction."""
    expired = cards.cancel_expired_sub_cards(session, today=today, actor=actor)
    points_expired = points.expire_points(session, today=today, actor=actor)
    upgraded = cards.apply_tier_upgrades(session, actor=actor, today=today)
    exits = lifecycle.flag_contact_invalid_exits(
        session, today=today, days=contact_invalid_days, actor=actor
    )
    cared = care.run_care_triggers(session, today=today, actor=actor)
    numbers = {request.member_id for request in exits}
    member_nos = (
        sorted(session.scalars(select(Member.member_no).where(Member.id.in_(numbers))))
        if numbers
        else []
    )
    return DailyReport(
        day=today,
        sub_cards_expired=expired,
        tier_upgrades=upgraded,
        contact_invalid_exits=member_nos,
        points_expired=points_expired,
        cares=cared,
    )


def deliver_care_messages(database_url: str, *, limit: int = 100_000) -> DeliveryReport:
    """Send every queued care message, each in its own transaction; what was delivered."""
    from operational.db import session_scope
    from operational.services.outbox import channel_from_settings

    channel = channel_from_settings()
    total = DeliveryReport()
    for _ in range(limit):
        with session_scope(database_url) as session:
            report = care.deliver_outbox(session, channel, limit=1)
        total.delivered += report.delivered
        total.failed += report.failed
        total.errors.extend(report.errors)
        if report.delivered + report.failed == 0:
            break
    return total


#: Overdue complaints named one by one in the daily report (the count is always complete).
OVERDUE_LISTED = 50


def overdue_complaint_lines(
    database_url: str, *, listed: int = OVERDUE_LISTED
) -> tuple[int, list[str]]:
    """The number of open complaints past their due time and a line for each of the first
    ``listed``, the longest overdue first."""
    from operational.db import session_scope

    with session_scope(database_url) as session:
        overdue = complaints.overdue_complaints(session, limit=100_000)
    lines = [f"overdue complaints: {len(overdue)}"]
    lines += [
        f"overdue complaint {row.complaint_no} ({row.complaint_type}, {row.importance}): "
        f"due {row.due_at:%Y-%m-%d %H:%M}, {row.status}"
        for row in overdue[: max(listed, 0)]
    ]
    if len(overdue) > listed:
        lines.append(f"… and {len(overdue) - listed} more (the complaints page lists them all)")
    return len(overdue), lines
