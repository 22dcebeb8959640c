with

source as (
    select * from {{ source('operational', 'applications') }}
),

renamed as (
    select
        id as application_id,
        channel,
        source as application_source,
        {{ to_flag('is_automatic') }} as is_automatic,
        {{ mask_id_number('id_number') }} as id_number_masked,
        gender,
        {{ mask_phone('mobile') }} as mobile_masked,
        region as region_code,
        requested_tier,
        -- Backtesting: an application decided after the as-of day was still pending then.
        case
            when decided_at is not null and not ({{ known_as_of('decided_at') }}) then 'pending'
            else status
        end as status,
        submitted_at,
        submitted_by,
        purchase_id,
        case when {{ known_as_of('decided_at') }} then member_id end as member_id,
        {{ unless_after_as_of('decided_at') }} as decided_at,
        case when {{ known_as_of('decided_at') }} then decided_by end as decided_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('submitted_at') }}
)

select * from final
