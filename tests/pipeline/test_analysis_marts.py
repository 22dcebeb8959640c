"""The analysis layer (schema ``analysis``) on the shared demo warehouse: what a manager would
notice if it were wrong — shares that do not add up, cohorts that do not match the members,
confidence intervals that do not contain their estimate, decompositions that do not reconcile.
"""

from __future__ import annotations

import pandas as pd
import pytest

from clubcrm.published import run_query
from clubcrm.settings import Settings

pytestmark = pytest.mark.e2e

# The club's local time is UTC+8 (dbt var club_utc_offset_hours): windows are club-local days.
LOCAL_DAY = "cast(purchased_at + interval 8 hour as date)"


def frame(settings: Settings, sql: str) -> pd.DataFrame:
    return run_query(settings, sql)


def scalar(settings: Settings, sql: str):
    return run_query(settings, sql).iloc[0, 0]


# -- ABC / Pareto -----------------------------------------------------------------------------
def test_abc_shares_add_up_to_one_and_class_a_is_the_smallest_set_reaching_80_percent(
    use_demo_env: Settings,
) -> None:
    abc = frame(use_demo_env, "select * from analysis.analysis_member_abc order by revenue_rank")

    assert len(abc) > 100
    assert abc["revenue_share"].sum() == pytest.approx(1.0)
    assert abc["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert abc["revenue"].is_monotonic_decreasing
    class_a = abc[abc["abc_class"] == "A"]
    # A is a top slice: every A member outranks every B and C member.
    assert class_a["revenue_rank"].max() == len(class_a)
    assert class_a["revenue_share"].sum() >= 0.80
    assert class_a["revenue_share"].sum() - class_a["revenue_share"].iloc[-1] < 0.80
    # The Pareto shape of the demo: a minority of buyers brings 80% of the revenue.
    assert len(class_a) < 0.5 * len(abc)
    assert list(abc["abc_class"]) == sorted(abc["abc_class"])


def test_abc_revenue_reconciles_with_core_purchases(use_demo_env: Settings) -> None:
    window = frame(
        use_demo_env, "select distinct window_start, window_end from analysis.analysis_member_abc"
    )
    assert len(window) == 1
    start, end = window.iloc[0]

    expected = scalar(
        use_demo_env,
        f"""
        select sum(revenue) from (
            select member_no, sum(amount) as revenue
            from core.fct_purchases
            where member_no is not null
              and {LOCAL_DAY} between date '{start:%Y-%m-%d}' and date '{end:%Y-%m-%d}'
            group by member_no
            having sum(amount) > 0
        ) as earners
        """,
    )

    total = scalar(use_demo_env, "select sum(revenue) from analysis.analysis_member_abc")
    assert float(total) == pytest.approx(float(expected))


# -- cohorts ----------------------------------------------------------------------------------
def test_cohort_sizes_equal_the_members_who_joined_that_month(use_demo_env: Settings) -> None:
    cohorts = frame(
        use_demo_env,
        "select join_month, min(cohort_members) as low, max(cohort_members) as high "
        "from analysis.analysis_cohort_retention group by join_month",
    )
    joined = frame(
        use_demo_env,
        "select join_month, count(*) as members from core.dim_members group by join_month",
    )

    merged = cohorts.merge(joined, on="join_month", how="left")
    assert len(merged) > 12
    assert (merged["low"] == merged["high"]).all()
    assert (merged["low"] == merged["members"]).all()


def test_cohort_retention_counts_members_active_in_the_month(use_demo_env: Settings) -> None:
    retention = frame(
        use_demo_env,
        "select * from analysis.analysis_cohort_retention order by join_month desc, activity_month",
    )

    assert (retention["active_members"] <= retention["cohort_members"]).all()
    assert retention["retention_rate"].between(0, 1).all()
    # The latest complete-data cohort's join month: spot-check against the facts.
    row = retention[retention["months_since_join"] == 1].iloc[0]
    month = f"{row['activity_month']:%Y-%m-%d}"
    joined = f"{row['join_month']:%Y-%m-%d}"
    expected = scalar(
        use_demo_env,
        f"""
        select count(distinct member_no) from (
            select member_no, purchased_at as event_at from core.fct_purchases
            union all select member_no, attended_at from core.fct_activity_attendance
            union all select member_no, swiped_at from core.fct_swipes
            union all select m.member_no, r.redeemed_at
                from staging.stg_operational__redemptions as r
                join staging.stg_operational__members as m on m.member_id = r.member_id
        ) as events
        where member_no in (select member_no from core.dim_members where join_month = '{joined}')
          and date_trunc('month', event_at + interval 8 hour) = date '{month}'
        """,
    )
    assert row["active_members"] == expected


# -- RFM and loyalty ---------------------------------------------------------------------------
def test_every_member_has_one_rfm_segment_and_one_loyalty_stage(use_demo_env: Settings) -> None:
    members = scalar(use_demo_env, "select count(*) from core.dim_members")

    rfm = frame(use_demo_env, "select * from analysis.analysis_member_rfm")
    stages = frame(use_demo_env, "select * from analysis.analysis_member_loyalty_stage")

    assert len(rfm) == members == rfm["member_no"].nunique()
    assert len(stages) == members == stages["member_no"].nunique()
    champions = rfm[rfm["rfm_segment"] == "champions"]
    assert len(champions) > 0
    assert (champions[["r_score", "f_score", "m_score"]] >= 4).all().all()
    scored = rfm.dropna(subset=["r_score"])
    # Recency scores are quintiles of the buyers: each score holds about a fifth of them.
    shares = scored["r_score"].value_counts(normalize=True)
    assert shares.between(0.1, 0.3).all()
    assert set(stages["loyalty_stage"]) == {"new", "loyal", "potential", "old"}
    assert (stages[stages["loyalty_stage"] == "new"]["tenure_days"] < 365).all()


def test_value_members_are_class_a(use_demo_env: Settings) -> None:
    value_members = scalar(
        use_demo_env,
        "select count(*) from analysis.analysis_member_value_flags where is_value_member",
    )
    class_a = scalar(
        use_demo_env,
        "select count(*) from analysis.analysis_member_abc where abc_class = 'A'",
    )
    assert value_members == class_a > 0


# -- care effect ------------------------------------------------------------------------------
def test_care_effect_intervals_contain_their_difference(use_demo_env: Settings) -> None:
    effect = frame(use_demo_env, "select * from analysis.analysis_care_effect")

    with_control = effect[effect["has_control"]]
    assert len(with_control) > 0
    for measure in ("response_rate", "purchase_rate", "mean_spend"):
        lower = with_control[f"{measure}_ci_lower"].astype(float)
        upper = with_control[f"{measure}_ci_upper"].astype(float)
        difference = with_control[f"{measure}_difference"].astype(float)
        known = lower.notna()
        assert known.any(), measure
        assert (lower[known] <= difference[known]).all(), measure
        assert (difference[known] <= upper[known]).all(), measure
    assert effect[~effect["has_control"]]["response_rate_ci_lower"].isna().all()


def test_care_effect_counts_each_followed_up_contact_once(use_demo_env: Settings) -> None:
    per_trigger = scalar(
        use_demo_env,
        "select sum(treated_contacts + control_contacts) from analysis.analysis_care_effect "
        "where contact_channel = 'all'",
    )
    per_channel = scalar(
        use_demo_env,
        "select sum(treated_contacts + control_contacts) from analysis.analysis_care_effect "
        "where contact_channel <> 'all'",
    )
    contacts = scalar(
        use_demo_env, "select count(*) from intermediate.int_analysis__care_contact_outcomes"
    )
    assert per_trigger == per_channel == contacts > 0


# -- revenue per member decomposition ----------------------------------------------------------
def test_mix_and_rate_effects_add_up_to_the_overall_change(use_demo_env: Settings) -> None:
    change = frame(use_demo_env, "select * from analysis.analysis_revenue_per_member_change")

    assert set(change["comparison"]) == {"month_over_month", "year_over_year"}
    assert set(change["dimension"]) == {"tier", "region", "channel"}
    grouped = change.groupby(["comparison", "dimension", "period_month"]).agg(
        overall=("overall_change", "max"),
        effects=("total_effect", "sum"),
        mix=("mix_effect", "sum"),
        rate=("rate_effect", "sum"),
        share=("member_share", "sum"),
    )
    assert grouped["effects"].to_numpy() == pytest.approx(grouped["overall"].to_numpy(), abs=1e-6)
    assert (grouped["mix"] + grouped["rate"]).to_numpy() == pytest.approx(
        grouped["overall"].to_numpy(), abs=1e-6
    )
    assert grouped["share"].to_numpy() == pytest.approx(1.0)
    # Every dimension splits the same member base and revenue.
    totals = change.groupby(["comparison", "period_month", "dimension"])[
        ["members", "revenue"]
    ].sum()
    assert (totals.groupby(level=[0, 1]).nunique() == 1).all().all()


# -- activities -------------------------------------------------------------------------------
def test_activity_plan_vs_actual_reconciles_with_attendance_and_costs(
    use_demo_env: Settings,
) -> None:
    plan = frame(use_demo_env, "select * from analysis.analysis_activity_plan_vs_actual")
    attendances = scalar(use_demo_env, "select count(*) from core.fct_activity_attendance")
    shared = scalar(
        use_demo_env,
        "select sum(amount) from staging.stg_operational__activity_costs "
        "where cost_kind = 'shared'",
    )

    assert plan["attendees"].sum() == attendances
    assert float(plan["shared_cost"].sum()) == pytest.approx(float(shared))
    closed = plan[plan["status"] == "closed"]
    assert len(closed) > 0
    assert (closed["actual_cost"] >= closed["shared_cost"]).all()


def test_activity_return_compares_attendees_with_comparable_members(
    use_demo_env: Settings,
) -> None:
    returns = frame(use_demo_env, "select * from analysis.analysis_activity_return")

    assert len(returns) > 0
    assert (returns["matched_attendees"] <= returns["attendees"]).all()
    assert (returns["comparable_members"] > 0).any()
    matched = returns[returns["matched_attendees"] > 0]
    difference = matched["attendee_spend_per_member"].astype(float) - matched[
        "comparable_spend_per_member"
    ].astype(float)
    assert difference.to_numpy() == pytest.approx(
        matched["spend_difference_per_member"].astype(float).to_numpy(), abs=0.02
    )
