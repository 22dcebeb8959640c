-- An activity's actual cost is the sum of its cost lines: reporting.activity_attendance_costs
-- (through core.dim_activities) and core.fct_activity_costs agree per activity.
-- Returns the activities that differ.
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'activity_attendance_costs'}}}) }}

with

lines as (
    select activity_code, sum(line_cost) as line_cost
    from {{ ref('fct_activity_costs') }}
    group by activity_code
),

final as (
    select
        mart.activity_code,
        mart.actual_cost,
        coalesce(lines.line_cost, 0) as line_cost
    from {{ ref('activity_attendance_costs') }} as mart
    left join lines on lines.activity_code = mart.activity_code
    where abs(mart.actual_cost - coalesce(lines.line_cost, 0)) > 0.005
)

select * from final
