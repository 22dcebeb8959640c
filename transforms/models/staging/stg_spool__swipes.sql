with

source as (
    select * from {{ source('spool', 'swipes') }}
),

renamed as (
    select
        swipe_id,
        reader_id,
        seq as reader_seq,
        card_no,
        raw as raw_payload,
        swiped_at,
        purpose,
        target,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('swiped_at') }}
)

select * from final
