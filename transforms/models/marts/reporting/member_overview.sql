-- Who our members are: members by tier, region and month joined.
with

members as (
    select * from {{ ref('dim_members') }}
),

final as (
    select
        tier,
        coalesce(region, 'unknown') as region,
        join_month,
        cast(count(*) as bigint) as members,
        cast(sum(case when status = 'active' then 1 else 0 end) as bigint) as active_members
    from members
    group by tier, coalesce(region, 'unknown'), join_month
)

select * from final
