with

source as (
    select * from {{ source('operational', 'dictionary_items') }}
),

renamed as (
    select
        id as dictionary_item_id,
        category,
        code,
        label_zh,
        label_en,
        {{ to_flag('active') }} as is_active,
        sort_order,
        parent_code
    from source
),

final as (
    select * from renamed
)

select * from final
