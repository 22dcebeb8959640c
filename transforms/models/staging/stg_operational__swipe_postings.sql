with

source as (
    select * from {{ source('operational', 'swipe_postings') }}
),

renamed as (
    select
        swipe_id,
        reader_id,
        card_no,
        purpose as swipe_purpose,
        target as swipe_target,
        swiped_at,
        outcome as posting_outcome,
        code as refusal_code,
        message as refusal_message,
        member_no,
        posted_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('swiped_at') }}
)

select * from final
