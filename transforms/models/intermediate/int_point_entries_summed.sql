-- Points per member from the ledger: only posted entries count towards the balance.
with

point_entries as (
    select * from {{ ref('stg_operational__point_entries') }}
),

summed as (
    select
        member_id,
        cast(sum(case when status = 'posted' then points else 0 end) as bigint)
            as points_balance,
        cast(sum(case when status = 'posted' and points > 0 then points else 0 end) as bigint)
            as points_earned_total,
        cast(
            sum(case when status = 'posted' and event_type = 'redemption' then -points else 0 end)
            as bigint
        ) as points_redeemed_total,
        cast(sum(case when status = 'pending' then points else 0 end) as bigint)
            as points_pending,
        max(posted_at) as last_posted_at
    from point_entries
    group by member_id
),

final as (
    select * from summed
)

select * from final
