with

source as (
    select * from {{ source('operational', 'staff_accounts') }}
),

renamed as (
    select
        id as staff_account_id,
        username,
        display_name,
        role,
        department,
        {{ to_flag('active') }} as is_active,
        failed_logins,
        locked_until,
        last_login_at,
        created_at,
        deleted_at
    from source
),

final as (
    select * from renamed
)

select * from final
