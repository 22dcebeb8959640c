with

source as (
    select * from {{ source('operational', 'merchants') }}
),

renamed as (
    select
        id as merchant_id,
        code as merchant_code,
        name as merchant_name,
        parent_company,
        merchant_type,
        importance,
        region as region_code,
        cast(contract_ends_on as date) as contract_ends_on,
        {{ to_flag('active') }} as is_active
    from source
),

final as (
    select * from renamed
)

select * from final
