"""The manager dashboards as a manager sees them: every page in both languages, its KPIs equal to
the warehouse's own arithmetic, filters that change every number, exports under the charts, and
the states without data (nothing published, marts missing, no predictions yet)."""

from __future__ import annotations

from datetime import date

import pytest
from test_dash_support import (
    MODEL_VERSION,
    download_labels,
    metrics,
    open_dashboard,
    republish,
    warehouse_scalar,
)

from clubcrm.settings import Settings
from dashboards.charts import format_value
from dashboards.i18n import format_int, format_money

#: page -> (Chinese title, English title)
TITLES = {
    "dash_members": ("会员分析", "Members"),
    "dash_purchases": ("销售分析", "Sales"),
    "dash_points": ("积分分析", "Points"),
    "dash_activities": ("活动分析", "Activities"),
    "dash_care": ("关怀效果", "Care effect"),
    "dash_complaints": ("投诉分析", "Complaints"),
    "dash_segments": ("会员细分", "Segments"),
    "dash_predictions": ("预测名单", "Predictions"),
}
#: pages with charts and KPIs straight away (the 360° page waits for a search)
CHART_PAGES = list(TITLES)
BEIJING = "11"


@pytest.fixture(scope="module")
def dash_home(demo_env: Settings, tmp_path_factory) -> Settings:
    """A copy of the demo warehouse with prediction marts, published in its own data folder."""
    return republish(demo_env, tmp_path_factory.mktemp("dash-home"), predictions=True)


@pytest.fixture(scope="module")
def bare_home(demo_env: Settings, tmp_path_factory) -> Settings:
    """The demo warehouse without any prediction schema (the pipeline has not scored yet)."""
    return republish(demo_env, tmp_path_factory.mktemp("dash-bare"), predictions=False)


@pytest.fixture
def dashboards(dash_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CLUBCRM_HOME", str(dash_home.home))
    return dash_home


# -- every page, both languages ------------------------------------------------------------------
@pytest.mark.parametrize("page", CHART_PAGES)
@pytest.mark.parametrize("locale", ["zh_CN", "en_US"])
def test_each_dashboard_shows_kpis_charts_and_exports_in_the_readers_language(
    dashboards: Settings, page: str, locale: str
) -> None:
    app = open_dashboard(page, locale=locale)
    assert not app.exception
    assert app.title[0].value == TITLES[page][0 if locale == "zh_CN" else 1]
    assert app.metric, "a KPI row"
    assert app.get("plotly_chart"), "at least one chart"
    labels = download_labels(app)
    csv, excel = (
        ("下载 CSV", "下载 Excel") if locale == "zh_CN" else ("Download CSV", "Download Excel")
    )
    assert labels.count(csv) >= 1 and labels.count(csv) == labels.count(excel)
    every_label = " ".join(
        [m.label for m in app.metric]
        + [s.value for s in app.subheader]
        + [w.label for w in (*app.multiselect, *app.selectbox)]
    )
    assert "dash." not in every_label, "every label comes from the catalogue"
    if locale == "zh_CN":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in every_label)
    else:
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in every_label)


# -- KPIs equal the warehouse's arithmetic, and follow the filters ---------------------------------
#: page, KPI (English label), its format, SQL with {region} for the region condition, the
#: column the page's region filter means there
KPI_CASES = [
    (
        "dash_members",
        "Members",
        "int",
        "select count(*) from core.dim_members where {region}",
        "region",
    ),
    (
        "dash_purchases",
        "Revenue",
        "money",
        "select coalesce(sum(amount), 0) from core.fct_purchases where {region}",
        "region",  # the region of the sale
    ),
    (
        "dash_points",
        "Points outstanding (end of period)",
        "int",
        """select coalesce(sum(e.points), 0) from core.fct_point_entries e
           join core.dim_members m using (member_no) where e.status = 'posted' and {region}""",
        "m.region",
    ),
    (
        "dash_complaints",
        "Complaints",
        "int",
        """select count(*) from core.fct_complaints c
           left join core.dim_members m on m.member_no = c.member_no where {region}""",
        "m.region",
    ),
    (
        "dash_activities",
        "Attendances",
        "int",
        """select coalesce(sum(attendees), 0) from analysis.analysis_activity_plan_vs_actual
           where status in ('running', 'closed') and {region}""",
        "region",  # the activity's region
    ),
    (
        "dash_care",
        "Members contacted",
        "int",
        """select count(*) from core.fct_care_contacts c
           left join core.dim_members m on m.member_no = c.member_no
           where not c.is_control and {region}""",
        "m.region",
    ),
]


def _expected(settings: Settings, case: tuple, region: str | None) -> str:
    _, _, kind, sql, column = case
    condition = "true" if region is None else f"{column} = '{region}'"
    value = warehouse_scalar(settings, sql.format(region=condition))
    return format_value(value, kind, "en_US")


