with

activities as (
    select * from {{ ref('stg_operational__activities') }}
),

attendance as (
    select activity_id, count(*) as attendees
    from {{ ref('fct_activity_attendance') }}
    group by activity_id
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
        activities.activity_id,
        activities.activity_code,
        activities.activity_name,
        activities.activity_type,
        activities.region_code as region,
        activities.status,
        activities.starts_at,
        cast({{ dbt.date_trunc('month', to_club_local('activities.starts_at')) }} as date)
            as activity_month,
        activities.expected_headcount,
        activities.expected_cost,
        coalesce(attendance.attendees, 0) as attendees,
        cast(coalesce(costs.shared_cost, 0) as decimal(14, 2)) as shared_cost,
        cast(coalesce(costs.per_head_rate, 0) as decimal(14, 2)) as per_head_rate
    from activities
    left join attendance on attendance.activity_id = activities.activity_id
    left join costs on costs.activity_id = activities.activity_id
),

final as (
    select
        *,
        cast(shared_cost + per_head_rate * attendees as decimal(14, 2)) as actual_cost,
        attendees - expected_headcount as headcount_difference,
        case
            when expected_headcount > 0
            then cast(attendees as {{ analysis_double() }}) / expected_headcount
        end as headcount_attainment,
        cast(shared_cost + per_head_rate * attendees - coalesce(expected_cost, 0)
            as decimal(14, 2)) as cost_difference,
        case
            when expected_cost > 0
            then cast(shared_cost + per_head_rate * attendees as {{ analysis_double() }})
                / expected_cost
        end as cost_ratio,
        case
            when attendees > 0
            then {{ divide_to_decimal('shared_cost + per_head_rate * attendees', 'attendees', 14, 2) }}
        end as cost_per_attendee,
        case
            when expected_headcount > 0
            then {{ divide_to_decimal('expected_cost', 'expected_headcount', 14, 2) }}
        end as planned_cost_per_attendee
    from joined
)

select * from final
