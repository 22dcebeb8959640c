"""The points rules page (AppTest): admins see and change the rules; the change takes effect."""

from __future__ import annotations

from smallclub import click, open_page

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Member
from operational.services import point_rules
from operational.services.common import Actor


def test_the_rules_are_listed_in_words(small_club: Settings) -> None:
    page = open_page("point_rules", role="admin", locale="en_US")
    assert not page.exception
    rules = page.dataframe[0].value
    shown = dict(zip(rules["Event"], rules["Posting"], strict=True))
    assert shown == {
        "Activity": "Needs approval",
        "Care": "Needs approval",
        "Complaint": "Needs approval",
        "Card swipe": "Posted at once",
    }
    assert list(rules["Code"]) == ["(any)"] * 4


def test_an_admin_adds_a_specific_rule_and_it_decides_the_next_award(small_club: Settings) -> None:
    page = open_page("point_rules", role="admin")
    page.selectbox(key="rules_event").set_value("complaint")
    page.text_input(key="rules_code").input(" House_Quality ")
    page = page.run()
    assert "这是一条新规则。" in [c.value for c in page.caption]
    page.number_input[0].set_value(300)
    page.checkbox[0].uncheck()  # posted at once
    page = click(page, "保存规则")
    assert not page.exception
    assert "规则已保存：投诉 · house_quality，300 积分。" in page.success[0].value
    with session_scope(small_club.database_url) as session:
        member = session.query(Member).filter(Member.status == "active").first()
        entry = point_rules.award_by_rule(
            session, Actor("clerk", "staff"), event_type="complaint", member_id=member.id,
            idempotency_key="complaint:T1", reference="complaint:T1", match_code="house_quality",
        )  # fmt: skip
        assert entry is not None and (entry.points, entry.status) == (300, "posted")


def test_a_bad_value_is_refused_with_a_message(small_club: Settings) -> None:
    page = open_page("point_rules", role="admin", locale="en_US")
    page.text_input(key="rules_code").input("x" * 41)
    page = click(page.run(), "Save rule")
    assert page.error and "40" in page.error[0].value
    assert len(page.dataframe[0].value) == 4


def test_staff_may_not_open_the_rules(small_club: Settings) -> None:
    page = open_page("point_rules", role="staff")
    assert not page.dataframe
    assert page.error or page.warning
