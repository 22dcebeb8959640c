-- Points issued, redeemed, expired and outstanding (the liability) by club-local month.
with

entries as (
    select
        {{ reporting_local_month('posted_at') }} as posting_month,
        points,
        event_type
    from {{ ref('fct_point_entries') }}
    where status = 'posted'
),

months as (
    select distinct month_start
    from {{ ref('dim_date') }}
    where month_start >= (select min(posting_month) from entries)
      and (
          month_start <= {{ reference_date() }}
          or month_start <= (select max(posting_month) from entries)
      )
),

monthly as (
    select
        posting_month,
        sum(case when points > 0 and event_type <> 'reversal' then points else 0 end) as issued,
        sum(case when event_type = 'redemption' then -points else 0 end) as redeemed,
        sum(case when event_type = 'expiry' then -points else 0 end) as expired,
        sum(case
            when event_type in ('redemption', 'expiry') then 0
            when points > 0 and event_type <> 'reversal' then 0
            else points
        end) as adjusted,
        sum(points) as net_change
    from entries
    group by posting_month
),

filled as (
    select
        months.month_start as points_month,
        cast(coalesce(monthly.issued, 0) as bigint) as points_issued,
        cast(coalesce(monthly.redeemed, 0) as bigint) as points_redeemed,
        cast(coalesce(monthly.expired, 0) as bigint) as points_expired,
        cast(coalesce(monthly.adjusted, 0) as bigint) as points_adjusted,
        cast(coalesce(monthly.net_change, 0) as bigint) as points_net_change
    from months
    left join monthly on monthly.posting_month = months.month_start
),

final as (
    select
        *,
        cast(sum(points_net_change) over (
            order by points_month rows between unbounded preceding and current row
        ) as bigint) as points_outstanding,
        cast(sum(points_net_change) over (
            order by points_month rows between unbounded preceding and current row
        ) * {{ reporting_yuan_per_point() }} as decimal(18, 2)) as liability_yuan
    from filled
)

select * from final
