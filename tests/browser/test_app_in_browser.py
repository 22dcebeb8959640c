"""The app as a person sees it, in chromium: signing in, the Overview's figures, finding a
member."""

from __future__ import annotations

from screens import CLERK, fill_sign_in, screenshot, sign_in
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.models import Card, Member, MemberPointBalance


def _metric_values(page) -> dict[str, str]:
    # all six KPI tiles, not the first one drawn
    page.wait_for_function("document.querySelectorAll(\"[data-testid='stMetric']\").length >= 6")
    page.wait_for_timeout(500)
    values = {}
    for metric in page.locator("[data-testid='stMetric']").all():
        label = metric.locator("[data-testid='stMetricLabel']").inner_text().strip()
        values[label] = metric.locator("[data-testid='stMetricValue']").inner_text().strip()
    return values


def _choose_english(page) -> None:
    """Click the radio's circle, as a person does, until the app has taken it."""
    radio = page.get_by_role("radio", name="English")
    for _ in range(5):
        radio.scroll_into_view_if_needed()
        circle = radio.bounding_box()
        page.mouse.click(circle["x"] + circle["width"] / 2, circle["y"] + circle["height"] / 2)
        page.wait_for_timeout(1000)
        if radio.is_checked():
            return
    raise AssertionError("the English option could not be chosen")


def test_a_manager_sees_the_overview_figures_in_both_languages(app_url, page, demo_env) -> None:
    engine = create_engine(demo_env.database_url)
    with Session(engine) as session:
        members = session.scalar(select(func.count()).select_from(Member))
    engine.dispose()

    page.goto(app_url)  # the Overview is the default page
    sign_in(page)
    page.get_by_role("heading", name="会员总览").wait_for()
    assert _metric_values(page)["会员总数"] == f"{members:,}"
    page.locator(".js-plotly-plot").first.wait_for()  # the chart is drawn
    screenshot(page, "overview-zh")

    _choose_english(page)
    page.get_by_role("heading", name="Members overview").wait_for()
    english = _metric_values(page)
    assert any(value == f"{members:,}" for value in english.values())
    screenshot(page, "overview-en")


def test_a_clerk_finds_a_member_by_a_mobile_typed_with_spaces(app_url, page, demo_env) -> None:
    engine = create_engine(demo_env.database_url)
    with Session(engine) as session:
        member = session.scalars(
            select(Member)
            .join(Card, Card.member_id == Member.id)
            .where(Member.status == "active", Member.mobile.is_not(None), Card.kind == "main")
            .order_by(Member.id)
        ).first()
        balance = session.scalar(
            select(MemberPointBalance.balance).where(MemberPointBalance.member_id == member.id)
        )
        duplicates = session.scalar(
            select(func.count()).select_from(Member).where(Member.mobile == member.mobile)
        )
    engine.dispose()
    assert duplicates == 1
    typed = f"+86 {member.mobile[:3]} {member.mobile[3:7]} {member.mobile[7:]}"

    page.goto(f"{app_url}/members")  # a bookmarked address: signing in leads there
    sign_in(page)
    page.get_by_role("heading", name="会员查询").wait_for()
    page.get_by_label("会员号、卡号、手机号（或后四位）、姓名或身份证号").fill(typed)
    page.get_by_role("button", name="查询").click()

    page.get_by_role("heading", name=f"{member.name} · {member.member_no}").wait_for()
    balance_metric = page.locator("[data-testid='stMetric']").filter(has_text="积分余额")
    balance_metric.wait_for()
    shown = balance_metric.locator("[data-testid='stMetricValue']").inner_text().strip()
    assert shown == f"{balance:,}"
    screenshot(page, "member-detail")


def test_a_wrong_password_shows_the_error_and_keeps_the_form(app_url, page) -> None:
    page.goto(app_url)
    fill_sign_in(page, CLERK[0], "not-the-password")
    error = page.locator("[data-testid='stAlert']").filter(has_text="用户名或密码错误。")
    error.wait_for()
    assert page.get_by_role("heading", name="登录 ClubCRM").is_visible()
    assert page.locator("[data-testid='stMetric']").count() == 0
    assert page.get_by_role("button", name="退出登录").count() == 0
    screenshot(page, "sign-in-refused")

    # the right password then opens the Overview, and signing out returns to the form
    fill_sign_in(page, *CLERK)
    page.get_by_role("heading", name="会员总览").wait_for()
    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("heading", name="登录 ClubCRM").wait_for()
