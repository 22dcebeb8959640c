"""The Members page acting on a member's file (AppTest): profile edits with history, consents,
exit request -> review -> archive -> restore, and card actions. Each test has its own database
(``small_club``), so writes never leak from one test to another.

M000002 (会员02) is an active ordinary member with main card C0000002; M000005 is archived.
"""

from __future__ import annotations

from datetime import date

import pytest
from smallclub import button_labels, click, open_page
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Card, Member, MemberChange
from operational.services import lifecycle
from operational.services.common import Actor


def _search(page: AppTest, query: str, *, include_archived: bool = False) -> AppTest:
    page.text_input(key="members_query_input").input(query)
    if include_archived:
        page.checkbox[0].check()
    else:
        page.checkbox[0].uncheck()
    page.button[0].click()
    return page.run()


def _tab(page: AppTest, label: str):
    return {tab.label: tab for tab in page.tabs}[label]


def _history(page: AppTest, label: str = "资料变更记录"):
    frames = _tab(page, label).dataframe
    return frames[0].value if frames else None


def _status(page: AppTest, label: str = "状态") -> str:
    return {metric.label: metric.value for metric in page.metric}[label]


def _messages(elements) -> str:
    return "\n".join(element.value for element in elements)


def _member(settings: Settings, member_no: str) -> Member:
    with session_scope(settings.database_url) as session:
        member = session.scalar(select(Member).where(Member.member_no == member_no))
        session.expunge(member)
        return member


# -- profile edits ------------------------------------------------------------------------------
def test_a_profile_edit_is_saved_and_shown_in_the_history(small_club: Settings) -> None:
    page = _search(open_page("members"), "M000002")
    assert _history(page) is None  # nothing changed yet
    page.text_input(key="member_edit_address_M000002").input("上海市徐汇区1号")
    page.text_input(key="member_edit_mobile_M000002").input("+86 139 0000 1111")
    page = click(page, "保存修改")
    assert not page.exception
    assert "2 项修改" in _messages(page.success)
    history = _history(page)
    rows = {row["字段"]: row for row in history.to_dict("records")}
    assert rows["地址"]["原值"] == "" and rows["地址"]["新值"] == "上海市徐汇区1号"
    assert rows["地址"]["修改人"] == "clerk"
    # Personal numbers stay masked in the history too.
    assert rows["手机"]["原值"] == "138****8001"
    assert rows["手机"]["新值"] == "139****1111"
    assert _member(small_club, "M000002").mobile == "13900001111"


def test_profile_problems_are_shown_by_field_and_nothing_is_saved(small_club: Settings) -> None:
    page = _search(open_page("members", locale="en_US"), "M000002")
    page.text_input(key="member_edit_email_M000002").input("not-an-email")
    page.text_input(key="member_edit_id_number_M000002").input("110105194912310021")
    page = click(page, "Save changes")
    assert not page.exception
    assert len(page.error) >= 2  # one under each wrong field
    assert _history(page, "Profile changes") is None
    member = _member(small_club, "M000002")
    assert member.email is None and member.id_number is None


def test_a_concurrent_edit_is_a_conflict_not_an_overwrite(small_club: Settings) -> None:
    page = _search(open_page("members", locale="en_US"), "M000002")
    with session_scope(small_club.database_url) as session:  # someone else saves first
        lifecycle.update_profile(
            session, Actor("reviewer", "reviewer"), "M000002", {"address": "Their address"}
        )
    page.text_input(key="member_edit_address_M000002").input("My address")
    page = click(page, "Save changes")
    assert not page.exception
    assert "changed" in _messages(page.error)  # a conflict, not a silent overwrite
    assert _member(small_club, "M000002").address == "Their address"


# -- consents -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("locale", "granted", "withdrawn", "tab"),
    [("zh_CN", "同意", "已撤回", "联系同意"), ("en_US", "Granted", "Withdrawn", "Consents")],
)
def test_granting_then_withdrawing_sms_consent_is_shown(
    small_club: Settings, locale: str, granted: str, withdrawn: str, tab: str
) -> None:
    page = _search(open_page("members", locale=locale), "M000002")
    toggle = page.toggle(key="member_consent_sms_M000002")
    assert toggle.value is False
    page = toggle.set_value(True).run()
    assert not page.exception
    consents = _tab(page, tab).dataframe[0].value
    sms = consents.iloc[0]
    assert list(sms)[1] == granted and list(sms)[4] == "clerk"
    page = page.toggle(key="member_consent_sms_M000002").set_value(False).run()
    consents = _tab(page, tab).dataframe[0].value
    assert list(consents.iloc[0])[1] == withdrawn
    assert list(consents.iloc[0])[2]  # the time of the withdrawal
    assert ("withdrew" if locale == "en_US" else "撤回") in _messages(page.success)
    with session_scope(small_club.database_url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == "M000002"))
        assert lifecycle.has_consent(session, member_id, "sms") is False