@pytest.mark.parametrize("case", KPI_CASES, ids=[case[0] for case in KPI_CASES])
def test_a_region_filter_changes_the_kpis_to_that_regions_figures(
    dashboards: Settings, case: tuple
) -> None:
    page, kpi = case[0], case[1]
    app = open_dashboard(page, locale="en_US")
    everything = _expected(dashboards, case, None)
    assert metrics(app)[kpi] == everything
    charts_before = [chart.proto.spec for chart in app.get("plotly_chart")]

    app.multiselect(key=f"{page}.regions").set_value([BEIJING]).run()
    assert not app.exception
    beijing = _expected(dashboards, case, BEIJING)
    assert beijing != everything, "the test needs a region that changes the figure"
    assert metrics(app)[kpi] == beijing
    charts_after = [chart.proto.spec for chart in app.get("plotly_chart")]
    assert charts_after != charts_before, "the charts obey the filter too"


def test_the_period_filter_counts_members_who_joined_in_it(dashboards: Settings) -> None:
    app = open_dashboard("dash_members", locale="en_US")
    app.selectbox(key="dash_members.month_from").set_value(date(2025, 1, 1))
    app.selectbox(key="dash_members.month_to").set_value(date(2025, 6, 1)).run()
    expected = warehouse_scalar(
        dashboards,
        "select count(*) from core.dim_members "
        "where joined_at >= date '2025-01-01' and joined_at < date '2025-07-01'",
    )
    assert 0 < expected < 2000
    assert metrics(app)["Members"] == format_int(expected)


def test_a_period_given_backwards_is_swapped_with_a_note(dashboards: Settings) -> None:
    app = open_dashboard("dash_purchases", locale="en_US")
    app.selectbox(key="dash_purchases.month_from").set_value(date(2025, 12, 1))
    app.selectbox(key="dash_purchases.month_to").set_value(date(2025, 7, 1)).run()
    assert not app.exception
    assert "swapped" in app.warning[0].value
    expected = warehouse_scalar(
        dashboards,
        "select sum(amount) from core.fct_purchases where purchased_at + interval 8 hour "
        ">= timestamp '2025-07-01' and purchased_at + interval 8 hour < timestamp '2026-01-01'",
    )
    assert metrics(app)["Revenue"] == format_value(expected, "money", "en_US")


def test_tier_and_channel_filters_combine(dashboards: Settings) -> None:
    app = open_dashboard("dash_purchases", locale="en_US")
    app.multiselect(key="dash_purchases.tiers").set_value(["vip"])
    app.multiselect(key="dash_purchases.channels").set_value(["store"]).run()
    expected = warehouse_scalar(
        dashboards,
        """select coalesce(sum(p.amount), 0) from core.fct_purchases p
           join core.dim_members m using (member_no) where m.tier = 'vip' and p.channel = 'store'""",
    )
    assert metrics(app)["Revenue"] == format_value(expected, "money", "en_US")


def test_labels_and_money_follow_the_locale(dashboards: Settings) -> None:
    revenue = warehouse_scalar(dashboards, "select sum(amount) from core.fct_purchases")
    assert revenue > 1_000_000  # large enough for the short forms
    chinese = open_dashboard("dash_purchases", locale="zh_CN")
    tile = next(metric for metric in chinese.metric if metric.label == "成交金额")
    assert tile.value == format_value(revenue, "money", "zh_CN")
    assert tile.value.startswith("¥") and tile.value[-1] in "万亿"
    assert format_money(revenue) in tile.help  # the exact amount on hover
    spec = chinese.get("plotly_chart")[0].proto.spec
    assert "案场" in spec and "年" in spec  # channel names and Chinese month ticks
    english = open_dashboard("dash_purchases", locale="en_US")
    assert metrics(english)["Revenue"] == format_value(revenue, "money", "en_US")
    assert metrics(english)["Revenue"][-1] in "MB"
    assert "Sales site" in english.get("plotly_chart")[0].proto.spec


# -- predictions ----------------------------------------------------------------------------------
def test_predictions_list_the_latest_scores_highest_first_with_reasons(
    dashboards: Settings,
) -> None:
    app = open_dashboard("dash_predictions", locale="en_US")
    assert not app.exception
    assert [tab.label for tab in app.tabs] == [
        "At risk of leaving",
        "Likely buyers",
        "Care responsiveness",
    ]
    churn = app.tabs[0]
    scored = warehouse_scalar(
        dashboards,
        "select count(*) from prediction.churn_risk "
        "where as_of = (select max(as_of) from prediction.churn_risk)",
    )
    high = warehouse_scalar(
        dashboards,
        "select count(*) from prediction.churn_risk where p_churn >= 0.5 "
        "and as_of = (select max(as_of) from prediction.churn_risk)",
    )
    tiles = {metric.label: metric.value for metric in churn.metric}
    assert tiles["Members scored"] == format_int(scored)
    assert tiles["High risk (≥ 50%)"] == format_int(high)
    table = churn.dataframe[0].value
    probabilities = list(table["Probability"])
    assert len(table) == 200 and probabilities == sorted(probabilities, reverse=True)
    assert table["Model version"].eq(MODEL_VERSION).all()
    assert table["Top reasons"].str.startswith("no purchase in 180 days").all()  # latest as_of
    assert "uplift" not in " ".join(table.columns).lower()
    assert "Uplift" in app.tabs[2].dataframe[0].value.columns


