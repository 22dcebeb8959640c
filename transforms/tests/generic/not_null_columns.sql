{#- None of the given columns is null: the not_null test of several columns in one query, so a
    model costs one dbt node and one Dagster asset check instead of one per column. Each failing
    row says which of the columns (the first, in the given order) is null. -#}
{% test not_null_columns(model, columns) %}
select
    case
    {%- for column in columns %}
        when {{ column }} is null then '{{ column }}'
    {%- endfor %}
    end as null_column,
    *
from {{ model }}
where
    {%- for column in columns %}
    {{ column }} is null{% if not loop.last %} or{% endif %}
    {%- endfor %}
{% endtest %}
