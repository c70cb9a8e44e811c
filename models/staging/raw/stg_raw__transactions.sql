-- Materialized as a table, unlike the other staging models: three models and four tests
-- read the result.
--
-- Only the rows whose id occurs more than once (base_raw__transaction_ids_repeated) are
-- ranked; every other row is kept as it is. Ranking every row shuffled and sorted all 136
-- million of them by id at 1,000,000 customers, where 0.5% of ids repeat: 175.1 and 171.0 s
-- against 161.6 and 167.1 s for this model and its base together. The repeated ids are a
-- small table that Spark broadcasts to each task while its files stay below
-- spark.sql.autoBroadcastJoinThreshold, raised here to 64 MB (about 8 million ids); a
-- load that repeats more ids than that is joined by sorting instead: slower, same result.
{{ config(
    materialized='table',
    pre_hook="set spark.sql.autoBroadcastJoinThreshold=64MB",
    post_hook="reset spark.sql.autoBroadcastJoinThreshold",
) }}

with

source as (

    select * from {{ source('raw', 'transactions') }}

),

repeated_ids as (

    select transaction_id_hash from {{ ref('base_raw__transaction_ids_repeated') }}

),

loaded_once as (

    select source.*
    from source
    left anti join repeated_ids
        on xxhash64(trim(source.transaction_id)) = repeated_ids.transaction_id_hash

),

loaded_more_than_once as (

    select source.*
    from source
    left semi join repeated_ids
        on xxhash64(trim(source.transaction_id)) = repeated_ids.transaction_id_hash

),

ranked as (

    select
        *,
        {{ newest_load_rank('trim(transaction_id)') }} as duplicate_rank

    from loaded_more_than_once

),

newest_loads as (

    select * except (duplicate_rank)
    from ranked
    where duplicate_rank = 1

),

kept as (

    select * from loaded_once
    union all
    select * from newest_loads

),

final as (

    select
        trim(transaction_id) as transaction_id,
        trim(customer_id) as customer_id,
        lower(trim(channel)) as channel,
        lower(trim(merchant_category)) as merchant_category,
        amount,
        transaction_at,
        -- posted_at is when the bank knew of it: features bucket by it (point in time)
        coalesce(posted_at, transaction_at) as posted_at

    from kept

)

select * from final
