with

source as (
    select * from {{ source('operational', 'complaint_service_levels') }}
),

renamed as (
    select
        importance,
        due_hours,
        updated_at,
        updated_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('updated_at') }}
)

select * from final
