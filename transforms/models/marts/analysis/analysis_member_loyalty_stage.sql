with

summary as (
    select * from {{ ref('int_analysis__member_summary') }}
),

final as (
    select
        member_no,
        tier,
        region,
        tenure_days,
        purchases_365d,
        revenue_365d,
        revenue_prior_365d,
        days_since_last_event,
        case
            when tenure_days < 365 then 'new'
            when revenue_365d > 0 and revenue_prior_365d > 0 then 'loyal'
            when days_since_last_event <= 179 then 'potential'
            else 'old'
        end as loyalty_stage
    from summary
)

select * from final
