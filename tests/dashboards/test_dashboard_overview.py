"""The Overview dashboard: KPIs equal the operational DB's own counts; charts; locale; no data."""

from __future__ import annotations

import importlib.util
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from smallclub import build_small_warehouse, signed_in
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from clubcrm.published import connect
from clubcrm.settings import Settings
from dashboards.data.overview import load_overview
from dashboards.i18n import format_int, format_money
from operational.db import make_engine
from operational.models import Complaint, Member, MemberPointBalance, PointEntry, Purchase

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
LABELS = {
    "zh_CN": ("会员总数", "有效会员", "成交笔数", "成交金额", "未兑积分", "未结投诉"),
    "en_US": (
        "Total members",
        "Active members",
        "Purchases",
        "Revenue",
        "Points outstanding",
        "Open complaints",
    ),
}


@dataclass(frozen=True)
class OperationalCounts:
    """The KPIs counted straight from the operational DB with SQLAlchemy."""

    total_members: int
    active_members: int
    purchases: int
    revenue: Decimal
    points_outstanding: int
    posted_points: int
    open_complaints: int


def operational_counts(settings: Settings) -> OperationalCounts:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:

            def scalar(statement) -> int | Decimal:
                return session.scalar(statement) or 0

            return OperationalCounts(
                total_members=scalar(select(func.count()).select_from(Member)),
                active_members=scalar(select(func.count()).where(Member.status == "active")),
                purchases=scalar(select(func.count()).select_from(Purchase)),
                revenue=Decimal(scalar(select(func.sum(Purchase.amount)))),
                points_outstanding=scalar(select(func.sum(MemberPointBalance.balance))),
                posted_points=scalar(
                    select(func.sum(PointEntry.points)).where(PointEntry.status == "posted")
                ),
                open_complaints=scalar(select(func.count()).where(Complaint.status != "done")),
            )
    finally:
        engine.dispose()


def _router(locale: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    signed_in(app, "manager")
    if locale:
        app.session_state["locale"] = locale
    return app.run()


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def assert_overview_matches_operational_db(settings: Settings) -> None:
    counts = operational_counts(settings)
    assert counts.total_members > 0 and counts.purchases > 0  # a real comparison, not 0 == 0
    assert counts.points_outstanding == counts.posted_points  # balances reconcile with ledger

    with closing(connect(settings)) as con:
        kpis = load_overview(con).kpis
    assert kpis.total_members == counts.total_members
    assert kpis.active_members == counts.active_members
    assert kpis.purchases == counts.purchases
    assert kpis.revenue == counts.revenue
    assert kpis.points_outstanding == counts.points_outstanding
    assert kpis.open_complaints == counts.open_complaints

    app = _router("en_US")
    assert not app.exception
    assert _metrics(app) == {
        "Total members": format_int(counts.total_members),
        "Active members": format_int(counts.active_members),
        "Purchases": format_int(counts.purchases),
        "Revenue": format_money(counts.revenue),
        "Points outstanding": format_int(counts.points_outstanding),
        "Open complaints": format_int(counts.open_complaints),
    }


def test_overview_kpis_equal_the_operational_counts_on_a_small_club(
    small_warehouse: Settings,
) -> None:
    assert_overview_matches_operational_db(small_warehouse)


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


@pytest.mark.e2e
@pytest.mark.skipif(bool(_missing("orchestration.pipeline")), reason="needs the pipeline")
def test_overview_kpis_equal_the_operational_counts_after_a_real_pipeline_run(
    small_club: Settings,
) -> None:
    from orchestration.pipeline import run_pipeline

    result = run_pipeline(small_club, full=True)
    assert result.success, "\n".join(result.summary_lines())
    assert_overview_matches_operational_db(small_club)


@pytest.mark.e2e
@pytest.mark.skipif(
    bool(_missing("demodata.generate", "orchestration.pipeline")),
    reason="needs demodata.generate and orchestration.pipeline",
)
def test_overview_kpis_equal_counts_taken_straight_from_the_operational_db(
    use_demo_env: Settings,
) -> None:
    """Acceptance: on the demo club run through the real pipeline, every KPI tile is exact."""
    assert_overview_matches_operational_db(use_demo_env)


def test_overview_renders_kpis_charts_and_publication_time(small_warehouse: Settings) -> None:
    app = _router()
    assert not app.exception
    assert app.title[0].value == "会员总览"
    metrics = _metrics(app)
    assert tuple(metrics) == LABELS["zh_CN"]
    assert metrics["会员总数"] == "37"
    assert metrics["成交金额"].startswith("¥") and "," in metrics["成交金额"]
    assert app.caption[0].value.startswith("数据发布时间：20")
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    region_chart = charts[1].proto.spec
    assert "北京" in region_chart and "未知" in region_chart  # region names, not codes


def test_switching_the_sidebar_to_english_changes_the_labels(small_warehouse: Settings) -> None:
    app = _router()
    assert app.sidebar.radio(key="locale").value == "zh_CN"
    app.sidebar.radio(key="locale").set_value("en_US").run()
    assert not app.exception
    assert app.title[0].value == "Members overview"
    assert tuple(_metrics(app)) == LABELS["en_US"]
    assert "Beijing" in app.get("plotly_chart")[1].proto.spec


def test_the_locale_setting_chooses_the_starting_language(
    small_warehouse: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLUBCRM_LOCALE", "en_US")
    app = _router()
    assert app.sidebar.radio(key="locale").value == "en_US"
    assert tuple(_metrics(app)) == LABELS["en_US"]


def test_a_new_publish_shows_at_once(small_warehouse: Settings) -> None:
    app = _router("en_US")
    assert _metrics(app)["Total members"] == "37"
    engine = make_engine(small_warehouse.database_url)
    with Session(engine) as session, session.begin():
        session.add(Member(member_no="M900001", name="新会员", joined_at=date(2026, 6, 1)))
    engine.dispose()
    build_small_warehouse(small_warehouse)
    app.run()
    assert _metrics(app)["Total members"] == "38"


def test_without_a_published_warehouse_the_page_says_to_run_the_pipeline(
    clubcrm_home: Settings,
) -> None:
    app = _router()
    assert not app.exception
    assert not app.metric
    assert "clubcrm pipeline run" in app.info[0].value
    app.sidebar.radio(key="locale").set_value("en_US").run()
    assert app.info[0].value.startswith("No warehouse has been published yet.")
