"""The New application page (AppTest): problems under their fields in the reader's language,
typed values kept; a corrected application lands in the review queue and the form is cleared."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallclub import signed_in
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import make_engine
from operational.idnumber import compute_check_digit
from operational.models import Application

APPLY_PAGE = str(Path(__file__).resolve().parents[2] / "dashboards" / "views" / "apply.py")
ID17 = "11010519900307123"
GOOD_ID = ID17 + compute_check_digit(ID17)
WRONG_DIGIT = next(d for d in "0123456789" if d != GOOD_ID[-1])
BAD_ID = ID17 + WRONG_DIGIT


def _page(locale: str | None = None, role: str = "staff") -> AppTest:
    page = AppTest.from_file(APPLY_PAGE, default_timeout=30)
    signed_in(page, role)
    if locale:
        page.session_state["locale"] = locale
    return page.run()


def _fill(page: AppTest, **values: str) -> None:
    for key, value in values.items():
        page.text_input(key=f"apply_{key}").input(value)


def _submit(page: AppTest) -> AppTest:
    page.button(key="apply_submit").click()
    return page.run()


def _applications(url: str) -> list[Application]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.scalars(select(Application).order_by(Application.id)))
    engine.dispose()
    return rows


def _errors(page: AppTest) -> str:
    return "\n".join(e.value for e in page.error)


@pytest.mark.parametrize(
    ("locale", "expected_words"),
    [("zh_CN", f"应为 {GOOD_ID[-1]}"), ("en_US", f"expected {GOOD_ID[-1]}")],
)
def test_a_wrong_check_digit_names_the_expected_one_and_keeps_the_typing(
    small_club: Settings, locale: str, expected_words: str
) -> None:
    page = _page(locale)
    assert not page.exception
    page.selectbox(key="apply_channel").set_value("service_centre")
    page.run()
    page.selectbox(key="apply_source").set_value("fair")
    _fill(page, name="李雷", id_number=BAD_ID, mobile="+86 139 1234 5678", email="li@example.com")
    page = _submit(page)
    assert not page.exception
    assert expected_words in _errors(page)
    assert f"{WRONG_DIGIT}" in _errors(page)
    # what was typed is still there
    assert page.text_input(key="apply_name").value == "李雷"
    assert page.text_input(key="apply_id_number").value == BAD_ID
    assert page.text_input(key="apply_mobile").value == "+86 139 1234 5678"
    assert page.selectbox(key="apply_source").value == "fair"
    assert _applications(small_club.database_url) == []

    # corrected: a pending application, and an empty form for the next applicant
    page.text_input(key="apply_id_number").input(GOOD_ID)
    page = _submit(page)
    assert not page.exception
    assert not page.error
    stored = _applications(small_club.database_url)
    assert len(stored) == 1
    application = stored[0]
    assert (application.status, application.id_number, application.mobile) == (
        "pending",
        GOOD_ID,
        "13912345678",
    )
    assert (application.channel, application.source) == ("service_centre", "fair")
    assert f"A{application.id}" in page.success[0].value
    assert page.text_input(key="apply_name").value == ""
    assert page.text_input(key="apply_id_number").value == ""
    assert page.selectbox(key="apply_channel").value == "service_centre"  # stays for the next one


def test_every_problem_shows_at_once_under_its_field(small_club: Settings) -> None:
    page = _page()
    page.selectbox(key="apply_channel").set_value("website")
    page.run()
    _fill(page, mobile="138001", email="not-an-email")
    page = _submit(page)
    text = _errors(page)
    assert "必填" in text  # the name
    assert "11 位数字" in text and "6 位数字" in text  # the mobile
    assert "电子邮件地址" in text
    assert page.text_input(key="apply_mobile").value == "138001"


def test_the_same_id_as_a_member_says_already_a_member(small_club: Settings) -> None:
    page = _page("en_US")
    page.selectbox(key="apply_channel").set_value("website")
    page.run()
    _fill(page, name="王小明", id_number="11010519491231002x", mobile="13800008000")
    page = _submit(page)
    assert not page.exception
    assert "M000001" in page.info[0].value
    assert "already member" in page.info[0].value


def test_sources_follow_the_channel(small_club: Settings) -> None:
    page = _page()
    page.selectbox(key="apply_channel").set_value("service_centre")
    page = page.run()
    assert "fair" in page.selectbox(key="apply_source").options or "展会" in (
        page.selectbox(key="apply_source").options
    )
    page.selectbox(key="apply_channel").set_value("website")
    page = page.run()
    assert not [s for s in page.selectbox if s.key == "apply_source"]


def test_analysts_may_not_enter_applications(small_club: Settings) -> None:
    page = _page(role="analyst")
    assert "无权" in page.error[0].value
    assert not page.text_input
