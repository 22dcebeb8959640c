-- The points liability reconciles with the ledger: the latest month's points_outstanding in
-- reporting.points_liability_by_month equals the sum of every member's points_balance
-- (core.dim_members, the sum of posted ledger entries). Returns a row when they differ.
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'points_liability_by_month'}}}) }}

with

latest as (
    select points_outstanding
    from {{ ref('points_liability_by_month') }}
    where points_month = (select max(points_month) from {{ ref('points_liability_by_month') }})
),

balances as (
    select coalesce(sum(points_balance), 0) as points_balance
    from {{ ref('dim_members') }}
),

final as (
    select
        coalesce(latest.points_outstanding, 0) as points_outstanding,
        balances.points_balance
    from balances
    left join latest on 1 = 1
    where coalesce(latest.points_outstanding, 0) <> balances.points_balance
)

select * from final
