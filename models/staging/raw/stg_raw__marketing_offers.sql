with

source as (

    select * from {{ source('raw', 'marketing_offers') }}

),

cleaned as (

    select
        trim(offer_id) as offer_id,
        trim(customer_id) as customer_id,
        lower(trim(campaign)) as campaign,
        coalesce(lower(trim(response)), 'none') as response,
        coalesce(lower(trim(response)) = 'accepted', false) as is_accepted,
        offered_at,
        responded_at,
        {{ newest_load_rank('trim(offer_id)') }} as duplicate_rank

    from source

),

final as (

    select * except (duplicate_rank)
    from cleaned
    where duplicate_rank = 1

)

select * from final
