"""The Merchants page (AppTest): find merchants and services, create, a merchant's file, uses."""

from __future__ import annotations

from datetime import date

import pytest
from smallclub import click, open_page
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Merchant
from operational.models.engagement import MerchantServiceUse
from operational.services import merchants
from operational.services.common import Actor

CLERK = Actor("clerk", "staff")


@pytest.fixture
def spa(small_club: Settings) -> Settings:
    """A merchant with a VIP-only service and an open one, running since 2020."""
    with session_scope(small_club.database_url) as session:
        merchants.create_merchant(
            session, CLERK, code="SPA01", name="Blue Lotus Spa", merchant_type="leisure",
            region="31", importance="high", phone1="021-62345678",
        )  # fmt: skip
        merchants.add_service(
            session, CLERK, merchant_code="SPA01", name="VIP massage", starts_on=date(2020, 1, 1),
            member_restriction="tier:vip", discount="0.80", content="Ninety minutes",
        )  # fmt: skip
        merchants.add_service(
            session, CLERK, merchant_code="SPA01", name="Tea ceremony",
            starts_on=date(2020, 1, 1), content="Oolong tasting",
        )  # fmt: skip
    return small_club


def _frame(page: AppTest, column: str):
    """The first table with ``column``, or None."""
    return next((df.value for df in page.dataframe if column in df.value.columns), None)


def _uses(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(MerchantServiceUse))


def test_a_clerk_creates_a_merchant_and_sees_its_file(small_club: Settings) -> None:
    page = open_page("merchants", locale="en_US")
    assert not page.exception
    assert page.title[0].value == "Merchants and services"
    assert [tab.label for tab in page.tabs] == ["Find merchants", "Find services", "New merchant"]
    page.text_input(key="merchants_new_code").input(" cafe-1 ")
    page.text_input(key="merchants_new_name").input("Corner Café")
    page.selectbox(key="merchants_new_type").set_value("dining")
    page.selectbox(key="merchants_new_region").set_value("44")
    page.text_input(key="merchants_new_phone1").input("(020) 8888 1234 ext 12")
    page = click(page, "Create merchant")
    assert not page.exception
    assert page.success[0].value == "Merchant CAFE-1 (Corner Café) created."
    assert page.subheader[0].value == "CAFE-1 · Corner Café"
    listed = _frame(page, "Code")
    assert list(listed["Code"]) == ["CAFE-1"]
    assert list(listed["Type"]) == ["Dining"]
    assert list(listed["Region"]) == ["Guangdong"]
    with session_scope(small_club.database_url) as session:
        assert session.scalar(select(Merchant.phone1)) == "(020) 8888 1234 ext 12"


def test_bad_input_is_explained_in_chinese_and_kept(small_club: Settings) -> None:
    page = open_page("merchants")
    page.text_input(key="merchants_new_code").input("咖啡")
    page.text_input(key="merchants_new_name").input("街角咖啡")
    page.text_input(key="merchants_new_phone1").input("打电话")
    page = click(page, "创建商家")
    assert not page.exception
    message = page.error[0].value
    assert "商家编号：“咖啡”不是有效的商家编号" in message
    assert "商家类型：必填" in message
    assert "电话 1：“打电话”不是电话号码" in message
    assert page.text_input(key="merchants_new_name").value == "街角咖啡"  # nothing lost
    with session_scope(small_club.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Merchant)) == 0


def test_recording_a_use_by_card_counts_once_and_refuses_a_low_tier(spa: Settings) -> None:
    page = open_page("merchants", locale="en_US")
    page.selectbox(key="merchants_pick").set_value("SPA01")
    page = page.run()
    assert not page.exception
    services = _frame(page, "Service")
    assert list(services["Service"]) == ["VIP massage", "Tea ceremony"]
    assert list(services["Members"]) == ["VIP and above", "All members"]
    assert list(services["Discount"]) == ["0.80 (20% off)", ""]
    # M000001 is VIP (card C0000001); M000002 is ordinary
    assert page.selectbox(key="merchants_use_service").index == 0  # VIP massage
    page.text_input(key="merchants_use_member").input(" c0000001 ")
    page = click(page, "Record use")
    assert not page.exception
    assert page.success[0].value.startswith("Recorded: VIP massage")
    assert _uses(spa) == 1
    services = _frame(page, "Service")
    assert list(services["Uses"]) == [1, 0]
    assert [m.value for m in page.metric][:3] == ["2", "1", "1"]
    page = click(page, "Record use")  # a double click: recorded once
    assert page.success[0].value == "This use was already recorded; it was not recorded twice."
    assert _uses(spa) == 1
    page.text_input(key="merchants_use_member").input("M000002")
    page = click(page, "Record use")
    assert "Member M000002's tier is too low" in page.error[0].value
    assert _uses(spa) == 1


def test_services_are_found_by_words_and_date(spa: Settings) -> None:
    page = open_page("merchants")
    page.text_input(key="merchants_service_text").input("oolong")
    page = click(page, "查询服务")
    assert not page.exception
    found = _frame(page, "服务")
    assert list(found["服务"]) == ["Tea ceremony"]
    assert list(found["商家"]) == ["SPA01 · Blue Lotus Spa"]
    page.text_input(key="merchants_service_text").input("")
    page.date_input(key="merchants_service_day").set_value(date(2019, 6, 1))
    page = click(page, "查询服务")
    assert page.info[-1].value == "没有符合条件的服务。"


def test_a_merchant_and_a_service_are_edited(spa: Settings) -> None:
    page = open_page("merchants", role="reviewer", locale="en_US")
    page.selectbox(key="merchants_pick").set_value("SPA01")
    page = page.run()
    page.selectbox(key="merchants_edit_SPA01_importance").set_value("urgent")
    page = click(page, "Save merchant")
    assert page.success[0].value == "Merchant SPA01 saved."
    assert list(_frame(page, "Importance")["Importance"]) == ["Urgent"]
    service_id = page.selectbox(key="merchants_edit_service_pick_SPA01").value
    page.text_area(key=f"merchants_edit_service_{service_id}_feedback").input("Q1: popular")
    page.selectbox(key=f"merchants_edit_service_{service_id}_rating").set_value(5)
    page.text_input(key=f"merchants_edit_service_{service_id}_discount").input("1.5")
    page = click(page, "Save service")
    assert "not a discount rate" in page.error[0].value
    page.text_input(key=f"merchants_edit_service_{service_id}_discount").input("0.75")
    page = click(page, "Save service")
    assert not page.exception
    assert page.success[0].value == "Service “VIP massage” saved."
    services = _frame(page, "Rating")
    assert list(services["Rating"])[0] == "★★★★★"
    page = click(page, "Deactivate merchant")
    assert page.success[0].value == "Merchant SPA01 deactivated."
    assert "inactive" in page.warning[0].value
    assert "Record use" not in [b.label for b in page.button]
