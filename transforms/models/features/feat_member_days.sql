{#- One row per member and club-local day with anything the prediction layer counts: purchases
    (returns excluded), activity attendance, card swipes, redemptions, posted points, care
    contacts sent and answered, complaints. Features and labels both aggregate this table, so
    every signal is counted the same way before and after a snapshot. -#}
with

purchases as (
    select
        member_no,
        {{ reporting_local_date('purchased_at') }} as activity_on,
        {{ member_day_columns({'purchases': '1', 'purchase_amount': 'amount'}) }}
    from {{ ref('fct_purchases') }}
    where member_no is not null and coalesce(purchase_type, '') <> 'return'
),

other_events as (
    select
        member_no,
        event_on as activity_on,
        {{ member_day_columns({
            'swipes': "case when event_type = 'swipe' then 1 else 0 end",
            'attendances': "case when event_type = 'attendance' then 1 else 0 end",
            'redemptions': "case when event_type = 'redemption' then 1 else 0 end",
        }) }}
    from {{ ref('int_analysis__member_events') }}
    where event_type in ('swipe', 'attendance', 'redemption')
),

points as (
    select
        member_no,
        {{ reporting_local_date('posted_at') }} as activity_on,
        {{ member_day_columns({'points_posted': 'points'}) }}
    from {{ ref('fct_point_entries') }}
    where member_no is not null and status = 'posted' and posted_at is not null
),

care_sent as (
    select
        member_no,
        {{ reporting_local_date('contacted_at') }} as activity_on,
        {{ member_day_columns({'care_contacts': '1'}) }}
    from {{ ref('fct_care_contacts') }}
    where member_no is not null and status = 'sent'
),

care_answered as (
    select
        member_no,
        {{ reporting_local_date('responded_at') }} as activity_on,
        {{ member_day_columns({'care_responses': '1'}) }}
    from {{ ref('fct_care_contacts') }}
    where member_no is not null and responded_at is not null
),

complaints as (
    select
        member_no,
        {{ reporting_local_date('received_at') }} as activity_on,
        {{ member_day_columns({'complaints': '1'}) }}
    from {{ ref('fct_complaints') }}
    where member_no is not null
),

unioned as (
    select * from purchases
    union all
    select * from other_events
    union all
    select * from points
    union all
    select * from care_sent
    union all
    select * from care_answered
    union all
    select * from complaints
),

final as (
    select
        member_no,
        activity_on,
        {{ member_day_sums() }},
        sum(purchases) + sum(swipes) + sum(attendances) + sum(redemptions) > 0 as is_active_day
    from unioned
    group by member_no, activity_on
)

select * from final
