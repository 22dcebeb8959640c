"""The Cards page (AppTest): lookup by number, batch issue with refusals, expiring sub-cards."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from smallclub import click, open_page
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Card, Member


def _shown(page: AppTest) -> dict[str, str]:
    """The lookup result (field -> value), the page's only table then."""
    frame = page.dataframe[0].value
    return dict(zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True))


def _frame(page: AppTest, column: str):
    """The batch table having ``column`` (issued: a card number; refused: a reason), or None."""
    return next((df.value for df in page.dataframe if column in df.value.columns), None)


@pytest.mark.parametrize(
    ("locale", "find", "owner", "status"),
    [("zh_CN", "查询", "持卡会员", "有效"), ("en_US", "Find", "Member", "Active")],
)
def test_lookup_by_card_number(small_club: Settings, locale, find, owner, status) -> None:
    page = open_page("cards", locale=locale)
    page.text_input(key="cards_lookup_no").input(" c0000003 ")
    page = click(page, find)
    assert not page.exception
    shown = _shown(page)
    assert shown[owner] == "M000003 · 会员03"
    assert status in shown.values()
    assert page.success  # usable


def test_lookup_of_a_sub_card_names_its_main_card_and_unknown_numbers_say_so(
    small_club: Settings,
) -> None:
    with session_scope(small_club.database_url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == "M000002"))
        main_id = session.scalar(select(Card.id).where(Card.card_no == "C0000002"))
        session.add(
            Card(
                card_no="S0000001",
                member_id=member_id,
                kind="sub",
                card_type="discount",
                parent_card_id=main_id,
                issued_at=datetime(2025, 1, 1, tzinfo=UTC),
                expires_on=date(2099, 1, 1),
            )
        )
    page = open_page("cards", locale="en_US")
    page.text_input(key="cards_lookup_no").input("S0000001")
    page = click(page, "Find")
    shown = _shown(page)
    assert shown["Main card"] == "C0000002"
    assert shown["Kind"] == "Sub-card"
    assert shown["Expires"] == "2099-01-01"
    page.text_input(key="cards_lookup_no").input("9999999999")
    page = click(page, "Find")
    assert "9999999999" in page.warning[0].value


def test_batch_issue_of_sub_cards_reports_each_refusal(small_club: Settings) -> None:
    page = open_page("cards", locale="en_US")
    page.radio(key="cards_batch_kind").set_value("sub").run()
    page.text_area(key="cards_batch_members").input("M000002, M999999\nm000003\nM000002")
    page.selectbox(key="cards_batch_type_sub").select("cobrand")
    page = click(page, "Issue cards")
    assert not page.exception
    issued = _frame(page, "Card no.")
    assert sorted(issued["Member no."]) == ["M000002", "M000003"]
    refused = _frame(page, "Reason")
    reasons = dict(zip(refused["Member no."], refused["Reason"], strict=True))
    assert set(reasons) == {"M999999", "M000002"}
    assert "member" in reasons["M999999"].lower()  # no such member
    assert reasons["M000002"]  # listed twice
    assert "2 cards issued, 2 members refused." in page.success[0].value
    with session_scope(small_club.database_url) as session:
        assert session.scalar(select(func.count()).where(Card.kind == "sub")) == 2


def test_batch_issue_of_main_cards_refuses_members_who_have_one(small_club: Settings) -> None:
    page = open_page("cards")
    page.text_area(key="cards_batch_members").input("M000002")
    page = click(page, "批量发卡")
    assert not page.exception
    refused = _frame(page, "说明")
    assert list(refused["会员号"]) == ["M000002"]
    assert _frame(page, "卡号") is None  # nothing issued


def test_expiring_sub_cards_now_shows_the_count(small_club: Settings) -> None:
    with session_scope(small_club.database_url) as session:
        for n, expiry in enumerate((date(2020, 1, 1), date(2099, 1, 1))):
            session.add(
                Card(
                    card_no=f"S000000{n}",
                    member_id=session.scalar(
                        select(Member.id).where(Member.member_no == "M000002")
                    ),
                    kind="sub",
                    card_type="discount",
                    parent_card_id=session.scalar(
                        select(Card.id).where(Card.card_no == "C0000002")
                    ),
                    issued_at=datetime(2019, 1, 1, tzinfo=UTC),
                    expires_on=expiry,
                )
            )
    page = click(open_page("cards", locale="en_US"), "Expire sub-cards now")
    assert not page.exception
    assert "1 expired sub-cards" in page.success[0].value
    page = click(page, "Expire sub-cards now")
    assert "0 expired sub-cards" in page.success[0].value
