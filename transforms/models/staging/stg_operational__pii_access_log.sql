with

source as (
    select * from {{ source('operational', 'pii_access_log') }}
),

renamed as (
    select
        id as pii_access_id,
        member_id,
        field as viewed_field,
        viewed_by,
        viewed_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('viewed_at') }}
)

select * from final
