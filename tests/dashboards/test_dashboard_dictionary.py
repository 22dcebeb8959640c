"""The Dictionary page (AppTest): admins edit labels every page then shows; staff are refused."""

from __future__ import annotations

from smallclub import click, open_page
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from dashboards.i18n import dictionary_label, invalidate_dictionary_labels
from operational.db import session_scope
from operational.services.common import Actor, dictionary_codes
from operational.services.dictionary import list_items, update_item

ADMIN = Actor("admin", "admin")


def _items(page: AppTest):
    return next(df.value for df in page.dataframe if "Code" in df.value.columns)


def _search_members(query: str) -> AppTest:
    page = open_page("members", locale="en_US")
    page.text_input(key="members_query_input").input(query)
    page.button[0].click()
    return page.run()


def test_a_staff_user_is_refused_the_dictionary(small_club: Settings) -> None:
    page = open_page("dictionary", role="staff", locale="en_US")
    assert not page.exception
    assert "may not open this page" in page.error[0].value
    assert not page.text_input and not page.dataframe


def test_an_edited_region_label_shows_on_the_members_page(small_club: Settings) -> None:
    before = _search_members("+86 138-0002-8002")  # M000003, region 44
    assert list(before.dataframe[0].value["Region"]) == ["Guangdong"]
    page = open_page("dictionary", role="admin", locale="en_US")
    assert not page.exception
    page.selectbox(key="dictionary_category").set_value("region")
    page = page.run()
    assert "Guangdong" in list(_items(page)["English label"])
    page.selectbox(key="dictionary_edit_pick_region").set_value("44")
    page = page.run()
    page.text_input(key="dictionary_edit_region_44_en").input("Canton")
    page.text_input(key="dictionary_edit_region_44_zh").input("粤")
    page = click(page, "Save item")
    assert not page.exception
    assert page.success[0].value == "Item 44 saved; every page shows the new labels."
    assert "Canton" in list(_items(page)["English label"])
    after = _search_members("+86 138-0002-8002")
    assert list(after.dataframe[0].value["Region"]) == ["Canton"]


def test_an_admin_adds_and_retires_items_in_chinese(small_club: Settings) -> None:
    page = open_page("dictionary", role="admin")
    page.selectbox(key="dictionary_category").set_value("merchant_type")
    page = page.run()
    page.text_input(key="dictionary_add_merchant_type_code").input("Pet Care")
    page.text_input(key="dictionary_add_merchant_type_zh").input("宠物服务")
    page = click(page, "添加项目")
    assert "编号：“Pet Care”不是有效编号" in page.error[0].value
    assert "英文名称：必填" in page.error[0].value
    assert page.text_input(key="dictionary_add_merchant_type_zh").value == "宠物服务"  # kept
    page.text_input(key="dictionary_add_merchant_type_code").input("pet_care")
    page.text_input(key="dictionary_add_merchant_type_en").input("Pet care")
    page = click(page, "添加项目")
    assert not page.exception
    assert page.success[0].value == "已添加项目 pet_care。"
    page.text_input(key="dictionary_add_merchant_type_code").input("pet_care")
    page.text_input(key="dictionary_add_merchant_type_zh").input("宠物")
    page.text_input(key="dictionary_add_merchant_type_en").input("Pets")
    page = click(page, "添加项目")
    assert "该类别已有编号“pet_care”" in page.error[0].value

    page.selectbox(key="dictionary_edit_pick_merchant_type").set_value("auto")
    page = page.run()
    page.checkbox(key="dictionary_edit_merchant_type_auto_active").uncheck()
    page = click(page, "保存项目")
    assert not page.exception
    with session_scope(small_club.database_url) as session:
        codes = dictionary_codes(session, "merchant_type")
        labels = {i.code: i.active for i in list_items(session, "merchant_type")}
    assert "auto" not in codes and "pet_care" in codes
    assert labels["auto"] is False  # kept for existing merchants


def test_labels_are_cached_until_the_page_says_the_dictionary_changed(
    small_club: Settings,
) -> None:
    assert dictionary_label("region", "44", "en_US") == "Guangdong"
    with session_scope(small_club.database_url) as session:
        update_item(session, ADMIN, category="region", code="44", label_en="Canton")
    assert dictionary_label("region", "44", "en_US") == "Guangdong"  # cached a short while
    invalidate_dictionary_labels()
    assert dictionary_label("region", "44", "en_US") == "Canton"
    assert dictionary_label("region", "44", "zh_CN") == "广东"
