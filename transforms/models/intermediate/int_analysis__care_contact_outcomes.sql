{#- Each care contact (treated or control) whose 30-day follow-up window has ended by the
    reference instant, with what the member did in that window. -#}
{%- set follow_up_days = 30 -%}
with

contacts as (
    select * from {{ ref('fct_care_contacts') }}
    where member_no is not null
      and status in ('sent', 'failed', 'control')
      and {{ dbt.dateadd('day', follow_up_days, 'contacted_at') }} <= {{ reference_timestamp() }}
),

purchases as (
    select member_no, purchased_at, amount
    from {{ ref('fct_purchases') }}
    where member_no is not null
),

spending as (
    select
        contacts.care_contact_id,
        sum(case when purchases.amount > 0 then 1 else 0 end) as purchases_after,
        sum(purchases.amount) as spend_after
    from contacts
    inner join purchases
        on purchases.member_no = contacts.member_no
        and purchases.purchased_at > contacts.contacted_at
        and purchases.purchased_at <= {{ dbt.dateadd('day', follow_up_days, 'contacts.contacted_at') }}
    group by contacts.care_contact_id
),

final as (
    select
        contacts.care_contact_id,
        contacts.member_no,
        contacts.care_trigger,
        contacts.contact_channel,
        contacts.is_control,
        contacts.contacted_at,
        {{ follow_up_days }} as follow_up_days,
        coalesce(
            contacts.responded_at is not null
            and contacts.responded_at <= {{ dbt.dateadd('day', follow_up_days, 'contacts.contacted_at') }},
            false
        ) as has_responded,
        coalesce(spending.purchases_after, 0) > 0 as has_purchased,
        cast(coalesce(spending.spend_after, 0) as decimal(14, 2)) as spend_after
    from contacts
    left join spending on spending.care_contact_id = contacts.care_contact_id
)

select * from final
