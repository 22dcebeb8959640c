with

source as (
    select * from {{ source('operational', 'merchant_services') }}
),

renamed as (
    select
        id as merchant_service_id,
        merchant_id,
        name as service_name,
        cast(starts_on as date) as starts_on,
        cast(ends_on as date) as ends_on,
        content,
        member_restriction,
        cast(discount as decimal(5, 4)) as discount_rate,
        quarterly_feedback,
        rating
    from source
),

final as (
    select * from renamed
)

select * from final
