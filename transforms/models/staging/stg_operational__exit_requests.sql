with

source as (
    select * from {{ source('operational', 'exit_requests') }}
),

renamed as (
    select
        id as exit_request_id,
        member_id,
        exit_type,
        {{ to_flag('is_automatic') }} as is_automatic,
        reason,
        -- Backtesting: a request reviewed after the as-of day was still pending then.
        case
            when reviewed_at is not null and not ({{ known_as_of('reviewed_at') }}) then 'pending'
            else status
        end as status,
        requested_at,
        requested_by,
        {{ unless_after_as_of('reviewed_at') }} as reviewed_at,
        case when {{ known_as_of('reviewed_at') }} then reviewed_by end as reviewed_by
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('requested_at') }}
)

select * from final
