with

source as (
    select * from {{ source('operational', 'activity_costs') }}
),

renamed as (
    select
        id as activity_cost_id,
        activity_id,
        kind as cost_kind,
        description,
        {{ to_money('amount') }} as amount,
        recorded_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('recorded_at') }}
)

select * from final
