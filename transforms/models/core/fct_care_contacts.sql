{{
    config(
        materialized='incremental',
        unique_key='care_contact_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        full_refresh=incremental_full_refresh_config(),
        pre_hook="{{ incremental_reset_if_stale(ref('stg_operational__care_contacts')) }}"
    )
}}

with

all_care_contacts as (
    select * from {{ ref('stg_operational__care_contacts') }}
),

ingestion as (
    select max(_loaded_at) as loaded_at from all_care_contacts
),

{% if is_incremental() %}
-- Routine run: contacts new or changed since the fact's high-water mark (see the yml).
care_contacts as (
    select * from all_care_contacts
    where care_contact_id > {{ incremental_max_key('care_contact_id') }}
       or contacted_at >= {{ incremental_window_start() }}
       or responded_at >= {{ incremental_window_start() }}
       or care_contact_id in (select care_contact_id from {{ this }} where status = 'pending')
),
{% else %}
care_contacts as (
    select * from all_care_contacts
),
{% endif %}

cares as (
    select * from {{ ref('stg_operational__cares') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

final as (
    select
        care_contacts.care_contact_id,
        care_contacts.care_id,
        members.member_no,
        cares.care_trigger,
        cares.care_channel,
        cares.care_title,
        cares.run_on,
        care_contacts.contact_channel,
        care_contacts.is_control,
        care_contacts.status,
        care_contacts.trigger_ref,
        care_contacts.contacted_at,
        care_contacts.responded_at,
        care_contacts.responded_at is not null as has_responded,
        care_contacts.response,
        {{ incremental_loaded_at('ingestion.loaded_at') }} as _loaded_at
    from care_contacts
    cross join ingestion
    left join cares on cares.care_id = care_contacts.care_id
    left join members on members.member_id = care_contacts.member_id
)

select * from final
