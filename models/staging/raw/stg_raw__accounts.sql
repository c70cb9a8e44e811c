with

source as (

    select * from {{ source('raw', 'accounts') }}

),

cleaned as (

    select
        trim(account_id) as account_id,
        trim(customer_id) as customer_id,
        lower(trim(product)) as product,
        lower(trim(status)) as account_status,
        coalesce(monthly_fee, 0) as monthly_fee,
        opened_date,
        closed_date,
        {{ newest_load_rank('trim(account_id)') }} as duplicate_rank

    from source

),

final as (

    select * except (duplicate_rank)
    from cleaned
    where duplicate_rank = 1

)

select * from final
