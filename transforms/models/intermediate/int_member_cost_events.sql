-- What the club spends on each member, event by event: the member's share of each activity
-- attended (the activity's actual cost per attendee) and each care contact sent to them
-- (the channel's planning rate; control contacts are not sent and cost nothing).
with

attendance as (
    select
        activity_id,
        member_no,
        min(attended_at) as attended_at
    from {{ ref('fct_activity_attendance') }}
    where member_no is not null
    group by activity_id, member_no
),

activities as (
    select activity_id, actual_cost_per_attendee from {{ ref('dim_activities') }}
),

activity_costs as (
    select
        attendance.member_no,
        attendance.attended_at as cost_at,
        'activity' as cost_kind,
        cast(coalesce(activities.actual_cost_per_attendee, 0) as decimal(14, 2)) as cost
    from attendance
    left join activities on activities.activity_id = attendance.activity_id
),

care_costs as (
    select
        member_no,
        contacted_at as cost_at,
        'care' as cost_kind,
        {{ reporting_care_contact_cost('contact_channel') }} as cost
    from {{ ref('fct_care_contacts') }}
    where member_no is not null and not is_control
),

final as (
    select * from activity_costs
    union all
    select * from care_costs
)

select * from final
