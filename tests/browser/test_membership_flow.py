"""Issue 3's acceptance, in chromium: a clerk enters an application with a wrong check digit,
sees the error and corrects it; a reviewer approves it with a main card; the member is then
found by mobile, with the card. And a CSV uploaded on the import page shows its counts."""

from __future__ import annotations

from playwright.sync_api import expect
from screens import REVIEWER, screenshot, settle, sign_in
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from operational.idnumber import compute_check_digit
from operational.models import Application, Card, Member

ID17 = "44030119870615731"
GOOD_ID = ID17 + compute_check_digit(ID17)
BAD_ID = ID17 + next(d for d in "0123456789" if d != GOOD_ID[-1])
MOBILE = "19987654321"
NAME = "欧阳娜娜"


def _count(url: str, statement):
    engine = create_engine(url)
    with Session(engine) as session:
        value = session.scalar(statement)
    engine.dispose()
    return value


def _choose(page, label: str, option: str) -> None:
    """Open a Streamlit selectbox by its label and pick the option containing ``option``."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option).first.click()


def test_an_application_is_corrected_approved_and_found_by_mobile(
    app_url, app_database_url, page, browser
) -> None:
    assert _count(app_database_url, select(func.count()).where(Member.mobile == MOBILE)) == 0

    # -- the clerk -------------------------------------------------------------------------
    page.goto(f"{app_url}/apply")
    sign_in(page)
    page.get_by_role("heading", name="入会申请").wait_for()
    page.get_by_label("姓名", exact=True).fill(NAME)
    page.get_by_label("身份证号", exact=True).fill(BAD_ID)
    page.get_by_label("手机", exact=True).fill(f"+86 {MOBILE[:3]} {MOBILE[3:7]} {MOBILE[7:]}")
    page.get_by_role("button", name="提交申请").click()
    page.get_by_text(f"应为 {GOOD_ID[-1]}").wait_for()
    settle(page)  # type the correction into the form of the finished run
    assert page.get_by_label("姓名", exact=True).input_value() == NAME  # the typing is kept
    screenshot(page, "apply-wrong-check-digit")

    page.get_by_label("身份证号", exact=True).fill(GOOD_ID)
    page.get_by_role("button", name="提交申请").click()
    page.get_by_text("已进入审核队列").wait_for()
    # ready for the next one (the message is drawn before the form's cleared inputs arrive)
    expect(page.get_by_label("姓名", exact=True)).to_have_value("", timeout=15_000)
    screenshot(page, "apply-submitted")
    application_id = _count(
        app_database_url, select(Application.id).where(Application.id_number == GOOD_ID)
    )
    assert application_id is not None

    # -- the reviewer ----------------------------------------------------------------------
    context = browser.new_context(viewport={"width": 1400, "height": 1400}, locale="zh-CN")
    context.set_default_timeout(30_000)
    reviewer = context.new_page()
    try:
        reviewer.goto(f"{app_url}/review")
        sign_in(reviewer, *REVIEWER)
        reviewer.get_by_role("heading", name="入会审核").wait_for()
        _choose(reviewer, "审核哪一份申请", f"A{application_id} · {NAME}")
        reviewer.get_by_role("heading", name=f"申请 A{application_id} · {NAME}").wait_for()
        settle(reviewer)  # the previous run's elements are gone
        issue_card = reviewer.get_by_role("checkbox", name="立即发放主卡")
        expect(issue_card).to_have_count(1)
        expect(issue_card).to_be_checked()
        screenshot(reviewer, "review-application")
        reviewer.get_by_role("button", name="批准").click()
        reviewer.get_by_text("已发放主卡").wait_for()
        screenshot(reviewer, "review-approved")
    finally:
        context.close()

    engine = create_engine(app_database_url)
    with Session(engine) as session:
        member = session.scalar(select(Member).where(Member.mobile == MOBILE))
        card = session.scalar(select(Card).where(Card.member_id == member.id, Card.kind == "main"))
    engine.dispose()
    assert member.id_number == GOOD_ID and card.status == "active"

    # -- found by mobile, with the card ------------------------------------------------------
    page.goto(f"{app_url}/members")  # a new browser session: sign in again
    sign_in(page)
    page.get_by_role("heading", name="会员查询").wait_for()
    page.get_by_label("会员号、卡号、手机号（或后四位）、姓名或身份证号").fill(MOBILE)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("heading", name=f"{NAME} · {member.member_no}").wait_for()
    page.get_by_role("tab", name="会员卡").click()
    # the cards table is a canvas grid: its cells are in the page for assistive tech, not visible
    page.locator("[role='gridcell']", has_text=card.card_no).first.wait_for(state="attached")
    screenshot(page, "member-with-new-card")


def test_a_csv_uploaded_on_the_import_page_shows_its_counts(app_url, page, tmp_path) -> None:
    first17 = "31010419900101321"
    good = first17 + compute_check_digit(first17)
    upload = tmp_path / "members.csv"
    upload.write_bytes(
        (f"姓名,身份证号,手机\n上传甲,{good},19911112222\n上传乙,123,19911113333\n").encode("gbk")
    )
    page.goto(f"{app_url}/import")
    sign_in(page)
    page.get_by_role("heading", name="批量导入会员").wait_for()
    page.locator("input[type='file']").set_input_files(str(upload))
    page.get_by_role("button", name="开始导入").click()
    page.get_by_text("导入完成").wait_for()
    for label, value in (("新导入", "1"), ("有问题（未导入）", "1")):
        metric = page.locator("[data-testid='stMetric']", has_text=label)
        expect(metric.locator("[data-testid='stMetricValue']")).to_have_text(value)
    page.get_by_role("button", name="下载导入报告（CSV）").wait_for()
    screenshot(page, "import-counts")
