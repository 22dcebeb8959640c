with

source as (
    select * from {{ source('operational', 'card_readers') }}
),

renamed as (
    select
        reader_id,
        name as reader_name,
        location as reader_location,
        protocol,
        port,
        purpose,
        target,
        {{ to_flag('active') }} as is_active,
        installed_at,
        last_seen_at
    from source
),

final as (
    select * from renamed
)

select * from final
