{{ config(materialized='table') }}
-- One row per member and club-local month in which the member did anything dated (purchase,
-- activity attendance, card swipe, redemption, merchant service use): int_member_events folded
-- to months once per build, so "active members" of any period is a count over a few million
-- rows at most instead of every event (the overview page).
with

events as (
    select member_no, {{ reporting_local_month('event_at') }} as active_month, event_at
    from {{ ref('int_member_events') }}
),

final as (
    select
        member_no,
        active_month,
        count(*) as events,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from events
    group by member_no, active_month
)

select * from final
