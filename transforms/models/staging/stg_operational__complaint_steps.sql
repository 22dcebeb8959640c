with

source as (
    select * from {{ source('operational', 'complaint_steps') }}
),

renamed as (
    select
        id as complaint_step_id,
        complaint_id,
        handled_at,
        handler,
        department,
        opinion,
        expected_completion as expected_completion_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('handled_at') }}
)

select * from final