def test_prediction_filters_restrict_the_list(dashboards: Settings) -> None:
    app = open_dashboard("dash_predictions", locale="en_US")
    app.multiselect(key="dash_predictions.tiers").set_value(["vip"]).run()
    table = app.tabs[1].dataframe[0].value
    assert not table.empty and table["Tier"].eq("VIP").all()
    vip = warehouse_scalar(
        dashboards,
        """select count(*) from prediction.likely_buyers b join core.dim_members m
           using (member_no) where m.tier = 'vip'
           and b.as_of = (select max(as_of) from prediction.likely_buyers)""",
    )
    assert {m.label: m.value for m in app.tabs[1].metric}["Members scored"] == format_int(vip)


@pytest.mark.parametrize(
    ("locale", "message"),
    [("zh_CN", "还没有预测结果"), ("en_US", "No predictions yet: run `clubcrm pipeline run`")],
)
def test_without_predictions_the_page_says_to_run_the_pipeline(
    bare_home: Settings, monkeypatch: pytest.MonkeyPatch, locale: str, message: str
) -> None:
    monkeypatch.setenv("CLUBCRM_HOME", str(bare_home.home))
    app = open_dashboard("dash_predictions", locale=locale)
    assert not app.exception
    assert message in app.info[0].value
    assert not app.metric and not download_labels(app)


# -- no data ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [*CHART_PAGES, "dash_member360"])
def test_without_a_published_warehouse_each_page_says_to_run_the_pipeline(
    clubcrm_home: Settings, page: str
) -> None:
    app = open_dashboard(page, locale="en_US")
    assert not app.exception
    assert app.info[0].value.startswith("No warehouse has been published yet.")
    assert not app.metric and not app.get("plotly_chart")


@pytest.mark.parametrize("page", ["dash_purchases", "dash_segments", "dash_activities"])
def test_a_warehouse_without_the_marts_gets_a_clear_message(
    small_warehouse: Settings, page: str
) -> None:
    """The hand-made small warehouse has core tables only, not the analysis marts."""
    app = open_dashboard(page, locale="en_US")
    assert not app.exception
    texts = [w.value for w in app.warning] + [e.value for e in app.error]
    assert texts, "a message, not an empty page"
    assert any("clubcrm pipeline run" in text for text in texts)


# -- roles ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["staff", "reviewer"])
def test_desk_roles_are_refused_the_manager_dashboards(dashboards: Settings, role: str) -> None:
    app = open_dashboard("dash_purchases", role=role, locale="en_US")
    assert "may not open this page" in app.error[0].value
    assert not app.metric


@pytest.mark.parametrize("role", ["manager", "analyst", "admin"])
def test_managers_analysts_and_admins_open_the_dashboards(dashboards: Settings, role: str) -> None:
    app = open_dashboard("dash_segments", role=role, locale="en_US")
    assert not app.exception and not app.error
    assert app.metric


def test_every_dashboard_page_has_roles_a_view_and_a_menu_label_in_both_languages() -> None:
    from test_dash_support import VIEWS

    import dashboards.charts  # noqa: F401 - loads the dashboards' label catalogue
    from dashboards.auth import PAGE_ROLES, may_open
    from dashboards.i18n import translate

    pages = [path for path in PAGE_ROLES if path.startswith("dash_")]
    assert sorted(pages) == sorted([*TITLES, "dash_member360"])
    for url_path in pages:
        assert (VIEWS / f"{url_path}.py").is_file()
        assert {
            role
            for role in ("staff", "reviewer", "manager", "analyst", "admin")
            if may_open(role, url_path)
        } == {"manager", "analyst", "admin"}
        for locale in ("zh_CN", "en_US"):
            assert translate(f"nav.{url_path}", locale) != f"nav.{url_path}"


def test_kpi_formats() -> None:
    assert format_value(1234567, "int", "zh_CN") == "1,234,567"
    assert format_value(1234.5, "money", "en_US") == "¥1,234.50"
    assert format_value(0.1234, "percent", "en_US") == "12.3%"
    assert format_value(None, "money", "en_US") == "–"
    assert format_value(95_856_123.4, "money", "zh_CN") == "¥9,585.6万"
    assert format_value(622_073_403, "money", "zh_CN") == "¥6.22亿"
    assert format_value(95_856_123.4, "money", "en_US") == "¥95.86M"
    assert format_value(-2_500_000_000, "money", "en_US") == "-¥2.50B"
