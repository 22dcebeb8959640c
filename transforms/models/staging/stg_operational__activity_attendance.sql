with

source as (
    select * from {{ source('operational', 'activity_attendance') }}
),

renamed as (
    select
        id as attendance_id,
        activity_id,
        member_id,
        card_id,
        attended_at,
        source as attendance_source,
        point_entry_id,
        recorded_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('attended_at') }}
)

select * from final
