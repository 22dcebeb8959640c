{{
    config(
        materialized='incremental',
        unique_key='purchase_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        full_refresh=incremental_full_refresh_config(),
        pre_hook="{{ incremental_reset_if_stale(ref('stg_operational__purchases')) }}"
    )
}}

with

all_purchases as (
    select * from {{ ref('stg_operational__purchases') }}
),

ingestion as (
    select max(_loaded_at) as loaded_at from all_purchases
),

{% if is_incremental() %}
-- Routine run: purchases new or changed since the fact's high-water mark (see the yml).
purchases as (
    select * from all_purchases
    where purchase_id > {{ incremental_max_key('purchase_id') }}
       or created_at >= {{ incremental_window_start() }}
       or fully_paid_at >= {{ incremental_window_start() }}
       or purchase_id in (
           select purchase_id from {{ ref('stg_operational__purchase_payments') }}
           where created_at >= {{ incremental_window_start() }}
       )
       or purchase_id in (select purchase_id from {{ this }} where member_no is null)
),
{% else %}
purchases as (
    select * from all_purchases
),
{% endif %}

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

payments as (
    select
        purchase_id,
        count(*) as payments_count,
        sum(amount) as payments_amount,
        max(paid_at) as last_paid_at
    from {{ ref('stg_operational__purchase_payments') }}
    where purchase_id in (select purchase_id from purchases)
    group by purchase_id
),

final as (
    select
        purchases.purchase_id,
        purchases.purchase_no,
        members.member_no,
        purchases.purchased_at,
        purchases.amount,
        purchases.paid_amount,
        case
            when purchases.purchase_type = 'return' then cast(0 as decimal(14, 2))
            else purchases.amount - purchases.paid_amount
        end as arrears_amount,
        case
            when purchases.amount > 0
            then {{ divide_to_decimal('purchases.paid_amount', 'purchases.amount', 9, 4) }}
        end as paid_ratio,
        (
            purchases.fully_paid_at is not null
            {%- if as_of_date() is none %}
            or (purchases.amount > 0 and purchases.paid_amount >= purchases.amount)
            {%- endif %}
        ) as is_fully_paid,
        purchases.fully_paid_at,
        purchases.discount,
        purchases.quantity,
        purchases.product,
        purchases.channel,
        purchases.region_code as region,
        purchases.salesperson,
        purchases.regional_manager,
        purchases.dealer,
        purchases.purchase_type,
        purchases.returns_purchase_id,
        purchases.due_on,
        purchases.is_cross_group,
        coalesce(payments.payments_count, 0) as payments_count,
        coalesce(payments.payments_amount, 0) as payments_amount,
        payments.last_paid_at,
        {{ incremental_loaded_at('ingestion.loaded_at') }} as _loaded_at
    from purchases
    cross join ingestion
    left join members on members.member_id = purchases.member_id
    left join payments on payments.purchase_id = purchases.purchase_id
)

select * from final
