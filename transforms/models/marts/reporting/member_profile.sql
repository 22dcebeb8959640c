-- Who our members are: counts by age band, gender, region and tier.
with

members as (
    select * from {{ ref('dim_members') }}
),

final as (
    select
        age_band,
        coalesce(gender, 'unknown') as gender,
        coalesce(region, 'unknown') as region,
        max(region_name_zh) as region_name_zh,
        max(region_name_en) as region_name_en,
        tier,
        cast(count(*) as bigint) as members,
        cast(sum(case when status = 'active' then 1 else 0 end) as bigint) as active_members,
        {{ average_to_decimal('age', 6, 1) }} as average_age,
        cast(sum(points_balance) as bigint) as points_balance
    from members
    group by age_band, coalesce(gender, 'unknown'), coalesce(region, 'unknown'), tier
)

select * from final
