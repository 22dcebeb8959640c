{#- Personal data never leaves staging unmasked: core and marts carry only these forms. -#}

{% macro mask_id_number(column) -%}
    {#- 18-character resident ID: 110105********002X (region code and last four kept). -#}
    case
        when {{ column }} is null then null
        when length({{ column }}) = 18 then {{ dbt.concat([
            "substring(" ~ column ~ ", 1, 6)", "'********'", dbt.right(column, 4)]) }}
        when length({{ column }}) = 15 then {{ dbt.concat([
            "substring(" ~ column ~ ", 1, 6)", "'******'", dbt.right(column, 3)]) }}
        else '******'
    end
{%- endmacro %}

{% macro mask_phone(column) -%}
    {#- Mobile 13812345678 -> 138****5678; other phone numbers keep their last two digits. -#}
    case
        when {{ column }} is null then null
        when length({{ column }}) = 11 then {{ dbt.concat([
            "substring(" ~ column ~ ", 1, 3)", "'****'", dbt.right(column, 4)]) }}
        when length({{ column }}) >= 4 then {{ dbt.concat(["'******'", dbt.right(column, 2)]) }}
        else '****'
    end
{%- endmacro %}
