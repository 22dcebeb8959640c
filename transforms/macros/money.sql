{% macro to_money(column) -%}
    {#- Money is decimal(14, 2) yuan; SQLite hands DuckDB a DOUBLE, PostgreSQL a NUMERIC. -#}
    cast({{ column }} as decimal(14, 2))
{%- endmacro %}

{% macro to_flag(column) -%}
    {#- Booleans: 0/1 integers on SQLite, real booleans on PostgreSQL. -#}
    cast({{ column }} as boolean)
{%- endmacro %}
