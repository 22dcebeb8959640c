{#- One row per member: tenure, recency and activity/revenue counts over fixed windows that end
    on the reference day (the as-of day when backtesting, else today in the club). -#}
with

members as (
    select * from {{ ref('dim_members') }}
),

events as (
    select
        *,
        {{ dbt.datediff('event_on', reference_date(), 'day') }} as days_ago
    from {{ ref('int_analysis__member_events') }}
),

complaints as (
    select
        member_no,
        count(*) as complaints_365d
    from {{ ref('fct_complaints') }}
    where member_no is not null
      and {{ dbt.datediff('cast(' ~ to_club_local('received_at') ~ ' as date)', reference_date(), 'day') }}
          between 0 and 364
    group by member_no
),

per_member as (
    select
        member_no,
        max(case when event_type = 'purchase' and amount > 0 then event_on end)
            as last_purchase_on,
        max(event_on) as last_event_on,
        sum(case when event_type = 'purchase' and amount > 0 and days_ago between 0 and 364
            then 1 else 0 end) as purchases_365d,
        sum(case when event_type = 'purchase' and days_ago between 0 and 364
            then amount else 0 end) as revenue_365d,
        sum(case when event_type = 'purchase' and days_ago between 365 and 729
            then amount else 0 end) as revenue_prior_365d,
        sum(case when days_ago between 0 and 89 then 1 else 0 end) as events_90d,
        sum(case when days_ago between 90 and 179 then 1 else 0 end) as events_prior_90d
    from events
    where days_ago >= 0
    group by member_no
),

final as (
    select
        members.member_no,
        members.tier,
        coalesce(members.region, 'unknown') as region,
        coalesce(members.channel, 'unknown') as channel,
        members.status,
        members.joined_at as joined_on,
        members.join_month,
        {{ dbt.datediff('members.joined_at', reference_date(), 'day') }} as tenure_days,
        per_member.last_purchase_on,
        {{ dbt.datediff('per_member.last_purchase_on', reference_date(), 'day') }}
            as days_since_last_purchase,
        per_member.last_event_on,
        {{ dbt.datediff('per_member.last_event_on', reference_date(), 'day') }}
            as days_since_last_event,
        coalesce(per_member.purchases_365d, 0) as purchases_365d,
        cast(coalesce(per_member.revenue_365d, 0) as decimal(14, 2)) as revenue_365d,
        cast(coalesce(per_member.revenue_prior_365d, 0) as decimal(14, 2)) as revenue_prior_365d,
        coalesce(per_member.events_90d, 0) as events_90d,
        coalesce(per_member.events_prior_90d, 0) as events_prior_90d,
        coalesce(complaints.complaints_365d, 0) as complaints_365d
    from members
    left join per_member on per_member.member_no = members.member_no
    left join complaints on complaints.member_no = members.member_no
)

select * from final
