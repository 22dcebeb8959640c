-- Actual attendees per activity (distinct members recorded as attending).
with

attendance as (
    select * from {{ ref('stg_operational__activity_attendance') }}
),

final as (
    select
        activity_id,
        cast(count(distinct member_id) as bigint) as actual_headcount,
        min(attended_at) as first_attended_at
    from attendance
    group by activity_id
)

select * from final
