with

services as (
    select * from {{ ref('stg_operational__merchant_services') }}
),

merchants as (
    select merchant_id, merchant_code, merchant_name from {{ ref('stg_operational__merchants') }}
),

final as (
    select
        services.merchant_service_id,
        services.merchant_id,
        merchants.merchant_code,
        merchants.merchant_name,
        services.service_name,
        services.starts_on,
        services.ends_on,
        services.member_restriction,
        services.discount_rate,
        services.rating
    from services
    left join merchants on merchants.merchant_id = services.merchant_id
)

select * from final
