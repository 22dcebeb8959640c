"""The Redemption page (AppTest): plans, redeeming, refusals, history, stats, new plans."""

from __future__ import annotations

from datetime import date

import pytest
from smallclub import button_labels, click, open_page
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Member, Redemption, RedemptionPlan
from operational.services import points, redemption
from operational.services.common import Actor

ADMIN = Actor("admin", "admin")


@pytest.fixture
def plans(small_club: Settings) -> Settings:
    with session_scope(small_club.database_url) as session:
        redemption.create_plan(
            session, ADMIN, code="SPA", item="Spa day", points_cost=500, stock=3,
            starts_on=date(2020, 1, 1),
        )  # fmt: skip
        redemption.create_plan(
            session, ADMIN, code="GOLF", item="Golf round", points_cost=100, stock=0,
            starts_on=date(2020, 1, 1), ends_on=date(2099, 12, 31),
        )  # fmt: skip
    return small_club


def _balance(settings: Settings, member_no: str) -> int:
    with session_scope(settings.database_url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == member_no))
        return points.balance_of(session, member_id)


def _stock(settings: Settings, code: str) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(RedemptionPlan.stock).where(RedemptionPlan.code == code))


#: a column only each table has (English, Chinese)
TABLES = {
    "plans": ("Period", "有效期"),
    "history": ("Redeemed", "兑付时间"),
    "stats": ("Redemptions", "兑付次数"),
}


def _frame(page: AppTest, table: str):
    """The page's ``table`` (see TABLES), or None when the page does not show it."""
    columns = TABLES[table]
    return next((df.value for df in page.dataframe if set(columns) & set(df.value.columns)), None)


def _redeem(page: AppTest, member_no: str, plan: str, quantity: int = 1) -> AppTest:
    page.text_input(key="redemption_member_no").input(member_no)
    page.selectbox(key="redemption_plan").set_value(plan)
    page.number_input(key="redemption_quantity").set_value(quantity)
    return click(page, "Redeem")


def test_active_plans_are_listed_with_cost_stock_and_period(plans: Settings) -> None:
    page = open_page("redemption", locale="en_US")
    assert not page.exception
    shown = _frame(page, "plans")
    assert list(shown["Plan code"]) == ["GOLF", "SPA"]
    assert list(shown["Stock"]) == [0, 3]
    assert list(shown["Period"]) == ["2020-01-01 – 2099-12-31", "2020-01-01 – open-ended"]
    assert "New redemption plan (reviewers, admins)" not in [e.label for e in page.expander]


def test_redeeming_lowers_the_balance_and_the_stock_once(plans: Settings) -> None:
    page = _redeem(open_page("redemption", locale="en_US"), " m000002 ", "SPA", 2)
    assert not page.exception
    assert "Redeemed 2 × Spa day for member M000002" in page.success[0].value
    assert "balance now 510" in page.success[0].value
    assert _balance(plans, "M000002") == 510
    assert _stock(plans, "SPA") == 1
    assert list(_frame(page, "plans")["Stock"]) == [0, 1]
    history = _frame(page, "history")
    assert list(history["Points"]) == [1000]
    stats = _frame(page, "stats")
    assert list(stats["Quantity"]) == [2]
    page = click(page, "Redeem")  # a double click: the same key, charged once
    assert "not charged twice" in page.success[0].value
    assert _balance(plans, "M000002") == 510
    with session_scope(plans.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert "New redemption" in button_labels(page)


def test_out_of_stock_and_too_few_points_are_refused_clearly(plans: Settings) -> None:
    page = _redeem(open_page("redemption", locale="en_US"), "M000002", "GOLF")
    assert page.error[0].value == "Out of stock: 0 left, 1 requested."
    page = _redeem(page, "M000002", "SPA", 4)
    assert "3 left, 4 requested" in page.error[0].value
    page = _redeem(page, "M000001", "SPA")
    assert "The member has 0 points; 500 cannot be taken" in page.error[0].value
    assert _balance(plans, "M000002") == 1510
    assert _stock(plans, "SPA") == 3
    with session_scope(plans.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Redemption)) == 0


def test_a_reviewer_creates_a_plan(plans: Settings) -> None:
    page = open_page("redemption", role="reviewer")
    page.text_input(key="redemption_create_code").input("tea")
    page.text_input(key="redemption_create_item").input("下午茶")
    page.number_input(key="redemption_cost").set_value(50)
    page = click(page, "创建方案")
    assert not page.exception
    assert "已创建兑付方案 TEA（下午茶）" in page.success[0].value
    assert "TEA" in list(_frame(page, "plans")["方案编号"])
    page.text_input(key="redemption_create_code").input("TEA")
    page.text_input(key="redemption_create_item").input("again")
    page = click(page, "创建方案")
    assert "方案编号已被使用" in page.error[0].value
