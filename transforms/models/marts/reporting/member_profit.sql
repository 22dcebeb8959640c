-- Which members are most profitable: revenue minus points and service costs, per member.
with

members as (
    select member_no, tier, region, channel, join_month, status, points_redeemed_total
    from {{ ref('dim_members') }}
),

revenue as (
    select
        member_no,
        count(*) as purchases,
        sum(case when purchase_type = 'return' then amount else paid_amount end) as net_revenue
    from {{ ref('fct_purchases') }}
    where member_no is not null
    group by member_no
),

costs as (
    select
        member_no,
        sum(case when cost_kind = 'activity' then cost else 0 end) as activity_cost,
        sum(case when cost_kind = 'care' then cost else 0 end) as care_cost
    from {{ ref('int_member_cost_events') }}
    group by member_no
),

summed as (
    select
        members.member_no,
        members.tier,
        coalesce(members.region, 'unknown') as region,
        coalesce(members.channel, 'unknown') as acquisition_channel,
        members.join_month,
        members.status,
        cast(coalesce(revenue.purchases, 0) as bigint) as purchases,
        cast(coalesce(revenue.net_revenue, 0) as decimal(18, 2)) as net_revenue,
        cast(members.points_redeemed_total as bigint) as points_redeemed,
        cast(members.points_redeemed_total * {{ reporting_yuan_per_point() }} as decimal(18, 2))
            as points_cost,
        cast(coalesce(costs.activity_cost, 0) as decimal(18, 2)) as activity_cost,
        cast(coalesce(costs.care_cost, 0) as decimal(18, 2)) as care_cost
    from members
    left join revenue on revenue.member_no = members.member_no
    left join costs on costs.member_no = members.member_no
),

final as (
    select
        *,
        cast(net_revenue - points_cost - activity_cost - care_cost as decimal(18, 2)) as profit,
        cast(row_number() over (
            order by net_revenue - points_cost - activity_cost - care_cost desc, member_no
        ) as bigint) as profit_rank
    from summed
)

select * from final
