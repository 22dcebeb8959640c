with

source as (
    select * from {{ source('operational', 'point_entries') }}
),

renamed as (
    select
        id as point_entry_id,
        member_id,
        card_id,
        points,
        event_type,
        -- Backtesting: an entry posted after the as-of day was still pending then.
        case
            when status = 'posted' and not ({{ known_as_of('posted_at') }}) then 'pending'
            else status
        end as status,
        reference,
        reason,
        reverses_entry_id as reverses_point_entry_id,
        remaining as remaining_points,
        cast(expires_on as date) as expires_on,
        created_at,
        created_by,
        {{ unless_after_as_of('posted_at') }} as posted_at,
        approved_by,
        _loaded_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('created_at') }}
)

select * from final
