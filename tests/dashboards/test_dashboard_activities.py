"""The Activities page (AppTest): list by status, new plans, decisions, attendance, costs."""

from __future__ import annotations

import pytest
from smallclub import button_labels, click, open_page
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.services import activities
from operational.services.common import Actor

CLERK = Actor("clerk", "staff")
REVIEWER = Actor("reviewer", "reviewer")
PLAN = {
    "name": "Wine salon",
    "activity_type": "salon",
    "starts_at": "2026-04-10 14:00",
    "ends_at": "2026-04-10 17:00",
    "place": "Club house",
    "expected_headcount": 3,
    "expected_cost": "500",
}


@pytest.fixture
def club(small_club: Settings) -> Settings:
    """RUN (running, planned by the clerk) and SUB (submitted by the clerk)."""
    with session_scope(small_club.database_url) as session:
        activities.plan_activity(session, CLERK, {**PLAN, "code": "RUN"})
        activities.submit(session, CLERK, "RUN")
        activities.approve(session, REVIEWER, "RUN")
        activities.start(session, CLERK, "RUN")
        activities.plan_activity(session, CLERK, {**PLAN, "code": "SUB", "name": "Garden party"})
        activities.submit(session, CLERK, "SUB")
    return small_club


def _show(page: AppTest, code: str) -> AppTest:
    page.selectbox(key="activities_current").set_value(code)
    return page.run()


def _frame(page: AppTest, column: str):
    return next((df.value for df in page.dataframe if column in df.value.columns), None)


def test_attendance_one_by_one_and_by_list_in_english(club: Settings) -> None:
    page = _show(open_page("activities", locale="en_US"), "RUN")
    assert not page.exception
    counts = {m.label: m.value for m in page.metric}
    assert (counts["Submitted"], counts["Running"], counts["Closed"]) == ("1", "1", "0")
    listed = _frame(page, "Attendees")
    assert set(listed["Code"]) == {"RUN", "SUB"}
    page.text_input(key="activities_attend_number").input(" ｃ０００ ０００２ ")
    page = click(page, "Record")
    assert not page.exception
    assert "Recorded M000002" in page.success[0].value
    assert "50 (Pending)" in page.success[0].value
    assert page.text_input(key="activities_attend_number").value == ""  # ready for the next
    page.text_input(key="activities_attend_number").input("C0000002")
    page = click(page, "Record")
    assert "already recorded" in page.info[0].value
    page.text_input(key="activities_attend_number").input("C0000005")  # an archived member
    page = click(page, "Record")
    assert "archived" in page.error[0].value
    assert page.text_input(key="activities_attend_number").value == "C0000005"  # kept
    page.text_area(key="activities_list_text").input("C0000001,Wang\nC0000001\nC9999999\nC0000002")
    page = click(page, "Record the list")
    assert "1 newly recorded, 2 already recorded, 1 with problems" in page.warning[0].value
    result = _frame(page, "Outcome")
    assert list(result["Outcome"]) == [
        "Recorded",
        "Already recorded",
        "Problem",
        "Already recorded",
    ]
    assert "neither a card number nor a member number" in result["Details"][2]
    attendees = _frame(page, "Points status")
    assert list(attendees["Member no."]) == ["M000002", "M000001"]
    assert list(attendees["Points status"]) == ["Pending", "Pending"]


def test_costs_totals_and_plan_vs_actual(club: Settings) -> None:
    with session_scope(club.database_url) as session:
        for number in ("C0000001", "C0000002"):
            activities.record_attendance(session, CLERK, "RUN", number)
    page = _show(open_page("activities", locale="en_US"), "RUN")
    page.text_input(key="activities_cost_description").input("Venue")
    page.text_input(key="activities_cost_amount").input("12.345")
    page = click(page, "Add cost")
    assert "at most two decimals" in page.error[0].value
    assert page.text_input(key="activities_cost_description").value == "Venue"  # kept
    page.text_input(key="activities_cost_amount").input("300")
    page = click(page, "Add cost")
    assert "Added Shared cost: Venue ¥300.00" in page.success[0].value
    page.selectbox(key="activities_cost_kind").set_value("per_head")
    page.text_input(key="activities_cost_description").input("Gift")
    page.text_input(key="activities_cost_amount").input("25.5")
    page = click(page, "Add cost")
    assert not page.exception
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Shared costs"] == "¥300.00"
    assert metrics["Per-head costs"] == "¥51.00"
    assert metrics["Actual total cost"] == "¥351.00"
    assert metrics["Average per attendee"] == "¥175.50"
    assert metrics["Headcount"] == "2"
    assert list(_frame(page, "Line total")["Line total"]) == ["¥300.00", "¥51.00"]
    assert page.get("plotly_chart")


def test_a_reviewer_rejects_with_a_reason_in_chinese(club: Settings) -> None:
    page = _show(open_page("activities", role="reviewer"), "SUB")
    assert not page.exception
    assert {"批准", "驳回"} <= set(button_labels(page))
    page = click(page, "驳回")
    assert page.error[0].value == "请填写原因。"
    page.text_input(key="activities_reject_reason").input("预算太高")
    page = click(page, "驳回")
    assert not page.exception
    assert "当前状态：已驳回" in page.success[0].value
    assert "计划被驳回：预算太高" in page.warning[0].value
    assert "驳回" not in button_labels(page)
    # the attendance tab says why nothing can be recorded
    assert any("只有进行中的活动可以登记到场" in info.value for info in page.info)


def test_the_planner_sees_the_plan_wait_and_a_bad_plan_is_refused_clearly(
    club: Settings,
) -> None:
    page = _show(open_page("activities", locale="en_US"), "SUB")
    assert "Approve" not in button_labels(page)
    assert "waiting for a reviewer" in page.info[0].value
    page.text_input(key="activities_new_name").input("Tea party")
    page.text_input(key="activities_new_cost").input("-5")
    page = click(page, "Save plan")
    assert "Expected cost (yuan): The amount cannot be negative." in page.error[0].value
    assert page.text_input(key="activities_new_name").value == "Tea party"
    page.text_input(key="activities_new_cost").input("800")
    page = click(page, "Save plan")
    assert not page.exception
    assert "Activity plan ACT000001 (Tea party) created" in page.success[0].value
    assert page.selectbox(key="activities_current").value == "ACT000001"
    page = click(page, "Submit for approval")
    assert "Activity ACT000001 is now Submitted." in page.success[0].value
