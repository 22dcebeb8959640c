{#- Point-in-time features: one row per member and snapshot date, computed only from member
    days on or before the snapshot (and the member's joining day). Members are in a snapshot
    when they had joined by that day and were not archived on or before it. Windows count the
    snapshot day and the days before it: "90 days" is (snapshot - 90, snapshot]. -#}
with

snapshots as (
    select snapshot_date, is_scoring from {{ ref('feat_snapshot_dates') }}
),

members as (
    select member_no, joined_at, archived_at, tier, region, channel, has_mobile, has_email
    from {{ ref('dim_members') }}
),

population as (
    select
        snapshots.snapshot_date,
        snapshots.is_scoring,
        members.*
    from snapshots
    inner join members
        on members.joined_at <= snapshots.snapshot_date
       and (members.archived_at is null
            or cast(members.archived_at as date) > snapshots.snapshot_date)
),

history_start as (
    -- The first day the warehouse saw any member activity: rates are per observed day.
    select min(activity_on) as first_activity_on from {{ ref('feat_member_days') }}
),

history as (
    select
        population.member_no,
        population.snapshot_date,
        {{ dbt.datediff('days.activity_on', 'population.snapshot_date', 'day') }} as age_days,
        days.purchases,
        days.purchase_amount,
        days.swipes,
        days.attendances,
        days.redemptions,
        days.points_posted,
        days.care_contacts,
        days.care_responses,
        days.complaints,
        days.is_active_day
    from population
    inner join {{ ref('feat_member_days') }} as days
        on days.member_no = population.member_no
       and days.activity_on <= population.snapshot_date
),

aggregated as (
    select
        member_no,
        snapshot_date,
        min(case when purchases > 0 then age_days end) as days_since_last_purchase,
        min(case when is_active_day then age_days end) as days_since_last_activity,
        min(case when swipes > 0 then age_days end) as days_since_last_swipe,
        min(case when attendances > 0 then age_days end) as days_since_last_attendance,
        min(case when care_responses > 0 then age_days end) as days_since_last_care_response,
        sum(case when age_days < 90 then purchases else 0 end) as purchases_90d,
        sum(case when age_days >= 90 and age_days < 180 then purchases else 0 end)
            as purchases_prev_90d,
        sum(case when age_days < 180 then purchases else 0 end) as purchases_180d,
        sum(case when age_days < 365 then purchases else 0 end) as purchases_365d,
        sum(purchases) as purchases_total,
        sum(case when age_days < 365 then purchase_amount else 0 end) as amount_365d,
        sum(purchase_amount) as amount_total,
        sum(case when age_days < 90 then swipes else 0 end) as swipes_90d,
        sum(case when age_days < 365 then swipes else 0 end) as swipes_365d,
        sum(swipes) as swipes_total,
        sum(case when age_days < 90 then attendances else 0 end) as attendances_90d,
        sum(case when age_days < 365 then attendances else 0 end) as attendances_365d,
        sum(attendances) as attendances_total,
        sum(case when age_days < 365 then redemptions else 0 end) as redemptions_365d,
        sum(case when age_days < 90 and is_active_day then 1 else 0 end) as active_days_90d,
        sum(case when age_days < 180 and is_active_day then 1 else 0 end) as active_days_180d,
        sum(case when age_days < 365 and is_active_day then 1 else 0 end) as active_days_365d,
        sum(case when is_active_day then 1 else 0 end) as active_days_total,
        sum(points_posted) as points_balance,
        sum(case when age_days < 365 and points_posted > 0 then points_posted else 0 end)
            as points_earned_365d,
        sum(case when age_days < 365 then care_contacts else 0 end) as care_contacts_365d,
        sum(case when age_days < 365 then care_responses else 0 end) as care_responses_365d,
        sum(care_contacts) as care_contacts_total,
        sum(care_responses) as care_responses_total,
        sum(case when age_days < 365 then complaints else 0 end) as complaints_365d,
        sum(complaints) as complaints_total
    from history
    group by member_no, snapshot_date
),

counted as (
    select
        population.member_no,
        population.snapshot_date,
        population.is_scoring,
        {{ dbt.datediff('population.joined_at', 'population.snapshot_date', 'day') }}
            as tenure_days,
        coalesce(population.tier, 'unknown') as tier,
        coalesce(population.region, 'unknown') as region,
        coalesce(population.channel, 'unknown') as join_channel,
        case when population.has_mobile then 1 else 0 end as has_mobile,
        case when population.has_email then 1 else 0 end as has_email,
        aggregated.days_since_last_purchase,
        aggregated.days_since_last_activity,
        aggregated.days_since_last_swipe,
        aggregated.days_since_last_attendance,
        aggregated.days_since_last_care_response,
        coalesce(aggregated.purchases_90d, 0) as purchases_90d,
        coalesce(aggregated.purchases_prev_90d, 0) as purchases_prev_90d,
        coalesce(aggregated.purchases_180d, 0) as purchases_180d,
        coalesce(aggregated.purchases_365d, 0) as purchases_365d,
        coalesce(aggregated.purchases_total, 0) as purchases_total,
        coalesce(aggregated.amount_365d, 0) as amount_365d,
        coalesce(aggregated.amount_total, 0) as amount_total,
        coalesce(aggregated.swipes_90d, 0) as swipes_90d,
        coalesce(aggregated.swipes_365d, 0) as swipes_365d,
        coalesce(aggregated.swipes_total, 0) as swipes_total,
        coalesce(aggregated.attendances_90d, 0) as attendances_90d,
        coalesce(aggregated.attendances_365d, 0) as attendances_365d,
        coalesce(aggregated.attendances_total, 0) as attendances_total,
        coalesce(aggregated.redemptions_365d, 0) as redemptions_365d,
        coalesce(aggregated.active_days_90d, 0) as active_days_90d,
        coalesce(aggregated.active_days_180d, 0) as active_days_180d,
        coalesce(aggregated.active_days_365d, 0) as active_days_365d,
        coalesce(aggregated.active_days_total, 0) as active_days_total,
        coalesce(aggregated.points_balance, 0) as points_balance,
        coalesce(aggregated.points_earned_365d, 0) as points_earned_365d,
        coalesce(aggregated.care_contacts_365d, 0) as care_contacts_365d,
        coalesce(aggregated.care_responses_365d, 0) as care_responses_365d,
        coalesce(aggregated.care_contacts_total, 0) as care_contacts_total,
        coalesce(aggregated.care_responses_total, 0) as care_responses_total,
        coalesce(aggregated.complaints_365d, 0) as complaints_365d,
        coalesce(aggregated.complaints_total, 0) as complaints_total,
        1 + least(
            {{ dbt.datediff('population.joined_at', 'population.snapshot_date', 'day') }},
            {{ dbt.datediff('history_start.first_activity_on', 'population.snapshot_date', 'day') }}
        ) as observed_days
    from population
    cross join history_start
    left join aggregated
        on aggregated.member_no = population.member_no
       and aggregated.snapshot_date = population.snapshot_date
),

final as (
    select
        counted.*,
        cast(purchases_total as {{ analysis_double() }}) * 365.25 / observed_days
            as purchases_per_year,
        cast(active_days_total as {{ analysis_double() }}) * 365.25 / observed_days
            as active_days_per_year,
        cast(care_responses_total + 1 as {{ analysis_double() }}) / (care_contacts_total + 4)
            as care_response_rate,
        cast(coalesce(days_since_last_activity, observed_days) as {{ analysis_double() }})
            * active_days_total / observed_days as expected_active_days_missed,
        cast(coalesce(days_since_last_purchase, observed_days) as {{ analysis_double() }})
            * purchases_total / observed_days as expected_purchases_missed,
        cast(swipes_total as {{ analysis_double() }}) * 365.25 / observed_days
            as swipes_per_year,
        cast(attendances_total as {{ analysis_double() }}) * 365.25 / observed_days
            as attendances_per_year,
        cast(purchases_total + swipes_total + attendances_total as {{ analysis_double() }})
            * 365.25 / observed_days as events_per_year,
        cast(coalesce(days_since_last_activity, observed_days) as {{ analysis_double() }})
            * (purchases_total + swipes_total + attendances_total) / observed_days
            as expected_events_missed,
        cast(purchases_total + 0.5 as {{ analysis_double() }}) * 365.25 / (observed_days + 365.25)
            as purchase_rate_smoothed
    from counted
)

select * from final
