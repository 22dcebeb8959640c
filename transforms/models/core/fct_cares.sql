with

cares as (
    select * from {{ ref('stg_operational__cares') }}
),

contacts as (
    select
        care_id,
        count(*) as contacts,
        sum(case when not is_control then 1 else 0 end) as treated_contacts,
        sum(case when is_control then 1 else 0 end) as control_contacts,
        sum(case when not is_control and status = 'sent' then 1 else 0 end) as sent_contacts,
        sum(case when status = 'failed' then 1 else 0 end) as failed_contacts,
        sum(case when not is_control and responded_at is not null then 1 else 0 end)
            as treated_responded,
        sum(case when is_control and responded_at is not null then 1 else 0 end)
            as control_responded,
        sum(case when not is_control then {{ reporting_care_contact_cost('contact_channel') }} else 0 end)
            as care_cost
    from {{ ref('stg_operational__care_contacts') }}
    group by care_id
),

final as (
    select
        cares.care_id,
        cares.care_trigger,
        cares.care_channel,
        cares.care_title,
        cares.run_on,
        cares.control_share,
        cares.created_at,
        cares.segment_id,
        cast(coalesce(contacts.contacts, 0) as bigint) as contacts,
        cast(coalesce(contacts.treated_contacts, 0) as bigint) as treated_contacts,
        cast(coalesce(contacts.control_contacts, 0) as bigint) as control_contacts,
        cast(coalesce(contacts.sent_contacts, 0) as bigint) as sent_contacts,
        cast(coalesce(contacts.failed_contacts, 0) as bigint) as failed_contacts,
        cast(coalesce(contacts.treated_responded, 0) as bigint) as treated_responded,
        cast(coalesce(contacts.control_responded, 0) as bigint) as control_responded,
        cast(coalesce(contacts.care_cost, 0) as decimal(14, 2)) as care_cost
    from cares
    left join contacts on contacts.care_id = cares.care_id
)

select * from final
