with

source as (
    select * from {{ source('operational', 'saved_segments') }}
),

renamed as (
    select
        id as segment_id,
        name as segment_name,
        criteria as criteria_json,
        created_at,
        created_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('created_at') }}
)

select * from final
