"""The dashboards' data layer without Streamlit: filters turned into SQL, small frames out of a
large warehouse, and the downloads a manager opens in Excel."""

from __future__ import annotations

import io
from contextlib import closing
from datetime import date, datetime

import duckdb
import openpyxl
import pandas as pd
import pytest

from clubcrm.published import connect
from clubcrm.settings import Settings
from dashboards.charts import csv_bytes, excel_bytes, export_frame
from dashboards.data import (
    activities,
    care,
    complaints,
    members,
    points,
    predictions,
    purchases,
    segments,
)
from dashboards.data.filtering import Columns, Filters, month_range, where

PAGES = (members, purchases, points, activities, care, complaints, segments)


def test_a_period_is_club_local_months_shifted_to_utc() -> None:
    sql, params = where(
        Filters(month_from=date(2025, 3, 1), month_to=date(2025, 3, 1)), Columns(time="t")
    )
    assert sql == "t >= ? and t < ?"
    # 1 March 00:00 in Shanghai is 28 February 16:00 UTC; the month ends before 1 April local
    assert params == [datetime(2025, 2, 28, 16), datetime(2025, 3, 31, 16)]


def test_filters_on_a_date_column_are_not_shifted_and_unknown_matches_missing_values() -> None:
    filters = Filters(month_to=date(2025, 12, 1), regions=("11", "unknown"), tiers=("vip",))
    sql, params = where(filters, Columns(time="d", time_is_date=True, region="r"))
    assert sql == "d < ? and list_contains(?, coalesce(r, 'unknown'))"
    assert params == [date(2026, 1, 1), ["11", "unknown"]]  # tier does not apply here
    con = duckdb.connect()
    con.execute("create table x as select * from (values ('11'), (null), ('31')) v(r)")
    kept = con.execute(
        "select count(*) from x where list_contains(?, coalesce(r, 'unknown'))", [["11", "unknown"]]
    ).fetchone()[0]
    assert kept == 2


def test_no_filter_is_true_and_a_backwards_period_is_refused() -> None:
    assert where(Filters(), Columns(time="t", region="r")) == ("true", [])
    with pytest.raises(ValueError, match="starts .2025-06. after it ends .2025-01."):
        Filters(month_from=date(2025, 6, 1), month_to=date(2025, 1, 1))
    assert month_range(date(2024, 11, 20), date(2025, 2, 1)) == (
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    )


def test_values_cannot_inject_sql(use_demo_env: Settings) -> None:
    with closing(connect(use_demo_env)) as con:
        data = members.load(con, Filters(regions=("11') or (1=1",)))
    assert data.kpis[0].value == 0


def test_page_frames_stay_small_whatever_the_warehouse(use_demo_env: Settings) -> None:
    """Each frame is an aggregate (months, regions, classes) or a capped list, never facts."""
    with closing(connect(use_demo_env)) as con:
        facts = con.execute("select count(*) from core.fct_point_entries").fetchone()[0]
        for page in PAGES:
            data = page.load(con, Filters())
            for name, value in vars(data).items():
                if isinstance(value, pd.DataFrame):
                    assert len(value) <= 1000, f"{page.__name__}.{name}: {len(value)} rows"
                    assert len(value) < facts
        assert predictions.available(con) in ([], list(predictions.TABLES))


def test_points_outstanding_at_the_end_counts_everything_posted_before() -> None:
    con = duckdb.connect()
    con.execute("create schema core")
    con.execute(
        """create table core.dim_members as select * from (values
           ('M1', 'vip', '11', 'website', 90), ('M2', 'ordinary', '31', 'website', 50))
           v(member_no, tier, region, channel, points_balance)"""
    )
    con.execute(
        """create table core.fct_point_entries as select * from (values
           ('M1', 100, 'purchase', 'posted', timestamp '2025-01-10 02:00'),
           ('M1', -30, 'redemption', 'posted', timestamp '2025-02-10 02:00'),
           ('M2', 50, 'activity', 'posted', timestamp '2025-02-11 02:00'),
           ('M2', 500, 'manual', 'pending', timestamp '2025-02-12 02:00'),
           ('M1', 20, 'care', 'posted', timestamp '2025-03-31 17:00'))
           v(member_no, points, event_type, status, posted_at)"""
    )
    february = points.load(con, Filters(month_from=date(2025, 2, 1), month_to=date(2025, 2, 1)))
    kpis = {kpi.key: kpi.value for kpi in february.kpis}
    assert kpis["points_issued"] == 50 and kpis["points_redeemed"] == 30
    assert kpis["points_outstanding"] == 120  # January's 100 - 30 + 50; pending never counts
    assert kpis["liability_yuan"] == pytest.approx(1.2)  # default 0.01 yuan a point
    assert list(february.by_month["outstanding"]) == [120]
    april = points.load(con, Filters(month_from=date(2025, 4, 1), month_to=date(2025, 4, 1)))
    # 31 March 17:00 UTC is 1 April in Shanghai
    assert {k.key: k.value for k in april.kpis}["points_issued"] == 20
    vip = points.load(con, Filters(tiers=("vip",)))
    assert {k.key: k.value for k in vip.kpis}["points_outstanding"] == 90
    by_tier = dict(
        zip(
            february.outstanding_by_tier["tier"],
            february.outstanding_by_tier["outstanding"],
            strict=True,
        )
    )
    assert by_tier == {"vip": 70, "ordinary": 50}  # at the end of February, from the ledger
    latest = points.load(con, Filters(month_to=date(2025, 4, 1)))
    by_tier = dict(
        zip(
            latest.outstanding_by_tier["tier"],
            latest.outstanding_by_tier["outstanding"],
            strict=True,
        )
    )
    assert by_tier == {"vip": 90, "ordinary": 50}  # up to the last posting: current balances


def test_downloads_open_in_excel_with_localised_headers_and_real_numbers() -> None:
    frame = pd.DataFrame(
        {"tier": ["vip", None], "amount": [1234.5, -10.0], "purchase_month": [date(2025, 3, 1)] * 2}
    )
    spec = [("tier", "label:tier"), ("amount", "money"), ("purchase_month", "month")]
    exported = export_frame(frame, spec, "zh_CN")
    assert list(exported.columns) == ["等级", "成交金额", "成交月份"]
    assert list(exported["等级"]) == ["VIP会员", "未知"]
    assert list(exported["成交月份"]) == ["2025年3月", "2025年3月"]
    csv = csv_bytes(exported)
    assert csv.startswith(b"\xef\xbb\xbf") and "等级".encode() in csv
    sheet = openpyxl.load_workbook(io.BytesIO(excel_bytes(exported, "sales"))).active
    assert [cell.value for cell in sheet[1]] == ["等级", "成交金额", "成交月份"]
    assert sheet["B2"].value == 1234.5  # a number Excel can sum, not text
    english = export_frame(frame, spec, "en_US")
    assert list(english.columns) == ["Tier", "Revenue", "Month"]
    assert list(english["Month"]) == ["Mar 2025", "Mar 2025"]