# -- exit, archive, restore ---------------------------------------------------------------------
def test_exit_request_review_archive_and_restore(small_club: Settings) -> None:
    # A clerk requests the exit on the member's file.
    page = _search(open_page("members", locale="en_US"), "M000002")
    page.selectbox(key="member_exit_type_M000002").select("normal")
    page.text_area(key="member_exit_reason_M000002").input("moving abroad")
    page = click(page, "Request exit")
    assert not page.exception
    assert _status(page, "Status") == "Exit pending"
    assert "waiting for review" in _messages(page.info)

    # Staff see the request on the Exits page but cannot decide it.
    exits = open_page("exits", "staff", "en_US")
    listed = exits.dataframe[0].value
    assert list(listed["Member no."]) == ["M000002"]
    assert list(listed["How"]) == ["Manual"]
    assert list(listed["Reason"]) == ["moving abroad"]
    assert list(listed["Requested by"]) == ["clerk"]
    assert "Approve (archive)" not in button_labels(exits)

    # A reviewer approves it.
    exits = open_page("exits", "reviewer", "en_US")
    exits.selectbox(key="exits_method").select("phone")
    exits.checkbox(key="exits_reached").check()
    exits = click(exits, "Approve (archive)")
    assert not exits.exception
    assert "M000002" in _messages(exits.success)
    assert "No exit request" in _messages(exits.info)

    # Archived: gone from the normal search, found with "include archived", with a banner.
    page = _search(open_page("members", locale="en_US"), "M000002")
    assert "No member matches" in _messages(page.warning)
    page = _search(page, "M000002", include_archived=True)
    assert _status(page, "Status") == "Archived"
    assert "archived" in _messages(page.error).lower()
    history = _history(page, "Profile changes")
    assert {"Status", "Exit type"} <= set(history["Field"])
    cards = _tab(page, "Cards").dataframe[0].value
    assert list(cards["Status"]) == ["Cancelled"]
    assert "Restore as active member" not in button_labels(page)  # staff may not restore

    # A reviewer restores the member; the normal search finds them again.
    page = _search(open_page("members", "reviewer", "en_US"), "M000002", include_archived=True)
    page.text_input(key="member_restore_reason_M000002").input("exit entered by mistake")
    page = click(page, "Restore as active member")
    assert not page.exception
    assert _status(page, "Status") == "Active"
    page = _search(page, "M000002")
    assert _status(page, "Status") == "Active"
    history = _history(page, "Profile changes")
    assert "exit entered by mistake" in set(history["New value"])
    # Its cards were cancelled at the exit: a new main card can be issued from the file.
    page = click(page, "Issue main card")
    assert not page.exception
    cards = _tab(page, "Cards").dataframe[0].value
    assert sorted(cards["Status"]) == ["Active", "Cancelled"]


def test_reviewer_rejecting_an_exit_makes_the_member_active_again(small_club: Settings) -> None:
    with session_scope(small_club.database_url) as session:
        lifecycle.request_exit(session, Actor("clerk", "staff"), "M000002", "normal", "asked")
    exits = click(open_page("exits", "reviewer"), "驳回")
    assert not exits.exception
    assert "M000002" in _messages(exits.success)
    assert _member(small_club, "M000002").status == "active"


# -- cards --------------------------------------------------------------------------------------
def test_sub_card_then_replacement_ends_the_sub_card(small_club: Settings) -> None:
    page = _search(open_page("members", locale="en_US"), "M000002")
    page.selectbox(key="member_sub_type_M000002").select("discount")
    page = click(page, "Issue sub-card")
    assert not page.exception
    cards = _tab(page, "Cards").dataframe[0].value
    sub = cards[cards["Kind"] == "Sub-card"]
    assert list(sub["Status"]) == ["Active"] and list(sub["Main card"]) == ["C0000002"]

    page.selectbox(key="member_replace_reason_M000002").select("damaged")
    page = click(page, "Replace card")
    assert not page.exception
    assert "C0000002" in _messages(page.success)
    cards = _tab(page, "Cards").dataframe[0].value
    by_no = dict(zip(cards["Card no."], cards["Status"], strict=True))
    assert by_no["C0000002"] == "Replaced"
    assert list(cards[cards["Kind"] == "Sub-card"]["Status"]) == ["Cancelled"]
    assert list(cards["Status"]).count("Active") == 1  # the new main card only


def test_reporting_a_main_card_lost_gives_a_new_card(small_club: Settings) -> None:
    page = _search(open_page("members"), "M000002")
    page.selectbox(key="member_loss_M000002").select("C0000002")
    page = click(page, "挂失")
    assert not page.exception
    with session_scope(small_club.database_url) as session:
        statuses = dict(
            session.execute(
                select(Card.card_no, Card.status)
                .join(Member, Member.id == Card.member_id)
                .where(Member.member_no == "M000002")
            ).all()
        )
    assert statuses["C0000002"] == "lost"
    assert list(statuses.values()).count("active") == 1
    assert "C0000002" in _messages(page.success)


def test_a_refused_card_action_says_why(small_club: Settings) -> None:
    page = _search(open_page("members", locale="en_US"), "M000002")
    page.date_input(key="member_sub_expiry_M000002").set_value(date(2020, 1, 1))
    page = click(page, "Issue sub-card")
    assert not page.exception
    assert page.error  # expiry not in the future
    with session_scope(small_club.database_url) as session:
        assert session.scalar(select(MemberChange.id)) is None
        assert session.scalar(select(Card.id).where(Card.kind == "sub")) is None
