{#- ref() and source() without the database (catalog) part.

    DuckDB stores a view's SQL text; with dbt's default "build"."staging"."stg_x" the views would
    only work in a file attached as "build". The published warehouse is a copy under another
    name, so references are schema-qualified only ("staging"."stg_x"), which DuckDB resolves in
    the view's own catalog. -#}
{% macro ref() %}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- do return(_clubcrm_without_database(relation)) -%}
{% endmacro %}

{% macro source() %}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {%- do return(_clubcrm_without_database(relation)) -%}
{% endmacro %}

{% macro _clubcrm_without_database(relation) %}
    {%- if relation is not string and relation.include is defined -%}
        {%- do return(relation.include(database=false)) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
