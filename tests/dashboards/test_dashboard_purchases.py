"""The Purchases page (AppTest): record, find, instalments, returns, refusals, changes."""

from __future__ import annotations

from datetime import date

from smallclub import button_labels, click, open_page
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.models import Member, Purchase, PurchasePayment
from operational.services import points
from operational.services.common import Actor
from operational.services.purchases import record_purchase


def _balance(settings: Settings, member_no: str) -> int:
    with session_scope(settings.database_url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == member_no))
        return points.balance_of(session, member_id)


def _purchase(settings: Settings, number: str) -> Purchase | None:
    with session_scope(settings.database_url) as session:
        purchase = session.scalar(select(Purchase).where(Purchase.purchase_no == number))
        if purchase is not None:
            session.expunge(purchase)
        return purchase


def _fill(page: AppTest, **fields: str) -> AppTest:
    for field, value in fields.items():
        page.text_input(key=f"purchases_record_{field}").input(value)
    return page


def _frame(page: AppTest, column: str, *, last: bool = False):
    """The first (or last) table of the page with ``column``; None when there is none."""
    frames = [df.value for df in page.dataframe if column in df.value.columns]
    return (frames[-1] if last else frames[0]) if frames else None


def test_a_recorded_purchase_posts_its_points_and_appears_in_the_search(
    small_club: Settings,
) -> None:
    page = _fill(
        open_page("purchases"),
        purchase_no=" P-2026-001 ",
        member_or_card="ｃ０００００02",  # a card number typed in full width
        product="别墅 A-12",
        amount="1,250,000",
        paid_amount="1250000",
        salesperson="张三",
        dealer="华东经销",
    )
    page.selectbox(key="purchases_record_channel").set_value("sales_site")
    page.selectbox(key="purchases_record_region").set_value("31")
    page = click(page, "录入成交")
    assert not page.exception
    assert not page.error
    message = page.success[0].value
    assert "已录入成交 P-2026-001（会员 M000002）" in message
    assert "已入账积分：5,000" in message
    assert _balance(small_club, "M000002") == 1510 + 5000
    # the page shows it at once, with its detail
    results = _frame(page, "成交单号")
    assert list(results["成交单号"]) == ["P-2026-001"]
    assert list(results["到账率"]) == ["100%"]
    assert list(results["销售渠道"]) == ["案场"]
    facts = _frame(page, "字段")
    assert dict(zip(facts["字段"], facts["内容"], strict=True))["经销商"] == "华东经销"
    # the form is blank for the next purchase
    assert page.text_input(key="purchases_record_purchase_no").value == ""
    # found again by the member number, with the month chart
    page.text_input(key="purchases_find_member").input("m000002")
    page = click(page, "查询")
    assert set(_frame(page, "成交单号")["成交单号"]) == {"P-2026-001", "P0010"}
    assert page.get("plotly_chart")
    # the same purchase number again records nothing twice
    page = _fill(page, purchase_no="P-2026-001", member_or_card="M000002", product="x", amount="1")
    page = click(page, "录入成交")
    assert "已经录入过" in page.success[0].value
    assert _balance(small_club, "M000002") == 6510


def test_three_instalments_post_the_points_once_with_the_last(small_club: Settings) -> None:
    page = _fill(
        open_page("purchases", locale="en_US"),
        purchase_no="P-INST",
        member_or_card="M000003",
        product="Villa",
        amount="300000",
    )
    page = click(page, "Record purchase")
    assert "Purchase P-INST recorded (member M000003)." == page.success[0].value
    messages = []
    for month in (3, 4, 5):
        page.text_input(key="purchases_pay_no").input(" P-INST ")
        page.text_input(key="purchases_pay_amount").input("100,000")
        page.date_input(key="purchases_pay_on").set_value(date(2026, month, 1))
        page = click(page, "Record payment")
        assert not page.error
        messages.append(page.success[0].value)
    assert "paid ¥100,000.00 of ¥300,000.00, ¥200,000.00 still due" in messages[0]
    assert ["Points posted" in m for m in messages] == [False, False, True]
    assert "Points posted: 3,000." in messages[2]
    assert _balance(small_club, "M000003") == 1520 + 3000
    payments = _frame(page, "Payment method")
    assert len(payments) == 3
    # a double click on the last payment records nothing twice
    page = click(page, "Record payment")
    assert "not recorded twice" in page.success[0].value
    # an intended further payment is refused: nothing is due any more
    page = click(page, "New payment")
    page = click(page, "Record payment")
    assert "0 yuan still due" in page.error[0].value
    with session_scope(small_club.database_url) as session:
        assert session.scalar(select(func.count()).select_from(PurchasePayment)) == 3
    assert _balance(small_club, "M000003") == 4520


