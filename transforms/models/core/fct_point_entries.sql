{{
    config(
        materialized='incremental',
        unique_key='entry_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        full_refresh=incremental_full_refresh_config(),
        pre_hook="{{ incremental_reset_if_stale(ref('stg_operational__point_entries')) }}"
    )
}}

with

all_point_entries as (
    select * from {{ ref('stg_operational__point_entries') }}
),

ingestion as (
    select max(_loaded_at) as loaded_at from all_point_entries
),

{% if is_incremental() %}
-- Routine run: entries new or changed since the fact's high-water mark (see the yml), and the
-- awards with points left in the fact of the members with a new or changed negative entry (only
-- a negative entry -- a spending, an expiry, the reversal of an award -- consumes `remaining`
-- of that member's older awards; a new award or an approval changes only its own row).
changed as (
    select point_entry_id, member_id, points
    from all_point_entries
    where point_entry_id > {{ incremental_max_key('entry_id') }}
       or created_at >= {{ incremental_window_start() }}
       or posted_at >= {{ incremental_window_start() }}
       or point_entry_id in (select entry_id from {{ this }} where status = 'pending')
),

point_entries as (
    select * from all_point_entries
    where point_entry_id in (select point_entry_id from changed)
       or (
           member_id in (select member_id from changed where points < 0)
           and point_entry_id in (select entry_id from {{ this }} where remaining_points > 0)
       )
),
{% else %}
point_entries as (
    select * from all_point_entries
),
{% endif %}

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

cards as (
    select card_id, card_no from {{ ref('stg_operational__cards') }}
),

final as (
    select
        point_entries.point_entry_id as entry_id,
        members.member_no,
        cards.card_no,
        point_entries.points,
        point_entries.event_type,
        point_entries.status,
        point_entries.reference,
        point_entries.reverses_point_entry_id as reverses_entry_id,
        point_entries.remaining_points,
        point_entries.expires_on,
        point_entries.created_at,
        point_entries.posted_at,
        point_entries.created_by,
        point_entries.approved_by,
        {{ incremental_loaded_at('ingestion.loaded_at') }} as _loaded_at
    from point_entries
    cross join ingestion
    left join members on members.member_id = point_entries.member_id
    left join cards on cards.card_id = point_entries.card_id
)

select * from final
