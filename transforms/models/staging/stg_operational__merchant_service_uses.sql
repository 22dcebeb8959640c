with

source as (
    select * from {{ source('operational', 'merchant_service_uses') }}
),

renamed as (
    select
        id as merchant_service_use_id,
        service_id as merchant_service_id,
        member_id,
        used_at,
        source as use_source
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('used_at') }}
)

select * from final
