with

attendance as (
    select * from {{ ref('stg_operational__activity_attendance') }}
),

activities as (
    select * from {{ ref('stg_operational__activities') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

cards as (
    select card_id, card_no from {{ ref('stg_operational__cards') }}
),

point_entries as (
    select point_entry_id, points
    from {{ ref('stg_operational__point_entries') }}
    where status = 'posted'
),

final as (
    select
        attendance.attendance_id,
        attendance.activity_id,
        activities.activity_code,
        activities.activity_name,
        activities.activity_type,
        activities.region_code as activity_region,
        activities.starts_at as activity_starts_at,
        members.member_no,
        cards.card_no,
        attendance.attended_at,
        attendance.attendance_source,
        coalesce(point_entries.points, 0) as points_awarded
    from attendance
    left join activities on activities.activity_id = attendance.activity_id
    left join members on members.member_id = attendance.member_id
    left join cards on cards.card_id = attendance.card_id
    left join point_entries on point_entries.point_entry_id = attendance.point_entry_id
)

select * from final
