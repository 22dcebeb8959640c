-- The operational running balance (current state only: it has no history, so it is not
-- filtered for backtesting; the ledger is the truth and the warehouse reconciles the two).
with

source as (
    select * from {{ source('operational', 'member_point_balances') }}
),

renamed as (
    select
        member_id,
        balance as points_balance,
        earned_total as points_earned_total,
        updated_at
    from source
),

final as (
    select * from renamed
)

select * from final
