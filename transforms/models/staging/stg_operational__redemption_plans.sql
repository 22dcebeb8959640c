with

source as (
    select * from {{ source('operational', 'redemption_plans') }}
),

renamed as (
    select
        id as redemption_plan_id,
        code as plan_code,
        item,
        points_cost,
        stock,
        cast(starts_on as date) as starts_on,
        cast(ends_on as date) as ends_on,
        {{ to_flag('active') }} as is_active,
        {{ to_flag('visible_on_website') }} as is_visible_on_website,
        created_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('created_at') }}
)

select * from final
