-- reporting.purchases_by_month holds every purchase once: its counts and amounts add up to
-- core.fct_purchases. Returns a row when they differ.
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'purchases_by_month'}}}) }}

with

mart as (
    select
        coalesce(sum(purchases), 0) as purchases,
        coalesce(sum(amount), 0) as amount,
        coalesce(sum(paid_amount), 0) as paid_amount
    from {{ ref('purchases_by_month') }}
),

core as (
    select
        count(*) as purchases,
        coalesce(sum(amount), 0) as amount,
        coalesce(sum(paid_amount), 0) as paid_amount
    from {{ ref('fct_purchases') }}
),

final as (
    select mart.*, core.purchases as core_purchases, core.amount as core_amount
    from mart
    cross join core
    where mart.purchases <> core.purchases
       or mart.amount <> core.amount
       or mart.paid_amount <> core.paid_amount
)

select * from final
