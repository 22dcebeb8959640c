"""The reporting marts on the shared demo warehouse: figures a manager would check by hand.

Each test reads the published warehouse of ``demo_env`` (one pipeline run for the session) and
reconciles a mart with the core facts it summarises.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from clubcrm.published import run_query
from clubcrm.settings import Settings

pytestmark = pytest.mark.e2e

REPORTING_MARTS = (
    "member_overview",
    "member_profile",
    "purchases_by_month",
    "member_profit",
    "member_contacts",
    "annual_churn",
    "care_response_rates",
    "acquisition_cost_by_channel",
    "points_liability_by_month",
    "complaint_service_levels",
    "activity_attendance_costs",
    "merchant_service_participation",
)


def scalar(settings: Settings, sql: str):
    return run_query(settings, sql).iloc[0, 0]


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_every_reporting_mart_is_published_and_not_empty(use_demo_env: Settings) -> None:
    empty = [
        mart
        for mart in REPORTING_MARTS
        if scalar(use_demo_env, f"select count(*) from reporting.{mart}") == 0
    ]

    assert empty == []


def test_purchases_by_month_add_up_to_the_purchases_fact(use_demo_env: Settings) -> None:
    mart = run_query(
        use_demo_env,
        "select sum(purchases) as n, sum(amount) as amount, sum(paid_amount) as paid "
        "from reporting.purchases_by_month",
    ).iloc[0]
    core = run_query(
        use_demo_env,
        "select count(*) as n, sum(amount) as amount, sum(paid_amount) as paid "
        "from core.fct_purchases",
    ).iloc[0]

    assert int(mart["n"]) == int(core["n"])
    assert money(mart["amount"]) == money(core["amount"])
    assert money(mart["paid"]) == money(core["paid"])


def test_points_liability_equals_the_sum_of_member_balances(use_demo_env: Settings) -> None:
    outstanding = scalar(
        use_demo_env,
        "select points_outstanding from reporting.points_liability_by_month "
        "order by points_month desc limit 1",
    )
    balances = scalar(use_demo_env, "select sum(points_balance) from core.dim_members")

    assert int(outstanding) == int(balances)
    assert int(outstanding) > 0


def test_points_flows_add_up_to_the_ledger(use_demo_env: Settings) -> None:
    mart = run_query(
        use_demo_env,
        "select sum(points_issued) as issued, sum(points_redeemed) as redeemed, "
        "sum(points_expired) as expired from reporting.points_liability_by_month",
    ).iloc[0]
    ledger = run_query(
        use_demo_env,
        "select sum(points) filter (where points > 0 and event_type <> 'reversal') as issued, "
        "-sum(points) filter (where event_type = 'redemption') as redeemed, "
        "coalesce(-sum(points) filter (where event_type = 'expiry'), 0) as expired "
        "from core.fct_point_entries where status = 'posted'",
    ).iloc[0]

    assert [int(mart[k]) for k in ("issued", "redeemed", "expired")] == [
        int(ledger[k]) for k in ("issued", "redeemed", "expired")
    ]


def test_member_profile_and_profit_cover_every_member_once(use_demo_env: Settings) -> None:
    members = scalar(use_demo_env, "select count(*) from core.dim_members")

    assert scalar(use_demo_env, "select sum(members) from reporting.member_profile") == members
    assert scalar(use_demo_env, "select count(*) from reporting.member_profit") == members
    assert scalar(use_demo_env, "select count(*) from reporting.member_contacts") == members


def test_member_profit_is_revenue_minus_costs(use_demo_env: Settings) -> None:
    bad = scalar(
        use_demo_env,
        "select count(*) from reporting.member_profit "
        "where profit <> net_revenue - points_cost - activity_cost - care_cost "
        "or points_cost < 0 or activity_cost < 0 or care_cost < 0",
    )
    top_ranked = scalar(
        use_demo_env,
        "select member_no from reporting.member_profit where profit_rank = 1",
    )
    most_profitable = scalar(
        use_demo_env,
        "select member_no from reporting.member_profit order by profit desc, member_no limit 1",
    )

    assert bad == 0
    assert top_ranked == most_profitable


def test_annual_churn_rates_are_shares_of_the_members_at_start(use_demo_env: Settings) -> None:
    churn = run_query(use_demo_env, "select * from reporting.annual_churn")

    assert not churn.empty
    assert (churn["members_at_start"] == churn["churned_members"] + churn["retained_members"]).all()
    assert churn["churn_rate"].astype(float).between(0, 1).all()
    # A demo club keeps most of its members: a complete year never loses everyone.
    complete = churn[churn["is_complete"]]
    assert (complete["retained_members"] > 0).all()


def test_care_response_rates_count_every_contact_once(use_demo_env: Settings) -> None:
    mart = scalar(
        use_demo_env,
        "select sum(treated_contacts + control_contacts) from reporting.care_response_rates",
    )
    core = scalar(use_demo_env, "select count(*) from core.fct_care_contacts")
    rates = run_query(
        use_demo_env,
        "select treated_response_rate, control_response_rate from reporting.care_response_rates",
    )

    assert int(mart) == int(core)
    for column in rates.columns:
        assert rates[column].dropna().astype(float).between(0, 1).all()


def test_complaint_service_levels_share_is_between_zero_and_one(use_demo_env: Settings) -> None:
    totals = run_query(
        use_demo_env,
        "select sum(complaints) as complaints, sum(closed_complaints) as closed, "
        "sum(closed_within_sla) as within from reporting.complaint_service_levels",
    ).iloc[0]

    assert int(totals["complaints"]) == scalar(
        use_demo_env, "select count(*) from core.fct_complaints"
    )
    assert 0 <= int(totals["within"]) <= int(totals["closed"]) <= int(totals["complaints"])


def test_acquisition_cost_counts_every_member_in_one_channel(use_demo_env: Settings) -> None:
    new_members = scalar(
        use_demo_env, "select sum(new_members) from reporting.acquisition_cost_by_channel"
    )

    assert int(new_members) == scalar(use_demo_env, "select count(*) from core.dim_members")


def test_activity_cost_matches_its_cost_lines(use_demo_env: Settings) -> None:
    mart = scalar(use_demo_env, "select sum(actual_cost) from reporting.activity_attendance_costs")
    lines = scalar(use_demo_env, "select sum(line_cost) from core.fct_activity_costs")

    assert money(mart) == money(lines)
