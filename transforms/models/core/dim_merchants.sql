with

merchants as (
    select * from {{ ref('stg_operational__merchants') }}
),

final as (
    select
        merchant_id,
        merchant_code,
        merchant_name,
        parent_company,
        merchant_type,
        importance,
        region_code as region,
        contract_ends_on,
        is_active
    from merchants
)

select * from final
