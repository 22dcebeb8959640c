{#- RFM quintile scores (1-5, 5 best) of the members who bought in the last 365 days. -#}
with

summary as (
    select * from {{ ref('int_analysis__member_summary') }}
),

buyers as (
    select * from summary
    where purchases_365d > 0 and revenue_365d > 0
),

ranked as (
    select
        member_no,
        rank() over (order by days_since_last_purchase desc) as r_rank,
        rank() over (order by purchases_365d) as f_rank,
        rank() over (order by revenue_365d) as m_rank,
        count(*) over () as buyers
    from buyers
),

scored as (
    select
        member_no,
        cast(floor(5.0 * (r_rank - 1) / buyers) as integer) + 1 as r_score,
        cast(floor(5.0 * (f_rank - 1) / buyers) as integer) + 1 as f_score,
        cast(floor(5.0 * (m_rank - 1) / buyers) as integer) + 1 as m_score
    from ranked
),

final as (
    select
        summary.member_no,
        summary.tier,
        summary.region,
        summary.tenure_days,
        case when scored.member_no is not null then summary.days_since_last_purchase end
            as recency_days,
        summary.purchases_365d as frequency,
        summary.revenue_365d as monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score
    from summary
    left join scored on scored.member_no = summary.member_no
)

select * from final
