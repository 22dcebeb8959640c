{#- Business constants of the reporting layer. Each is a dbt var with a documented default,
    overridable at run time (`--vars '{yuan_per_point: 0.02}'`). -#}

{% macro reporting_yuan_per_point() -%}
    {#- What one point costs the club in yuan when it is honoured (redeemed). -#}
    cast({{ var('yuan_per_point', 0.01) }} as decimal(14, 4))
{%- endmacro %}

{% macro reporting_care_contact_cost(channel_column) -%}
    {#- Cost in yuan of one care contact sent on a channel (the data holds no care costs, so
        these are planning rates: sms 0.10, email 0.01, letter 3.00, magazine 8.00, website 0,
        other 0). Control-group contacts are never sent and cost nothing. -#}
    {%- set rates = var('care_contact_cost_yuan', {
            'sms': 0.10, 'email': 0.01, 'letter': 3.00, 'magazine': 8.00,
            'website': 0.00, 'other': 0.00}) -%}
    cast(case {{ channel_column }}
        {%- for channel, rate in rates.items() %}
        when '{{ channel }}' then {{ rate }}
        {%- endfor %}
        else 0
    end as decimal(14, 2))
{%- endmacro %}

{% macro reporting_local_month(column) -%}
    {#- First day of the club-local month of a naive UTC timestamp. -#}
    cast({{ dbt.date_trunc('month', to_club_local(column)) }} as date)
{%- endmacro %}

{% macro reporting_local_date(column) -%}
    {#- Club-local calendar day of a naive UTC timestamp. -#}
    cast({{ to_club_local(column) }} as date)
{%- endmacro %}
