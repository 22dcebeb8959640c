"""The daily membership jobs (operational.services.daily) as a Dagster job on a schedule.

Runs at 02:00 club time: expire points, cancel expired sub-cards, apply tier upgrades, flag
members whose contact details keep failing for an exit review, create the day's automatic care
contacts and deliver their messages, then list the overdue complaints (open past their due
time) in the run's log and output, the longest overdue first. The work lives in
``operational``; this module only wires it to the scheduler. ``clubcrm daily`` runs the same
jobs from cron.
(No ``from __future__ import annotations`` here: Dagster reads the op's config annotation.)
"""

from datetime import date, datetime

import dagster as dg

from operational.db import session_scope
from operational.services.daily import (
    deliver_care_messages,
    overdue_complaint_lines,
    run_daily_membership_jobs,
)
from operational.services.points import CLUB_TIMEZONE


class DailyMembershipConfig(dg.Config):
    day: str = ""  # ISO date; empty means today in club time


@dg.op(required_resource_keys={"clubcrm"}, description="Daily membership jobs (idempotent).")
def membership_daily_op(
    context: dg.OpExecutionContext, config: DailyMembershipConfig
) -> dg.Output[dict]:
    settings = context.resources.clubcrm
    day = date.fromisoformat(config.day) if config.day else datetime.now(CLUB_TIMEZONE).date()
    with session_scope(settings.database_url) as session:
        report = run_daily_membership_jobs(session, today=day)
    delivery = deliver_care_messages(settings.database_url)  # after the jobs committed
    for line in [*report.lines(), *delivery.lines()]:
        context.log.info(line)
    overdue, overdue_lines = overdue_complaint_lines(settings.database_url)
    context.log.info(overdue_lines[0])
    for line in overdue_lines[1:]:
        context.log.warning(line)
    summary = {
        "day": report.day.isoformat(),
        "sub_cards_expired": report.sub_cards_expired,
        "points_expired": report.points_expired,
        "tier_upgrades": len(report.tier_upgrades),
        "contact_invalid_exits": len(report.contact_invalid_exits),
        "care_contacted": sum(c.contacted for c in report.cares.triggers.values())
        if report.cares
        else 0,
        "care_messages_delivered": delivery.delivered,
        "care_messages_failed": delivery.failed,
    }
    # The overdue list is a report, not work done: shown as the output's metadata in the UI.
    return dg.Output(summary, metadata={"overdue_complaints": overdue})


@dg.job(
    description="Expire points, end sub-cards, upgrade tiers, flag contact-invalid exits, "
    "run the care triggers, list overdue complaints."
)
def membership_daily() -> None:
    membership_daily_op()


membership_daily_schedule = dg.ScheduleDefinition(
    name="membership_daily_schedule",
    job=membership_daily,
    cron_schedule="0 2 * * *",
    execution_timezone=CLUB_TIMEZONE.key,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(jobs=[membership_daily], schedules=[membership_daily_schedule])
