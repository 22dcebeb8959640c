{#- Care history per member and channel up to the scoring day: contacts sent on the channel
    and how many were answered within care_response_days. models_ml picks each member's best
    channel from it (smoothed towards the club-wide rate of the channel). -#}
with

settings as (
    select care_response_days, reference_date
    from {{ ref('feat_snapshot_dates') }}
    where is_scoring
),

sent as (
    select
        contacts.member_no,
        contacts.contact_channel as channel,
        case
            when contacts.responded_at is not null
             and contacts.responded_at < {{ dbt.dateadd(
                    'day', 'settings.care_response_days', 'contacts.contacted_at') }}
            then 1 else 0
        end as responded
    from {{ ref('fct_care_contacts') }} as contacts
    cross join settings
    where contacts.member_no is not null
      and contacts.status = 'sent'
      and contacts.contact_channel is not null
),

final as (
    select
        member_no,
        channel,
        count(*) as contacts,
        sum(responded) as responses
    from sent
    group by member_no, channel
)

select * from final
