-- Count marts lose nothing: members in reporting.member_profile, contacts in
-- reporting.care_response_rates, complaints in reporting.complaint_service_levels and
-- merchant service uses in reporting.merchant_service_participation add up to their core
-- tables. Returns one row per mart that does not reconcile.
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'member_profile'}}}) }}

with

checks as (
    select
        'member_profile' as mart,
        (select coalesce(sum(members), 0) from {{ ref('member_profile') }}) as mart_count,
        (select count(*) from {{ ref('dim_members') }}) as core_count
    union all
    select
        'care_response_rates',
        (select coalesce(sum(treated_contacts + control_contacts), 0)
         from {{ ref('care_response_rates') }}),
        (select count(*) from {{ ref('fct_care_contacts') }})
    union all
    select
        'complaint_service_levels',
        (select coalesce(sum(complaints), 0) from {{ ref('complaint_service_levels') }}),
        (select count(*) from {{ ref('fct_complaints') }})
    union all
    select
        'merchant_service_participation',
        (select coalesce(sum(uses), 0) from {{ ref('merchant_service_participation') }}),
        (select count(*) from {{ ref('fct_merchant_service_uses') }})
),

final as (
    select * from checks where mart_count <> core_count
)

select * from final
