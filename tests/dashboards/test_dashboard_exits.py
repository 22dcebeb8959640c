"""The Exits page (AppTest): the pending list, who may decide, and the contact-invalid rule.

The whole exit -> approve -> archived -> restore story is in test_dashboard_member_actions.py.
"""

from __future__ import annotations

import pytest
from smallclub import button_labels, click, open_page
from sqlalchemy import select

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Member
from operational.services import lifecycle
from operational.services.common import Actor

CLERK = Actor("clerk", "staff")


def _fail_three_times(settings: Settings, member_no: str) -> None:
    """A notice that failed three times (one record, three attempts)."""
    with session_scope(settings.database_url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == member_no))
        note = lifecycle.record_notification(
            session, CLERK, member_id, kind="approval", method="phone", reached=False
        )
        for _ in range(2):
            lifecycle.retry_notification(session, CLERK, note.id, method="phone", reached=False)


def test_an_empty_list_says_so(small_club: Settings) -> None:
    page = open_page("exits", locale="en_US")
    assert not page.exception
    assert page.title[0].value == "Exit requests"
    assert "No exit request" in page.info[0].value


@pytest.mark.parametrize(
    ("role", "decides"), [("staff", False), ("reviewer", True), ("admin", True)]
)
def test_only_reviewers_see_the_decision_buttons(small_club: Settings, role, decides) -> None:
    with session_scope(small_club.database_url) as session:
        lifecycle.request_exit(session, CLERK, "M000003", "normal", "asked")
    page = open_page("exits", role)
    assert not page.exception
    assert list(page.dataframe[0].value["会员号"]) == ["M000003"]
    labels = button_labels(page)
    assert ("批准退会（归档）" in labels) is decides
    assert ("驳回" in labels) is decides
    assert ("立即执行规则" in labels) is decides


def test_the_contact_invalid_rule_flags_members_once(small_club: Settings) -> None:
    _fail_three_times(small_club, "M000007")
    page = click(open_page("exits", "reviewer", "en_US"), "Run the rule now")
    assert not page.exception
    assert "1 automatic exit requests" in page.success[0].value
    listed = page.dataframe[0].value
    assert list(listed["Member no."]) == ["M000007"]
    assert list(listed["How"]) == ["Automatic rule"]
    assert list(listed["Exit type"]) == ["Contact invalid"]
    page = click(page, "Run the rule now")
    assert "0 automatic exit requests" in page.success[0].value
