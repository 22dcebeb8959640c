-- Annual churn rate: of the members active on 1 January, how many did nothing for 365 days.
with

members as (
    select member_no, tier, joined_at, archived_at from {{ ref('dim_members') }}
),

events as (
    select distinct
        member_no,
        {{ reporting_local_date('event_at') }} as event_day
    from {{ ref('int_member_events') }}
),

-- Only years that start inside the recorded history: before the first recorded event,
-- missing history would read as churn.
years as (
    select distinct year_start
    from {{ ref('dim_date') }}
    where year_start <= {{ reference_date() }}
      and year_start >= (select min(event_day) from events)
),

-- Members whose membership was running on 1 January: joined before it, not archived before it.
base as (
    select
        years.year_start,
        cast({{ dbt.dateadd('year', 1, 'years.year_start') }} as date) as window_end,
        members.member_no,
        members.tier
    from years
    inner join members
        on members.joined_at < years.year_start
        and (
            members.archived_at is null
            or {{ reporting_local_date('members.archived_at') }} >= years.year_start
        )
),

activity as (
    select
        base.year_start,
        base.window_end,
        base.member_no,
        base.tier,
        count(events.event_day) as active_days
    from base
    left join events
        on events.member_no = base.member_no
        and events.event_day >= base.year_start
        and events.event_day < base.window_end
    group by base.year_start, base.window_end, base.member_no, base.tier
),

final as (
    select
        cast(extract(year from year_start) as integer) as churn_year,
        tier,
        cast(count(*) as bigint) as members_at_start,
        cast(sum(case when active_days = 0 then 1 else 0 end) as bigint) as churned_members,
        cast(sum(case when active_days > 0 then 1 else 0 end) as bigint) as retained_members,
        {{ divide_to_decimal('sum(case when active_days = 0 then 1 else 0 end)', 'count(*)', 7, 4) }}
            as churn_rate,
        max(window_end) <= {{ reference_date() }} as is_complete
    from activity
    group by year_start, tier
)

select * from final
