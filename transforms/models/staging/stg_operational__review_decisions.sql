with

source as (
    select * from {{ source('operational', 'review_decisions') }}
),

renamed as (
    select
        id as review_decision_id,
        application_id,
        outcome,
        member_id,
        merged_application_ids,
        decided_by,
        decided_at,
        comment
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('decided_at') }}
)

select * from final
