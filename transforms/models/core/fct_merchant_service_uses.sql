with

uses as (
    select * from {{ ref('stg_operational__merchant_service_uses') }}
),

services as (
    select merchant_service_id, merchant_id from {{ ref('stg_operational__merchant_services') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

final as (
    select
        uses.merchant_service_use_id,
        uses.merchant_service_id,
        services.merchant_id,
        members.member_no,
        uses.used_at,
        uses.use_source
    from uses
    left join services on services.merchant_service_id = uses.merchant_service_id
    left join members on members.member_id = uses.member_id
)

select * from final
