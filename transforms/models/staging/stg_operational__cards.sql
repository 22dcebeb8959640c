with

source as (
    select * from {{ source('operational', 'cards') }}
),

renamed as (
    select
        id as card_id,
        card_no,
        member_id,
        kind as card_kind,
        card_type,
        parent_card_id,
        -- Backtesting: a card ended after the as-of day was still active then.
        case
            when ended_at is not null and not ({{ known_as_of('ended_at') }}) then 'active'
            else status
        end as status,
        issued_at,
        cast(expires_on as date) as expires_on,
        {{ unless_after_as_of('ended_at') }} as ended_at,
        case when {{ known_as_of('ended_at') }} then end_reason end as end_reason,
        case when {{ known_as_of('ended_at') }} then replaced_by_card_id end as replaced_by_card_id,
        chip_uid
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('issued_at') }}
)

select * from final
