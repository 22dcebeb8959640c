{#- One row per care contact (sent, failed or held out as control) made after the first
    training snapshot, with the snapshot whose features describe the member before the
    contact: the latest spine date strictly before the contact's club-local day. The label
    `responded` is a response within care_response_days of the contact; it is observed when
    that window has closed by the reference day. is_treated = not is_control (intention to
    treat: a failed send still counts as treated, as the club randomised it so).
    The member's care history at the moment of the contact (fresher than the snapshot's):
    contacts sent before it, on its channel and on any channel, and how many of those were
    answered (within care_response_days) *before* it: an answer that came later is not
    known yet when the club contacts the member. -#}
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
        status,
        {{ reporting_local_date('contacted_at') }} as contacted_on
    from {{ ref('fct_care_contacts') }}
    where member_no is not null and status in ('sent', 'failed', 'control')
),

history_events as (
    -- Every sent contact, and every answer within the window to a sent contact, in time order.
    select
        member_no,
        coalesce(contact_channel, 'unknown') as contact_channel,
        contacted_at as happened_at,
        care_contact_id,
        1 as is_contact,
        0 as is_answer
    from contacts
    where status = 'sent'
    union all
    select
        contacts.member_no,
        coalesce(contacts.contact_channel, 'unknown') as contact_channel,
        contacts.responded_at as happened_at,
        null as care_contact_id,
        0 as is_contact,
        1 as is_answer
    from contacts
    cross join settings
    where contacts.status = 'sent'
      and contacts.responded_at is not null
      and contacts.responded_at < {{ dbt.dateadd(
            'day', 'settings.care_response_days', 'contacts.contacted_at') }}
),

contact_points as (
    -- Every contact (any status) as a point in its member's history.
    select
        member_no,
        coalesce(contact_channel, 'unknown') as contact_channel,
        contacted_at as happened_at,
        care_contact_id,
        0 as is_contact,
        0 as is_answer,
        1 as is_point
    from contacts
),

timeline as (
    select *, 0 as is_point from history_events
    union all
    select * from contact_points
),

running as (
    -- Points sort before events at the same instant: a contact never counts itself.
    select
        care_contact_id,
        is_point,
        sum(is_contact) over by_channel as channel_contacts_before,
        sum(is_answer) over by_channel as channel_responses_before,
        sum(is_contact) over by_member as contacts_before,
        sum(is_answer) over by_member as responses_before
    from timeline
    window
        by_channel as (
            partition by member_no, contact_channel order by happened_at, is_point desc
            rows between unbounded preceding and current row),
        by_member as (
            partition by member_no order by happened_at, is_point desc
            rows between unbounded preceding and current row)
),

history as (
    select
        care_contact_id,
        channel_contacts_before,
        channel_responses_before,
        contacts_before,
        responses_before
    from running
    where is_point = 1
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
        {{ dbt.datediff('matched.snapshot_date', 'contacts.contacted_on', 'day') }}
            as days_after_snapshot,
        history.channel_contacts_before,
        history.channel_responses_before,
        history.contacts_before,
        history.responses_before,
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
    inner join history on history.care_contact_id = contacts.care_contact_id
    cross join settings
)

select * from final
