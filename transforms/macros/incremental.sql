{#- Incremental core facts (fct_point_entries, fct_purchases, fct_swipes, fct_care_contacts).

    Each fact carries `_loaded_at`: the ingestion time (raw `_loaded_at`, naive UTC) of the raw
    snapshot its row was last built from. The largest `_loaded_at` in the fact is its high-water
    mark W: every operational change after that snapshot carries a timestamp ≥ W minus the time
    its transaction took, so a routine run rebuilds the rows whose own timestamps (created,
    posted, paid, responded…) fall on or after W - `incremental_lookback_days` (var, default 3),
    plus the rows each model's yml names (e.g. entries still pending), and merges them by key
    (delete+insert). `clubcrm pipeline run --full` (dbt --full-refresh) rebuilds everything.

    With the `as_of` var (backtesting) the facts are always built in full (config
    full_refresh) and `_loaded_at` is null; the next run without `as_of` sees the nulls and
    rebuilds in full too (see incremental_reset_if_stale). -#}

{% macro incremental_full_refresh_config() -%}
    {#- For config(full_refresh=…): always rebuild when backtesting, else follow the flag. -#}
    {%- if as_of_date() is not none -%}
        {%- do return(true) -%}
    {%- endif -%}
    {%- do return(none) -%}
{%- endmacro %}

{% macro incremental_loaded_at(loaded_at_expression) -%}
    {#- The row's `_loaded_at`: the given ingestion time, or null when backtesting. -#}
    {%- if as_of_date() is none -%}
        cast({{ loaded_at_expression }} as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}

{% macro incremental_window_start() -%}
    {#- W - lookback: where the routine run starts looking for changed rows (SQL expression).
        An empty fact (first build, or emptied by incremental_reset_if_stale) gives 1900-01-01,
        i.e. every row. -#}
    {{ dbt.dateadd(
        'day',
        -1 * (var('incremental_lookback_days', 3) | int),
        'coalesce((select max(_loaded_at) from ' ~ this ~ '), cast(\'1900-01-01\' as '
            ~ dbt.type_timestamp() ~ '))'
    ) }}
{%- endmacro %}

{% macro incremental_max_key(key) -%}
    {#- The largest key already in the fact, or -1 when it is empty (SQL expression). -#}
    coalesce((select max({{ key }}) from {{ this }}), -1)
{%- endmacro %}

{% macro incremental_reset_if_stale(staging_relation) -%}
    {#- pre_hook: empty the fact before a routine run when merging into it would be wrong, so the
        run rebuilds every row (the model's filters select everything on an empty fact):
        - it was built as of a past day (`_loaded_at` null), or
        - it holds more rows than its staging model: rows were deleted at the source or the
          history was replaced (e.g. a new `clubcrm demo-data`, a restored backup). -#}
    {%- if execute and is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name')
                          | map('lower') | list -%}
        {%- if '_loaded_at' not in columns -%}
            {%- do exceptions.raise_compiler_error(
                this ~ ' was built before it became incremental (no _loaded_at column): '
                ~ 'rebuild it once with `clubcrm pipeline run --full` (dbt --full-refresh)') -%}
        {%- endif -%}
        {%- set check -%}
            select
                case
                    when exists (select 1 from {{ this }} where _loaded_at is null) then 1
                    when (select count(*) from {{ this }})
                         > (select count(*) from {{ staging_relation }}) then 1
                    else 0
                end as is_stale
        {%- endset -%}
        {%- set result = run_query(check) -%}
        {%- if result.columns[0].values()[0] | int == 1 -%}
            {%- do log(this ~ ': built as of a past day or ahead of its source; rebuilding in full',
                       info=true) -%}
            delete from {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
