with

summary as (
    select * from {{ ref('int_analysis__member_summary') }}
),

earners as (
    select member_no, tier, region, revenue_365d as revenue
    from summary
    where revenue_365d > 0
),

ranked as (
    select
        *,
        row_number() over (order by revenue desc, member_no) as revenue_rank,
        count(*) over () as ranked_members,
        sum(revenue) over () as total_revenue,
        sum(revenue) over (
            order by revenue desc, member_no rows between unbounded preceding and current row
        ) as cumulative_revenue
    from earners
),

shared as (
    select
        *,
        cast(revenue as {{ analysis_double() }}) / total_revenue as revenue_share,
        cast(cumulative_revenue as {{ analysis_double() }}) / total_revenue as cumulative_share,
        cast(cumulative_revenue - revenue as {{ analysis_double() }}) / total_revenue
            as share_before
    from ranked
),

final as (
    select
        member_no,
        tier,
        region,
        cast({{ dbt.dateadd('day', -364, reference_date()) }} as date) as window_start,
        {{ reference_date() }} as window_end,
        revenue,
        revenue_rank,
        cast(revenue_rank as {{ analysis_double() }}) / ranked_members as member_rank_share,
        revenue_share,
        cumulative_share,
        case
            when share_before < 0.80 then 'A'
            when share_before < 0.95 then 'B'
            else 'C'
        end as abc_class
    from shared
)

select * from final
