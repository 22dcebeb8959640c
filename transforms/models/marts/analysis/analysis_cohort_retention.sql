with

members as (
    select member_no, join_month from {{ ref('dim_members') }}
    where join_month is not null
),

events as (
    select distinct member_no, event_month
    from {{ ref('int_analysis__member_events') }}
    where event_month <= cast({{ dbt.date_trunc('month', reference_date()) }} as date)
),

-- The months the warehouse holds activity for (no activity data before the first one).
months as (
    select distinct event_month as activity_month from events
),

cohorts as (
    select join_month, count(*) as cohort_members
    from members
    group by join_month
),

active as (
    select
        members.join_month,
        events.event_month as activity_month,
        count(distinct members.member_no) as active_members
    from members
    inner join events
        on events.member_no = members.member_no
        and events.event_month >= members.join_month
    group by members.join_month, events.event_month
),

final as (
    select
        cohorts.join_month,
        months.activity_month,
        {{ dbt.datediff('cohorts.join_month', 'months.activity_month', 'month') }}
            as months_since_join,
        cohorts.cohort_members,
        coalesce(active.active_members, 0) as active_members,
        cast(coalesce(active.active_members, 0) as {{ analysis_double() }})
            / cohorts.cohort_members as retention_rate
    from cohorts
    inner join months on months.activity_month >= cohorts.join_month
    left join active
        on active.join_month = cohorts.join_month
        and active.activity_month = months.activity_month
)

select * from final
