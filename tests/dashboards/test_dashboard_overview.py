"""The Overview (the manager's landing dashboard): KPIs equal the operational DB's own counts,
their change versus the previous period, the monthly trend charts, and filters that change what
the charts show, in both languages; a partial warehouse; nothing published."""

from __future__ import annotations

import base64
import importlib.util
import json
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest
from smallclub import build_small_warehouse, signed_in
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from test_dash_support import republish, warehouse_scalar

from clubcrm.published import connect
from clubcrm.settings import Settings
from dashboards.data import overview as data
from dashboards.data.filtering import Filters
from dashboards.i18n import format_int, format_money
from operational.db import make_engine
from operational.models import Complaint, Member, Purchase

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
LABELS = {
    "zh_CN": (
        "会员总数",
        "新入会",
        "活跃会员",
        "成交金额",
        "发放积分",
        "兑付积分",
        "未结投诉",
        "关怀响应率",
    ),
    "en_US": (
        "Total members",
        "New members",
        "Active members",
        "Revenue",
        "Points issued",
        "Points redeemed",
        "Open complaints",
        "Care response rate",
    ),
}
#: chart keys of the page, in order
CHARTS = ("new_members", "active_in_month", "revenue", "points", "complaints", "care")
BEIJING = "11"
#: The demo club's last 12 months in the club's time (UTC+8), as naive-UTC purchase bounds.
YEAR = (
    "where purchased_at >= timestamp '2025-06-30 16:00:00' "
    "and purchased_at < timestamp '2026-06-30 16:00:00'"
)


@dataclass(frozen=True)
class OperationalCounts:
    """The KPIs counted straight from the operational DB with SQLAlchemy."""

    total_members: int
    revenue: Decimal
    open_complaints: int


