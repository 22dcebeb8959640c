with

source as (
    select * from {{ source('operational', 'member_notifications') }}
),

renamed as (
    select
        id as notification_id,
        member_id,
        kind as notification_kind,
        method as notice_method,
        status,
        attempted_at,
        attempts
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('attempted_at') }}
)

select * from final