def test_a_return_reverses_the_points_of_the_purchase_it_names(small_club: Settings) -> None:
    page = _fill(
        open_page("purchases"),
        purchase_no="P-R1",
        member_or_card="M000006",
        product="公寓",
        amount="200000",
        paid_amount="200000",
    )
    page = click(page, "录入成交")
    assert _balance(small_club, "M000006") == 1550 + 2000
    # a return without the original purchase number is refused, nothing recorded
    page = _fill(
        page, purchase_no="R-1", member_or_card="M000006", product="公寓", amount="-200000"
    )
    page.radio(key="purchases_record_purchase_type").set_value("return")
    page = click(page, "录入成交")
    assert "退货必须填写原成交单号" in page.error[0].value
    assert _purchase(small_club, "R-1") is None
    page.text_input(key="purchases_record_returns_purchase_no").input("P-R1")
    page = click(page, "录入成交")
    assert not page.error
    assert "已冲正原成交 P-R1 的积分：收回 2,000 积分" in page.success[0].value
    assert _balance(small_club, "M000006") == 1550
    # the original's detail shows the return and the reversed points
    page.text_input(key="purchases_find_no").input("P-R1")
    page = click(page, "查询")
    page.selectbox(key="purchases_pick").set_value("P-R1")
    page = page.run()
    assert "收回 2,000 积分" in page.warning[0].value
    assert list(_frame(page, "产品", last=True)["成交单号"]) == ["R-1"]  # returns of P-R1


def test_a_bad_amount_is_refused_and_the_form_keeps_what_was_typed(small_club: Settings) -> None:
    page = _fill(
        open_page("purchases"),
        purchase_no="P-BAD",
        member_or_card="M000002",
        product="车位",
        amount="12.345",
        salesperson="李四",
    )
    page = click(page, "录入成交")
    assert not page.exception
    assert "成交金额（元）：“12.345”不是有效金额" in page.error[0].value
    assert page.text_input(key="purchases_record_amount").value == "12.345"
    assert page.text_input(key="purchases_record_salesperson").value == "李四"
    assert page.text_input(key="purchases_record_product").value == "车位"
    assert _purchase(small_club, "P-BAD") is None
    # an unknown member or card is named, and not mistaken for a non-member
    page.text_input(key="purchases_record_amount").input("120000")
    page.text_input(key="purchases_record_member_or_card").input("C9999999")
    page = click(page, "录入成交")
    assert "没有会员号或卡号为“C9999999”的会员" in page.error[0].value
    assert _purchase(small_club, "P-BAD") is None


def test_changing_a_purchase_and_its_money_lock(small_club: Settings) -> None:
    with session_scope(small_club.database_url) as session:
        record_purchase(
            session,
            Actor("clerk", "staff"),
            {"purchase_no": "P-PAID", "purchased_at": "2026-03-01 10:00", "product": "Villa",
             "amount": "100000", "paid_amount": "100000", "member_no": "M000002"},
        )  # fmt: skip
    page = open_page("purchases", locale="en_US")
    page.text_input(key="purchases_update_no").input("P0021")  # not fully paid
    page = click(page, "Open purchase")
    assert page.text_input(key="purchases_update_product").value == "Villa"
    page.text_input(key="purchases_update_salesperson").input("Zhang San")
    page.text_input(key="purchases_update_amount").input("60000")
    page.checkbox(key="purchases_update_cross_group").check()
    page = click(page, "Save changes")
    assert not page.error
    assert "Purchase P0021 saved" in page.success[0].value
    changed = _purchase(small_club, "P0021")
    assert (changed.salesperson, str(changed.amount), changed.cross_group) == (
        "Zhang San",
        "60000.00",
        True,
    )
    # a fully paid purchase: its money cannot change any more
    page.text_input(key="purchases_update_no").input("P-PAID")
    page = click(page, "Open purchase")
    assert any("can no longer change" in c.value for c in page.caption)
    assert page.text_input(key="purchases_update_amount").disabled
    page.text_input(key="purchases_update_dealer").input("East dealer")
    page = click(page, "Save changes")
    assert "Purchase P-PAID saved: Dealer." in page.success[0].value
    page.text_input(key="purchases_update_no").input("P-NONE")
    page = click(page, "Open purchase")
    assert "No purchase" in page.error[0].value
    assert "Save changes" not in button_labels(page)


def test_a_non_members_purchase_raises_an_application(small_club: Settings) -> None:
    page = _fill(
        open_page("purchases", locale="en_US"),
        purchase_no="P-GUEST-2",
        customer_name="Zhao Liu",
        customer_mobile="+86 139 0000 2222",
        product="Apartment",
        amount="120000",
        paid_amount="120000",
    )
    page = click(page, "Record purchase")
    assert not page.error
    assert "(non-member); automatic application A" in page.success[0].value
    assert "Points posted" not in page.success[0].value
    assert _purchase(small_club, "P-GUEST-2").customer_mobile == "13900002222"
    assert any("earns nothing yet" in c.value for c in page.caption)
