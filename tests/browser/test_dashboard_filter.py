"""A manager filters a dashboard in chromium and the chart and the KPI change; a screenshot of
every dashboard page is saved under test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from screens import screenshot, sign_in
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from clubcrm.published import connect
from dashboards.charts import format_value
from operational.db import make_engine
from operational.services.accounts import create_account
from operational.services.common import SYSTEM

MANAGER = ("boss", "boss-password-1")
#: url_path -> the page's heading, as a Chinese-speaking manager sees it
DASHBOARDS = {
    "dash_members": "会员分析",
    "dash_purchases": "销售分析",
    "dash_points": "积分分析",
    "dash_activities": "活动分析",
    "dash_care": "关怀效果",
    "dash_complaints": "投诉分析",
    "dash_segments": "会员细分",
    "dash_member360": "会员 360°",
    "dash_predictions": "预测名单",
}


@pytest.fixture(scope="module")
def app_database_url(demo_env, tmp_path_factory) -> str:
    """A copy of the demo's operational DB with a manager's account (signing in writes)."""
    source = make_url(demo_env.database_url)
    copy = tmp_path_factory.mktemp("dashboard-db") / "operational.sqlite"
    with closing(sqlite3.connect(source.database)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    url = f"sqlite:///{copy}"
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        create_account(session, SYSTEM, MANAGER[0], "Boss", MANAGER[1], "manager")
    engine.dispose()
    return url


#: The first chart's traces as Plotly drew them (decoded arrays), as JSON.
TRACES_JS = """JSON.stringify(document.querySelector('.js-plotly-plot')._fullData.map(
    trace => ({name: trace.name, x: Array.from(trace.x || []), y: Array.from(trace.y || [])})))"""


def _kpi(page, label: str) -> str:
    tile = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label)
    )
    return tile.first.locator("[data-testid='stMetricValue']").inner_text().strip()


def _first_chart_data(page) -> str:
    """The traces of the first Plotly chart as drawn in the browser."""
    page.locator(".js-plotly-plot").first.wait_for()
    return page.evaluate(f"() => {TRACES_JS}")


def _revenue(demo_env, region: str | None) -> str:
    with closing(connect(demo_env)) as con:
        condition = "true" if region is None else "region = ?"
        (value,) = con.execute(
            f"select coalesce(sum(amount), 0) from core.fct_purchases where {condition}",
            [] if region is None else [region],
        ).fetchone()
    return format_value(value, "money", "zh_CN")


def test_a_manager_filters_the_sales_dashboard_and_the_chart_changes(
    app_url, page, demo_env
) -> None:
    page.goto(f"{app_url}/dash_purchases")
    sign_in(page, *MANAGER)
    page.get_by_role("heading", name="销售分析").wait_for()
    assert _kpi(page, "成交金额") == _revenue(demo_env, None)
    before = _first_chart_data(page)
    screenshot(page, "dashboard-purchases-all-regions")

    page.get_by_role("combobox", name="地区").click()
    page.get_by_role("option", name="北京").click()
    page.keyboard.press("Escape")
    beijing = _revenue(demo_env, "11")
    page.wait_for_function(
        """([label, expected]) => [...document.querySelectorAll("[data-testid='stMetric']")]
            .some(tile => tile.innerText.includes(label) && tile.innerText.includes(expected))""",
        arg=["成交金额", beijing],
    )
    assert _kpi(page, "成交金额") == beijing
    page.wait_for_function(f"before => {TRACES_JS} !== before", arg=before)
    after = json.loads(_first_chart_data(page))
    assert after != json.loads(before)
    total_before = sum(sum(t["y"] or []) for t in json.loads(before))
    total_after = sum(sum(t["y"] or []) for t in after)
    assert 0 < total_after < total_before
    screenshot(page, "dashboard-purchases-beijing")


def test_screenshots_of_every_dashboard_page(app_url, page) -> None:
    for url_path, heading in DASHBOARDS.items():
        page.goto(f"{app_url}/{url_path}")  # a bookmarked page: signing in leads there
        sign_in(page, *MANAGER)
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        if url_path == "dash_member360":
            page.get_by_label("会员号或卡号").fill("M00000023")
            page.get_by_role("button", name="查询").click()
            page.get_by_role("tab", name="会员卡").wait_for()
        elif url_path == "dash_predictions":
            page.locator(".js-plotly-plot, [data-testid='stAlert']").first.wait_for()
        else:
            page.locator(".js-plotly-plot").first.wait_for()
        page.wait_for_timeout(800)  # let the charts finish drawing
        assert page.locator("[data-testid='stException']").count() == 0
        assert "dash." not in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, f"dashboard-{url_path.removeprefix('dash_')}")
