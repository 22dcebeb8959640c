"""The Complaints page (AppTest): logging with the member's context, refusals that keep the
typing, steps and closing, search, the overdue list, the chart, service levels."""

from __future__ import annotations

import pytest
from smallclub import click, open_page
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Complaint, ComplaintServiceLevel
from operational.services import complaints
from operational.services.common import Actor

CLERK = Actor("clerk", "staff")


def _texts(page: AppTest) -> str:
    parts = [m.value for m in page.markdown] + [m.value for m in page.caption]
    parts += [m.value for m in page.subheader] + [m.value for m in page.success]
    parts += [m.value for m in page.error] + [m.value for m in page.warning]
    parts += [m.value for m in page.info]
    return "\n".join(str(p) for p in parts)


def _complaint(settings: Settings, number: str) -> Complaint:
    with session_scope(settings.database_url) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.complaint_no == number))
        session.expunge(complaint)
        return complaint


@pytest.fixture
def logged(small_club: Settings) -> str:
    with session_scope(small_club.database_url) as session:
        return complaints.log_complaint(
            session,
            CLERK,
            {
                "member_or_card": "M000002",
                "channel": "email",
                "complaint_type": "property_management",
                "content": "Lift out of order for a week",
            },
        ).complaint_no


def test_logging_shows_the_members_context_and_opens_the_new_complaint(
    small_club: Settings,
) -> None:
    page = open_page("complaints", locale="en_US")
    assert not page.exception
    page.text_input(key="complaints_log_member_0").input(" m000001 ").run()
    shown = _texts(page)
    assert "Member: M000001 · 王小明" in shown
    assert "TS000" in page.dataframe[1].value.iloc[:, 0].tolist()  # the member's complaints
    page.selectbox(key="complaints_log_channel_0").set_value("visit")
    page.selectbox(key="complaints_log_type_0").set_value("house_quality")
    page.selectbox(key="complaints_log_importance_0").set_value("urgent")
    page.text_area(key="complaints_log_content_0").input("Cracks in the living-room wall")
    page = click(page, "Log complaint")
    assert not page.exception
    assert "Logged complaint C00000001; it is due by" in page.success[0].value
    assert "Complaint C00000001 · Pending" in _texts(page)
    assert page.session_state["complaints_tab"] == "Work on a complaint"  # shown at once
    stored = _complaint(small_club, "C00000001")
    assert (stored.channel, stored.importance, stored.receiver) == ("visit", "urgent", "clerk")
    assert stored.due_at - stored.received_at == complaints.timedelta(hours=24)
    # the form is cleared for the next complaint
    assert page.text_area(key="complaints_log_content_1").value == ""


def test_bad_input_is_explained_and_what_was_typed_is_kept(small_club: Settings) -> None:
    page = open_page("complaints")  # zh_CN
    page.text_input(key="complaints_log_member_0").input("M999999").run()
    assert "没有找到会员号或卡号为“M999999”的会员" in page.warning[0].value
    page.text_input(key="complaints_log_receiver_0").input("王芳")
    page = click(page, "登记投诉")
    error = page.error[0].value
    assert "会员号或卡号（可不填）: 没有找到会员号或卡号“M999999”" in error
    assert "投诉内容: 必填" in error
    assert page.text_input(key="complaints_log_member_0").value == "M999999"
    assert page.text_input(key="complaints_log_receiver_0").value == "王芳"
    with session_scope(small_club.database_url) as session:
        assert session.scalar(select(Complaint).where(Complaint.complaint_no.like("C%"))) is None


def test_steps_then_closing_with_a_satisfaction_score(small_club: Settings, logged: str) -> None:
    page = open_page("complaints", locale="en_US")
    page.text_input(key="complaints_open_no").input(logged.lower())
    page = click(page, "Open")
    assert f"Complaint {logged} · Pending" in _texts(page)
    assert "Add at least one handling step before closing." in _texts(page)
    assert "Close complaint" not in [b.label for b in page.button]

    page.text_input(key="complaints_step_department_0").input("Property")
    page.text_area(key="complaints_step_opinion_0").input("Technician called")
    page = click(page, "Add step")
    assert not page.exception, page.exception
    assert not page.error, page.error[0].value
    assert f"Added a handling step to complaint {logged}." in page.success[0].value
    assert f"Complaint {logged} · In progress" in _texts(page)

    page = click(page, "Close complaint")  # no score chosen
    assert "Member's satisfaction (1–5)" in page.error[0].value
    page.radio(key="complaints_close_satisfaction").set_value(4)
    page.text_area(key="complaints_close_note").input("Lift repaired")
    page = click(page, "Close complaint")
    assert not page.exception
    assert f"Complaint {logged} is closed (satisfaction 4)." in page.success[0].value
    stored = _complaint(small_club, logged)
    assert (stored.status, stored.satisfaction, stored.closed_by) == ("done", 4, "clerk")
    assert "Add step" not in [b.label for b in page.button]


def test_find_by_a_word_and_overdue_flags_and_chart(small_club: Settings, logged: str) -> None:
    page = open_page("complaints", locale="en_US")
    page.text_input(key="complaints_find_text").input("LIFT")
    page = click(page, "Search")
    found = next(df.value for df in page.dataframe if "Overdue" in df.value.columns)
    assert found["Complaint"].tolist() == [logged]
    page.selectbox(key="complaints_find_overdue").set_value(True)
    page.text_input(key="complaints_find_text").input("")
    page = click(page, "Search")
    overdue = next(df.value for df in page.dataframe if "Overdue" in df.value.columns)
    assert set(overdue["Overdue"]) == {"⚠ overdue"}
    assert "TS000" in overdue["Complaint"].tolist() and logged not in overdue["Complaint"].tolist()
    assert any("are past their due time" in w.value for w in page.warning)
    assert page.get("plotly_chart")


def test_service_levels_are_edited_by_admins_only(small_club: Settings) -> None:
    staff = open_page("complaints", locale="en_US")
    assert "Service levels (managers, admins)" not in [e.label for e in staff.expander]
    page = open_page("complaints", role="admin", locale="en_US")
    assert "Service levels (managers, admins)" in [e.label for e in page.expander]
    page.number_input(key="complaints_level_normal").set_value(48)
    page = click(page, "Save service levels")
    assert not page.exception
    assert "Service levels saved." in page.success[0].value
    with session_scope(small_club.database_url) as session:
        level = session.get(ComplaintServiceLevel, "normal")
        assert (level.due_hours, level.updated_by) == (48, "admin")
