with

applications as (
    select * from {{ ref('stg_operational__applications') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

final as (
    select
        applications.application_id,
        applications.channel,
        applications.application_source,
        {{ dbt.concat([
            "coalesce(applications.channel, 'unknown')", "'/'",
            "coalesce(applications.application_source, '-')"]) }} as acquisition_channel,
        applications.is_automatic,
        applications.gender,
        applications.region_code as region,
        applications.requested_tier,
        applications.status,
        applications.status in ('approved', 'linked') and members.member_no is not null
            as is_acquisition,
        applications.submitted_at,
        applications.decided_at,
        {{ dbt.datediff('applications.submitted_at', 'applications.decided_at', 'hour') }}
            as hours_to_decision,
        members.member_no,
        applications.purchase_id
    from applications
    left join members on members.member_id = applications.member_id
)

select * from final
