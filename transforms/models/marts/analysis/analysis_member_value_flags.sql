with

summary as (
    select * from {{ ref('int_analysis__member_summary') }}
),

abc as (
    select member_no, abc_class from {{ ref('analysis_member_abc') }}
),

measured as (
    select
        summary.*,
        abc.abc_class,
        summary.revenue_365d - summary.revenue_prior_365d as revenue_change,
        case
            when summary.revenue_prior_365d > 0
            then cast(summary.revenue_365d - summary.revenue_prior_365d as {{ analysis_double() }})
                / summary.revenue_prior_365d
        end as revenue_change_ratio,
        summary.events_prior_90d >= 3 and summary.events_90d * 2 < summary.events_prior_90d
            as is_activity_falling
    from summary
    left join abc on abc.member_no = summary.member_no
),

flagged as (
    select
        member_no,
        tier,
        region,
        coalesce(abc_class = 'A', false) as is_value_member,
        revenue_365d,
        revenue_prior_365d,
        revenue_change,
        revenue_change_ratio,
        case
            when revenue_365d <= 0 and revenue_prior_365d <= 0 then 'no_revenue'
            when revenue_prior_365d <= 0 then 'rising'
            when revenue_365d <= revenue_prior_365d * 0.5 then 'falling'
            when revenue_365d >= revenue_prior_365d * 1.5 then 'rising'
            else 'stable'
        end as value_trend,
        events_90d,
        events_prior_90d,
        is_activity_falling,
        complaints_365d,
        complaints_365d > 0 or is_activity_falling as is_problem_member,
        case
            when complaints_365d > 0 and is_activity_falling then 'complaints_and_falling_activity'
            when complaints_365d > 0 then 'complaints'
            when is_activity_falling then 'falling_activity'
        end as problem_reason
    from measured
),

final as (
    select
        *,
        value_trend in ('rising', 'falling') as is_value_changing
    from flagged
)

select * from final
