"""Issue 5's complaint acceptance, in chromium: a clerk logs a complaint of a member (whose
context shows once the number is typed), adds two handling steps, closes it with a
satisfaction score, and finds it again by a word of its content."""

from __future__ import annotations

from playwright.sync_api import expect
from screens import screenshot, settle, sign_in
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from operational.models import Complaint, ComplaintStep, Member

WORD = "Zephyrleak"
CONTENT = f"厨房天花板漏水 {WORD} 请尽快派人查看"


def _visible(page, label: str):
    """The visible input labelled ``label`` (the hidden tabs hold inputs with the same label)."""
    return page.get_by_label(label, exact=True).filter(visible=True)


def test_a_complaint_is_logged_handled_closed_and_found_by_a_word(
    app_url, app_database_url, page
) -> None:
    engine = create_engine(app_database_url)
    with Session(engine) as session:
        member_no, name = session.execute(
            select(Member.member_no, Member.name)
            .where(Member.status == "active")
            .order_by(Member.id)
            .limit(1)
        ).one()

    page.goto(f"{app_url}/complaints")
    sign_in(page)
    page.get_by_role("heading", name="投诉处理").wait_for()

    # -- log it: the member's context shows once the number is typed ------------------------
    number_box = _visible(page, "会员号或卡号（可不填）")
    number_box.fill(f" {member_no.lower()} ")
    number_box.press("Enter")
    page.get_by_text(f"会员：{member_no} · {name}").wait_for()
    settle(page)  # the form below the member's context is drawn anew: type into the new one
    _visible(page, "投诉内容").fill(CONTENT)
    page.get_by_role("button", name="登记投诉").click()
    page.get_by_text("已登记投诉 C").wait_for()
    with Session(engine) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.content == CONTENT))
    number = complaint.complaint_no
    assert complaint.status == "pending" and complaint.member_id is not None
    screenshot(page, "complaint-logged")

    # -- two handling steps, then closing with a score --------------------------------------
    page.get_by_role("tab", name="处理投诉").click()
    page.get_by_role("heading", name=f"投诉 {number} · 待处理").wait_for()
    settle(page)
    for department, opinion in (("工程部", "已上门查看漏点"), ("物业部", "已更换防水层")):
        _visible(page, "处理部门").fill(department)
        _visible(page, "处理意见").fill(opinion)
        page.get_by_role("button", name="添加处理记录").click()
        page.locator("[role='gridcell']", has_text=opinion).first.wait_for(state="attached")
        settle(page)
    page.get_by_role("heading", name=f"投诉 {number} · 处理中").wait_for()
    settle(page)
    with Session(engine) as session:
        steps = session.scalars(
            select(ComplaintStep.department).where(ComplaintStep.complaint_id == complaint.id)
        ).all()
    assert sorted(steps) == ["工程部", "物业部"]

    page.get_by_text("4 ★★★★", exact=True).click()
    _visible(page, "结案说明（可不填）").fill("会员表示满意")
    page.get_by_role("button", name="结案", exact=True).click()
    page.get_by_text(f"投诉 {number} 已结案（满意度 4）").wait_for()
    page.get_by_role("heading", name=f"投诉 {number} · 已结案").wait_for()
    screenshot(page, "complaint-closed")
    with Session(engine) as session:
        closed = session.scalar(select(Complaint).where(Complaint.complaint_no == number))
    assert (closed.status, closed.satisfaction, closed.closed_by) == ("done", 4, "clerk")

    # -- found by a word of its content -------------------------------------------------------
    settle(page)
    page.get_by_role("tab", name="查询投诉").click()
    words = _visible(page, "内容关键词（多个词用空格分开，容许一个错字）")
    words.fill(WORD.lower())
    words.press("Tab")  # commit the word (its own rerun) before the button's click
    settle(page)
    page.get_by_role("button", name="查询", exact=True).click()
    page.get_by_text("找到 1 条投诉。").wait_for()
    expect(page.locator("[role='gridcell']", has_text=number).first).to_be_attached()
    screenshot(page, "complaint-found")
    engine.dispose()
