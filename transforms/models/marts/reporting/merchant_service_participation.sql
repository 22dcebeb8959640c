-- Merchant service participation: uses and distinct members per service and month.
with

uses as (
    select * from {{ ref('fct_merchant_service_uses') }}
),

services as (
    select * from {{ ref('dim_merchant_services') }}
),

merchants as (
    select merchant_id, merchant_type from {{ ref('dim_merchants') }}
),

active_members as (
    select cast(count(*) as bigint) as active_members
    from {{ ref('dim_members') }}
    where status = 'active'
),

monthly as (
    select
        merchant_service_id,
        {{ reporting_local_month('used_at') }} as use_month,
        count(*) as uses,
        count(distinct member_no) as members,
        sum(case when use_source = 'reader' then 1 else 0 end) as reader_uses
    from uses
    group by merchant_service_id, {{ reporting_local_month('used_at') }}
),

final as (
    select
        monthly.merchant_service_id,
        services.service_name,
        services.merchant_code,
        services.merchant_name,
        merchants.merchant_type,
        monthly.use_month,
        cast(monthly.uses as bigint) as uses,
        cast(monthly.members as bigint) as participating_members,
        cast(monthly.reader_uses as bigint) as reader_uses,
        case when active_members.active_members > 0
            then {{ divide_to_decimal('monthly.members', 'active_members.active_members', 9, 6) }}
        end as share_of_active_members
    from monthly
    left join services on services.merchant_service_id = monthly.merchant_service_id
    left join merchants on merchants.merchant_id = services.merchant_id
    cross join active_members
)

select * from final
