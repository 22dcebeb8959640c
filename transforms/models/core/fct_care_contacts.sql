with

care_contacts as (
    select * from {{ ref('stg_operational__care_contacts') }}
),

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
        care_contacts.response
    from care_contacts
    left join cares on cares.care_id = care_contacts.care_id
    left join members on members.member_id = care_contacts.member_id
)

select * from final
