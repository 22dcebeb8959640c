-- The main card that represents a member: the active one, else the most recently issued.
with

cards as (
    select * from {{ ref('stg_operational__cards') }}
    where card_kind = 'main'
),

ranked as (
    select
        *,
        row_number() over (
            partition by member_id
            order by case when status = 'active' then 0 else 1 end, issued_at desc, card_id desc
        ) as card_rank
    from cards
),

final as (
    select
        member_id,
        card_id as main_card_id,
        card_no as main_card_no,
        card_type as main_card_type,
        status as main_card_status,
        issued_at as main_card_issued_at
    from ranked
    where card_rank = 1
)

select * from final
