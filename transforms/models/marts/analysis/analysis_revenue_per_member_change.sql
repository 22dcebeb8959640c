with

events as (
    select * from {{ ref('int_analysis__member_events') }}
    where event_type = 'purchase'
),

-- Complete club-local months with purchase data (the reference month is still running).
months as (
    select distinct event_month as period_month
    from events
    where event_month < cast({{ dbt.date_trunc('month', reference_date()) }} as date)
),

members as (
    select
        member_no,
        joined_at,
        cast({{ to_club_local('archived_at') }} as date) as archived_on,
        tier,
        coalesce(region, 'unknown') as region,
        coalesce(channel, 'unknown') as channel
    from {{ ref('dim_members') }}
),

member_groups as (
    select member_no, joined_at, archived_on, 'tier' as dimension, tier as group_value
    from members
    union all
    select member_no, joined_at, archived_on, 'region' as dimension, region as group_value
    from members
    union all
    select member_no, joined_at, archived_on, 'channel' as dimension, channel as group_value
    from members
),

member_revenue as (
    select member_no, event_month, sum(amount) as revenue
    from events
    group by member_no, event_month
),

-- The member base of a month: joined by its last day, not archived before its first day.
group_months as (
    select
        months.period_month,
        member_groups.dimension,
        member_groups.group_value,
        count(*) as members,
        sum(coalesce(member_revenue.revenue, 0)) as revenue
    from months
    inner join member_groups
        on member_groups.joined_at < {{ dbt.dateadd('month', 1, 'months.period_month') }}
        and (member_groups.archived_on is null
             or member_groups.archived_on >= months.period_month)
    left join member_revenue
        on member_revenue.member_no = member_groups.member_no
        and member_revenue.event_month = months.period_month
    group by months.period_month, member_groups.dimension, member_groups.group_value
),

totals as (
    select period_month, dimension, sum(members) as total_members, sum(revenue) as total_revenue
    from group_months
    group by period_month, dimension
),

shares as (
    select
        group_months.*,
        cast(group_months.members as {{ analysis_double() }}) / totals.total_members
            as member_share,
        cast(group_months.revenue as {{ analysis_double() }}) / group_months.members
            as revenue_per_member,
        cast(totals.total_revenue as {{ analysis_double() }}) / totals.total_members
            as overall_revenue_per_member
    from group_months
    inner join totals
        on totals.period_month = group_months.period_month
        and totals.dimension = group_months.dimension
),

comparisons as (
    select 'month_over_month' as comparison, 1 as months_back
    union all
    select 'year_over_year' as comparison, 12 as months_back
),

pairs as (
    select
        comparisons.comparison,
        months.period_month,
        cast({{ dbt.dateadd('month', '-comparisons.months_back', 'months.period_month') }} as date)
            as prior_month
    from comparisons
    cross join months
),

valid_pairs as (
    select pairs.*
    from pairs
    inner join months as prior_months on prior_months.period_month = pairs.prior_month
),

group_keys as (
    select distinct dimension, group_value from shares
),

joined as (
    select
        valid_pairs.comparison,
        group_keys.dimension,
        group_keys.group_value,
        valid_pairs.period_month,
        valid_pairs.prior_month,
        coalesce(current_period.members, 0) as members,
        coalesce(prior_period.members, 0) as prior_members,
        coalesce(current_period.revenue, 0) as revenue,
        coalesce(prior_period.revenue, 0) as prior_revenue,
        coalesce(current_period.member_share, 0) as member_share,
        coalesce(prior_period.member_share, 0) as prior_member_share,
        current_period.revenue_per_member,
        prior_period.revenue_per_member as prior_revenue_per_member,
        -- A group empty in one period takes the other period's rate (its rate effect is 0).
        coalesce(current_period.revenue_per_member, prior_period.revenue_per_member)
            as rate_now,
        coalesce(prior_period.revenue_per_member, current_period.revenue_per_member)
            as rate_before,
        overall_now.overall_revenue_per_member,
        overall_before.overall_revenue_per_member as prior_overall_revenue_per_member
    from valid_pairs
    cross join group_keys
    left join shares as current_period
        on current_period.period_month = valid_pairs.period_month
        and current_period.dimension = group_keys.dimension
        and current_period.group_value = group_keys.group_value
    left join shares as prior_period
        on prior_period.period_month = valid_pairs.prior_month
        and prior_period.dimension = group_keys.dimension
        and prior_period.group_value = group_keys.group_value
    inner join (
        select distinct period_month, dimension, overall_revenue_per_member from shares
    ) as overall_now
        on overall_now.period_month = valid_pairs.period_month
        and overall_now.dimension = group_keys.dimension
    inner join (
        select distinct period_month, dimension, overall_revenue_per_member from shares
    ) as overall_before
        on overall_before.period_month = valid_pairs.prior_month
        and overall_before.dimension = group_keys.dimension
    where current_period.members is not null or prior_period.members is not null
),

final as (
    select
        comparison,
        dimension,
        group_value,
        period_month,
        prior_month,
        members,
        prior_members,
        cast(revenue as decimal(14, 2)) as revenue,
        cast(prior_revenue as decimal(14, 2)) as prior_revenue,
        member_share,
        prior_member_share,
        revenue_per_member,
        prior_revenue_per_member,
        (member_share - prior_member_share) * (rate_now + rate_before) / 2 as mix_effect,
        (rate_now - rate_before) * (member_share + prior_member_share) / 2 as rate_effect,
        (member_share - prior_member_share) * (rate_now + rate_before) / 2
            + (rate_now - rate_before) * (member_share + prior_member_share) / 2 as total_effect,
        overall_revenue_per_member,
        prior_overall_revenue_per_member,
        overall_revenue_per_member - prior_overall_revenue_per_member as overall_change
    from joined
)

select * from final
