with

source as (
    select * from {{ source('operational', 'complaints') }}
),

renamed as (
    select
        id as complaint_id,
        complaint_no,
        member_id,
        card_no,
        channel,
        complaint_type,
        -- The complaint text is free text that may hold personal data: it stays operational.
        receiver,
        received_at,
        importance,
        due_at,
        -- Backtesting: a complaint closed after the as-of day was still being handled then.
        case
            when closed_at is not null and not ({{ known_as_of('closed_at') }}) then 'in_progress'
            else status
        end as status,
        {{ unless_after_as_of('closed_at') }} as closed_at,
        case when {{ known_as_of('closed_at') }} then closed_by end as closed_by,
        case when {{ known_as_of('closed_at') }} then satisfaction end as satisfaction
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('received_at') }}
)

select * from final
