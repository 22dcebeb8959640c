with

costs as (
    select * from {{ ref('stg_operational__activity_costs') }}
),

activities as (
    select activity_id, activity_code from {{ ref('stg_operational__activities') }}
),

headcounts as (
    select * from {{ ref('int_activity_headcounts') }}
),

final as (
    select
        costs.activity_cost_id,
        costs.activity_id,
        activities.activity_code,
        costs.cost_kind,
        costs.description,
        costs.amount,
        coalesce(headcounts.actual_headcount, 0) as actual_headcount,
        cast(case
            when costs.cost_kind = 'per_head'
            then costs.amount * coalesce(headcounts.actual_headcount, 0)
            else costs.amount
        end as decimal(14, 2)) as line_cost,
        costs.recorded_at
    from costs
    left join activities on activities.activity_id = costs.activity_id
    left join headcounts on headcounts.activity_id = costs.activity_id
)

select * from final
