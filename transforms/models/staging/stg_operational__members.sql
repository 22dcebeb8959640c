with

source as (
    select * from {{ source('operational', 'members') }}
),

renamed as (
    select
        id as member_id,
        member_no,
        name as member_name,
        {{ mask_id_number('id_number') }} as id_number_masked,
        id_number is not null as has_id_number,
        gender,
        cast(birthday as date) as birthday,
        {{ mask_phone('mobile') }} as mobile_masked,
        mobile is not null as has_mobile,
        {{ mask_phone('home_phone') }} as home_phone_masked,
        email is not null as has_email,
        address is not null as has_address,
        region as region_code,
        industry,
        tier,
        -- Backtesting: a member archived after the as-of day was still a member then.
        case
            when archived_at is not null and not ({{ known_as_of('archived_at') }}) then 'active'
            else status
        end as status,
        channel,
        source,
        cast(joined_at as date) as joined_at,
        application_id,
        {{ to_flag('is_incomplete') }} as is_incomplete,
        {{ to_flag('notified') }} as is_notified,
        exit_type,
        {{ unless_after_as_of('archived_at') }} as archived_at,
        created_at,
        updated_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('joined_at', 'date') }}
)

select * from final