def operational_counts(settings: Settings) -> OperationalCounts:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return OperationalCounts(
                total_members=session.scalar(select(func.count()).select_from(Member)) or 0,
                revenue=Decimal(session.scalar(select(func.sum(Purchase.amount))) or 0),
                open_complaints=session.scalar(
                    select(func.count()).where(Complaint.status != "done")
                )
                or 0,
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


def _deltas(app: AppTest) -> dict[str, str | None]:
    return {metric.label: metric.proto.delta or None for metric in app.metric}


def _charts(app: AppTest) -> dict[str, dict]:
    """The page's Plotly figures by chart key."""
    return {
        chart.proto.id.rsplit("overview.", 1)[-1]
        if "overview." in chart.proto.id
        else chart.proto.id: json.loads(chart.proto.spec)
        for chart in app.get("plotly_chart")
    }


def _values(trace: dict) -> np.ndarray:
    """A trace's y values (Plotly may ship them as a typed base64 array)."""
    y = trace["y"]
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    return np.array([np.nan if v is None else v for v in y], dtype=float)


def _total(figure: dict, trace: int = 0) -> float:
    return float(np.nansum(_values(figure["data"][trace])))


def assert_overview_matches_operational_db(settings: Settings) -> None:
    counts = operational_counts(settings)
    assert counts.total_members > 0 and counts.revenue > 0  # a real comparison, not 0 == 0

    with closing(connect(settings)) as con:
        numbers = data.load(con, Filters())
    kpis = {kpi.key: kpi.value for kpi in numbers.kpis}
    assert kpis["total_members"] == counts.total_members
    assert format_money(kpis["revenue"]) == format_money(counts.revenue)
    if "complaints" not in numbers.missing:
        assert kpis["open_complaints_end"] == counts.open_complaints

    app = _router("en_US")
    assert not app.exception
    metrics = _metrics(app)
    assert metrics["Total members"] == format_int(counts.total_members)
    if counts.revenue < 1_000_000:
        assert metrics["Revenue"] == format_money(counts.revenue)
    if "complaints" not in numbers.missing:
        assert metrics["Open complaints"] == format_int(counts.open_complaints)


# -- a small club (a hand-made, partial warehouse) ---------------------------------------------------
def test_overview_kpis_equal_the_operational_counts_on_a_small_club(
    small_warehouse: Settings,
) -> None:
    assert_overview_matches_operational_db(small_warehouse)


def test_overview_renders_kpis_trends_and_says_which_parts_are_not_built(
    small_warehouse: Settings,
) -> None:
    app = _router()
    assert not app.exception
    assert app.title[0].value == "会员总览"
    metrics = _metrics(app)
    assert tuple(metrics) == LABELS["zh_CN"]
    assert metrics["会员总数"] == "37"
    assert metrics["成交金额"].startswith("¥") and metrics["成交金额"].endswith("万")
    # the hand-made warehouse has no points ledger, care contacts or member events
    assert metrics["发放积分"] == "–" and metrics["关怀响应率"] == "–"
    assert app.caption[0].value.startswith("数据发布时间：20")
    # the page opens on the last 12 of the 13 months with data (2025-01 … 2026-01)
    assert app.selectbox(key="overview.month_from").value == date(2025, 2, 1)
    assert app.selectbox(key="overview.month_to").value == date(2026, 1, 1)
    charts = _charts(app)
    assert set(charts) == {"new_members", "revenue"}
    assert _total(charts["new_members"]) == 37 - 3  # three joined in January 2025
    assert metrics["新入会"] == "34"
    assert sum("还没有这部分数据" in caption.value for caption in app.caption) == 4


def test_the_period_filter_compares_with_the_previous_period(small_warehouse: Settings) -> None:
    """37 members joined 2025-01 … 2026-01 (n % 12 + 1 for n < 30, then seven in 2026-01)."""
    app = _router("en_US")
    assert _deltas(app)["Total members"] is None  # no data a year before the last 12 months
    app.selectbox(key="overview.month_from").set_value(date(2025, 7, 1))
    app.selectbox(key="overview.month_to").set_value(date(2025, 12, 1)).run()
    assert not app.exception
    joined = {m: sum(1 for n in range(30) if n % 12 + 1 == m) for m in range(1, 13)}
    now, before = sum(joined[m] for m in range(7, 13)), sum(joined[m] for m in range(1, 7))
    metrics, deltas = _metrics(app), _deltas(app)
    assert metrics["New members"] == str(now)
    assert metrics["Total members"] == str(now + before)
    assert deltas["Total members"] == f"{now / before * 100:+.1f}%"  # 30 vs 16 at period end
    assert deltas["New members"] == f"{(now - before) / before * 100:+.1f}%"
    assert "Jan 2025 – Jun 2025" in app.caption[1].value
    assert _total(_charts(app)["new_members"]) == now


def test_switching_the_sidebar_to_english_changes_the_labels(small_warehouse: Settings) -> None:
    app = _router()
    assert app.sidebar.radio(key="locale").value == "zh_CN"
    assert "每月成交金额" in [header.value for header in app.subheader]
    app.sidebar.radio(key="locale").set_value("en_US").run()
    assert not app.exception
    assert app.title[0].value == "Members overview"
    assert tuple(_metrics(app)) == LABELS["en_US"]
    assert "Revenue per month" in [header.value for header in app.subheader]
    assert '"Jan 2025"' not in json.dumps(_charts(app))  # months are dates, ticks localised
    assert _charts(app)["revenue"]["layout"]["xaxis"]["tickformat"] == "%b %Y"


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
    assert not app.exception and not app.warning
    assert _metrics(app)["Total members"] == "38"  # the period runs on to the new month


def test_without_a_published_warehouse_the_page_says_to_run_the_pipeline(
    clubcrm_home: Settings,
) -> None:
    app = _router()
    assert not app.exception
    assert not app.metric
    assert "clubcrm pipeline run" in app.info[0].value
    app.sidebar.radio(key="locale").set_value("en_US").run()
    assert app.info[0].value.startswith("No warehouse has been published yet.")


def test_active_members_count_each_member_once_in_club_months() -> None:
    """Distinct members per month and per period, the previous period apart."""
    con = duckdb.connect()
    con.execute("create schema core; create schema intermediate")
    con.execute(
        """create table core.dim_members as select * from (values
           ('A', '11', 'vip', 'web'), ('B', '31', 'ordinary', 'store'))
           t(member_no, region, tier, channel)"""
    )
    # The members' active months (club-local; the folding is dbt's, unit-tested there).
    con.execute(
        """create table intermediate.int_member_active_months as
           select member_no, active_month::date as active_month
           from (values ('A', '2025-01-01'), ('A', '2025-02-01'), ('B', '2025-02-01'),
                        ('B', '2025-01-01'), ('B', '2024-12-01'), ('A', '2025-03-01'))
           t(member_no, active_month)"""
    )
    current = data.Period(date(2025, 1, 1), date(2025, 2, 1))
    previous = data.Period(date(2024, 11, 1), date(2024, 12, 1))
    frame, now, before = data._active(con, Filters(), current, previous)
    by_month = dict(zip(frame["month"].map(data._day), frame["active_in_month"], strict=True))
    assert by_month == {date(2025, 1, 1): 2, date(2025, 2, 1): 2}
    assert (now, before) == (2, 1)
    frame, now, before = data._active(con, Filters(regions=("11",)), current, previous)
    assert sorted(frame["active_in_month"]) == [1, 1] and (now, before) == (1, 0)
    assert data._active(con, Filters(channels=("store",)), current, None)[1:] == (1, None)


def test_the_previous_period_has_as_many_months_and_needs_data_before() -> None:
    months = tuple(date(2025, m, 1) for m in range(1, 13))
    current, previous = data.periods(Filters(date(2025, 7, 1), date(2025, 12, 1)), months)
    assert current == data.Period(date(2025, 7, 1), date(2025, 12, 1)) and current.months == 6
    assert previous == data.Period(date(2025, 1, 1), date(2025, 6, 1))
    assert data.periods(Filters(date(2025, 3, 1), date(2025, 8, 1)), months)[1] is None
    assert data.periods(Filters(), months) == (data.Period(months[0], months[-1]), None)
    assert data.periods(Filters(), ()) == (None, None)


# -- the demo club through the real pipeline ----------------------------------------------------------
@pytest.fixture(scope="module")
def overview_home(demo_env: Settings, tmp_path_factory) -> Settings:
    """A copy of the demo warehouse (built by the real pipeline) in its own data folder."""
    return republish(demo_env, tmp_path_factory.mktemp("overview-home"), predictions=False)


@pytest.fixture
def demo_overview(overview_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CLUBCRM_HOME", str(overview_home.home))
    return overview_home


def _page(locale: str) -> AppTest:
    page = AppTest.from_file(str(Path(APP).parent / "views" / "overview.py"), default_timeout=120)
    signed_in(page, "manager")
    page.session_state["locale"] = locale
    return page.run()


@pytest.mark.parametrize("locale", ["zh_CN", "en_US"])
def test_every_trend_chart_is_drawn_and_the_region_filter_changes_them(
    demo_overview: Settings, locale: str
) -> None:
    app = _page(locale)
    assert not app.exception
    assert tuple(_metrics(app)) == LABELS[locale]
    charts = _charts(app)
    assert set(charts) == set(CHARTS)
    assert all(figure["data"] for figure in charts.values())
    # the last 12 months (July 2025 – June 2026 in the club's time) against the 12 before
    assert app.selectbox(key="overview.month_from").value == date(2025, 7, 1)
    assert all(metric.proto.delta for metric in app.metric)
    revenue = _total(charts["revenue"])
    expected = warehouse_scalar(demo_overview, f"select sum(amount) from core.fct_purchases {YEAR}")
    assert revenue == pytest.approx(float(expected), rel=1e-9)
    issued = _total(charts["points"], 0)
    assert issued > 0 and _total(charts["points"], 1) > 0  # issued and redeemed bars

    app.multiselect(key="overview.regions").set_value([BEIJING]).run()
    assert not app.exception
    after = _charts(app)
    beijing = warehouse_scalar(
        demo_overview,
        f"""select sum(p.amount) from core.fct_purchases p
           join core.dim_members m on m.member_no = p.member_no {YEAR} and m.region = ?""",
        [BEIJING],
    )
    assert 0 < _total(after["revenue"]) < revenue
    assert _total(after["revenue"]) == pytest.approx(float(beijing), rel=1e-9)
    assert 0 < _total(after["points"], 0) < issued
    assert _total(after["new_members"]) == warehouse_scalar(
        demo_overview,
        """select count(*) from core.dim_members where region = ?
           and joined_at between date '2025-07-01' and date '2026-06-30'""",
        [BEIJING],
    )
    label = "会员总数" if locale == "zh_CN" else "Total members"
    assert _metrics(app)[label] == format_int(
        warehouse_scalar(
            demo_overview, "select count(*) from core.dim_members where region = ?", [BEIJING]
        )
    )


def test_a_quarter_compared_with_the_quarter_before(demo_overview: Settings) -> None:
    app = _page("en_US")
    app.selectbox(key="overview.month_from").set_value(date(2026, 4, 1))
    app.selectbox(key="overview.month_to").set_value(date(2026, 6, 1)).run()
    assert not app.exception
    with closing(connect(demo_overview)) as con:
        numbers = data.load(con, Filters(month_from=date(2026, 4, 1), month_to=date(2026, 6, 1)))
        earlier = data.load(con, Filters(month_from=date(2026, 1, 1), month_to=date(2026, 3, 1)))
    assert numbers.previous_period == data.Period(date(2026, 1, 1), date(2026, 3, 1))
    now = {kpi.key: kpi.value for kpi in numbers.kpis}
    before = {kpi.key: kpi.value for kpi in earlier.kpis}
    assert {key: numbers.previous[key] for key in before} == pytest.approx(before)
    assert list(numbers.by_month["month"]) == [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    assert now["active_in_period"] > 0 and now["care_response_rate"] is not None
    deltas = _deltas(app)
    change = (now["revenue"] - before["revenue"]) / abs(before["revenue"]) * 100
    assert deltas["Revenue"] == f"{change:+.1f}%"
    rate = (now["care_response_rate"] - before["care_response_rate"]) * 100
    assert deltas["Care response rate"] == f"{rate:+.1f} pp"
    assert len(_values(_charts(app)["revenue"]["data"][0])) == 3


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
def test_overview_kpis_equal_counts_taken_straight_from_the_operational_db(
    demo_overview: Settings, demo_env: Settings
) -> None:
    """Acceptance: on the demo club run through the real pipeline, every KPI tile is exact."""
    counts = operational_counts(demo_env)
    with closing(connect(demo_overview)) as con:
        kpis = {kpi.key: kpi.value for kpi in data.load(con, Filters()).kpis}
    assert kpis["total_members"] == counts.total_members
    assert format_money(kpis["revenue"]) == format_money(counts.revenue)
    assert kpis["open_complaints_end"] == counts.open_complaints
    assert _metrics(_page("zh_CN"))["会员总数"] == format_int(counts.total_members)
