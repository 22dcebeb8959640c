with

source as (
    select * from {{ source('operational', 'cares') }}
),

renamed as (
    select
        id as care_id,
        trigger as care_trigger,
        channel as care_channel,
        title as care_title,
        cast(control_share as decimal(5, 4)) as control_share,
        cast(run_on as date) as run_on,
        created_at,
        created_by,
        segment_id
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('created_at') }}
)

select * from final
