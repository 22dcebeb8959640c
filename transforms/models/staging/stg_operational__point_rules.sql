with

source as (
    select * from {{ source('operational', 'point_rules') }}
),

renamed as (
    select
        id as point_rule_id,
        event_type,
        match_code,
        points,
        {{ to_flag('needs_approval') }} as needs_approval,
        {{ to_flag('active') }} as is_active,
        description,
        updated_at,
        updated_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('updated_at') }}
)

select * from final
