{{
    config(
        materialized='incremental',
        unique_key='swipe_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        full_refresh=incremental_full_refresh_config(),
        pre_hook="{{ incremental_reset_if_stale(ref('stg_spool__swipes')) }}"
    )
}}

with

all_swipes as (
    select * from {{ ref('stg_spool__swipes') }}
),

{% if is_incremental() %}
-- Routine run: swipes loaded after the fact's high-water mark (raw.swipes is append-only and
-- stamps each row with its load time), and swipes still unmatched (a card registered since).
swipes as (
    select * from all_swipes
    where loaded_at > coalesce(
            (select max(_loaded_at) from {{ this }}),
            cast('1900-01-01' as {{ dbt.type_timestamp() }}))
       or swipe_id in (select swipe_id from {{ this }} where not is_known_card)
),
{% else %}
swipes as (
    select * from all_swipes
),
{% endif %}

cards as (
    select card_no, chip_uid, member_id from {{ ref('stg_operational__cards') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

readers as (
    select reader_id, reader_name, reader_location from {{ ref('stg_operational__card_readers') }}
),

-- A reader sends either the printed card number or the chip's number: match both.
matched as (
    select
        swipes.*,
        coalesce(by_card_no.card_no, by_chip.card_no) as matched_card_no,
        coalesce(by_card_no.member_id, by_chip.member_id) as member_id
    from swipes
    left join cards as by_card_no on by_card_no.card_no = swipes.card_no
    left join cards as by_chip on by_chip.chip_uid = swipes.card_no
),

final as (
    select
        matched.swipe_id,
        matched.reader_id,
        matched.reader_seq,
        coalesce(matched.matched_card_no, matched.card_no) as card_no,
        matched.card_no as card_value_read,
        members.member_no,
        matched.matched_card_no is not null as is_known_card,
        matched.swiped_at,
        matched.purpose,
        matched.target,
        readers.reader_name,
        readers.reader_location,
        {{ incremental_loaded_at('matched.loaded_at') }} as _loaded_at
    from matched
    left join members on members.member_id = matched.member_id
    left join readers on readers.reader_id = matched.reader_id
)

select * from final
