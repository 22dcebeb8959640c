-- What was bought, how and where: purchases by club-local month, product, channel, region and
-- salesperson.
with

purchases as (
    select * from {{ ref('fct_purchases') }}
),

final as (
    select
        {{ reporting_local_month('purchased_at') }} as purchase_month,
        coalesce(product, 'unknown') as product,
        coalesce(channel, 'unknown') as channel,
        coalesce(region, 'unknown') as region,
        coalesce(salesperson, 'unknown') as salesperson,
        cast(count(*) as bigint) as purchases,
        cast(sum(case when purchase_type = 'return' then 1 else 0 end) as bigint) as returns,
        cast(count(distinct member_no) as bigint) as buying_members,
        cast(sum(coalesce(quantity, 0)) as bigint) as quantity,
        cast(sum(amount) as decimal(18, 2)) as amount,
        cast(sum(paid_amount) as decimal(18, 2)) as paid_amount,
        cast(sum(arrears_amount) as decimal(18, 2)) as arrears_amount,
        cast(sum(coalesce(discount, 0)) as decimal(18, 2)) as discount
    from purchases
    group by
        {{ reporting_local_month('purchased_at') }},
        coalesce(product, 'unknown'),
        coalesce(channel, 'unknown'),
        coalesce(region, 'unknown'),
        coalesce(salesperson, 'unknown')
)

select * from final
