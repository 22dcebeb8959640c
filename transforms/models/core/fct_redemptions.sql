with

redemptions as (
    select * from {{ ref('stg_operational__redemptions') }}
),

plans as (
    select redemption_plan_id, plan_code, item, points_cost
    from {{ ref('stg_operational__redemption_plans') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

cards as (
    select card_id, card_no from {{ ref('stg_operational__cards') }}
),

final as (
    select
        redemptions.redemption_id,
        redemptions.redemption_plan_id,
        plans.plan_code,
        plans.item,
        members.member_no,
        cards.card_no,
        redemptions.quantity,
        redemptions.points,
        redemptions.point_entry_id as entry_id,
        redemptions.redeemed_at,
        redemptions.redeemed_by
    from redemptions
    left join plans on plans.redemption_plan_id = redemptions.redemption_plan_id
    left join members on members.member_id = redemptions.member_id
    left join cards on cards.card_id = redemptions.card_id
)

select * from final
