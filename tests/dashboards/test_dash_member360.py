"""Member 360°: found by member number or card number, every history present, personal data
masked (names too, for analysts), prediction scores when the pipeline has made them."""

from __future__ import annotations

import re
from contextlib import closing

import pytest
from test_dash_support import (
    download_labels,
    metrics,
    open_dashboard,
    republish,
    warehouse_scalar,
)

from clubcrm.published import connect
from clubcrm.settings import Settings
from dashboards.data.member360 import mask_name
from dashboards.i18n import format_int

PAGE = "dash_member360"
ID_MASKED = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
MOBILE_MASKED = re.compile(r"^1\d{2}\*{4}\d{4}$")


@pytest.fixture(scope="module")
def member_home(demo_env: Settings, tmp_path_factory) -> Settings:
    return republish(demo_env, tmp_path_factory.mktemp("dash-360"), predictions=True)


@pytest.fixture
def warehouse(member_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CLUBCRM_HOME", str(member_home.home))
    return member_home


def _member(settings: Settings) -> tuple[str, str, str]:
    """A member with purchases, complaints and a masked ID number: (member_no, name, a card)."""
    with closing(connect(settings)) as con:
        row = con.execute(
            """
            select m.member_no, m.member_name, c.card_no
            from core.dim_members m
            join core.dim_cards c on c.member_no = m.member_no and c.card_kind = 'sub'
            where m.id_number_masked is not null and m.mobile_masked is not null
              and exists (select 1 from core.fct_purchases p where p.member_no = m.member_no)
              and exists (select 1 from core.fct_complaints x where x.member_no = m.member_no)
            order by m.member_no limit 1
            """
        ).fetchone()
    assert row is not None, "the demo club has such a member"
    return row


def _search(app, number: str):
    app.text_input(key=f"{PAGE}.number").input(number)
    return app.button[0].click().run()


def _facts(app) -> str:
    return "\n".join(block.value for block in app.markdown)


def test_a_manager_finds_a_member_by_number_and_sees_every_history(warehouse: Settings) -> None:
    member_no, name, _ = _member(warehouse)
    app = open_dashboard(PAGE, locale="en_US")
    assert "Type a member number" in app.info[0].value
    _search(app, member_no)
    assert not app.exception
    assert app.subheader[0].value == f"{member_no} · {name}"
    balance = warehouse_scalar(
        warehouse, "select points_balance from core.dim_members where member_no = ?", [member_no]
    )
    assert metrics(app)["Points balance"] == format_int(balance)
    assert [tab.label for tab in app.tabs] == [
        "Cards",
        "Points",
        "Purchases",
        "Activities",
        "Cares",
        "Complaints",
    ]
    purchases = warehouse_scalar(
        warehouse, "select count(*) from core.fct_purchases where member_no = ?", [member_no]
    )
    assert len(app.tabs[2].dataframe[0].value) == purchases
    assert metrics(app)["Purchases"] == format_int(purchases)
    assert "Download CSV" in download_labels(app) and "Download Excel" in download_labels(app)
    # personal data only masked: never a full ID number or mobile
    facts = _facts(app)
    id_shown = re.search(r"ID number \(masked\)\*\*\s+(\S+)", facts).group(1)
    mobile_shown = re.search(r"Mobile \(masked\)\*\*\s+(\S+)", facts).group(1)
    assert ID_MASKED.match(id_shown) and MOBILE_MASKED.match(mobile_shown)


def test_a_card_number_finds_its_member_in_chinese(warehouse: Settings) -> None:
    member_no, name, card_no = _member(warehouse)
    app = open_dashboard(PAGE, locale="zh_CN")
    _search(app, card_no)
    assert app.subheader[0].value == f"{member_no} · {name}"
    assert [tab.label for tab in app.tabs][0] == "会员卡"
    assert "积分余额" in metrics(app)


def test_an_unknown_number_says_so(warehouse: Settings) -> None:
    app = _search(open_dashboard(PAGE, locale="en_US"), "NO-SUCH-1")
    assert not app.exception
    assert "No member has the member or card number “NO-SUCH-1”" in app.warning[0].value


def test_an_analyst_sees_the_name_masked(warehouse: Settings) -> None:
    member_no, name, _ = _member(warehouse)
    app = _search(open_dashboard(PAGE, role="analyst", locale="en_US"), member_no)
    assert app.subheader[0].value == f"{member_no} · {mask_name(name)}"
    assert name not in str(app._tree)


def test_prediction_scores_show_the_latest_run(warehouse: Settings) -> None:
    member_no, _, _ = _member(warehouse)
    app = _search(open_dashboard(PAGE, locale="en_US"), member_no)
    churn = warehouse_scalar(
        warehouse,
        "select p_churn from prediction.churn_risk where member_no = ? order by as_of desc limit 1",
        [member_no],
    )
    assert metrics(app)["At risk of leaving"] == f"{churn * 100:.1f}%"
    assert any("no purchase in 180 days" in caption.value for caption in app.caption)


def test_without_predictions_the_page_says_none_yet(
    demo_env: Settings, tmp_path_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = republish(demo_env, tmp_path_factory.mktemp("dash-360-bare"), predictions=False)
    monkeypatch.setenv("CLUBCRM_HOME", str(bare.home))
    member_no, _, _ = _member(bare)
    app = _search(open_dashboard(PAGE, locale="en_US"), member_no)
    assert not app.exception
    assert any(caption.value.startswith("No predictions yet") for caption in app.caption)


def test_mask_name_keeps_the_family_name_only() -> None:
    assert mask_name("王小明") == "王**"
    assert mask_name("李") == "李*"
    assert mask_name(None) == ""
