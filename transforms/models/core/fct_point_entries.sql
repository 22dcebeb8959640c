with

point_entries as (
    select * from {{ ref('stg_operational__point_entries') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

cards as (
    select card_id, card_no from {{ ref('stg_operational__cards') }}
),

final as (
    select
        point_entries.point_entry_id as entry_id,
        members.member_no,
        cards.card_no,
        point_entries.points,
        point_entries.event_type,
        point_entries.status,
        point_entries.reference,
        point_entries.reverses_point_entry_id as reverses_entry_id,
        point_entries.remaining_points,
        point_entries.expires_on,
        point_entries.created_at,
        point_entries.posted_at,
        point_entries.created_by,
        point_entries.approved_by
    from point_entries
    left join members on members.member_id = point_entries.member_id
    left join cards on cards.card_id = point_entries.card_id
)

select * from final
