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

{#- Every window is (s - N, s] for a snapshot s and N in 90, 180, 365 (or everything up to s).
    Joining each member day to every later snapshot multiplies the member days by the number
    of snapshots (about 250 million rows at 1,000,000 members with seven times the demo
    activity, which DuckDB spilled to a full disk). Instead: the window edges of all snapshots
    are boundaries (at most 36); member days are summed per member and stretch between two
    boundaries (9.8 million stretches there, from 55 million member days); running sums over
    a member's stretches give the totals up to every boundary, and a window is the difference
    of two of them. -#}
boundaries as (
    select distinct boundary_on
    from (
        select snapshot_date as boundary_on from snapshots
        union all
        select cast({{ dbt.dateadd('day', -90, 'snapshot_date') }} as date) from snapshots
        union all
        select cast({{ dbt.dateadd('day', -180, 'snapshot_date') }} as date) from snapshots
        union all
        select cast({{ dbt.dateadd('day', -365, 'snapshot_date') }} as date) from snapshots
    ) as edges
),

numbered_boundaries as (
    select boundary_on, row_number() over (order by boundary_on) as boundary_no
    from boundaries
),

snapshot_boundaries as (
    -- The boundary number of each snapshot and of the start of each of its windows.
    select
        snapshots.snapshot_date,
        {%- for days in [0, 90, 180, 365] %}
        max(case when numbered_boundaries.boundary_on
                      = cast({{ dbt.dateadd('day', -days, 'snapshots.snapshot_date') }} as date)
                 then numbered_boundaries.boundary_no end) as boundary_{{ days }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from snapshots
    cross join numbered_boundaries
    group by snapshots.snapshot_date
),

day_stretches as (
    -- Each day that has member activity, and the first boundary on or after it.
    select days.activity_on, min(numbered_boundaries.boundary_no) as boundary_no
    from (select distinct activity_on from {{ ref('feat_member_days') }}) as days
    inner join numbered_boundaries
        on numbered_boundaries.boundary_on >= days.activity_on
    group by days.activity_on
),

stretches as (
    select
        days.member_no,
        day_stretches.boundary_no,
        sum(days.purchases) as purchases,
        sum(days.purchase_amount) as purchase_amount,
        sum(days.swipes) as swipes,
        sum(days.attendances) as attendances,
        sum(days.redemptions) as redemptions,
        sum(case when days.is_active_day then 1 else 0 end) as active_days,
        sum(days.points_posted) as points_posted,
        sum(case when days.points_posted > 0 then days.points_posted else 0 end) as points_earned,
        sum(days.care_contacts) as care_contacts,
        sum(days.care_responses) as care_responses,
        sum(days.complaints) as complaints,
        max(case when days.purchases > 0 then days.activity_on end) as last_purchase_on,
        max(case when days.is_active_day then days.activity_on end) as last_activity_on,
        max(case when days.swipes > 0 then days.activity_on end) as last_swipe_on,
        max(case when days.attendances > 0 then days.activity_on end) as last_attendance_on,
        max(case when days.care_responses > 0 then days.activity_on end)
            as last_care_response_on
    from {{ ref('feat_member_days') }} as days
    inner join day_stretches
        on day_stretches.activity_on = days.activity_on
    group by days.member_no, day_stretches.boundary_no
),

running as materialized (
    -- Each member's totals over every day up to the end of each of their stretches; they hold
    -- for every boundary from that stretch's to the one before the member's next stretch.
    select
        member_no,
        boundary_no,
        coalesce(lead(boundary_no) over (partition by member_no order by boundary_no), 1000000)
            as next_boundary_no,
        {%- for measure in ['purchases', 'purchase_amount', 'swipes', 'attendances',
                            'redemptions', 'active_days', 'points_posted', 'points_earned',
                            'care_contacts', 'care_responses', 'complaints'] %}
        sum({{ measure }}) over up_to_stretch as {{ measure }},
        {%- endfor %}
        {%- for last in ['purchase', 'activity', 'swipe', 'attendance', 'care_response'] %}
        max(last_{{ last }}_on) over up_to_stretch as last_{{ last }}_on
        {{- ',' if not loop.last }}
        {%- endfor %}
    from stretches
    window up_to_stretch as (
        partition by member_no order by boundary_no
        rows between unbounded preceding and current row
    )
),

aggregated as (
    select
        population.member_no,
        population.snapshot_date,
        {%- for last in ['purchase', 'activity', 'swipe', 'attendance', 'care_response'] %}
        {{ dbt.datediff('upto_0.last_' ~ last ~ '_on', 'population.snapshot_date', 'day') }}
            as days_since_last_{{ last }},
        {%- endfor %}
        {%- set windows = [
            ('purchases_90d', 'purchases', 0, 90),
            ('purchases_prev_90d', 'purchases', 90, 180),
            ('purchases_180d', 'purchases', 0, 180),
            ('purchases_365d', 'purchases', 0, 365),
            ('purchases_total', 'purchases', 0, none),
            ('amount_365d', 'purchase_amount', 0, 365),
            ('amount_total', 'purchase_amount', 0, none),
            ('swipes_90d', 'swipes', 0, 90),
            ('swipes_365d', 'swipes', 0, 365),
            ('swipes_total', 'swipes', 0, none),
            ('attendances_90d', 'attendances', 0, 90),
            ('attendances_365d', 'attendances', 0, 365),
            ('attendances_total', 'attendances', 0, none),
            ('redemptions_365d', 'redemptions', 0, 365),
            ('active_days_90d', 'active_days', 0, 90),
            ('active_days_180d', 'active_days', 0, 180),
            ('active_days_365d', 'active_days', 0, 365),
            ('active_days_total', 'active_days', 0, none),
            ('points_balance', 'points_posted', 0, none),
            ('points_earned_365d', 'points_earned', 0, 365),
            ('care_contacts_365d', 'care_contacts', 0, 365),
            ('care_responses_365d', 'care_responses', 0, 365),
            ('care_contacts_total', 'care_contacts', 0, none),
            ('care_responses_total', 'care_responses', 0, none),
            ('complaints_365d', 'complaints', 0, 365),
            ('complaints_total', 'complaints', 0, none),
        ] %}
        {%- for name, measure, newer, older in windows %}
        {%- set value = 'coalesce(upto_' ~ newer ~ '.' ~ measure ~ ', 0)' %}
        {%- if older is not none %}
        {%- set value = value ~ ' - coalesce(upto_' ~ older ~ '.' ~ measure ~ ', 0)' %}
        {%- endif %}
        {%- if measure == 'purchase_amount' and older is not none %}
        -- amounts are floats: a difference of two running sums is rounded to the cent
        {%- set value = 'cast(' ~ double_to_decimal(value, 18, 2) ~ ' as ' ~ analysis_double() ~ ')' %}
        {%- endif %}
        {{ value }} as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from population
    inner join snapshot_boundaries
        on snapshot_boundaries.snapshot_date = population.snapshot_date
    {%- for days in [0, 90, 180, 365] %}
    left join running as upto_{{ days }}
        on upto_{{ days }}.member_no = population.member_no
       and upto_{{ days }}.boundary_no <= snapshot_boundaries.boundary_{{ days }}
       and upto_{{ days }}.next_boundary_no > snapshot_boundaries.boundary_{{ days }}
    {%- endfor %}
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
