with

complaints as (
    select * from {{ ref('stg_operational__complaints') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

steps as (
    select
        complaint_id,
        count(*) as steps_count,
        min(handled_at) as first_handled_at,
        max(handled_at) as last_handled_at
    from {{ ref('stg_operational__complaint_steps') }}
    group by complaint_id
),

final as (
    select
        complaints.complaint_id,
        complaints.complaint_no,
        members.member_no,
        complaints.card_no,
        complaints.channel,
        complaints.complaint_type,
        complaints.importance,
        complaints.receiver,
        complaints.received_at,
        complaints.due_at,
        complaints.status,
        complaints.closed_at,
        complaints.closed_by,
        complaints.satisfaction,
        coalesce(steps.steps_count, 0) as steps_count,
        steps.first_handled_at,
        steps.last_handled_at,
        case
            when complaints.closed_at is not null then complaints.closed_at > complaints.due_at
            else {{ reference_timestamp() }} > complaints.due_at
        end as is_overdue,
        {{ dbt.datediff('complaints.received_at', 'complaints.closed_at', 'hour') }}
            as hours_to_close
    from complaints
    left join members on members.member_id = complaints.member_id
    left join steps on steps.complaint_id = complaints.complaint_id
)

select * from final
