with

source as (
    select * from {{ source('operational', 'purchases') }}
),

renamed as (
    select
        id as purchase_id,
        purchase_no,
        member_id,
        -- A non-member customer's name, mobile and ID number stay in the operational DB.
        customer_mobile is not null or customer_id_number is not null as has_customer_contact,
        product,
        quantity,
        {{ to_money('amount') }} as amount,
        {{ to_money('discount') }} as discount,
        {{ to_money('paid_amount') }} as paid_amount,
        region as region_code,
        channel,
        salesperson,
        regional_manager,
        dealer,
        purchase_type,
        returns_purchase_id,
        purchased_at,
        cast(due_on as date) as due_on,
        invoice_no,
        {{ to_flag('cross_group') }} as is_cross_group,
        {{ unless_after_as_of('fully_paid_at') }} as fully_paid_at,
        created_at,
        created_by,
        _loaded_at
    from source
),

final as (
    select * from renamed
    where {{ known_as_of('purchased_at') }}
)

select * from final
