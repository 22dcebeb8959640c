-- Every dated thing a member did (purchase, activity attendance, card swipe, redemption,
-- merchant service use): the activity signal for churn and recency.
with

purchases as (
    select member_no, purchased_at as event_at, 'purchase' as event_kind
    from {{ ref('fct_purchases') }}
    where member_no is not null
),

attendance as (
    select member_no, attended_at as event_at, 'activity' as event_kind
    from {{ ref('fct_activity_attendance') }}
    where member_no is not null
),

swipes as (
    select member_no, swiped_at as event_at, 'swipe' as event_kind
    from {{ ref('fct_swipes') }}
    where member_no is not null
),

redemptions as (
    select member_no, redeemed_at as event_at, 'redemption' as event_kind
    from {{ ref('fct_redemptions') }}
    where member_no is not null
),

merchant_uses as (
    select member_no, used_at as event_at, 'merchant_service' as event_kind
    from {{ ref('fct_merchant_service_uses') }}
    where member_no is not null
),

final as (
    select * from purchases
    union all
    select * from attendance
    union all
    select * from swipes
    union all
    select * from redemptions
    union all
    select * from merchant_uses
)

select * from final
