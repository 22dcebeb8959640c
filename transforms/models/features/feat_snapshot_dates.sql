{#- The spine of snapshot dates the prediction layer is built on: the last few club-local
    month ends whose shortest label window is fully observed (training and validation), plus
    the reference day (as-of day or today) on which members are scored. The horizons are
    settings CLUBCRM_BUYER_HORIZON_DAYS and CLUBCRM_CHURN_HORIZON_DAYS (read from the
    environment dbt runs in, the same one clubcrm.settings reads; a dbt var of the same name
    overrides them); they are copied into every row so downstream models and models_ml read
    one value. -#}
{%- set buyer_horizon = var('buyer_horizon_days', env_var('CLUBCRM_BUYER_HORIZON_DAYS', '90')) -%}
{%- set churn_horizon = var('churn_horizon_days', env_var('CLUBCRM_CHURN_HORIZON_DAYS', '180')) -%}

with

horizons as (
    select
        cast({{ buyer_horizon }} as integer) as buyer_horizon_days,
        cast({{ churn_horizon }} as integer) as churn_horizon_days,
        cast({{ var('care_response_days', 30) }} as integer) as care_response_days,
        {{ reference_date() }} as reference_date
),

first_activity as (
    select min(event_on) as first_event_on
    from {{ ref('int_analysis__member_events') }}
),

month_ends as (
    select calendar.date_day as snapshot_date
    from {{ ref('dim_date') }} as calendar
    cross join horizons
    cross join first_activity
    where extract(day from {{ dbt.dateadd('day', 1, 'calendar.date_day') }}) = 1
      and calendar.date_day > first_activity.first_event_on
      and cast({{ dbt.dateadd(
              'day',
              'least(horizons.buyer_horizon_days, horizons.churn_horizon_days)',
              'calendar.date_day') }} as date) <= horizons.reference_date
),

recent_month_ends as (
    select
        snapshot_date,
        row_number() over (order by snapshot_date desc) as months_back
    from month_ends
),

training as (
    select snapshot_date, false as is_scoring
    from recent_month_ends
    where months_back <= {{ var('feature_training_snapshots', 8) }}
),

scoring as (
    select reference_date as snapshot_date, true as is_scoring
    from horizons
),

unioned as (
    select * from training
    union all
    select * from scoring
),

final as (
    select
        unioned.snapshot_date,
        unioned.is_scoring,
        horizons.reference_date,
        horizons.buyer_horizon_days,
        horizons.churn_horizon_days,
        horizons.care_response_days,
        cast({{ dbt.dateadd('day', 'horizons.buyer_horizon_days', 'unioned.snapshot_date') }}
            as date) <= horizons.reference_date and not unioned.is_scoring
            as is_buy_label_observed,
        cast({{ dbt.dateadd('day', 'horizons.churn_horizon_days', 'unioned.snapshot_date') }}
            as date) <= horizons.reference_date and not unioned.is_scoring
            as is_churn_label_observed
    from unioned
    cross join horizons
)

select * from final
