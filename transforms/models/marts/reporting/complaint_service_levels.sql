-- Complaint volumes and service levels by month received, type, channel and importance.
with

complaints as (
    select * from {{ ref('fct_complaints') }}
),

final as (
    select
        {{ reporting_local_month('received_at') }} as received_month,
        coalesce(complaint_type, 'unknown') as complaint_type,
        coalesce(channel, 'unknown') as channel,
        importance,
        cast(count(*) as bigint) as complaints,
        cast(sum(case when status = 'done' then 1 else 0 end) as bigint) as closed_complaints,
        cast(sum(case when status = 'done' and not is_overdue then 1 else 0 end) as bigint)
            as closed_within_sla,
        cast(sum(case when status <> 'done' then 1 else 0 end) as bigint) as open_complaints,
        cast(sum(case when status <> 'done' and is_overdue then 1 else 0 end) as bigint)
            as open_overdue,
        cast(sum(case when is_overdue then 1 else 0 end) as bigint) as overdue_complaints,
        case when sum(case when status = 'done' then 1 else 0 end) > 0
            then {{ divide_to_decimal(
                "sum(case when status = 'done' and not is_overdue then 1 else 0 end)",
                "sum(case when status = 'done' then 1 else 0 end)", 7, 4) }}
        end as within_sla_share,
        {{ average_to_decimal("case when status = 'done' then hours_to_close end", 10, 1) }}
            as average_hours_to_close,
        {{ average_to_decimal('satisfaction', 6, 2) }} as average_satisfaction
    from complaints
    group by
        {{ reporting_local_month('received_at') }},
        coalesce(complaint_type, 'unknown'),
        coalesce(channel, 'unknown'),
        importance
)

select * from final
