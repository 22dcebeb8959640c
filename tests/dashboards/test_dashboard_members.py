"""The Members page (AppTest): a hint for an empty query, search, results and a member's file."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallclub import signed_in
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings

MEMBERS_PAGE = str(Path(__file__).resolve().parents[2] / "dashboards" / "views" / "members.py")


def _page(locale: str | None = None, role: str = "staff") -> AppTest:
    page = AppTest.from_file(MEMBERS_PAGE, default_timeout=30)
    signed_in(page, role)
    if locale:
        page.session_state["locale"] = locale
    return page.run()


def _search(page: AppTest, query: str) -> AppTest:
    page.text_input(key="members_query_input").input(query)
    page.button[0].click()  # the form's submit button
    return page.run()


def _metrics(page: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in page.metric}


def test_an_empty_query_gives_a_hint_not_a_member_list(small_club: Settings) -> None:
    page = _page()
    assert not page.exception
    assert page.title[0].value == "会员查询"
    assert "手机号" in page.info[0].value
    assert not page.dataframe
    page = _search(page, "   ")
    assert "手机号" in page.info[0].value
    assert not page.dataframe


def test_a_formatted_mobile_finds_the_member_and_shows_the_file(small_club: Settings) -> None:
    page = _search(_page(), "+86 138-0002-8002")
    assert not page.exception
    results = page.dataframe[0].value
    assert list(results["会员号"]) == ["M000003"]
    assert list(results["手机"]) == ["138****8002"]
    assert list(results["匹配项"]) == ["手机号"]
    assert page.subheader[0].value == "会员03 · M000003"
    metrics = _metrics(page)
    assert metrics["积分余额"] == "1,520"
    assert metrics["未结投诉"] == "0"
    tabs = {tab.label: tab for tab in page.tabs}
    purchases = tabs["最近成交"].dataframe[0].value
    assert list(purchases["金额"]) == ["¥152,001.00", "¥152,000.00"]  # newest first
    assert list(purchases["已付"]) == ["¥50,000.00", "¥152,000.00"]
    points = tabs["最近积分变动"].dataframe[0].value
    assert list(points["积分"]) == ["+1,520"]
    assert list(points["事件"]) == ["购买"]
    cards = tabs["会员卡"].dataframe[0].value
    assert list(cards["卡号"]) == ["C0000003"]


def test_the_id_number_is_masked_in_the_file(small_club: Settings) -> None:
    page = _search(_page(), "11010519491231002x")
    assert not page.exception
    assert page.subheader[0].value == "王小明 · M000001"
    profile = {tab.label: tab for tab in page.tabs}["基本资料"].dataframe[0].value
    shown = dict(zip(profile["字段"], profile["内容"], strict=True))
    assert shown["身份证号"] == "110105********002X"
    assert shown["手机"] == "138****8000"


def test_several_matches_let_the_clerk_pick_one(small_club: Settings) -> None:
    page = _search(_page("en_US"), "会员")
    assert not page.exception
    results = page.dataframe[0].value
    # 36 members are called 会员NN; the archived ones (every fifth) are left out.
    assert len(results) == 29
    assert "archived" not in set(results["Status"])
    assert page.caption[0].value == "29 members found."
    assert page.subheader[0].value == "会员02 · M000002"  # the first result until one is picked
    page.selectbox[0].select("M000011").run()
    assert page.subheader[0].value == "会员11 · M000011"
    page.session_state["locale"] = "zh_CN"
    page.run()
    assert page.subheader[0].value == "会员11 · M000011"  # the pick survives a language switch
    assert page.selectbox[0].label == "查看会员"


def test_archived_members_on_request(small_club: Settings) -> None:
    page = _page("en_US")
    page.checkbox[0].check()
    page = _search(page, "M000005")
    assert list(page.dataframe[0].value["Status"]) == ["Archived"]


@pytest.mark.parametrize(("locale", "label"), [("zh_CN", "积分余额"), ("en_US", "Points balance")])
def test_labels_follow_the_locale(small_club: Settings, locale: str, label: str) -> None:
    page = _search(_page(locale), "M000001")
    assert label in _metrics(page)


def test_no_match_says_so(small_club: Settings) -> None:
    page = _search(_page("en_US"), "nobody")
    assert not page.exception
    assert page.warning[0].value == "No member matches “nobody”."


def test_an_uninitialised_database_is_explained_without_a_traceback(clubcrm_home: Settings) -> None:
    page = _search(_page("en_US"), "M000001")
    assert not page.exception
    assert "clubcrm init" in page.error[0].value
