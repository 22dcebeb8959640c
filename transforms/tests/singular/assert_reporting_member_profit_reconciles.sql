-- reporting.member_profit covers every member and every member's revenue and cost: its totals
-- equal the members in core.dim_members, the net revenue of members' purchases in
-- core.fct_purchases and the costs in int_member_cost_events. Returns a row when they differ.
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'member_profit'}}}) }}

with

mart as (
    select
        count(*) as members,
        coalesce(sum(net_revenue), 0) as net_revenue,
        coalesce(sum(activity_cost + care_cost), 0) as cost
    from {{ ref('member_profit') }}
),

members as (
    select count(*) as members from {{ ref('dim_members') }}
),

revenue as (
    select
        coalesce(sum(case when purchase_type = 'return' then amount else paid_amount end), 0)
            as net_revenue
    from {{ ref('fct_purchases') }}
    where member_no in (select member_no from {{ ref('dim_members') }})
),

costs as (
    select coalesce(sum(cost), 0) as cost
    from {{ ref('int_member_cost_events') }}
    where member_no in (select member_no from {{ ref('dim_members') }})
),

final as (
    select mart.*
    from mart
    cross join members
    cross join revenue
    cross join costs
    where mart.members <> members.members
       or mart.net_revenue <> revenue.net_revenue
       or mart.cost <> costs.cost
)

select * from final
