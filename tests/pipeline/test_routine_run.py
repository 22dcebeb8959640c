"""The routine (hourly) run: changed rows in, the core layer refreshed, the marts left as the
last complete run built them, and readers told how fresh each layer is (decision D18)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clubcrm.published import run_query
from clubcrm.settings import Settings
from operational.db import make_engine
from operational.models import Member, Purchase
from orchestration.pipeline import run_pipeline

pytestmark = pytest.mark.e2e


def scalar(settings: Settings, sql: str):
    return run_query(settings, sql).iat[0, 0]


def money(settings: Settings, sql: str) -> Decimal:
    return Decimal(str(scalar(settings, sql))).quantize(Decimal("0.01"))


def add_purchase(settings: Settings, amount: Decimal) -> None:
    engine = make_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        member = session.scalars(select(Member).order_by(Member.id).limit(1)).one()
        now = datetime.now(UTC)
        session.add(
            Purchase(purchase_no="ROUTINE-TEST-1", member_id=member.id, purchased_at=now,
                     amount=amount, paid_amount=amount,
                     quantity=1, product="routine-test", purchase_type="new",
                     created_at=now)
        )  # fmt: skip
    engine.dispose()


def test_a_routine_run_refreshes_core_and_keeps_the_marts_of_the_last_complete_run(
    demo_copy: Settings,
) -> None:
    revenue_sql = "select coalesce(sum(amount), 0) from core.fct_purchases"
    marts_sql = "select coalesce(sum(amount), 0) from reporting.purchases_by_month"
    core_before, marts_before = money(demo_copy, revenue_sql), money(demo_copy, marts_sql)
    add_purchase(demo_copy, Decimal("12345.67"))

    routine = run_pipeline(demo_copy, routine=True)

    assert routine.success, routine.summary_lines()
    assert routine.mode == "routine"
    assert routine.dbt_count("model") < 80  # the marts, features and scores were not rebuilt
    assert money(demo_copy, revenue_sql) == core_before + Decimal("12345.67")
    assert money(demo_copy, marts_sql) == marts_before  # as of the last complete run
    info = run_query(
        demo_copy, "select mode, marts_built_at, published_at from main.warehouse_info"
    )
    assert info.at[0, "mode"] == "routine"
    assert info.at[0, "marts_built_at"] < info.at[0, "published_at"]
    assert any("routine" in line for line in routine.summary_lines())

    complete = run_pipeline(demo_copy)

    assert complete.success and complete.mode == "complete"
    assert money(demo_copy, marts_sql) == marts_before + Decimal("12345.67")
    assert scalar(demo_copy, "select mode from main.warehouse_info") == "complete"


def test_a_routine_run_without_any_complete_build_builds_everything(small_club: Settings) -> None:
    result = run_pipeline(small_club, routine=True)

    assert result.success, result.summary_lines()
    assert result.mode == "complete"
    assert scalar(small_club, "select count(*) from reporting.purchases_by_month") > 0


def test_routine_cannot_be_combined_with_a_backtest_or_a_full_rebuild(
    small_club: Settings,
) -> None:
    with pytest.raises(ValueError, match="routine"):
        run_pipeline(small_club, routine=True, as_of=date(2025, 3, 1))
    with pytest.raises(ValueError, match="routine"):
        run_pipeline(small_club, routine=True, full=True)
