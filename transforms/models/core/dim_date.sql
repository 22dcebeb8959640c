-- A calendar spine of club-local days: from 1 January of the year the first member joined to
-- 31 December of the year after the reference day.
with

spine as (
    {{ dbt.date_spine(
        'day',
        "cast('2010-01-01' as date)",
        dbt.dateadd('year', 2, "cast(" ~ dbt.date_trunc('year', reference_date()) ~ " as date)")
    ) }}
),

first_year as (
    select cast({{ dbt.date_trunc('year', 'min(joined_at)') }} as date) as first_day
    from {{ ref('stg_operational__members') }}
),

days as (
    select cast(spine.date_day as date) as date_day
    from spine
    cross join first_year
    where spine.date_day >= coalesce(first_year.first_day, cast('2010-01-01' as date))
),

final as (
    select
        date_day,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_of_year,
        cast(extract(month from date_day) as integer) as month_of_year,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(dow from date_day) as integer) as day_of_week,
        date_day = cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', 'date_day'))) }} as date)
            as is_month_end,
        date_day <= {{ reference_date() }} as is_past_or_today
    from days
)

select * from final
