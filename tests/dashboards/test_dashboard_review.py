"""The Review queue page (AppTest): approve with a main card, merge, reject, a stale page,
and who may open it."""

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
from operational.models import Application, Card, Member
from operational.services import applications
from operational.services.common import Actor

REVIEW_PAGE = str(Path(__file__).resolve().parents[2] / "dashboards" / "views" / "review.py")
CLERK = Actor("clerk", "staff")
OTHER_REVIEWER = Actor("admin", "admin")


def _id(first17: str) -> str:
    return first17 + compute_check_digit(first17)


def _submit(url: str, name: str, id17: str, mobile: str, **extra: object) -> int:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        result = applications.submit_application(
            session,
            CLERK,
            {"name": name, "id_number": _id(id17), "mobile": mobile, **extra},
            channel="service_centre",
            source="fair",
        )
    engine.dispose()
    return result.application_id


def _page(locale: str | None = None, role: str = "reviewer") -> AppTest:
    page = AppTest.from_file(REVIEW_PAGE, default_timeout=30)
    signed_in(page, role)
    if locale:
        page.session_state["locale"] = locale
    return page.run()


def _read(url: str, fn):
    engine = make_engine(url)
    with Session(engine) as session:
        value = fn(session)
    engine.dispose()
    return value


def test_staff_may_not_open_the_review_queue(small_club: Settings) -> None:
    page = _page(role="staff")
    assert not page.exception
    assert "无权" in page.error[0].value
    assert not page.button


def test_an_empty_queue_says_so(small_club: Settings) -> None:
    page = _page("en_US")
    assert "empty" in page.info[0].value


def test_a_reviewer_approves_with_a_main_card(small_club: Settings) -> None:
    url = small_club.database_url
    application_id = _submit(
        url, "韩梅梅", "31010419880512345", "13912340001", requested_tier="vip"
    )
    page = _page()
    assert not page.exception
    queue = page.dataframe[0].value
    assert list(queue["申请"]) == [f"A{application_id}"]
    details = page.dataframe[1].value
    shown = dict(zip(details["字段"], details["内容"], strict=True))
    assert shown["手机"] == "139****0001"  # masked
    assert "*" in shown["身份证号"]
    assert page.checkbox(key=f"review_{application_id}_issue_card").value is True
    assert page.selectbox(key=f"review_{application_id}_card_type").value == "vip"
    page.selectbox(key=f"review_{application_id}_notify_method").set_value("sms")
    page.checkbox(key=f"review_{application_id}_notified").check()
    page.button(key="review_decide").click()
    page = page.run()
    assert not page.exception

    member, card = _read(
        url,
        lambda s: (
            s.scalar(select(Member).where(Member.mobile == "13912340001")),
            s.scalar(
                select(Card)
                .join(Member, Card.member_id == Member.id)
                .where(Member.mobile == "13912340001")
            ),
        ),
    )
    assert member is not None and member.tier == "vip" and member.notified
    assert card is not None and card.kind == "main" and card.card_type == "vip"
    message = page.success[0].value
    assert member.member_no in message and card.card_no in message
    assert "empty" not in page.info[0].value if page.info else True
    assert "队列为空" in page.info[0].value  # the decided one left the queue


def test_a_duplicate_is_merged_into_the_ticked_member(small_club: Settings) -> None:
    url = small_club.database_url
    # member M000002 (会员02) has mobile 13800018001; one digit off, same name
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        result = applications.submit_application(
            session,
            CLERK,
            {"name": "会员02", "mobile": "13800018002"},
            channel="website",
        )
    engine.dispose()
    page = _page("en_US")
    candidates = {
        c.key: c for c in page.checkbox if c.key.startswith(f"review_{result.application_id}_pick")
    }
    assert candidates, "the similar member is offered"
    page.checkbox(key=f"review_{result.application_id}_pick_member_2").check()
    page.checkbox(key=f"review_{result.application_id}_issue_card").uncheck()
    page.button(key="review_decide").click()
    page = page.run()
    assert not page.exception
    assert "merged into member M000002" in page.success[0].value
    status = _read(url, lambda s: s.get(Application, result.application_id).status)
    assert status == "merged"


def test_rejecting_needs_a_reason(small_club: Settings) -> None:
    url = small_club.database_url
    application_id = _submit(url, "张伟", "44030119750101123", "13700001111")
    page = _page()
    page.button(key="review_reject").click()
    page = page.run()
    assert "必填" in page.error[0].value
    page.text_input(key=f"review_{application_id}_reject_reason").input("重复录入")
    page.button(key="review_reject").click()
    page = page.run()
    assert f"A{application_id}" in page.success[0].value
    assert _read(url, lambda s: s.get(Application, application_id).status) == "rejected"


@pytest.mark.parametrize(
    ("locale", "words"), [("zh_CN", "已由 admin 于"), ("en_US", "by admin at")]
)
def test_a_decision_taken_meanwhile_is_explained(
    small_club: Settings, locale: str, words: str
) -> None:
    url = small_club.database_url
    application_id = _submit(url, "赵敏", "11010819920202456", "13600002222")
    page = _page(locale)  # the reviewer opened the page ...
    engine = make_engine(url)
    with Session(engine) as session, session.begin():  # ... and another reviewer decided first
        version = session.get(Application, application_id).version
        applications.decide(session, OTHER_REVIEWER, application_id, expected_version=version)
    engine.dispose()
    page.button(key="review_decide").click()
    page = page.run()
    assert not page.exception
    message = page.error[0].value
    assert words in message and f"A{application_id}" in message
    members = _read(url, lambda s: s.scalars(select(Member).where(Member.name == "赵敏")).all())
    assert len(members) == 1  # nothing of the losing decision was applied
    assert page.info  # the queue is refreshed: empty now
