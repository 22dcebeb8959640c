with

source as (
    select * from {{ source('operational', 'member_consents') }}
),

renamed as (
    select
        id as consent_id,
        member_id,
        channel,
        {{ to_flag('granted') }} as is_granted,
        recorded_at,
        source as consent_source,
        recorded_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('recorded_at') }}
)

select * from final
