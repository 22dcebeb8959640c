"""The Points and Points approval pages (AppTest): manual and batch adjustments, approval."""

from __future__ import annotations

from smallclub import click, open_page
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from dashboards.cardlists import card_numbers, uploaded_card_numbers
from operational.db import session_scope
from operational.models import Member, PointEntry
from operational.services import points
from operational.services.common import Actor


def _balance(settings: Settings, member_no: str) -> int:
    with session_scope(settings.database_url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == member_no))
        return points.balance_of(session, member_id)


def _manual_count(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(
            select(func.count()).select_from(PointEntry).where(PointEntry.event_type == "manual")
        )


def _adjust(
    page: AppTest, number: str, amount: int, reason: str, *, submit: str = "Post adjustment"
) -> AppTest:
    page.text_input(key="points_manual_no").input(number)
    page.number_input(key="points_manual_points").set_value(amount)
    page.text_input(key="points_manual_reason").input(reason)
    return click(page, submit)


def _history(page: AppTest):
    return next(df.value for df in page.dataframe if "Event" in df.value.columns)


def test_posting_shows_the_new_balance_and_history_and_posts_once(small_club: Settings) -> None:
    page = _adjust(open_page("points", locale="en_US"), "m000002", 100, "goodwill")
    assert not page.exception
    assert "the balance is now 1,610" in page.success[0].value
    assert page.metric[0].value == "1,610"
    history = _history(page)
    assert history.iloc[0]["Points"] == 100
    assert history.iloc[0]["Event"] == "Manual"
    assert history.iloc[0]["Reason"] == "goodwill"
    # the same values again (a double click): the same key, nothing posted twice
    page = click(page, "Post adjustment")
    assert "not posted twice" in page.success[0].value
    assert _balance(small_club, "M000002") == 1610
    assert _manual_count(small_club) == 1
    # "New adjustment" starts a fresh submission on purpose
    page = click(page, "New adjustment")
    page = click(page, "Post adjustment")
    assert "1,710" in page.success[0].value
    assert _manual_count(small_club) == 2


def test_lookup_by_card_number_and_a_refusal_in_the_readers_language(
    small_club: Settings,
) -> None:
    page = open_page("points")
    page.text_input(key="points_lookup_no").input("c0000003")
    page = click(page, "查询")
    assert not page.exception
    assert page.metric[0].value == "1,520"
    page = _adjust(page, "M000001", -50, "纠错", submit="提交调整")
    assert page.error  # M000001 has no points: the balance may not go below zero
    assert "余额不能小于零" in page.error[0].value
    assert _manual_count(small_club) == 0


def test_a_big_adjustment_waits_for_another_reviewer(small_club: Settings) -> None:
    page = _adjust(open_page("points", role="reviewer", locale="en_US"), "M000002", 5000, "gift")
    assert not page.exception
    assert "waiting for approval" in page.warning[0].value
    assert _balance(small_club, "M000002") == 1510

    staff = open_page("points_approval", role="staff", locale="en_US")
    assert staff.error and "Staff" in staff.error[0].value
    assert not staff.dataframe

    own = open_page("points_approval", role="reviewer", locale="en_US")
    pending = own.dataframe[0].value
    assert list(pending["Points"]) == [5000]
    assert list(pending["Entered by"]) == ["reviewer"]
    own = click(own, "Approve and post")
    assert "cannot also approve" in own.error[0].value
    assert _balance(small_club, "M000002") == 1510

    admin = click(open_page("points_approval", role="admin", locale="en_US"), "Approve and post")
    assert not admin.exception
    assert "Approved" in admin.success[0].value
    assert "No points adjustments are waiting" in admin.info[0].value
    assert _balance(small_club, "M000002") == 6510


def test_rejecting_needs_a_reason_and_moves_nothing(small_club: Settings) -> None:
    _adjust(open_page("points", locale="en_US"), "M000003", -1500, "correction")
    page = click(open_page("points_approval", role="reviewer", locale="en_US"), "Reject")
    assert "Enter a reason" in page.error[0].value
    page.text_input(key="points_approval_reason").input("no evidence")
    page = click(page, "Reject")
    assert "Rejected" in page.success[0].value
    assert _balance(small_club, "M000003") == 1520
    with session_scope(small_club.database_url) as session:
        assert session.scalar(select(PointEntry.status).where(PointEntry.points == -1500)) == (
            "rejected"
        )


def test_batch_with_a_bad_card_shows_its_reason(small_club: Settings) -> None:
    page = open_page("points", locale="en_US")
    page.text_area(key="points_batch_cards").input("C0000002, c9999999\nC0000003\nC0000002")
    page.number_input(key="points_batch_points").set_value(10)
    page.text_input(key="points_batch_reason").input("event bonus")
    page = click(page, "Post to all cards")
    assert not page.exception
    assert "2 posted, 0 waiting for approval" in page.success[0].value
    assert "1 not processed" in page.success[0].value
    problems = next(df.value for df in page.dataframe if "Reason" in df.value.columns)
    reasons = dict(zip(problems["Card no."], problems["Reason"], strict=True))
    assert list(reasons) == ["C9999999"]
    assert "card number" in reasons["C9999999"]
    assert _balance(small_club, "M000002") == 1520
    assert _balance(small_club, "M000003") == 1530
    page = click(page, "Post to all cards")  # a double click: nothing posted twice
    assert "2 of them done before" in page.success[0].value
    assert _balance(small_club, "M000002") == 1520


def test_card_lists_pasted_or_uploaded() -> None:
    assert card_numbers(" c0000002, C0000003\n\nc0000002；Ｃ０００００04 ") == [
        "C0000002",
        "C0000003",
        "C0000004",
    ]
    csv = "card_no,name\nC0000002,王小明\n\n c0000003 ,x\n".encode("utf-8-sig")
    assert uploaded_card_numbers(csv) == ["C0000002", "C0000003"]
    assert uploaded_card_numbers("卡号\nC0000005\n".encode("gbk")) == ["C0000005"]


def test_a_manual_adjustment_by_card_number(small_club: Settings) -> None:
    page = open_page("points", locale="en_US")
    page.radio(key="points_manual_by").set_value("card")
    page = _adjust(page, "c0000003", 30, "birthday")
    assert not page.exception
    assert "member M000003; the balance is now 1,550" in page.success[0].value
    assert _history(page).iloc[0]["Card no."] == "C0000003"


# -- reversing an entry -------------------------------------------------------------------------
def _manual(settings: Settings, member_no: str, amount: int, key: str) -> int:
    with session_scope(settings.database_url) as session:
        entry = points.post_manual(
            session,
            Actor("reviewer", "reviewer"),
            member_no=member_no,
            points=amount,
            reason="setup",
            idempotency_key=key,
        )
        return entry.id


def _reverse(page: AppTest, entry_id: int, reason: str, submit: str) -> AppTest:
    page.selectbox(key="points_reverse_entry").set_value(entry_id)
    page.text_input(key="points_reverse_reason").input(reason)
    return click(page, submit)


def _lookup(number: str, locale: str | None = None) -> AppTest:
    page = open_page("points", locale=locale)
    page.text_input(key="points_lookup_no").input(number)
    return click(page, "Find" if locale == "en_US" else "查询")


def test_reversing_an_award_after_spending_takes_the_balance_and_states_the_shortfall(
    small_club: Settings,
) -> None:
    award = _manual(small_club, "M000001", 100, "setup:award")
    spent = _manual(small_club, "M000001", -60, "setup:spent")
    page = _lookup("M000001", "en_US")
    page = _reverse(page, award, "", "Reverse this entry")
    assert "Enter a reason" in page.error[0].value  # nothing reversed without a reason
    assert _balance(small_club, "M000001") == 40
    page = _reverse(page, award, "entered by mistake", "Reverse this entry")
    assert not page.exception
    message = page.warning[0].value
    assert "40 points taken back from member M000001" in message
    assert "shortfall 60 points already spent, not recovered" in message
    assert _balance(small_club, "M000001") == 0
    # the reversed award is no longer offered; the spending can be given back
    choices = page.selectbox(key="points_reverse_entry").options
    assert not any(f"#{award} " in label for label in choices)
    page = _reverse(page, spent, "refund the redemption", "Reverse this entry")
    assert "60 points given back to member M000001; the balance is now 60" in (
        page.success[0].value
    )
    assert _balance(small_club, "M000001") == 60


def test_reversing_an_award_with_nothing_left_records_the_whole_shortfall(
    small_club: Settings,
) -> None:
    award = _manual(small_club, "M000001", 100, "setup:award")
    _manual(small_club, "M000001", -100, "setup:spent")
    page = _reverse(_lookup("M000001"), award, "录错了", "冲正")
    assert not page.exception
    assert "收不回任何积分；全部 100 积分记为差额" in page.warning[0].value
    assert _balance(small_club, "M000001") == 0
    with session_scope(small_club.database_url) as session:
        reversal = session.scalar(select(PointEntry).where(PointEntry.reverses_entry_id == award))
        assert (reversal.status, points.reversal_shortfall(session, reversal)) == ("rejected", 100)
