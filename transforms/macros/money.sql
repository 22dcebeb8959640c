{% macro to_money(column) -%}
    {#- Money is decimal(14, 2) yuan; SQLite hands DuckDB a DOUBLE, PostgreSQL a NUMERIC. -#}
    cast({{ column }} as decimal(14, 2))
{%- endmacro %}

{% macro to_flag(column) -%}
    {#- Booleans: 0/1 integers on SQLite, real booleans on PostgreSQL. -#}
    {{- return(adapter.dispatch('to_flag')(column)) -}}
{%- endmacro %}

{% macro default__to_flag(column) -%}
    cast({{ column }} as boolean)
{%- endmacro %}

{% macro postgres__to_flag(column) -%}
    {#- PostgreSQL casts integer (int4), not bigint, to boolean; and a boolean to integer, so
        this works whether raw holds 0/1 bigints (SQLite source) or booleans. -#}
    cast(cast({{ column }} as integer) as boolean)
{%- endmacro %}
