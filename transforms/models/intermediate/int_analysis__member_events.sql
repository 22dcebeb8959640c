{#- Every dated thing a member did, one row each: purchases (with their amount), activity
    attendance, card swipes and point redemptions. The "activity" the analysis layer counts. -#}
with

purchases as (
    select
        member_no,
        purchased_at as event_at,
        'purchase' as event_type,
        amount
    from {{ ref('fct_purchases') }}
    where member_no is not null
),

attendance as (
    select
        member_no,
        attended_at as event_at,
        'attendance' as event_type,
        cast(0 as decimal(14, 2)) as amount
    from {{ ref('fct_activity_attendance') }}
    where member_no is not null
),

swipes as (
    select
        member_no,
        swiped_at as event_at,
        'swipe' as event_type,
        cast(0 as decimal(14, 2)) as amount
    from {{ ref('fct_swipes') }}
    where member_no is not null
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

redemptions as (
    select
        members.member_no,
        redemptions.redeemed_at as event_at,
        'redemption' as event_type,
        cast(0 as decimal(14, 2)) as amount
    from {{ ref('stg_operational__redemptions') }} as redemptions
    inner join members on members.member_id = redemptions.member_id
),

unioned as (
    select * from purchases
    union all
    select * from attendance
    union all
    select * from swipes
    union all
    select * from redemptions
),

final as (
    select
        member_no,
        event_type,
        event_at,
        cast({{ to_club_local('event_at') }} as date) as event_on,
        cast({{ dbt.date_trunc('month', to_club_local('event_at')) }} as date) as event_month,
        amount
    from unioned
)

select * from final
