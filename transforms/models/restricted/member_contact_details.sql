{#- Restricted: members' unmasked personal data, for the few who must contact members (care
    call lists, legal requests). Every other model carries masked forms only (staging masks).
    The analysts' SQL page and the dashboards never read this schema. -#}
with

members as (
    select member_id, member_no, status from {{ ref('stg_operational__members') }}
),

source as (
    select * from {{ source('operational', 'members') }}
)

select
    members.member_no,
    members.status,
    source.name as member_name,
    source.id_number,
    source.mobile,
    source.home_phone,
    source.email,
    source.address
from members
inner join source on source.id = members.member_id
