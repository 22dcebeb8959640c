{% macro to_club_local(column) -%}
    {#- A naive UTC timestamp as club-local wall-clock time (for day/month buckets). -#}
    {{ dbt.dateadd('hour', var('club_utc_offset_hours') | int, column) }}
{%- endmacro %}

{% macro age_in_years(birthday, on_date) -%}
    {#- Completed years between two dates (portable: no dialect-specific age()). -#}
    (
        extract(year from {{ on_date }}) - extract(year from {{ birthday }})
        - case
            when extract(month from {{ on_date }}) < extract(month from {{ birthday }})
              or (extract(month from {{ on_date }}) = extract(month from {{ birthday }})
                  and extract(day from {{ on_date }}) < extract(day from {{ birthday }}))
            then 1 else 0
          end
    )
{%- endmacro %}

{% macro age_band(age) -%}
    case
        when {{ age }} is null then 'unknown'
        when {{ age }} < 30 then 'under 30'
        when {{ age }} < 40 then '30-39'
        when {{ age }} < 50 then '40-49'
        when {{ age }} < 60 then '50-59'
        else '60+'
    end
{%- endmacro %}
