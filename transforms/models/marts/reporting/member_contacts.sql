-- How often did we contact each member, and when: care contacts per member.
with

members as (
    select member_no, tier, region from {{ ref('dim_members') }}
),

contacts as (
    select * from {{ ref('fct_care_contacts') }}
    where not is_control and status <> 'failed' and member_no is not null
),

per_member as (
    select
        member_no,
        count(*) as contacts,
        sum(case when contact_channel = 'sms' then 1 else 0 end) as sms_contacts,
        sum(case when contact_channel = 'email' then 1 else 0 end) as email_contacts,
        sum(case when contact_channel = 'letter' then 1 else 0 end) as letter_contacts,
        sum(case when contact_channel not in ('sms', 'email', 'letter') then 1 else 0 end)
            as other_contacts,
        sum(case when contacted_at >= {{ dbt.dateadd('day', -90, reference_timestamp()) }}
            then 1 else 0 end) as contacts_last_90_days,
        sum(case when contacted_at >= {{ dbt.dateadd('day', -365, reference_timestamp()) }}
            then 1 else 0 end) as contacts_last_365_days,
        sum(case when responded_at is not null then 1 else 0 end) as responses,
        min(contacted_at) as first_contacted_at,
        max(contacted_at) as last_contacted_at
    from contacts
    group by member_no
),

final as (
    select
        members.member_no,
        members.tier,
        coalesce(members.region, 'unknown') as region,
        cast(coalesce(per_member.contacts, 0) as bigint) as contacts,
        cast(coalesce(per_member.sms_contacts, 0) as bigint) as sms_contacts,
        cast(coalesce(per_member.email_contacts, 0) as bigint) as email_contacts,
        cast(coalesce(per_member.letter_contacts, 0) as bigint) as letter_contacts,
        cast(coalesce(per_member.other_contacts, 0) as bigint) as other_contacts,
        cast(coalesce(per_member.contacts_last_90_days, 0) as bigint) as contacts_last_90_days,
        cast(coalesce(per_member.contacts_last_365_days, 0) as bigint) as contacts_last_365_days,
        cast(coalesce(per_member.responses, 0) as bigint) as responses,
        per_member.first_contacted_at,
        per_member.last_contacted_at,
        {{ dbt.datediff(
            reporting_local_date('per_member.last_contacted_at'), reference_date(), 'day') }}
            as days_since_last_contact
    from members
    left join per_member on per_member.member_no = members.member_no
)

select * from final
