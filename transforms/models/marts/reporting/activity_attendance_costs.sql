-- Activity attendance and cost per attendee, plan vs actual, one row per activity.
with

activities as (
    select * from {{ ref('dim_activities') }}
),

final as (
    select
        activity_code,
        activity_name,
        activity_type,
        coalesce(region, 'unknown') as region,
        status,
        activity_month,
        starts_at,
        expected_headcount,
        actual_headcount,
        cast(actual_headcount - coalesce(expected_headcount, 0) as bigint) as headcount_variance,
        case when expected_headcount > 0
            then {{ divide_to_decimal('actual_headcount', 'expected_headcount', 9, 4) }}
        end as attendance_rate,
        expected_cost,
        actual_cost,
        cast(actual_cost - coalesce(expected_cost, 0) as decimal(14, 2)) as cost_variance,
        expected_cost_per_attendee,
        actual_cost_per_attendee
    from activities
)

select * from final
