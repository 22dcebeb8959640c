-- Cost of acquiring a member per channel: onboarding costs of new members by channel/source.
with

members as (
    select member_no, channel, source, joined_at from {{ ref('dim_members') }}
),

costs as (
    select * from {{ ref('int_member_cost_events') }}
),

onboarding as (
    select
        members.member_no,
        sum(case when costs.cost_kind = 'activity' then costs.cost else 0 end) as activity_cost,
        sum(case when costs.cost_kind = 'care' then costs.cost else 0 end) as care_cost
    from members
    inner join costs
        on costs.member_no = members.member_no
        and {{ reporting_local_date('costs.cost_at') }} >= members.joined_at
        and {{ reporting_local_date('costs.cost_at') }}
            < {{ dbt.dateadd('day', 365, 'members.joined_at') }}
    group by members.member_no
),

per_member as (
    select
        cast(extract(year from members.joined_at) as integer) as join_year,
        coalesce(members.channel, 'unknown') as channel,
        coalesce(members.source, '-') as application_source,
        members.member_no,
        coalesce(onboarding.activity_cost, 0) as activity_cost,
        coalesce(onboarding.care_cost, 0) as care_cost
    from members
    left join onboarding on onboarding.member_no = members.member_no
),

final as (
    select
        join_year,
        channel,
        application_source,
        {{ dbt.concat(['channel', "'/'", 'application_source']) }} as acquisition_channel,
        cast(count(*) as bigint) as new_members,
        cast(sum(activity_cost) as decimal(18, 2)) as activity_cost,
        cast(sum(care_cost) as decimal(18, 2)) as care_cost,
        cast(sum(activity_cost + care_cost) as decimal(18, 2)) as acquisition_cost,
        {{ divide_to_decimal('sum(activity_cost + care_cost)', 'count(*)', 14, 2) }}
            as acquisition_cost_per_member
    from per_member
    group by join_year, channel, application_source
)

select * from final
