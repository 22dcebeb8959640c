{#- Backtesting (`clubcrm pipeline run --as-of DATE`): the dbt var `as_of` is a club-local
    calendar day; everything that happened after that day is invisible. Timestamps in the
    warehouse are naive UTC, so the cut-off is the start of the next local day in UTC. -#}

{% macro as_of_date() -%}
    {#- The as-of day as a Python date, or none when the warehouse is built "as of now". -#}
    {%- set raw = var('as_of', none) -%}
    {%- if raw is none or (raw | string | trim) in ('', 'None', 'none', 'null') -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- do return(modules.datetime.date.fromisoformat(raw | string | trim)) -%}
{%- endmacro %}

{% macro as_of_cutoff_utc() -%}
    {#- First UTC instant after the as-of day ends in club-local time (none without as_of). -#}
    {%- set day = as_of_date() -%}
    {%- if day is none -%}{%- do return(none) -%}{%- endif -%}
    {%- set next_local_midnight = modules.datetime.datetime.combine(
            day + modules.datetime.timedelta(days=1), modules.datetime.time()) -%}
    {%- do return(next_local_midnight
            - modules.datetime.timedelta(hours=var('club_utc_offset_hours') | int)) -%}
{%- endmacro %}

{% macro known_as_of(column, data_type='timestamp') -%}
    {#- A boolean SQL expression: did `column` happen on or before the as-of day? -#}
    {%- set day = as_of_date() -%}
    {%- if day is none -%}
        true
    {%- elif data_type == 'date' -%}
        {{ column }} <= cast('{{ day.isoformat() }}' as date)
    {%- else -%}
        {{ column }} < cast('{{ as_of_cutoff_utc().strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro unless_after_as_of(column, data_type='timestamp') -%}
    {#- `column`, or null when it lies after the as-of day (a later state change). -#}
    {%- if as_of_date() is none -%}
        {{ column }}
    {%- else -%}
        case when {{ known_as_of(column, data_type) }} then {{ column }} end
    {%- endif -%}
{%- endmacro %}

{% macro reference_date() -%}
    {#- The day "today" means: the as-of day when backtesting, else today in the club. -#}
    {%- set day = as_of_date() -%}
    {%- if day is none -%}
        cast({{ to_club_local(utc_now()) }} as date)
    {%- else -%}
        cast('{{ day.isoformat() }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro reference_timestamp() -%}
    {#- The instant "now" means (naive UTC): the as-of cut-off when backtesting, else now. -#}
    {%- set cutoff = as_of_cutoff_utc() -%}
    {%- if cutoff is none -%}
        {{ utc_now() }}
    {%- else -%}
        cast('{{ cutoff.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro utc_now() -%}
    {#- Now as a naive UTC timestamp (the warehouse's convention), whatever the session's time
        zone: casting current_timestamp to timestamp gives the session's wall clock. -#}
    {{- return(adapter.dispatch('utc_now')()) -}}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(current_timestamp at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    {#- The profile pins the session zone to UTC (settings: TimeZone), so the cast is UTC. -#}
    cast({{ dbt.current_timestamp() }} as timestamp)
{%- endmacro %}
