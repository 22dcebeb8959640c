{#- One row per care contact (sent, failed or held out as control) made after the first
    training snapshot, with the snapshot whose features describe the member before the
    contact: the latest spine date strictly before the contact's club-local day. The label
    `responded` is a response within care_response_days of the contact; it is observed when
    that window has closed by the reference day. is_treated = not is_control (intention to
    treat: a failed send still counts as treated, as the club randomised it so). -#}
with

snapshots as (
    select * from {{ ref('feat_snapshot_dates') }}
),

settings as (
    select min(care_response_days) as care_response_days, min(reference_date) as reference_date
    from snapshots
),

contacts as (
    select
        care_contact_id,
        member_no,
        is_control,
        contact_channel,
        care_trigger,
        contacted_at,
        responded_at,
        {{ reporting_local_date('contacted_at') }} as contacted_on
    from {{ ref('fct_care_contacts') }}
    where member_no is not null and status in ('sent', 'failed', 'control')
),

matched as (
    select
        contacts.care_contact_id,
        max(snapshots.snapshot_date) as snapshot_date
    from contacts
    inner join snapshots on snapshots.snapshot_date < contacts.contacted_on
    group by contacts.care_contact_id
),

final as (
    select
        contacts.care_contact_id,
        contacts.member_no,
        matched.snapshot_date,
        contacts.contacted_on,
        case when contacts.is_control then 0 else 1 end as is_treated,
        coalesce(contacts.contact_channel, 'unknown') as contact_channel,
        coalesce(contacts.care_trigger, 'unknown') as care_trigger,
        case
            when contacts.responded_at is not null
             and contacts.responded_at < {{ dbt.dateadd(
                    'day', 'settings.care_response_days', 'contacts.contacted_at') }}
            then 1 else 0
        end as responded,
        cast({{ dbt.dateadd('day', 'settings.care_response_days', 'contacts.contacted_on') }}
            as date) <= settings.reference_date as is_response_label_observed
    from contacts
    inner join matched on matched.care_contact_id = contacts.care_contact_id
    cross join settings
)

select * from final
