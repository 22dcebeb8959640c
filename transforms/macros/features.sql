{#- The measures of features.feat_member_days, in one place: each event source selects its own
    measures and every other one is zero, so the sources can be unioned and summed per day. -#}

{% macro member_day_measures() -%}
    {{ return([
        ('purchases', 'count'), ('purchase_amount', 'amount'), ('swipes', 'count'),
        ('attendances', 'count'), ('redemptions', 'count'), ('points_posted', 'amount'),
        ('care_contacts', 'count'), ('care_responses', 'count'), ('complaints', 'count'),
    ]) }}
{%- endmacro %}

{% macro member_day_columns(values) -%}
    {#- The measure columns of one event source: ``values`` maps a measure to its SQL
        expression; the measures it leaves out are 0. Amounts are 8-byte floats. -#}
    {%- for name, kind in member_day_measures() -%}
        {%- set value = values.get(name, '0') -%}
        {%- if kind == 'amount' -%}
            cast({{ value }} as {{ analysis_double() }}) as {{ name }}
        {%- else -%}
            {{ value }} as {{ name }}
        {%- endif -%}
        {{- ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro member_day_sums() -%}
    {#- One sum per measure, for the group by member and day. -#}
    {%- for name, kind in member_day_measures() -%}
        sum({{ name }}) as {{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
