{%- set follow_up_days = 28 -%}
with

activities as (
    select
        activity_id,
        activity_code,
        activity_name,
        activity_type,
        region,
        status,
        starts_at,
        {{ dbt.dateadd('day', follow_up_days, 'starts_at') }} as follow_up_ends_at,
        attendees,
        actual_cost
    from {{ ref('analysis_activity_plan_vs_actual') }}
    where attendees > 0
      and {{ dbt.dateadd('day', follow_up_days, 'starts_at') }} <= {{ reference_timestamp() }}
),

members as (
    select
        member_no,
        tier,
        coalesce(region, 'unknown') as region,
        joined_at,
        archived_at
    from {{ ref('dim_members') }}
),

attendance as (
    select distinct activity_id, member_no
    from {{ ref('fct_activity_attendance') }}
    where member_no is not null
),

-- Each member's net spending in each activity's follow-up window (members who bought only).
window_spend as (
    select
        activities.activity_id,
        purchases.member_no,
        sum(purchases.amount) as spend
    from activities
    inner join {{ ref('fct_purchases') }} as purchases
        on purchases.purchased_at > activities.starts_at
        and purchases.purchased_at <= activities.follow_up_ends_at
    where purchases.member_no is not null
    group by activities.activity_id, purchases.member_no
),

attendees as (
    select
        attendance.activity_id,
        members.tier,
        members.region,
        count(*) as attendees,
        sum(coalesce(window_spend.spend, 0)) as spend
    from attendance
    inner join activities on activities.activity_id = attendance.activity_id
    inner join members on members.member_no = attendance.member_no
    left join window_spend
        on window_spend.activity_id = attendance.activity_id
        and window_spend.member_no = attendance.member_no
    group by attendance.activity_id, members.tier, members.region
),

-- Comparable members: same tier and region as some attendee, a member on the activity's
-- start day, and not among the activity's attendees.
comparables as (
    select
        attendees.activity_id,
        attendees.tier,
        attendees.region,
        count(*) as comparable_members,
        sum(coalesce(window_spend.spend, 0)) as spend
    from attendees
    inner join activities on activities.activity_id = attendees.activity_id
    inner join members
        on members.tier = attendees.tier
        and members.region = attendees.region
        and members.joined_at <= {{ reporting_local_date('activities.starts_at') }}
        and (members.archived_at is null or members.archived_at >= activities.starts_at)
    left join attendance
        on attendance.activity_id = attendees.activity_id
        and attendance.member_no = members.member_no
    left join window_spend
        on window_spend.activity_id = attendees.activity_id
        and window_spend.member_no = members.member_no
    where attendance.member_no is null
    group by attendees.activity_id, attendees.tier, attendees.region
),

cells as (
    select
        attendees.activity_id,
        attendees.attendees,
        attendees.spend as attendee_spend,
        comparables.comparable_members,
        -- What these attendees would have spent at their cell's non-attendee rate.
        attendees.attendees * comparables.spend / comparables.comparable_members
            as expected_spend
    from attendees
    inner join comparables
        on comparables.activity_id = attendees.activity_id
        and comparables.tier = attendees.tier
        and comparables.region = attendees.region
),

per_activity as (
    select
        activity_id,
        sum(attendees) as matched_attendees,
        sum(comparable_members) as comparable_members,
        sum(attendee_spend) as attendee_spend,
        sum(expected_spend) as expected_spend
    from cells
    group by activity_id
),

final as (
    select
        activities.activity_id,
        activities.activity_code,
        activities.activity_name,
        activities.activity_type,
        activities.region,
        activities.status,
        activities.starts_at,
        {{ follow_up_days }} as follow_up_days,
        activities.attendees,
        coalesce(per_activity.matched_attendees, 0) as matched_attendees,
        coalesce(per_activity.comparable_members, 0) as comparable_members,
        cast(per_activity.attendee_spend as decimal(14, 2)) as attendee_spend,
        cast(per_activity.attendee_spend / per_activity.matched_attendees as decimal(14, 2))
            as attendee_spend_per_member,
        cast(per_activity.expected_spend / per_activity.matched_attendees as decimal(14, 2))
            as comparable_spend_per_member,
        cast((per_activity.attendee_spend - per_activity.expected_spend)
            / per_activity.matched_attendees as decimal(14, 2)) as spend_difference_per_member,
        cast(per_activity.attendee_spend - per_activity.expected_spend as decimal(14, 2))
            as incremental_spend,
        activities.actual_cost,
        case
            when activities.actual_cost > 0
            then cast(per_activity.attendee_spend - per_activity.expected_spend
                as {{ analysis_double() }}) / activities.actual_cost
        end as incremental_spend_to_cost
    from activities
    left join per_activity on per_activity.activity_id = activities.activity_id
)

select * from final
