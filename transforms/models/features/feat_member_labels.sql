{#- Outcome labels of each training snapshot, from member days strictly after the snapshot:
    - churned: no purchase, activity attendance, card swipe or redemption in
      (snapshot, snapshot + churn_horizon_days];
    - bought: at least one purchase (returns excluded) in (snapshot, snapshot + buyer_horizon_days].
    A label is only trustworthy when its whole window lies on or before the reference day
    (is_*_label_observed); models_ml trains and validates on observed labels only. The scoring
    snapshot has no labels (it is the future). -#}
with

snapshots as (
    select * from {{ ref('feat_snapshot_dates') }}
    where not is_scoring
),

population as (
    select features.member_no, features.snapshot_date
    from {{ ref('feat_member_snapshots') }} as features
    where not features.is_scoring
),

future as (
    select
        population.member_no,
        population.snapshot_date,
        sum(case when {{ dbt.datediff('population.snapshot_date', 'days.activity_on', 'day') }}
                      <= snapshots.buyer_horizon_days
                 then days.purchases else 0 end) as purchases_in_buyer_horizon,
        sum(case when days.is_active_day
                  and {{ dbt.datediff('population.snapshot_date', 'days.activity_on', 'day') }}
                      <= snapshots.churn_horizon_days
                 then 1 else 0 end) as active_days_in_churn_horizon
    from population
    inner join snapshots on snapshots.snapshot_date = population.snapshot_date
    inner join {{ ref('feat_member_days') }} as days
        on days.member_no = population.member_no
       and days.activity_on > population.snapshot_date
    group by population.member_no, population.snapshot_date
),

final as (
    select
        population.member_no,
        population.snapshot_date,
        case when coalesce(future.active_days_in_churn_horizon, 0) = 0 then 1 else 0 end
            as churned,
        case when coalesce(future.purchases_in_buyer_horizon, 0) > 0 then 1 else 0 end
            as bought,
        snapshots.is_churn_label_observed,
        snapshots.is_buy_label_observed
    from population
    inner join snapshots on snapshots.snapshot_date = population.snapshot_date
    left join future
        on future.member_no = population.member_no
       and future.snapshot_date = population.snapshot_date
)

select * from final
