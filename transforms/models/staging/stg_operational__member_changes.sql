with

source as (
    select * from {{ source('operational', 'member_changes') }}
),

renamed as (
    select
        id as member_change_id,
        member_id,
        changed_at,
        changed_by,
        field as changed_field,
        -- Old and new values of personal fields are masked like the fields themselves.
        case
            when field = 'id_number' then {{ mask_id_number('old_value') }}
            when field in ('mobile', 'home_phone') then {{ mask_phone('old_value') }}
            when field in ('email', 'address', 'name') then null
            else old_value
        end as old_value,
        case
            when field = 'id_number' then {{ mask_id_number('new_value') }}
            when field in ('mobile', 'home_phone') then {{ mask_phone('new_value') }}
            when field in ('email', 'address', 'name') then null
            else new_value
        end as new_value
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('changed_at') }}
)

select * from final
