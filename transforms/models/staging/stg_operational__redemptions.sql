with

source as (
    select * from {{ source('operational', 'redemptions') }}
),

renamed as (
    select
        id as redemption_id,
        plan_id as redemption_plan_id,
        member_id,
        card_id,
        quantity,
        points,
        point_entry_id,
        redeemed_at,
        redeemed_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('redeemed_at') }}
)

select * from final
