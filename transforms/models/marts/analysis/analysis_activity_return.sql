{%- set follow_up_days = 28 -%}
-- Activity return (see the yml for the method). Built without a row per activity x comparable
-- member (every member of every attendee cell, for every activity), which made it the
-- slowest model at scale, nor per activity x purchase in its window:
-- - comparable members of a cell = eligible members of the cell - eligible attendees; eligible
--   members come from running counts over the members' join days and leaving instants;
-- - comparable spend of a cell = eligible members' spend in the window - eligible attendees'
--   spend; the first from running totals of purchases per cell, plus the few purchases whose
--   buyer's eligibility depends on the activity (bought soon after joining, or after leaving).
with

activities as (
    select
        activity_id,
        activity_code,
        activity_name,
        activity_type,
        region,
        status,
        starts_at,
        {{ dbt.dateadd('day', follow_up_days, 'starts_at') }} as follow_up_ends_at,
        {{ reporting_local_date('starts_at') }} as start_day,
        attendees,
        actual_cost
    from {{ ref('analysis_activity_plan_vs_actual') }}
    where attendees > 0
      and {{ dbt.dateadd('day', follow_up_days, 'starts_at') }} <= {{ reference_timestamp() }}
),

members as (
    select
        member_no,
        tier,
        coalesce(region, 'unknown') as region,
        joined_at,
        archived_at
    from {{ ref('dim_members') }}
),

attendance as (
    select distinct activity_id, member_no
    from {{ ref('fct_activity_attendance') }}
    where member_no is not null
),

-- Members' purchases with the buyer's cell. A purchase is "settled" when its buyer had joined
-- at least 29 club-local days before it and had not left before it: then the buyer is
-- eligible for every activity whose follow-up window holds the purchase (such an activity
-- started at most 28 days earlier), so settled purchases are summed per cell and window from
-- running totals. The others (bought soon after joining, before joining, or after leaving)
-- are checked activity by activity.
member_purchases as (
    select
        purchases.member_no,
        purchases.purchased_at,
        purchases.amount,
        members.tier,
        members.region,
        case
            when members.joined_at
                    <= {{ dbt.dateadd('day', -29, reporting_local_date('purchases.purchased_at')) }}
             and (members.archived_at is null or members.archived_at >= purchases.purchased_at)
            then 1 else 0
        end as is_settled
    from {{ ref('fct_purchases') }} as purchases
    inner join members on members.member_no = purchases.member_no
),

-- Attendees with their cell, and whether they would otherwise be comparable (a member on the
-- start day who had not left): those are the ones taken out of the comparison group.
attendee_members as (
    select
        attendance.activity_id,
        attendance.member_no,
        members.tier,
        members.region,
        case
            when members.joined_at <= activities.start_day
             and (members.archived_at is null or members.archived_at >= activities.starts_at)
            then 1 else 0
        end as is_eligible
    from attendance
    inner join activities on activities.activity_id = attendance.activity_id
    inner join members on members.member_no = attendance.member_no
),

-- Each attendee's net spending in the activity's follow-up window (attendees who bought).
attendee_spend as (
    select
        attendee_members.activity_id,
        attendee_members.member_no,
        sum(purchases.amount) as spend
    from attendee_members
    inner join activities on activities.activity_id = attendee_members.activity_id
    inner join member_purchases as purchases
        on purchases.member_no = attendee_members.member_no
        and purchases.purchased_at > activities.starts_at
        and purchases.purchased_at <= activities.follow_up_ends_at
    group by attendee_members.activity_id, attendee_members.member_no
),

attendee_cells as (
    select
        attendee_members.activity_id,
        attendee_members.tier,
        attendee_members.region,
        coalesce(attendee_spend.spend, 0) as spend,
        attendee_members.is_eligible
    from attendee_members
    left join attendee_spend
        on attendee_spend.activity_id = attendee_members.activity_id
        and attendee_spend.member_no = attendee_members.member_no
),

attendees as (
    select
        activity_id,
        tier,
        region,
        count(*) as attendees,
        sum(spend) as spend,
        sum(is_eligible) as eligible_attendees,
        sum(case when is_eligible = 1 then spend else 0 end) as eligible_attendee_spend
    from attendee_cells
    group by activity_id, tier, region
),

