"""The Care page (AppTest): manual care, segments, a care's members, results and responses,
a member's cares and the effect chart; both locales."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from smallclub import click, open_page
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import CareContact, Member, MemberConsent
from operational.services import care
from operational.services.common import Actor

CLERK = Actor("clerk", "staff")


@pytest.fixture
def club(small_club: Settings) -> Settings:
    """M000001 and M000002 consent to SMS and letters; M000005 (archived) too."""
    with session_scope(small_club.database_url) as session:
        for number in ("M000001", "M000002", "M000005"):
            member_id = session.scalar(select(Member.id).where(Member.member_no == number))
            for channel in ("sms", "letter"):
                session.add(
                    MemberConsent(
                        member_id=member_id,
                        channel=channel,
                        granted=True,
                        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
                        source="form",
                    )
                )
    return small_club


def _frame(page: AppTest, column: str):
    return next((df.value for df in page.dataframe if column in df.value.columns), None)


def test_manual_sms_care_reaches_consenting_members_and_lists_the_rest(club: Settings) -> None:
    page = open_page("care", locale="en_US")
    assert not page.exception
    page.text_area(key="care_numbers").input("M000001, ｍ000002\nM000005 M000003")
    page.selectbox(key="care_channel").set_value("sms")
    page.text_input(key="care_title").input("Spring greetings")
    page.text_area(key="care_content").input("Happy spring festival!")
    page = click(page, "Send care")
    assert not page.exception
    message = page.success[0].value
    assert "Care created for 2 members" in message
    assert "SMS/e-mail: 2 delivered, 0 failed" in message
    assert "1 archived or leaving, not contacted: M000005" in message
    assert "1 without consent to this channel, not contacted: M000003" in message

    members = _frame(page, "Contact no.")
    assert list(members["Member no."]) == ["M000001", "M000002"]
    assert list(members["Status"]) == ["Sent", "Sent"]
    cares = _frame(page, "Care no.")
    assert list(cares["Trigger"]) == ["Manual"]
    assert page.get("plotly_chart")  # the effect of care is drawn once there is care


def test_bad_input_is_explained_in_chinese_and_nothing_typed_is_lost(club: Settings) -> None:
    page = open_page("care")  # zh_CN, the default
    page.text_area(key="care_numbers").input("M000001 M999999")
    page.selectbox(key="care_channel").set_value("sms")
    page = click(page, "发送关怀")
    assert not page.exception
    error = page.error[0].value
    assert "以下号码找不到会员或会员卡：M999999" in error
    assert "标题：必填" in error
    assert "内容：必填" in error
    assert page.text_area(key="care_numbers").value == "M000001 M999999"
    with session_scope(club.database_url) as session:
        assert session.scalar(select(CareContact.id)) is None


def test_a_segment_is_previewed_saved_and_used_for_a_care_recorded_by_hand(club: Settings) -> None:
    page = open_page("care", locale="en_US")
    page.text_input(key="care_seg_name").input("VIP members")
    page.multiselect(key="care_seg_tiers").set_value(["vip"])
    page = click(page, "Preview count")
    assert not page.exception
    assert page.info[0].value.startswith("Active members matching:")
    page = click(page, "Save segment")
    assert not page.exception
    assert "Segment “VIP members” saved" in page.success[0].value
    assert "VIP members" in list(_frame(page, "Criteria")["Segment"])

    with session_scope(club.database_url) as session:
        [segment] = care.list_segments(session)
    page.selectbox(key="care_segment").set_value(segment.id)
    page.selectbox(key="care_channel").set_value("other")  # letters need an address
    page.text_input(key="care_title").input("Club magazine")
    page = click(page, "Send care")
    assert not page.exception
    assert "Care created for 1 members" in page.success[0].value  # M000001 is the VIP with consent
    members = _frame(page, "Contact no.")
    assert list(members["Status"]) == ["Pending"]

    page = click(page, "Mark sent")
    assert not page.exception
    assert "Marked “Sent”" in page.success[0].value
    page.text_input(key="care_record_response").input("Called to thank us")
    page = click(page, "Record response")
    assert not page.exception
    assert page.success[0].value.startswith("Response recorded.")

    page.text_input(key="care_member_input").input("m000001")
    page = click(page, "Show")
    history = _frame(page, "Response")
    assert "Called to thank us" in list(history["Response"])
