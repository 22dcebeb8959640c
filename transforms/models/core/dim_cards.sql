with

cards as (
    select * from {{ ref('stg_operational__cards') }}
),

members as (
    select member_id, member_no from {{ ref('stg_operational__members') }}
),

parents as (
    select card_id, card_no from {{ ref('stg_operational__cards') }}
),

final as (
    select
        cards.card_no,
        members.member_no,
        cards.card_kind,
        cards.card_type,
        parents.card_no as parent_card_no,
        cards.status,
        cards.issued_at,
        cards.expires_on,
        cards.ended_at,
        cards.end_reason,
        replacements.card_no as replaced_by_card_no
    from cards
    left join members on members.member_id = cards.member_id
    left join parents on parents.card_id = cards.parent_card_id
    left join parents as replacements on replacements.card_id = cards.replaced_by_card_id
)

select * from final
