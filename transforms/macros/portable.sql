{#- Arithmetic that must give the same digits on every target (DuckDB and PostgreSQL).

    The engines agree on sums of decimals and on IEEE doubles, but not on division: PostgreSQL
    divides integers by truncating and decimals exactly (numeric), DuckDB divides both through
    DOUBLE. A quotient rounded to a decimal type then differs whenever the exact value lies on a
    rounding boundary, which money hits all the time: 782.25 / 10 = 78.225 is exactly 78.23 on
    PostgreSQL, but the double nearest 78.225 is 78.22499999999999… and DuckDB rounds it to
    78.22. These macros round the exact quotient half away from zero on both engines. -#}

{% macro divide_to_decimal(numerator, denominator, precision, scale) -%}
    {#- numerator / denominator rounded to decimal(precision, scale) (half away from zero);
        null when the denominator is zero or null. Integer arguments are fine (no truncation). -#}
    {{- return(adapter.dispatch('divide_to_decimal')(numerator, denominator, precision, scale)) -}}
{%- endmacro %}

{% macro default__divide_to_decimal(numerator, denominator, precision, scale) -%}
    {#- numeric division is exact to at least 16 significant digits; the cast rounds half away
        from zero. -#}
    cast(cast({{ numerator }} as numeric) / nullif({{ denominator }}, 0)
        as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro duckdb__divide_to_decimal(numerator, denominator, precision, scale) -%}
    {#- DuckDB divides in DOUBLE (error below 1e-16 relative). Rounding that double first to
        four more decimals than wanted recovers the exact quotient's digit after the last kept
        one (for values below ~1e9 at scale 2), then the decimal-to-decimal cast rounds half away
        from zero like PostgreSQL. -#}
    cast(
        cast(cast({{ numerator }} as double) / nullif({{ denominator }}, 0)
            as decimal(38, {{ scale + 4 }}))
        as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro average_to_decimal(expression, precision, scale) -%}
    {#- avg(expression) rounded to decimal(precision, scale), identical on every target
        (avg of integers is a DOUBLE on DuckDB but an exact numeric on PostgreSQL). Nulls are
        ignored, as avg() does; null when there is no value. -#}
    {{ divide_to_decimal('sum(' ~ expression ~ ')', 'count(' ~ expression ~ ')', precision, scale) }}
{%- endmacro %}

{% macro double_to_decimal(expression, precision, scale) -%}
    {#- A DOUBLE (or decimal) expression rounded to decimal(precision, scale), identical on
        every target: PostgreSQL reads a double as its 15 significant digits before rounding,
        DuckDB would round the binary value (1234.565 is 1234.56499999… in binary). -#}
    {{- return(adapter.dispatch('double_to_decimal')(expression, precision, scale)) -}}
{%- endmacro %}

{% macro default__double_to_decimal(expression, precision, scale) -%}
    cast({{ expression }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro duckdb__double_to_decimal(expression, precision, scale) -%}
    cast(cast({{ expression }} as decimal(38, {{ scale + 4 }})) as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}
