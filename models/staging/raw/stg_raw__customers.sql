with

source as (

    select * from {{ source('raw', 'customers') }}

),

cleaned as (

    select
        trim(customer_id) as customer_id,
        trim(first_name) as first_name,
        lower(trim(email)) as email,
        lower(trim(region)) as region,
        lower(trim(customer_segment)) as customer_segment,
        birth_date,
        signup_date,
        updated_at,
        _loaded_at as loaded_at,
        {{ newest_load_rank('trim(customer_id)', order_by='updated_at desc') }} as version_rank

    from source

),

final as (

    select * except (version_rank)
    from cleaned
    -- the export repeats customers when they change: keep the latest version
    where version_rank = 1

)

select * from final
