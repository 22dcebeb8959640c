with

steps as (
    select * from {{ ref('stg_operational__complaint_steps') }}
),

complaints as (
    select complaint_id, complaint_no, received_at from {{ ref('stg_operational__complaints') }}
),

final as (
    select
        steps.complaint_step_id,
        steps.complaint_id,
        complaints.complaint_no,
        cast(row_number() over (
            partition by steps.complaint_id
            order by steps.handled_at, steps.complaint_step_id
        ) as integer) as step_seq,
        steps.handled_at,
        steps.handler,
        steps.department,
        steps.expected_completion_at,
        {{ dbt.datediff('complaints.received_at', 'steps.handled_at', 'hour') }}
            as hours_since_received
    from steps
    inner join complaints on complaints.complaint_id = steps.complaint_id
)

select * from final
