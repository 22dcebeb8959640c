with

activities as (
    select * from {{ ref('stg_operational__activities') }}
),

headcounts as (
    select * from {{ ref('int_activity_headcounts') }}
),

costs as (
    select
        activity_id,
        sum(case when cost_kind = 'shared' then amount else 0 end) as shared_cost,
        sum(case when cost_kind = 'per_head' then amount else 0 end) as per_head_rate
    from {{ ref('stg_operational__activity_costs') }}
    group by activity_id
),

joined as (
    select
        activities.*,
        coalesce(headcounts.actual_headcount, 0) as actual_headcount,
        cast(coalesce(costs.shared_cost, 0) as decimal(14, 2)) as actual_shared_cost,
        cast(coalesce(costs.per_head_rate, 0) as decimal(14, 2)) as actual_per_head_rate
    from activities
    left join headcounts on headcounts.activity_id = activities.activity_id
    left join costs on costs.activity_id = activities.activity_id
),

final as (
    select
        activity_id,
        activity_code,
        activity_name,
        activity_type,
        region_code as region,
        place,
        status,
        starts_at,
        ends_at,
        {{ reporting_local_month('starts_at') }} as activity_month,
        points_per_attendee,
        expected_headcount,
        expected_cost,
        case
            when expected_headcount > 0
            then {{ divide_to_decimal('expected_cost', 'expected_headcount', 14, 2) }}
        end as expected_cost_per_attendee,
        actual_headcount,
        actual_shared_cost,
        actual_per_head_rate,
        cast(actual_shared_cost + actual_per_head_rate * actual_headcount as decimal(14, 2))
            as actual_cost,
        case
            when actual_headcount > 0
            then {{ divide_to_decimal(
                'actual_shared_cost + actual_per_head_rate * actual_headcount',
                'actual_headcount', 14, 2) }}
        end as actual_cost_per_attendee,
        created_at,
        decided_at,
        closed_at
    from joined
)

select * from final
