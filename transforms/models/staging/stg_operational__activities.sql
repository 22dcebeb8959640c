with

source as (
    select * from {{ source('operational', 'activities') }}
),

renamed as (
    select
        id as activity_id,
        code as activity_code,
        name as activity_name,
        activity_type,
        starts_at,
        ends_at,
        place,
        region as region_code,
        expected_headcount,
        {{ to_money('expected_cost') }} as expected_cost,
        points_per_attendee,
        -- Backtesting: an activity closed after the as-of day was still running then.
        case
            when closed_at is not null and not ({{ known_as_of('closed_at') }}) then 'running'
            else status
        end as status,
        created_at,
        created_by,
        {{ unless_after_as_of('decided_at') }} as decided_at,
        case when {{ known_as_of('decided_at') }} then decided_by end as decided_by,
        {{ unless_after_as_of('closed_at') }} as closed_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('created_at') }}
)

select * from final
