{%- set z = 1.96 -%}
with

outcomes as (
    select
        *,
        case when has_responded then 1.0 else 0.0 end as responded_value,
        case when has_purchased then 1.0 else 0.0 end as purchased_value,
        cast(spend_after as {{ analysis_double() }}) as spend_value
    from {{ ref('int_analysis__care_contact_outcomes') }}
),

by_channel as (
    select care_trigger, contact_channel, is_control, responded_value, purchased_value, spend_value
    from outcomes
    union all
    select care_trigger, 'all' as contact_channel, is_control, responded_value, purchased_value,
        spend_value
    from outcomes
),

arms as (
    select
        care_trigger,
        contact_channel,
        sum(case when not is_control then 1 else 0 end) as treated_contacts,
        sum(case when is_control then 1 else 0 end) as control_contacts,
        avg(case when not is_control then responded_value end) as treated_response_rate,
        avg(case when is_control then responded_value end) as control_response_rate,
        avg(case when not is_control then purchased_value end) as treated_purchase_rate,
        avg(case when is_control then purchased_value end) as control_purchase_rate,
        avg(case when not is_control then spend_value end) as treated_mean_spend,
        avg(case when is_control then spend_value end) as control_mean_spend,
        var_samp(case when not is_control then spend_value end) as treated_spend_variance,
        var_samp(case when is_control then spend_value end) as control_spend_variance
    from by_channel
    group by care_trigger, contact_channel
),

standard_errors as (
    select
        *,
        case when treated_contacts > 0 and control_contacts > 0 then sqrt(
            treated_response_rate * (1 - treated_response_rate) / treated_contacts
            + control_response_rate * (1 - control_response_rate) / control_contacts
        ) end as response_rate_se,
        case when treated_contacts > 0 and control_contacts > 0 then sqrt(
            treated_purchase_rate * (1 - treated_purchase_rate) / treated_contacts
            + control_purchase_rate * (1 - control_purchase_rate) / control_contacts
        ) end as purchase_rate_se,
        case when treated_contacts > 1 and control_contacts > 1 then sqrt(
            treated_spend_variance / treated_contacts + control_spend_variance / control_contacts
        ) end as mean_spend_se
    from arms
),

final as (
    select
        care_trigger,
        contact_channel,
        30 as follow_up_days,
        treated_contacts,
        control_contacts,
        control_contacts > 0 as has_control,
        treated_response_rate,
        control_response_rate,
        treated_response_rate - control_response_rate as response_rate_difference,
        treated_response_rate - control_response_rate - {{ z }} * response_rate_se
            as response_rate_ci_lower,
        treated_response_rate - control_response_rate + {{ z }} * response_rate_se
            as response_rate_ci_upper,
        treated_purchase_rate,
        control_purchase_rate,
        treated_purchase_rate - control_purchase_rate as purchase_rate_difference,
        treated_purchase_rate - control_purchase_rate - {{ z }} * purchase_rate_se
            as purchase_rate_ci_lower,
        treated_purchase_rate - control_purchase_rate + {{ z }} * purchase_rate_se
            as purchase_rate_ci_upper,
        treated_mean_spend,
        control_mean_spend,
        treated_mean_spend - control_mean_spend as mean_spend_difference,
        treated_mean_spend - control_mean_spend - {{ z }} * mean_spend_se as mean_spend_ci_lower,
        treated_mean_spend - control_mean_spend + {{ z }} * mean_spend_se as mean_spend_ci_upper
    from standard_errors
)

select * from final
