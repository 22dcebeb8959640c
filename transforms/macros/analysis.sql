{#- Helpers of the analysis layer. -#}

{% macro analysis_double() -%}
    {#- An 8-byte float type on every target: dbt.type_float() is a 4-byte FLOAT on DuckDB,
        too coarse for shares and money per member. -#}
    double precision
{%- endmacro %}
