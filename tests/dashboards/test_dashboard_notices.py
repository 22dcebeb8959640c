"""The Notices page (AppTest): the retry list, another try, and a withdrawn consent refused."""

from __future__ import annotations

from smallclub import click, open_page
from sqlalchemy import select

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Member, MemberNotification
from operational.services import lifecycle
from operational.services.common import Actor

CLERK = Actor("clerk", "staff")


def _unreached(settings: Settings, member_no: str, kind: str = "approval") -> int:
    with session_scope(settings.database_url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == member_no))
        note = lifecycle.record_notification(
            session, CLERK, member_id, kind=kind, method="sms", reached=False
        )
        return note.id


def _note(settings: Settings, note_id: int) -> tuple[str, int, str]:
    with session_scope(settings.database_url) as session:
        note = session.get(MemberNotification, note_id)
        return note.status, note.attempts, note.method


def test_nothing_to_retry_says_so(small_club: Settings) -> None:
    page = open_page("notices", locale="en_US")
    assert not page.exception
    assert "No notice" in page.info[0].value


def test_the_retry_list_and_a_retry_that_reaches_the_member(small_club: Settings) -> None:
    note_id = _unreached(small_club, "M000002")
    page = open_page("notices")
    assert not page.exception
    listed = page.dataframe[0].value
    assert list(listed["会员号"]) == ["M000002"]
    assert list(listed["通知类型"]) == ["入会通知"]
    assert list(listed["上次方式"]) == ["短信"]
    assert list(listed["尝试次数"]) == [1]
    page.selectbox(key="notices_method").select("phone")
    page.checkbox(key="notices_reached").check()
    page = click(page, "记录本次补发")
    assert not page.exception
    assert "已通知到" in page.success[0].value
    assert "没有需要补发" in page.info[0].value
    assert _note(small_club, note_id) == ("notified", 2, "phone")


def test_an_unreached_retry_stays_on_the_list(small_club: Settings) -> None:
    note_id = _unreached(small_club, "M000002")
    page = click(open_page("notices", locale="en_US"), "Record this try")
    assert not page.exception
    assert "still not reached" in page.success[0].value
    assert list(page.dataframe[0].value["Attempts"]) == [2]
    assert _note(small_club, note_id)[0] == "retry"


def test_a_withdrawn_channel_is_refused_clearly(small_club: Settings) -> None:
    note_id = _unreached(small_club, "M000002")
    with session_scope(small_club.database_url) as session:
        lifecycle.set_consent(session, CLERK, "M000002", "sms", False, source="desk")
    page = open_page("notices", locale="en_US")
    page.selectbox(key="notices_method").select("sms")
    page = click(page, "Record this try")
    assert not page.exception
    assert "withdrew consent for SMS" in page.error[0].value
    assert _note(small_club, note_id) == ("retry", 1, "sms")  # nothing recorded
