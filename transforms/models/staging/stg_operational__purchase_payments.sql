with

source as (
    select * from {{ source('operational', 'purchase_payments') }}
),

renamed as (
    select
        id as payment_id,
        purchase_id,
        {{ to_money('amount') }} as amount,
        paid_at,
        method as payment_method,
        created_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('paid_at') }}
)

select * from final
