with

source as (

    select * from {{ source('raw', 'economic_indicators') }}

),

cleaned as (

    select
        lower(trim(region)) as region,
        unemployment_rate,
        consumer_confidence,
        policy_interest_rate,
        month as indicator_month,
        {{ newest_load_rank('lower(trim(region)), month') }} as duplicate_rank

    from source

),

final as (

    select * except (duplicate_rank)
    from cleaned
    where duplicate_rank = 1

)

select * from final
