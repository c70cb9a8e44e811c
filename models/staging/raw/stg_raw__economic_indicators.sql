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
        row_number() over (
            partition by lower(trim(region)), month
            order by _loaded_at desc, _source_file desc
        ) as duplicate_rank

    from source

),

final as (

    select * except (duplicate_rank)
    from cleaned
    where duplicate_rank = 1

)

select * from final
