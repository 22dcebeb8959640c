with

source as (
    select * from {{ source('operational', 'care_contacts') }}
),

renamed as (
    select
        id as care_contact_id,
        care_id,
        member_id,
        channel as contact_channel,
        {{ to_flag('is_control') }} as is_control,
        status,
        trigger_ref,
        contacted_at,
        {{ unless_after_as_of('responded_at') }} as responded_at,
        case when {{ known_as_of('responded_at') }} then response end as response,
        _loaded_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('contacted_at') }}
)

select * from final
