-- Response rates to care and campaigns: treated vs control per trigger, channel and month.
with

contacts as (
    select * from {{ ref('fct_care_contacts') }}
),

grouped as (
    select
        care_trigger,
        contact_channel,
        {{ reporting_local_month('contacted_at') }} as contact_month,
        count(distinct care_id) as cares,
        sum(case when not is_control then 1 else 0 end) as treated_contacts,
        sum(case when not is_control and responded_at is not null then 1 else 0 end)
            as treated_responded,
        sum(case when is_control then 1 else 0 end) as control_contacts,
        sum(case when is_control and responded_at is not null then 1 else 0 end)
            as control_responded,
        sum(case when status = 'failed' then 1 else 0 end) as failed_contacts
    from contacts
    group by care_trigger, contact_channel, {{ reporting_local_month('contacted_at') }}
),

final as (
    select
        care_trigger,
        contact_channel,
        contact_month,
        case when care_trigger = 'manual' then 'campaign' else 'automatic_care' end as care_kind,
        cast(cares as bigint) as cares,
        cast(treated_contacts as bigint) as treated_contacts,
        cast(treated_responded as bigint) as treated_responded,
        cast(control_contacts as bigint) as control_contacts,
        cast(control_responded as bigint) as control_responded,
        cast(failed_contacts as bigint) as failed_contacts,
        case when treated_contacts > 0
            then {{ divide_to_decimal('treated_responded', 'treated_contacts', 7, 4) }}
        end as treated_response_rate,
        case when control_contacts > 0
            then {{ divide_to_decimal('control_responded', 'control_contacts', 7, 4) }}
        end as control_response_rate,
        case when treated_contacts > 0 and control_contacts > 0
            -- One exact fraction (a/b - c/d = (ad - cb) / bd), rounded once.
            then {{ divide_to_decimal(
                'treated_responded * control_contacts - control_responded * treated_contacts',
                'treated_contacts * control_contacts', 7, 4) }}
        end as response_uplift
    from grouped
)

select * from final
