with

members as (
    select * from {{ ref('stg_operational__members') }}
),

points as (
    select * from {{ ref('int_point_entries_summed') }}
),

main_cards as (
    select * from {{ ref('int_member_main_cards_selected') }}
),

regions as (
    select code, label_zh, label_en
    from {{ ref('stg_operational__dictionary_items') }}
    where category = 'region'
),

aged as (
    select
        *,
        case
            when birthday is not null then {{ age_in_years('birthday', reference_date()) }}
        end as age
    from members
),

final as (
    select
        aged.member_no,
        aged.member_name,
        aged.status,
        aged.tier,
        aged.region_code as region,
        regions.label_zh as region_name_zh,
        regions.label_en as region_name_en,
        aged.gender,
        cast(aged.age as integer) as age,
        {{ age_band('aged.age') }} as age_band,
        aged.industry,
        aged.channel,
        aged.source,
        aged.joined_at,
        cast({{ dbt.date_trunc('month', 'aged.joined_at') }} as date) as join_month,
        aged.is_incomplete,
        aged.is_notified,
        aged.exit_type,
        aged.archived_at,
        aged.id_number_masked,
        aged.mobile_masked,
        aged.has_mobile,
        aged.has_email,
        main_cards.main_card_no,
        main_cards.main_card_type,
        main_cards.main_card_status,
        coalesce(points.points_balance, 0) as points_balance,
        coalesce(points.points_earned_total, 0) as points_earned_total,
        coalesce(points.points_redeemed_total, 0) as points_redeemed_total,
        coalesce(points.points_pending, 0) as points_pending,
        points.last_posted_at as points_last_posted_at
    from aged
    left join regions on regions.code = aged.region_code
    left join main_cards on main_cards.member_id = aged.member_id
    left join points on points.member_id = aged.member_id
)

select * from final