-- The (activity, tier, region) cells to compare (no member has a null tier's comparables),
-- numbered so that the steps below join on one key.
cells as (
    select
        row_number() over (
            order by attendees.activity_id, attendees.tier, attendees.region
        ) as cell_id,
        attendees.activity_id,
        attendees.tier,
        attendees.region,
        attendees.attendees,
        attendees.spend as attendee_spend,
        attendees.eligible_attendees,
        attendees.eligible_attendee_spend,
        activities.start_day,
        activities.starts_at,
        activities.follow_up_ends_at
    from attendees
    inner join activities on activities.activity_id = attendees.activity_id
    where attendees.tier is not null
),

-- Running totals per (tier, region) cell along time, read at each activity's start and at the
-- end of its window: members who had joined (from the start of their club-local join day, so
-- joined_at <= start day) minus those who had left before the start, and the amount of settled
-- purchases. At equal instants joins and purchases come before a reading, leavings after it:
-- joined by the start day, left strictly before starts_at, spend in (starts_at, ends_at].
timeline as (
    select
        cast(null as {{ dbt.type_bigint() }}) as cell_id,
        tier,
        region,
        {{ dbt.dateadd('hour', -1 * (var('club_utc_offset_hours') | int), 'cast(joined_at as ' ~ dbt.type_timestamp() ~ ')') }}
            as point_at,
        0 as point_order,
        cast(null as {{ dbt.type_string() }}) as reading,
        1 as members,
        cast(0 as decimal(14, 2)) as amount
    from members
    where joined_at is not null and tier is not null
    union all
    select null, tier, region, archived_at, 2, null, -1, 0
    from members
    where archived_at is not null and joined_at is not null and tier is not null
    union all
    select null, tier, region, purchased_at, 0, null, 0, amount
    from member_purchases
    where is_settled = 1 and tier is not null
    union all
    select cell_id, tier, region, starts_at, 1, 'start', 0, 0
    from cells
    union all
    select cell_id, tier, region, follow_up_ends_at, 1, 'end', 0, 0
    from cells
),

readings as (
    select cell_id, reading, members_so_far, spend_so_far
    from (
        select
            cell_id,
            reading,
            sum(members) over (
                partition by tier, region
                order by point_at, point_order
                rows between unbounded preceding and current row
            ) as members_so_far,
            sum(amount) over (
                partition by tier, region
                order by point_at, point_order
                rows between unbounded preceding and current row
            ) as spend_so_far
        from timeline
    ) as running
    where reading is not null
),

cell_totals as (
    select
        cell_id,
        sum(case when reading = 'start' then members_so_far else 0 end) as members_at_start,
        sum(case when reading = 'end' then spend_so_far else -spend_so_far end)
            as settled_spend
    from readings
    group by cell_id
),

-- The running totals subtract every member who left before the start, including one who
-- joined after the start day (left before joining: bad data, but possible). Such a member left
-- before the start of the day they joined, so only those few are checked one by one and added
-- back.
left_before_joining as (
    select
        cells.cell_id,
        count(*) as members
    from cells
    inner join members
        on members.tier = cells.tier
        and members.region = cells.region
        and members.archived_at < cells.starts_at
        and members.joined_at > cells.start_day
    where members.archived_at < {{ dbt.dateadd('day', 1, 'members.joined_at') }}
    group by cells.cell_id
),

-- The other purchases, matched to the activities of their cell whose window holds them, then
-- the buyer's eligibility is checked. (An earlier version also crossed each purchase with the
-- 29 candidate start days to join on the day; the optimizer joined on the cell and the window
-- first anyway, so the cross product only multiplied the rows by 29: 1.6 billion at 1,000,000
-- members, activity 7, which DuckDB spilled until the disk was full.)
unsettled_spend as (
    select
        cells.cell_id,
        sum(purchases.amount) as spend
    from member_purchases as purchases
    inner join cells
        on cells.tier = purchases.tier
        and cells.region = purchases.region
        and purchases.purchased_at > cells.starts_at
        and purchases.purchased_at <= cells.follow_up_ends_at
    inner join members on members.member_no = purchases.member_no
    where purchases.is_settled = 0
      and members.joined_at <= cells.start_day
      and (members.archived_at is null or members.archived_at >= cells.starts_at)
    group by cells.cell_id
),

-- Comparable members: same tier and region as some attendee, a member on the activity's
-- start day, and not among the activity's attendees (cells without any are dropped).
comparables as (
    select
        cells.activity_id,
        cells.attendees,
        cells.attendee_spend,
        cell_totals.members_at_start
            + coalesce(left_before_joining.members, 0)
            - cells.eligible_attendees as comparable_members,
        cell_totals.settled_spend + coalesce(unsettled_spend.spend, 0)
            - cells.eligible_attendee_spend as spend
    from cells
    inner join cell_totals on cell_totals.cell_id = cells.cell_id
    left join left_before_joining on left_before_joining.cell_id = cells.cell_id
    left join unsettled_spend on unsettled_spend.cell_id = cells.cell_id
),

matched_cells as (
    select
        activity_id,
        attendees,
        attendee_spend,
        comparable_members,
        -- What these attendees would have spent at their cell's non-attendee rate.
        cast(attendees * spend as {{ analysis_double() }}) / comparable_members as expected_spend
    from comparables
    where comparable_members > 0
),

per_activity as (
    select
        activity_id,
        sum(attendees) as matched_attendees,
        sum(comparable_members) as comparable_members,
        sum(attendee_spend) as attendee_spend,
        sum(expected_spend) as expected_spend
    from matched_cells
    group by activity_id
),

final as (
    select
        activities.activity_id,
        activities.activity_code,
        activities.activity_name,
        activities.activity_type,
        activities.region,
        activities.status,
        activities.starts_at,
        {{ follow_up_days }} as follow_up_days,
        activities.attendees,
        cast(coalesce(per_activity.matched_attendees, 0) as {{ dbt.type_bigint() }})
            as matched_attendees,
        cast(coalesce(per_activity.comparable_members, 0) as {{ dbt.type_bigint() }})
            as comparable_members,
        cast(per_activity.attendee_spend as decimal(14, 2)) as attendee_spend,
        {{ divide_to_decimal('per_activity.attendee_spend', 'per_activity.matched_attendees', 14, 2) }}
            as attendee_spend_per_member,
        {{ divide_to_decimal('per_activity.expected_spend', 'per_activity.matched_attendees', 14, 2) }}
            as comparable_spend_per_member,
        {{ divide_to_decimal(
            'per_activity.attendee_spend - per_activity.expected_spend',
            'per_activity.matched_attendees', 14, 2) }} as spend_difference_per_member,
        {{ double_to_decimal('per_activity.attendee_spend - per_activity.expected_spend', 14, 2) }}
            as incremental_spend,
        activities.actual_cost,
        case
            when activities.actual_cost > 0
            then cast(per_activity.attendee_spend - per_activity.expected_spend
                as {{ analysis_double() }}) / activities.actual_cost
        end as incremental_spend_to_cost
    from activities
    left join per_activity on per_activity.activity_id = activities.activity_id
)

select * from final
